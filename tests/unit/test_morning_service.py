"""The morning use cases against the in-memory fakes of every port."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from projectone.adapters.rulebook_files import default_rulebook
from projectone.domain import (
    Advisor,
    AdvisorStatus,
    ConflictError,
    ContentPack,
    ContentStatus,
    DeliveryStatus,
    SlaOutcome,
    message_hash,
)
from projectone.services import (
    CatalogService,
    DispatchWorker,
    MorningService,
    WorkerConfig,
    WorkerStats,
)
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.fakes import (
    FakeWhatsAppSender,
    InMemoryUnitOfWorkFactory,
    ManualClock,
    SequentialIds,
)

DAY = dt.date(2026, 11, 23)
SIX_IST = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.UTC)


@attrs.define
class World:
    uow: InMemoryUnitOfWorkFactory
    sender: FakeWhatsAppSender
    clock: ManualClock
    ids: SequentialIds
    morning: MorningService
    catalog: CatalogService

    async def seed(self, n: int, **advisor_changes: Any) -> tuple[list[Advisor], list[ContentPack]]:
        advisors = [
            attrs.evolve(a, **advisor_changes)
            for a in demo_advisors(n, ids=self.ids, now=self.clock.now())
        ]
        packs = demo_packs(advisors, DAY, ids=self.ids, now=self.clock.now())
        await self.catalog.register(advisors, packs)
        return advisors, packs

    async def dispatch_due(self, now: dt.datetime) -> WorkerStats:
        """One worker pass over what is due at ``now`` (retries later than that wait)."""
        self.clock.set(now)
        worker = DispatchWorker(
            uow_factory=self.uow,
            whatsapp=self.sender,
            clock=self.clock,
            ids=self.ids,
            config=WorkerConfig(owner="test-worker", batch_size=7, concurrency=3),
        )
        return await worker.run(drain=dt.timedelta(seconds=-1))


@pytest.fixture
def world() -> World:
    uow = InMemoryUnitOfWorkFactory()
    sender = FakeWhatsAppSender()
    clock = ManualClock(SIX_IST - dt.timedelta(hours=2))
    ids = SequentialIds()
    return World(
        uow=uow,
        sender=sender,
        clock=clock,
        ids=ids,
        morning=MorningService(uow_factory=uow, clock=clock, ids=ids, rulebook=default_rulebook()),
        catalog=CatalogService(uow_factory=uow, clock=clock, ids=ids),
    )


async def test_planning_queues_one_delivery_per_reachable_advisor_with_content(
    world: World,
) -> None:
    advisors, _ = await world.seed(60)
    reachable = [a for a in advisors if a.receives_whatsapp]
    assert 0 < len(reachable) < len(advisors)  # demo data includes a non-opted-in advisor

    result = await world.morning.plan_morning(DAY)

    assert result.planned == len(reachable)
    async with world.uow() as uow:
        planned = await uow.deliveries.for_date(DAY)
    assert {d.advisor_id for d in planned} == {a.id for a in reachable}
    assert all(d.status is DeliveryStatus.QUEUED for d in planned)
    # Each carries the hash of the very text it will send, in its language.
    packs = {p.id: p for p in world.uow.store.packs.values()}
    assert all(
        d.message_hash == message_hash(packs[d.pack_id].variants[d.language].render())
        for d in planned
    )


async def test_planning_twice_creates_nothing_new(world: World) -> None:
    await world.seed(10)
    first = await world.morning.plan_morning(DAY)
    second = await world.morning.plan_morning(DAY)
    assert second.planned == 0
    assert second.already_planned == first.planned


async def test_advisors_without_approved_content_for_the_date_are_reported_not_planned(
    world: World,
) -> None:
    advisors = demo_advisors(3, ids=world.ids, now=world.clock.now())
    packs = demo_packs(advisors, DAY, ids=world.ids, now=world.clock.now())
    packs[0] = attrs.evolve(packs[0], status=ContentStatus.DRAFT)
    packs[1] = attrs.evolve(packs[1], scheduled_date=DAY + dt.timedelta(days=1))
    await world.catalog.register(advisors, packs)

    result = await world.morning.plan_morning(DAY)

    assert result.planned == 1
    assert set(result.without_content) == {advisors[0].id, advisors[1].id}


async def test_suspended_advisors_are_not_planned(world: World) -> None:
    await world.seed(5, status=AdvisorStatus.SUSPENDED)
    assert (await world.morning.plan_morning(DAY)).planned == 0


async def test_nothing_is_sent_before_its_time(world: World) -> None:
    await world.seed(5)
    await world.morning.plan_morning(DAY)
    result = await world.dispatch_due(SIX_IST - dt.timedelta(seconds=1))
    assert result.claimed == 0
    assert world.sender.sent == []


async def test_dispatch_sends_the_approved_text_and_records_the_wamid(world: World) -> None:
    advisors, packs = await world.seed(20, send_time=dt.time(6, 0))
    await world.morning.plan_morning(DAY)
    world.clock.set(SIX_IST + dt.timedelta(seconds=3))

    result = await world.dispatch_due(world.clock.now())

    reachable = [a for a in advisors if a.receives_whatsapp]
    assert result.sent == len(reachable) == len(world.sender.sent)
    by_advisor = {p.advisor_id: p for p in packs}
    async with world.uow() as uow:
        for delivery in await uow.deliveries.for_date(DAY):
            assert delivery.status is DeliveryStatus.SENT
            assert delivery.provider_message_id is not None
            assert delivery.provider_message_id.startswith("wamid.fake-")
            assert delivery.sla_outcome(world.clock.now()) is SlaOutcome.MET
            message = next(m for m in world.sender.sent if m.callback_data == str(delivery.id))
            assert message.to == delivery.to
            pack = by_advisor[delivery.advisor_id]
            assert message.body == pack.variants[delivery.language].render()


async def test_a_refused_message_is_recorded_as_failed_with_metas_code(world: World) -> None:
    advisors, _ = await world.seed(4, send_time=dt.time(6, 0))
    world.sender.fail_for(advisors[0].whatsapp_number, 131026)
    await world.morning.plan_morning(DAY)

    result = await world.dispatch_due(SIX_IST)

    assert result.failed == 1
    async with world.uow() as uow:
        failed = [
            d for d in await uow.deliveries.for_date(DAY) if d.status is DeliveryStatus.FAILED
        ]
    assert [(d.advisor_id, d.error_code) for d in failed] == [(advisors[0].id, "131026")]


async def test_a_send_with_an_unknown_outcome_waits_for_its_receipt_instead_of_a_resend(
    world: World,
) -> None:
    await world.seed(3, send_time=dt.time(6, 0))
    await world.morning.plan_morning(DAY)
    world.sender.unavailable = True  # a timeout: the request may have reached Meta

    result = await world.dispatch_due(SIX_IST)
    again = await world.dispatch_due(SIX_IST + dt.timedelta(seconds=1))

    assert result.awaiting_receipt == result.claimed == 3
    assert again.claimed == 0
    assert world.sender.sent == []


async def test_a_pack_changed_after_planning_is_not_sent(world: World) -> None:
    _, packs = await world.seed(1, send_time=dt.time(6, 0))
    await world.morning.plan_morning(DAY)
    # Tamper with the stored pack behind the service's back, as a rogue writer could.
    pack = packs[0]
    language = pack.languages[0]
    tampered = attrs.evolve(
        pack,
        variants={
            **pack.variants,
            language: attrs.evolve(pack.variants[language], body="Guaranteed 20% returns!"),
        },
    )
    world.uow.store.packs[pack.id] = tampered

    result = await world.dispatch_due(SIX_IST)

    assert result.failed == 1
    assert world.sender.sent == []
    async with world.uow() as uow:
        (delivery,) = await uow.deliveries.for_date(DAY)
    assert delivery.error_code == "content_integrity"  # no longer what was approved


async def test_a_pack_withdrawn_after_planning_is_not_sent(world: World) -> None:
    _, packs = await world.seed(1, send_time=dt.time(6, 0))
    await world.morning.plan_morning(DAY)
    pack = packs[0]
    world.uow.store.packs[pack.id] = attrs.evolve(pack, status=ContentStatus.ARCHIVED)

    result = await world.dispatch_due(SIX_IST)

    assert result.failed == 1
    async with world.uow() as uow:
        (delivery,) = await uow.deliveries.for_date(DAY)
    assert delivery.error_code == "content_changed"


async def test_the_sla_summary_counts_the_morning(world: World) -> None:
    advisors, _ = await world.seed(10, send_time=dt.time(6, 0))
    world.sender.fail_for(advisors[1].whatsapp_number)
    await world.morning.plan_morning(DAY)
    world.clock.set(SIX_IST + dt.timedelta(minutes=1))
    await world.dispatch_due(world.clock.now())

    summary = await world.morning.sla_summary(DAY)

    reachable = sum(a.receives_whatsapp for a in advisors)
    assert summary.planned == reachable
    assert summary.sent == reachable - 1
    assert summary.failed == 1
    assert summary.sla_met == reachable - 1
    assert summary.p50_delay_seconds == 60.0


async def test_registering_is_all_or_nothing(world: World) -> None:
    advisors = demo_advisors(3, ids=world.ids, now=world.clock.now())
    duplicate = attrs.evolve(advisors[2], id=world.ids.new_id())  # same email and number
    with pytest.raises(ConflictError):
        await world.catalog.register([*advisors, duplicate])
    assert await world.catalog.advisor_count() == 0
