"""The delivery worker on the in-memory fakes: retries, SMS backup, leases, unknown outcomes."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import attrs
import pytest

from projectone.domain import DeliveryStatus
from projectone.domain.content import ContentStatus, ContentVariant, content_hash, message_hash
from projectone.domain.delivery import Channel, Delivery
from projectone.domain.errors import UnavailableError, ValidationError
from projectone.domain.language import Language
from projectone.domain.retry import RetryPolicy
from projectone.domain.send_policy import AWAITING_RECEIPT, OUTCOME_UNKNOWN
from projectone.ports.messaging import OutboundText, SendReceipt
from projectone.ports.sms import DltTemplate
from projectone.services import dispatch
from projectone.services.dispatch import DispatchWorker, SmsBackup, WorkerConfig
from projectone.testing.fakes import (
    FakeSmsSender,
    FakeWhatsAppSender,
    InMemoryUnitOfWorkFactory,
    ManualClock,
    SequentialIds,
)
from projectone.testing.queue import seed_due_deliveries
from projectone.testing.sms_simulator import DEMO_TEMPLATES

DAY = dt.date(2026, 11, 23)
SIX_IST = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.UTC)
NOW = SIX_IST + dt.timedelta(seconds=5)


def sms_backup(sender: FakeSmsSender) -> SmsBackup:
    (en_id, (en_text, category)), (hi_id, (hi_text, _)) = DEMO_TEMPLATES.items()
    english = DltTemplate(template_id=en_id, text=en_text, category=category)
    hindi = DltTemplate(template_id=hi_id, text=hi_text, category=category)
    return SmsBackup(
        sender=sender,
        templates={Language.EN: english, Language.HI: hindi, Language.MR: hindi},
        sender_header="PRJONE",
        principal_entity_id="1201160000000000001",
    )


@attrs.define
class World:
    uow: InMemoryUnitOfWorkFactory
    whatsapp: FakeWhatsAppSender
    sms: FakeSmsSender
    clock: ManualClock
    ids: SequentialIds
    deliveries: list[Delivery]

    def worker(self, **config: object) -> DispatchWorker:
        return DispatchWorker(
            uow_factory=self.uow,
            whatsapp=self.whatsapp,
            clock=self.clock,
            ids=self.ids,
            config=WorkerConfig(owner="worker-1", batch_size=4, concurrency=3, **config),  # type: ignore[arg-type]
            sms=sms_backup(self.sms),
            rand=lambda: 0.5,
        )

    def stored(self) -> dict[uuid.UUID, Delivery]:
        return dict(self.uow.store.deliveries)

    def backups(self) -> dict[uuid.UUID | None, Delivery]:
        return {d.backup_of: d for d in self.stored().values() if d.channel is Channel.SMS}


async def make_world(n: int = 6, whatsapp: FakeWhatsAppSender | None = None) -> World:
    uow, clock, ids = InMemoryUnitOfWorkFactory(), ManualClock(NOW), SequentialIds()
    deliveries = await seed_due_deliveries(uow, n, date=DAY, now=NOW, ids=ids)
    return World(uow, whatsapp or FakeWhatsAppSender(), FakeSmsSender(), clock, ids, deliveries)


async def test_every_due_delivery_is_sent_once_and_leaves_no_lease_behind() -> None:
    world = await make_world(9)
    stats = await world.worker().run(drain=dt.timedelta(0))
    stored = world.stored()
    assert stats.sent == 9
    assert sorted(m.callback_data or "" for m in world.whatsapp.sent) == sorted(
        str(d.id) for d in world.deliveries
    )
    assert all(d.status is DeliveryStatus.SENT for d in stored.values())
    assert all(d.lease_owner is None and d.provider_message_id for d in stored.values())


async def test_a_retryable_refusal_is_retried_after_a_backoff_and_then_sent() -> None:
    world = await make_world(2)
    flaky = world.deliveries[0]
    world.whatsapp.fail_for(flaky.to, 131000, "Something went wrong", times=1)
    stats = await world.worker().run(drain=dt.timedelta(0))
    waiting = world.stored()[flaky.id]
    assert (stats.retried, waiting.status, waiting.attempts) == (1, DeliveryStatus.QUEUED, 1)
    assert waiting.next_attempt_at == NOW + dt.timedelta(seconds=5)  # base delay, jitter at 0.5
    assert waiting.failure_class == "system_error"

    world.clock.advance(dt.timedelta(seconds=5))
    await world.worker().run(drain=dt.timedelta(0))
    sent = world.stored()[flaky.id]
    assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 2)
    assert world.backups() == {}


async def test_an_invalid_number_goes_to_the_sms_backup_at_once() -> None:
    world = await make_world(3)
    invalid = world.deliveries[1]
    world.whatsapp.fail_for(invalid.to, 131026)
    stats = await world.worker().run(drain=dt.timedelta(0))
    failed = world.stored()[invalid.id]
    backup = world.backups()[invalid.id]
    assert (failed.status, failed.failure_class) == (DeliveryStatus.FAILED, "invalid_number")
    assert (stats.sms_handoffs, stats.sms_sent) == (1, 1)
    assert backup.status is DeliveryStatus.SENT
    (sms,) = world.sms.sent
    assert sms.to == invalid.to
    assert sms.callback_data == str(backup.id)


async def test_a_message_still_unsent_at_the_sms_cutoff_is_not_tried_on_whatsapp() -> None:
    world = await make_world(2)
    cutoff = RetryPolicy().sms_cutoff(world.deliveries[0].sla_target)
    world.clock.set(cutoff)
    stats = await world.worker().run(drain=dt.timedelta(0))
    assert world.whatsapp.sent == []
    assert stats.sms_handoffs == 2
    assert {d.status for d in world.stored().values() if d.channel is Channel.WHATSAPP} == {
        DeliveryStatus.EXPIRED
    }
    assert len(world.sms.sent) == 2


async def test_a_delivery_without_a_number_fails_on_every_channel_and_the_rest_go_out() -> None:
    world = await make_world(3)
    numberless = world.deliveries[0]
    # What a claim hands over when the number's data key is missing (or the advisor is gone).
    world.uow.store.deliveries[numberless.id] = attrs.evolve(numberless, to="")
    await world.worker().run(drain=dt.timedelta(0))
    stored = world.stored()[numberless.id]
    assert (stored.status, stored.error_code) == (
        DeliveryStatus.FAILED,
        dispatch.NUMBER_UNAVAILABLE,
    )
    assert sorted(m.callback_data or "" for m in world.whatsapp.sent) == sorted(
        str(d.id) for d in world.deliveries[1:]
    )
    assert world.sms.sent == []
    assert world.backups() == {}


async def test_content_changed_after_approval_is_refused_everywhere() -> None:
    world = await make_world(1)
    (delivery,) = world.deliveries
    async with world.uow() as uow:
        pack = await uow.content.get(delivery.pack_id)
        await uow.content.update(attrs.evolve(pack, approved_hash="0" * 64))
        await uow.commit()
    await world.worker().run(drain=dt.timedelta(0))
    stored = world.stored()[delivery.id]
    assert (stored.status, stored.error_code) == (DeliveryStatus.FAILED, "content_integrity")
    assert world.whatsapp.sent == []
    assert world.sms.sent == []
    assert len(world.uow.store.incidents) == 1


async def _rewrite_pack(world: World, delivery: Delivery, **changes: Any) -> None:
    async with world.uow() as uow:
        pack = await uow.content.get(delivery.pack_id)
        await uow.content.update(attrs.evolve(pack, **changes))
        await uow.commit()


def _edited(world: World, delivery: Delivery) -> dict[Language, ContentVariant]:
    pack = world.uow.store.packs[delivery.pack_id]
    variants = dict(pack.variants)
    variants[delivery.language] = attrs.evolve(
        variants[delivery.language], body="Guaranteed 12% returns, every year."
    )
    return variants


async def test_the_text_sent_is_the_text_planned() -> None:
    world = await make_world(3)
    await world.worker().run(drain=dt.timedelta(0))
    planned = {str(d.id): d.message_hash for d in world.deliveries}
    assert all(planned.values())
    assert {m.callback_data: message_hash(m.body) for m in world.whatsapp.sent} == planned


async def test_a_planned_text_altered_behind_the_workflow_is_refused_and_reported() -> None:
    world = await make_world(2)
    altered, untouched = world.deliveries
    # The text changes in place, the approval record does not: only the hash can tell.
    await _rewrite_pack(world, altered, variants=_edited(world, altered))
    await world.worker().run(drain=dt.timedelta(0))
    stored = world.stored()[altered.id]
    assert (stored.status, stored.error_code) == (DeliveryStatus.FAILED, "content_integrity")
    assert [m.callback_data for m in world.whatsapp.sent] == [str(untouched.id)]
    assert world.sms.sent == []
    assert len(world.uow.store.incidents) == 1


async def test_a_pack_reapproved_with_new_text_after_planning_is_not_sent() -> None:
    world = await make_world(1)
    (delivery,) = world.deliveries
    variants = _edited(world, delivery)
    # Reopened, edited and approved again through the workflow: a legitimate change, but not
    # what was planned, so nothing goes out and no incident is opened.
    await _rewrite_pack(world, delivery, variants=variants, approved_hash=content_hash(variants))
    await world.worker().run(drain=dt.timedelta(0))
    stored = world.stored()[delivery.id]
    assert (stored.status, stored.error_code) == (DeliveryStatus.FAILED, "content_changed")
    assert world.whatsapp.sent == []
    assert world.uow.store.incidents == {}


async def test_a_pack_pulled_after_planning_is_not_sent() -> None:
    world = await make_world(1)
    (delivery,) = world.deliveries
    await _rewrite_pack(world, delivery, status=ContentStatus.ARCHIVED)
    await world.worker().run(drain=dt.timedelta(0))
    stored = world.stored()[delivery.id]
    assert (stored.status, stored.error_code) == (DeliveryStatus.FAILED, "content_changed")
    assert world.whatsapp.sent == []


class _TamperingAfterTheFirstSend(FakeWhatsAppSender):
    """Sends as the fake does; once the first message is out, its pack's text is altered in
    the store behind the workflow (the approval record untouched)."""

    def __init__(self, world_ref: list[World]) -> None:
        super().__init__()
        self._world = world_ref

    async def send_text(self, message: OutboundText) -> SendReceipt:
        receipt = await super().send_text(message)
        if len(self.sent) == 1:
            world = self._world[0]
            (delivery,) = [d for d in world.deliveries if str(d.id) == message.callback_data]
            pack = world.uow.store.packs[delivery.pack_id]
            world.uow.store.packs[pack.id] = attrs.evolve(pack, variants=_edited(world, delivery))
        return receipt


async def test_a_pack_altered_after_its_message_went_out_is_reported_and_holds_back_no_other() -> (
    None
):
    world_ref: list[World] = []
    sender = _TamperingAfterTheFirstSend(world_ref)
    world = await make_world(3, whatsapp=sender)
    world_ref.append(world)
    await world.worker().run(drain=dt.timedelta(0))
    assert {d.status for d in world.stored().values()} == {DeliveryStatus.SENT}
    (first,) = [d for d in world.deliveries if str(d.id) == sender.sent[0].callback_data]
    statuses = {d.pack_id: world.uow.store.packs[d.pack_id].status for d in world.deliveries}
    # What went out was the approved text; the stored pack no longer is, so it is not marked
    # delivered, and an incident says so. The other packs are marked delivered all the same.
    assert statuses.pop(first.pack_id) is ContentStatus.APPROVED
    assert set(statuses.values()) == {ContentStatus.DELIVERED}
    (incident,) = world.uow.store.incidents.values()
    assert incident.pack_id == first.pack_id


@pytest.mark.parametrize("planned_hash", [None, "f" * 64], ids=["absent", "stale"])
async def test_without_a_matching_message_hash_the_whole_pack_decides_and_it_is_sent(
    planned_hash: str | None,
) -> None:
    # Absent: planned before message hashes existed. Stale: planned by a version that
    # rendered the text differently. The pack is intact and approved, so its text goes out.
    world = await make_world(1)
    (delivery,) = world.deliveries
    async with world.uow() as uow:
        await uow.deliveries.update(attrs.evolve(delivery, message_hash=planned_hash))
        await uow.commit()
    await world.worker().run(drain=dt.timedelta(0))
    pack = world.uow.store.packs[delivery.pack_id]
    (sent,) = world.whatsapp.sent
    assert sent.body == pack.variants[delivery.language].render()
    assert world.stored()[delivery.id].status is DeliveryStatus.SENT


class TakeoverDuringSend(FakeWhatsAppSender):
    """While the message is on the wire, another worker takes the delivery over."""

    def __init__(self, world_ref: list[World]) -> None:
        super().__init__()
        self.world_ref = world_ref

    async def send_text(self, message: OutboundText) -> SendReceipt:
        world = self.world_ref[0]
        key = uuid.UUID(message.callback_data or "")
        async with world.uow() as uow:
            current = await uow.deliveries.get(key)
            await uow.deliveries.update(current.relet("worker-2", NOW + dt.timedelta(seconds=30)))
            await uow.commit()
        return await super().send_text(message)


async def test_an_outcome_is_not_written_once_the_lease_was_taken_over() -> None:
    ref: list[World] = []
    world = await make_world(1, TakeoverDuringSend(ref))
    ref.append(world)
    stats = await world.worker().run(drain=dt.timedelta(seconds=-1))
    stored = world.stored()[world.deliveries[0].id]
    assert stats.lost_leases == 1
    assert (stored.status, stored.lease_owner) == (DeliveryStatus.SENDING, "worker-2")


async def test_at_most_once_waits_for_a_receipt_then_hands_over_to_sms() -> None:
    world = await make_world(1)
    world.whatsapp.unavailable = True  # a timeout: the request may have gone out
    stats = await world.worker(receipt_wait=dt.timedelta(seconds=20)).run(
        drain=dt.timedelta(seconds=-1)
    )
    parked = world.stored()[world.deliveries[0].id]
    assert stats.awaiting_receipt == 1
    assert (parked.status, parked.lease_owner) == (DeliveryStatus.SENDING, AWAITING_RECEIPT)
    assert parked.lease_expires_at == NOW + dt.timedelta(seconds=20)

    world.clock.advance(dt.timedelta(seconds=21))
    await world.worker().run(drain=dt.timedelta(seconds=-1))
    given_up = world.stored()[world.deliveries[0].id]
    assert (given_up.status, given_up.error_code) == (DeliveryStatus.FAILED, OUTCOME_UNKNOWN)
    assert world.backups()[given_up.id].status is DeliveryStatus.SENT
    assert world.whatsapp.sent == []


async def test_a_parked_delivery_whose_number_is_gone_gets_no_sms_backup() -> None:
    world = await make_world(1)
    world.whatsapp.unavailable = True
    await world.worker(receipt_wait=dt.timedelta(seconds=20)).run(drain=dt.timedelta(seconds=-1))
    (delivery,) = world.deliveries
    # While it waited for a receipt, its number became unreadable (what a claim or a recovery
    # hands over when the advisor's data key is missing).
    parked = world.stored()[delivery.id]
    world.uow.store.deliveries[delivery.id] = attrs.evolve(parked, to="")

    world.clock.advance(dt.timedelta(seconds=21))
    stats = await world.worker().run(drain=dt.timedelta(seconds=-1))
    given_up = world.stored()[delivery.id]
    assert (given_up.status, given_up.error_code) == (DeliveryStatus.FAILED, OUTCOME_UNKNOWN)
    assert world.backups() == {}
    assert world.sms.sent == []
    assert stats.sms_handoffs == 0


class LostFirstAnswer(FakeWhatsAppSender):
    """The first send times out after reaching the provider; later ones are answered."""

    async def send_text(self, message: OutboundText) -> SendReceipt:
        receipt = await super().send_text(message)
        if len(self.sent) == 1:
            raise UnavailableError("whatsapp (fake)", "no answer within the timeout")
        return receipt


async def test_at_least_once_sends_again_after_an_unknown_outcome_accepting_a_duplicate() -> None:
    world = await make_world(1, LostFirstAnswer())
    stats = await world.worker(send_policy="at_least_once").run(drain=dt.timedelta(seconds=-1))
    final = world.stored()[world.deliveries[0].id]
    assert (stats.resent, stats.sent) == (1, 1)
    assert (final.status, final.attempts) == (DeliveryStatus.SENT, 2)
    assert len(world.whatsapp.sent) == 2, "the price of at-least-once: the advisor got it twice"


async def test_at_least_once_gives_up_on_whatsapp_after_the_last_attempt() -> None:
    world = await make_world(1)
    world.whatsapp.unavailable = True
    stats = await world.worker(send_policy="at_least_once").run(drain=dt.timedelta(seconds=-1))
    final = world.stored()[world.deliveries[0].id]
    assert (stats.resent, stats.sms_handoffs) == (2, 1)
    assert (final.status, final.attempts) == (DeliveryStatus.FAILED, 3)
    assert world.backups()[final.id].status is DeliveryStatus.SENT


@pytest.mark.parametrize("lease", [dt.timedelta(0), dt.timedelta(seconds=31)])
def test_a_lease_beyond_30_seconds_or_of_nothing_is_refused(lease: dt.timedelta) -> None:
    with pytest.raises(ValidationError, match="lease"):
        WorkerConfig(lease=lease)


class FlakyUnitOfWork:
    """The first units of work (lease recovery's, then the first claim's) fail to open, as
    during a database restart."""

    def __init__(self, inner: InMemoryUnitOfWorkFactory) -> None:
        self.inner = inner
        self.failures = 2

    def __call__(self) -> Any:
        if self.failures:
            self.failures -= 1
            raise UnavailableError("database (fake)", "restarting")
        return self.inner()


async def test_a_running_worker_outlives_a_database_restart() -> None:
    world = await make_world(2)
    worker = world.worker()
    worker.uow_factory = FlakyUnitOfWork(world.uow)
    stop = asyncio.Event()

    async def stop_when_sent() -> None:
        while len(world.whatsapp.sent) < 2:  # noqa: ASYNC110 - a fake's list, no event to wait on
            await asyncio.sleep(0.01)
        stop.set()

    watcher = asyncio.create_task(stop_when_sent())
    async with asyncio.timeout(10):
        stats = await worker.run(stop=stop, idle_sleep=0.01)
    await watcher
    assert stats.sent == 2


async def test_a_draining_worker_reports_a_database_failure() -> None:
    world = await make_world(1)
    worker = world.worker()
    worker.uow_factory = FlakyUnitOfWork(world.uow)
    with pytest.raises(UnavailableError):
        await worker.run(drain=dt.timedelta(0))


async def test_clearing_the_pack_cache_between_a_claim_and_its_sends_loses_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every claim clears the cache (as one does every few seconds in a long morning) while
    # the batch before it is still waiting for a sender: those are read again, not lost.
    monkeypatch.setattr(dispatch, "_PACK_CACHE_SECONDS", -1.0)
    world = await make_world(8)
    stranded = attrs.evolve(world.deliveries[0], message_hash=None)  # the whole-pack path too
    async with world.uow() as uow:
        await uow.deliveries.update(stranded)
        await uow.commit()
    worker = attrs.evolve(world.worker(), config=WorkerConfig(batch_size=2, concurrency=1))
    stats = await worker.run(drain=dt.timedelta(0))
    assert (stats.sent, stats.awaiting_receipt, stats.failed) == (8, 0, 0)
    assert {d.status for d in world.stored().values()} == {DeliveryStatus.SENT}
