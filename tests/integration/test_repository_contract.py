"""One contract for the repositories and the unit of work, run against every backend.

The in-memory fakes, SQLite and PostgreSQL must be indistinguishable through the ports: same
round trips, same ordering, same ``ConflictError`` (entity and constraint name), same
all-or-nothing transactions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.domain import (
    IST,
    Advisor,
    AdvisorStatus,
    AdvisorType,
    Channel,
    ConflictError,
    ContentPack,
    ContentStatus,
    ContentType,
    ContentVariant,
    Delivery,
    DeliveryStatus,
    InvalidTransitionError,
    Language,
    NotFoundError,
    Tier,
    Variant,
)
from projectone.domain.ai import AiJob, AiOutcome, AiStage, CachedAnswer, TokenUsage
from projectone.domain.content import message_hash
from projectone.domain.fallback import (
    ALL_MONTHS,
    AdvisorContext,
    LibraryEntry,
    SelectionRecord,
    TriggerReason,
    Weights,
    select_fallback,
)
from projectone.domain.inbound import InboundMessage
from projectone.ports import UnitOfWork
from projectone.ports.ai import AiUsageRow
from projectone.testing.builders import reviewed
from projectone.testing.fakes import InMemoryUnitOfWorkFactory
from projectone.testing.keys import fixed_key_store

UowFactory = Callable[[], UnitOfWork]

DAY = dt.date(2025, 3, 14)
T0 = dt.datetime(2025, 3, 1, 9, 30, tzinfo=IST)
IDS = iter(range(1, 10**9))


def new_id() -> uuid.UUID:
    # Random high bits so insertion order and id order differ (ordering tests rely on it).
    return uuid.UUID(int=(uuid.uuid4().int & ~0xFFFF) | next(IDS))


def make_advisor(n: int, **changes: Any) -> Advisor:
    fields: dict[str, Any] = {
        "id": new_id(),
        "name": f"Advisor {n}",
        "type": AdvisorType.RIA,
        "registration_no": f"INA{n:09d}",
        "email": f"advisor{n}@example.in",
        "whatsapp_number": f"+9198{n:08d}",
        "languages": (Language.EN,),
        "whatsapp_opt_in_at": T0,
        "created_at": T0,
    }
    fields.update(changes)
    return Advisor(**fields)


HI = ContentVariant(
    title="SIP क्या है?",
    body="हर महीने थोड़ा निवेश करें। म्यूचुअल फंड निवेश बाजार जोखिमों के अधीन हैं।",
    cta="आज ही शुरू करें",
    disclaimer="निवेश से पहले सभी दस्तावेज़ ध्यान से पढ़ें।",
)
MR = ContentVariant(
    title="एसआयपी म्हणजे काय?",
    body="दर महिन्याला थोडी गुंतवणूक करा. म्युच्युअल फंड गुंतवणूक बाजारातील जोखमीच्या अधीन आहे.",
    disclaimer="गुंतवणुकीपूर्वी सर्व कागदपत्रे काळजीपूर्वक वाचा.",
)
EN = ContentVariant(
    title="What is a SIP?",
    body="Invest a little every month. Mutual fund investments are subject to market risks.",
    cta="Start today",
    disclaimer="Read all scheme related documents carefully.",
)


def make_pack(advisor_id: uuid.UUID | None, **changes: Any) -> ContentPack:
    fields: dict[str, Any] = {
        "id": new_id(),
        "advisor_id": advisor_id,
        "topic": "sip-basics",
        "variants": {Language.EN: EN},
        "status": ContentStatus.APPROVED,
        "scheduled_date": DAY,
        "created_at": T0,
    }
    fields.update(changes)
    return reviewed(ContentPack(**fields))


def make_delivery(advisor: Advisor, pack: ContentPack, **changes: Any) -> Delivery:
    delivery = Delivery.plan(
        id=new_id(),
        advisor_id=advisor.id,
        pack_id=pack.id,
        date=changes.pop("date", DAY),
        send_time=changes.pop("send_time", advisor.send_time),
        language=Language.EN,
        to=advisor.whatsapp_number,
        content_hash=pack.content_hash,
        now=T0,
    )
    return attrs.evolve(delivery, **changes) if changes else delivery


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` for the in-memory fake, else the URL of an empty database."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def uow_factory(backend_url: str | None) -> AsyncIterator[UowFactory]:
    """A fresh, migrated, empty store; each call of the factory is a new unit of work."""
    if backend_url is None:
        yield InMemoryUnitOfWorkFactory()
        return
    engine = create_engine(backend_url)
    try:
        await upgrade(engine)
        yield SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    finally:
        await engine.dispose()


async def add_committed(uow_factory: UowFactory, *items: Advisor | ContentPack | Delivery) -> None:
    async with uow_factory() as uow:
        for item in items:
            if isinstance(item, Advisor):
                await uow.advisors.add(item)
            elif isinstance(item, ContentPack):
                await uow.content.add(item)
            else:
                await uow.deliveries.add(item)
        await uow.commit()


async def update_committed(uow_factory: UowFactory, delivery: Delivery) -> None:
    async with uow_factory() as uow:
        await uow.deliveries.update(delivery)
        await uow.commit()


# -- advisors ----------------------------------------------------------------------------------


async def test_advisor_round_trip_keeps_every_field(uow_factory: UowFactory) -> None:
    advisor = make_advisor(
        1,
        name="Asha Deshpande",
        type=AdvisorType.MFD,
        registration_no="ARN-123456",
        languages=(Language.MR, Language.EN, Language.HI),
        send_time=dt.time(7, 15, 30),
        tier=Tier.PRO,
        status=AdvisorStatus.ACTIVE,
        whatsapp_opt_in_at=dt.datetime(2025, 2, 3, 23, 59, 58, 123456, tzinfo=IST),
        created_at=dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
    )
    await add_committed(uow_factory, advisor)
    async with uow_factory() as uow:
        got = await uow.advisors.get(advisor.id)
    assert got == advisor
    assert got.languages == (Language.MR, Language.EN, Language.HI)
    assert got.created_at.tzinfo is not None
    assert got.whatsapp_opt_in_at is not None
    assert got.whatsapp_opt_in_at.tzinfo is not None
    assert got.whatsapp_opt_in_at == advisor.whatsapp_opt_in_at


async def test_advisor_without_opt_in_round_trips_none(uow_factory: UowFactory) -> None:
    advisor = make_advisor(2, whatsapp_opt_in_at=None, status=AdvisorStatus.PENDING)
    await add_committed(uow_factory, advisor)
    async with uow_factory() as uow:
        assert await uow.advisors.get(advisor.id) == advisor
        assert await uow.advisors.count() == 1


async def test_missing_advisor_is_not_found(uow_factory: UowFactory) -> None:
    missing = new_id()
    async with uow_factory() as uow:
        with pytest.raises(NotFoundError) as err:
            await uow.advisors.get(missing)
    assert err.value.key == missing


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("email", "uq_advisors_email_index"),
        ("registration_no", "uq_advisors_registration_no"),
        ("whatsapp_number", "uq_advisors_whatsapp_index"),
        ("id", "pk_advisors"),
    ],
)
async def test_duplicate_advisor_conflicts_and_writes_nothing(
    uow_factory: UowFactory, field: str, constraint: str
) -> None:
    original = make_advisor(1)
    await add_committed(uow_factory, original)
    innocent = make_advisor(2)
    duplicate = make_advisor(3, **{field: getattr(original, field)})

    with pytest.raises(ConflictError) as err:
        await add_committed(uow_factory, innocent, duplicate)
    assert (err.value.entity, err.value.key) == ("advisors", constraint)

    async with uow_factory() as uow:
        assert await uow.advisors.count() == 1
        assert await uow.advisors.get(original.id) == original
        with pytest.raises(NotFoundError):
            await uow.advisors.get(innocent.id)


async def test_commit_after_a_caught_conflict_is_refused(uow_factory: UowFactory) -> None:
    original = make_advisor(1)
    await add_committed(uow_factory, original)
    innocent, later = make_advisor(2), make_advisor(4)
    async with uow_factory() as uow:
        await uow.advisors.add(innocent)
        with pytest.raises(ConflictError):
            await uow.advisors.add(make_advisor(3, email=original.email))
        await uow.advisors.add(later)
        with pytest.raises(InvalidTransitionError):
            await uow.commit()
    async with uow_factory() as uow:
        assert await uow.advisors.count() == 1

    # rollback() acknowledges the conflict; the unit of work is usable again afterwards.
    async with uow_factory() as uow:
        with pytest.raises(ConflictError):
            await uow.advisors.add(make_advisor(3, email=original.email))
        await uow.rollback()
        await uow.advisors.add(later)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.advisors.count() == 2
        assert await uow.advisors.get(later.id) == later


async def test_nothing_is_kept_without_commit(uow_factory: UowFactory) -> None:
    advisor = make_advisor(1)
    async with uow_factory() as uow:
        await uow.advisors.add(advisor)
        # A unit of work reads its own writes...
        assert await uow.advisors.get(advisor.id) == advisor
    # ...but they are gone once it ends without a commit.
    async with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            await uow.advisors.get(advisor.id)
        assert await uow.advisors.count() == 0


async def test_exception_in_block_rolls_back(uow_factory: UowFactory) -> None:
    advisor = make_advisor(1)

    class Boom(Exception):
        pass

    async def add_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.advisors.add(advisor)
            raise Boom

    with pytest.raises(Boom):
        await add_then_fail()
    async with uow_factory() as uow:
        assert await uow.advisors.count() == 0


async def test_explicit_rollback_discards_and_later_commit_keeps(uow_factory: UowFactory) -> None:
    dropped, kept = make_advisor(1), make_advisor(2)
    async with uow_factory() as uow:
        await uow.advisors.add(dropped)
        await uow.rollback()
        await uow.advisors.add(kept)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.advisors.count() == 1
        assert await uow.advisors.get(kept.id) == kept


async def test_list_reachable_filters_status_and_opt_in_ordered_by_id(
    uow_factory: UowFactory,
) -> None:
    reachable = [make_advisor(n) for n in range(1, 6)]
    others = [
        make_advisor(10, status=AdvisorStatus.SUSPENDED),
        make_advisor(11, status=AdvisorStatus.PENDING),
        make_advisor(12, status=AdvisorStatus.CANCELLED),
        make_advisor(13, whatsapp_opt_in_at=None),
    ]
    await add_committed(uow_factory, *others[:2], *reachable, *others[2:])
    async with uow_factory() as uow:
        got = await uow.advisors.list_reachable()
        assert await uow.advisors.count() == 9
    assert list(got.advisors) == sorted(reachable, key=lambda a: a.id)
    assert got.unreadable == ()


# -- content -----------------------------------------------------------------------------------


async def test_pack_round_trip_keeps_devanagari_and_hash(uow_factory: UowFactory) -> None:
    advisor = make_advisor(1)
    parent = make_pack(advisor.id, status=ContentStatus.ARCHIVED)
    pack = make_pack(
        advisor.id,
        topic="एसआयपी / SIP",
        type=ContentType.EDUCATIONAL,
        variants={Language.MR: MR, Language.HI: HI, Language.EN: EN},
        status=ContentStatus.SCHEDULED,
        version=2,
        parent_id=parent.id,
        created_at=dt.datetime(2025, 3, 1, 23, 45, 1, 5, tzinfo=IST),
    )
    hash_before = pack.content_hash
    await add_committed(uow_factory, advisor, parent, pack)
    async with uow_factory() as uow:
        got = await uow.content.get(pack.id)
    assert got == pack
    assert got.variants[Language.HI] == HI
    assert got.variants[Language.MR].body == MR.body
    assert got.content_hash == hash_before
    assert got.languages == (Language.EN, Language.HI, Language.MR)


async def test_one_language_of_many_packs_comes_with_their_status_and_approved_hash(
    uow_factory: UowFactory,
) -> None:
    advisor = make_advisor(1)
    both = make_pack(advisor.id, variants={Language.HI: HI, Language.EN: EN})
    pulled = make_pack(advisor.id, variants={Language.MR: MR}, status=ContentStatus.ARCHIVED)
    await add_committed(uow_factory, advisor, both, pulled)
    keys = [(both.id, Language.HI), (both.id, Language.EN), (pulled.id, Language.EN)]
    async with uow_factory() as uow:
        got = await uow.content.variants_for([*keys, keys[0]])
    assert set(got) == set(keys)
    hindi, english, missing = (got[key] for key in keys)
    assert (hindi.variant, english.variant, missing.variant) == (HI, EN, None)
    assert (hindi.status, hindi.approved_hash) == (ContentStatus.APPROVED, both.content_hash)
    assert hindi.sendable
    assert (missing.status, missing.approved_hash, missing.sendable) == (
        ContentStatus.ARCHIVED,
        None,
        False,
    )


async def test_variants_of_a_pack_that_does_not_exist_are_not_found(
    uow_factory: UowFactory,
) -> None:
    ghost = new_id()
    async with uow_factory() as uow:
        assert await uow.content.variants_for([]) == {}
        with pytest.raises(NotFoundError) as caught:
            await uow.content.variants_for([(ghost, Language.EN)])
    assert caught.value.key == ghost


async def test_a_deliverys_message_hash_round_trips_and_may_be_absent(
    uow_factory: UowFactory,
) -> None:
    advisor = make_advisor(1)
    pack = make_pack(advisor.id)
    text = pack.variants[Language.EN].render()
    planned = make_delivery(advisor, pack, message_hash=message_hash(text))
    legacy = make_delivery(advisor, pack, variant=Variant.STATUS)
    await add_committed(uow_factory, advisor, pack, planned, legacy)
    async with uow_factory() as uow:
        got = await uow.deliveries.get_many([planned.id, legacy.id])
    assert got[planned.id].message_hash == message_hash(text) == planned.message_hash
    assert got[legacy.id].message_hash is None


async def test_fallback_pack_without_advisor_round_trips(uow_factory: UowFactory) -> None:
    pack = make_pack(None, status=ContentStatus.DRAFT, scheduled_date=None)
    await add_committed(uow_factory, pack)
    async with uow_factory() as uow:
        assert await uow.content.get(pack.id) == pack


async def test_missing_pack_is_not_found_and_duplicate_id_conflicts(
    uow_factory: UowFactory,
) -> None:
    pack = make_pack(None)
    await add_committed(uow_factory, pack)
    async with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            await uow.content.get(new_id())
        with pytest.raises(ConflictError) as err:
            await uow.content.add(attrs.evolve(pack, topic="other"))
    assert (err.value.entity, err.value.key) == ("content_packs", "pk_content_packs")


async def test_pack_for_unknown_advisor_conflicts(uow_factory: UowFactory) -> None:
    with pytest.raises(ConflictError) as err:
        async with uow_factory() as uow:
            await uow.content.add(make_pack(new_id()))
    assert err.value.entity == "content_packs"


async def test_sendable_for_picks_newest_sendable_pack_of_the_date(
    uow_factory: UowFactory,
) -> None:
    a, b, c, d = (make_advisor(n) for n in range(1, 5))
    later = T0 + dt.timedelta(hours=1)
    a_old = make_pack(a.id, status=ContentStatus.APPROVED, created_at=T0)
    a_new = make_pack(a.id, status=ContentStatus.SCHEDULED, version=2, created_at=later)
    a_draft = make_pack(a.id, status=ContentStatus.DRAFT, created_at=later + dt.timedelta(1))
    a_other_day = make_pack(
        a.id, scheduled_date=DAY + dt.timedelta(days=1), created_at=later + dt.timedelta(2)
    )
    a_review = make_pack(
        a.id, status=ContentStatus.PENDING_REVIEW, created_at=later + dt.timedelta(3)
    )
    b_draft = make_pack(b.id, status=ContentStatus.DRAFT)
    c_only = make_pack(c.id, status=ContentStatus.APPROVED)
    d_delivered = make_pack(d.id, status=ContentStatus.DELIVERED)
    library = make_pack(None, status=ContentStatus.APPROVED)
    await add_committed(
        uow_factory,
        a, b, c, d,
        a_new, a_old, a_draft, a_other_day, a_review, b_draft, c_only, d_delivered, library,
    )  # fmt: skip
    async with uow_factory() as uow:
        got = await uow.content.sendable_for([a.id, b.id, c.id, d.id, new_id()], DAY)
        assert await uow.content.sendable_for([], DAY) == {}
        other_day = await uow.content.sendable_for([a.id], DAY + dt.timedelta(days=1))
    assert got == {a.id: a_new, c.id: c_only}
    assert other_day == {a.id: a_other_day}


async def test_sendable_for_breaks_created_at_ties_by_version(uow_factory: UowFactory) -> None:
    a = make_advisor(1)
    v1 = make_pack(a.id, version=1)
    v3 = make_pack(a.id, version=3)
    v2 = make_pack(a.id, version=2)
    await add_committed(uow_factory, a, v1, v3, v2)
    async with uow_factory() as uow:
        assert await uow.content.sendable_for([a.id], DAY) == {a.id: v3}


# -- deliveries --------------------------------------------------------------------------------


async def _advisor_with_pack(uow_factory: UowFactory, n: int = 1) -> tuple[Advisor, ContentPack]:
    advisor = make_advisor(n)
    pack = make_pack(advisor.id)
    await add_committed(uow_factory, advisor, pack)
    return advisor, pack


async def test_delivery_add_get_update_round_trip(uow_factory: UowFactory) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    planned = make_delivery(advisor, pack)
    await add_committed(uow_factory, planned)
    async with uow_factory() as uow:
        assert await uow.deliveries.get(planned.id) == planned

    at = planned.scheduled_for + dt.timedelta(seconds=42, microseconds=7)
    sent = planned.start_sending(at).mark_sent("wamid.HBgM", at + dt.timedelta(seconds=1))
    read = sent.apply_report(DeliveryStatus.READ, at.astimezone(IST) + dt.timedelta(minutes=9))
    await update_committed(uow_factory, read)
    async with uow_factory() as uow:
        got = await uow.deliveries.get(planned.id)
    assert got == read
    assert got.status is DeliveryStatus.READ
    assert got.attempts == 1
    assert got.delivered_at == got.read_at == read.read_at
    assert got.sla_target == planned.scheduled_for + dt.timedelta(minutes=5)


async def test_failed_delivery_round_trips_error(uow_factory: UowFactory) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    planned = make_delivery(advisor, pack)
    at = planned.scheduled_for
    failed = planned.start_sending(at).mark_failed("131026", "Message undeliverable", at)
    await add_committed(uow_factory, failed)
    async with uow_factory() as uow:
        assert await uow.deliveries.get(failed.id) == failed


async def test_missing_delivery_is_not_found_on_get_and_update(uow_factory: UowFactory) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    ghost = make_delivery(advisor, pack)
    async with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            await uow.deliveries.get(ghost.id)
        with pytest.raises(NotFoundError):
            await uow.deliveries.update(ghost)


@pytest.mark.parametrize(
    "changes",
    [{}, {"language": Language.HI, "pack_id": None}, {"to": "+919999999999"}],
    ids=["same", "other-pack-and-language", "other-number"],
)
async def test_duplicate_delivery_key_conflicts(
    uow_factory: UowFactory, changes: dict[str, Any]
) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    other_pack = make_pack(advisor.id, variants={Language.HI: HI})
    await add_committed(uow_factory, other_pack, make_delivery(advisor, pack))
    if "pack_id" in changes:
        changes = {**changes, "pack_id": other_pack.id}
    duplicate = attrs.evolve(make_delivery(advisor, pack), **changes)
    with pytest.raises(ConflictError) as err:
        await add_committed(uow_factory, duplicate)
    assert (err.value.entity, err.value.key) == (
        "deliveries",
        "uq_deliveries_advisor_id_date_channel_variant",
    )


async def test_other_channel_variant_or_date_is_not_a_duplicate(uow_factory: UowFactory) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    await add_committed(
        uow_factory,
        make_delivery(advisor, pack),
        make_delivery(advisor, pack, channel=Channel.SMS),
        make_delivery(advisor, pack, variant=Variant.STATUS),
        make_delivery(advisor, pack, date=DAY + dt.timedelta(days=1)),
    )
    async with uow_factory() as uow:
        assert len(await uow.deliveries.for_date(DAY)) == 3


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"status": DeliveryStatus.FAILED}, "ck_deliveries_failed_has_error_code"),
        (
            {
                "sent_at": dt.datetime(2025, 3, 14, 1, 0, tzinfo=dt.UTC),
                "delivered_at": dt.datetime(2025, 3, 14, 0, 59, tzinfo=dt.UTC),
            },
            "ck_deliveries_sent_before_delivered",
        ),
        (
            {
                "delivered_at": dt.datetime(2025, 3, 14, 6, 30, tzinfo=IST),
                "read_at": dt.datetime(2025, 3, 14, 0, 59, tzinfo=dt.UTC),
            },
            "ck_deliveries_delivered_before_read",
        ),
        ({"attempts": -1}, "ck_deliveries_attempts_non_negative"),
    ],
    ids=["failed-without-code", "delivered-before-sent", "read-before-delivered", "attempts"],
)
async def test_delivery_row_checks_conflict(
    uow_factory: UowFactory, changes: dict[str, Any], constraint: str
) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    # The schema is the last line of defence against writers that bypass the domain, so the
    # bad row is built with the domain's own validators switched off.
    with attrs.validators.disabled():
        bad = make_delivery(advisor, pack, **changes)
    with pytest.raises(ConflictError) as err:
        await add_committed(uow_factory, bad)
    assert (err.value.entity, err.value.key) == ("deliveries", constraint)
    async with uow_factory() as uow:
        assert await uow.deliveries.for_date(DAY) == []


async def test_update_breaking_a_check_conflicts_and_keeps_the_old_row(
    uow_factory: UowFactory,
) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    planned = make_delivery(advisor, pack)
    await add_committed(uow_factory, planned)
    with pytest.raises(ConflictError):
        await update_committed(uow_factory, attrs.evolve(planned, status=DeliveryStatus.FAILED))
    async with uow_factory() as uow:
        assert await uow.deliveries.get(planned.id) == planned


async def test_delivery_for_unknown_advisor_or_pack_conflicts(uow_factory: UowFactory) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    for bad in (
        attrs.evolve(make_delivery(advisor, pack), advisor_id=new_id()),
        attrs.evolve(make_delivery(advisor, pack), pack_id=new_id()),
    ):
        with pytest.raises(ConflictError) as err:
            await add_committed(uow_factory, bad)
        assert err.value.entity == "deliveries"


async def test_due_respects_status_time_and_limit_in_schedule_order(
    uow_factory: UowFactory,
) -> None:
    advisors = [make_advisor(n) for n in range(1, 9)]
    packs = [make_pack(a.id) for a in advisors]
    await add_committed(uow_factory, *advisors, *packs)
    times = [dt.time(6, 0), dt.time(5, 30), dt.time(6, 45), dt.time(7, 0)]
    queued = [make_delivery(advisors[i], packs[i], send_time=times[i]) for i in range(len(times))]
    late = make_delivery(advisors[4], packs[4], send_time=dt.time(8, 0))
    sending = make_delivery(advisors[5], packs[5], send_time=dt.time(5, 0)).start_sending(T0)
    failed = make_delivery(advisors[6], packs[6], send_time=dt.time(5, 0)).mark_failed(
        "131000", "Something went wrong", T0
    )
    tied = make_delivery(advisors[7], packs[7], send_time=dt.time(6, 0))
    await add_committed(uow_factory, late, *queued, sending, failed, tied)

    # 07:00 IST given in IST: the backends must compare instants, not wall clocks.
    now = dt.datetime.combine(DAY, dt.time(7, 0), tzinfo=IST)
    expected = sorted([*queued, tied], key=lambda d: (d.scheduled_for, d.id))
    async with uow_factory() as uow:
        all_due = await uow.deliveries.due(now, limit=100)
        first_two = await uow.deliveries.due(now, limit=2)
        none = await uow.deliveries.due(now, limit=0)
        earlier = await uow.deliveries.due(now.astimezone(dt.UTC) - dt.timedelta(minutes=75), 10)
    assert list(all_due) == expected
    assert [d.scheduled_for for d in all_due] == sorted(d.scheduled_for for d in all_due)
    assert list(first_two) == expected[:2]
    assert list(none) == []
    assert list(earlier) == [queued[1]]


async def test_keys_for_date_and_for_date(uow_factory: UowFactory) -> None:
    a, pa = await _advisor_with_pack(uow_factory, 1)
    b, pb = await _advisor_with_pack(uow_factory, 2)
    today = [
        make_delivery(a, pa, send_time=dt.time(6, 30)),
        make_delivery(a, pa, channel=Channel.SMS, send_time=dt.time(6, 30)),
        make_delivery(b, pb, variant=Variant.STATUS, send_time=dt.time(5, 0)),
    ]
    tomorrow = make_delivery(a, pa, date=DAY + dt.timedelta(days=1))
    await add_committed(uow_factory, tomorrow, *today)
    async with uow_factory() as uow:
        keys = await uow.deliveries.keys_for_date(DAY)
        planned = await uow.deliveries.for_date(DAY)
        empty_keys = await uow.deliveries.keys_for_date(DAY - dt.timedelta(days=1))
        empty = await uow.deliveries.for_date(DAY - dt.timedelta(days=1))
    assert keys == {
        (a.id, Channel.WHATSAPP, Variant.POST),
        (a.id, Channel.SMS, Variant.POST),
        (b.id, Channel.WHATSAPP, Variant.STATUS),
    }
    assert all(isinstance(channel, Channel) for _, channel, _ in keys)
    assert sorted(planned, key=lambda d: d.id) == sorted(today, key=lambda d: d.id)
    assert [d.scheduled_for for d in planned] == sorted(d.scheduled_for for d in planned)
    assert empty_keys == set()
    assert list(empty) == []


async def test_a_page_of_deliveries_is_filtered_latest_first_with_the_total(
    uow_factory: UowFactory,
) -> None:
    a, pa = await _advisor_with_pack(uow_factory, 780)
    b, pb = await _advisor_with_pack(uow_factory, 781)
    at = dt.datetime.combine(DAY, dt.time(0, 30), tzinfo=dt.UTC)
    post = make_delivery(a, pa, send_time=dt.time(6, 30))
    sms = make_delivery(a, pa, channel=Channel.SMS, send_time=dt.time(6, 30))
    status = (
        make_delivery(a, pa, variant=Variant.STATUS, send_time=dt.time(5, 0))
        .start_sending(at)
        .mark_failed("131026", "undeliverable", at)
    )
    tomorrow = make_delivery(a, pa, date=DAY + dt.timedelta(days=1), send_time=dt.time(6, 0))
    theirs = make_delivery(b, pb, send_time=dt.time(7, 0)).start_sending(at).mark_sent("w.1", at)
    await add_committed(uow_factory, post, theirs, status, tomorrow, sms)
    tied = sorted([post, sms], key=lambda d: d.id.int)
    latest_first = [tomorrow, theirs, *tied, status]

    async with uow_factory() as uow:
        everything, total = await uow.deliveries.page(limit=100)
        window, window_total = await uow.deliveries.page(limit=2, offset=1)
        mine, mine_total = await uow.deliveries.page(advisor_id=a.id, date=DAY)
        failed, failed_total = await uow.deliveries.page(status=DeliveryStatus.FAILED)
        texts, texts_total = await uow.deliveries.page(channel=Channel.SMS, advisor_id=a.id)
        statuses, _ = await uow.deliveries.page(variant=Variant.STATUS)
        whatsapp, whatsapp_total = await uow.deliveries.page(
            advisor_id=a.id, date=DAY, channel=Channel.WHATSAPP, variant=Variant.POST
        )
        none, none_total = await uow.deliveries.page(advisor_id=b.id, channel=Channel.SMS)
        beyond, beyond_total = await uow.deliveries.page(offset=50)
    assert (list(everything), total) == (latest_first, 5)
    assert (list(window), window_total) == (latest_first[1:3], 5)
    assert (list(mine), mine_total) == ([*tied, status], 3)
    assert (list(failed), failed_total) == ([status], 1)
    assert (list(texts), texts_total) == ([sms], 1)
    assert list(statuses) == [status]
    assert (list(whatsapp), whatsapp_total) == ([post], 1)
    assert (list(none), none_total) == ([], 0)
    assert (list(beyond), beyond_total) == ([], 5)


async def test_a_requeued_delivery_is_stored_as_a_fresh_attempt_and_is_due(
    uow_factory: UowFactory,
) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory, 790)
    planned = make_delivery(advisor, pack)
    at = planned.scheduled_for
    failed = (
        planned.start_sending(at)
        .mark_sent("wamid.OLD", at)
        .mark_failed("131026", "undeliverable", at + dt.timedelta(seconds=5))
    )
    await add_committed(uow_factory, failed)
    again = failed.requeue(at + dt.timedelta(minutes=1), cutoff=failed.sla_target)
    async with uow_factory() as uow:
        await uow.deliveries.update_many([again])
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.deliveries.get(planned.id)
        due = await uow.deliveries.due(at + dt.timedelta(minutes=1), 10)
    assert got == again
    assert (got.status, got.provider_message_id, got.sent_at, got.failed_at) == (
        DeliveryStatus.QUEUED,
        None,
        None,
        None,
    )
    assert (got.error_code, got.attempts) == ("131026", 1)
    assert list(due) == [again]


async def test_writes_in_one_unit_of_work_are_visible_to_its_own_queries(
    uow_factory: UowFactory,
) -> None:
    advisor = make_advisor(1)
    pack = make_pack(advisor.id)
    delivery = make_delivery(advisor, pack)
    async with uow_factory() as uow:
        await uow.advisors.add(advisor)
        await uow.content.add(pack)
        await uow.deliveries.add(delivery)
        assert await uow.content.sendable_for([advisor.id], DAY) == {advisor.id: pack}
        assert await uow.deliveries.keys_for_date(DAY) == {
            (advisor.id, Channel.WHATSAPP, Variant.POST)
        }
        await uow.commit()
    async with uow_factory() as uow:
        assert list(await uow.deliveries.for_date(DAY)) == [delivery]


# -- batches -------------------------------------------------------------------------------------


async def test_batches_add_get_and_update_like_one_at_a_time(uow_factory: UowFactory) -> None:
    people = [make_advisor(700 + n) for n in range(5)]
    packs = [make_pack(a.id) for a in people]
    planned = [make_delivery(a, p) for a, p in zip(people, packs, strict=True)]
    async with uow_factory() as uow:
        await uow.advisors.add_many(people)
        await uow.content.add_many(packs)
        await uow.deliveries.add_many(planned)
        await uow.advisors.add_many([])  # an empty batch is a no-op
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.advisors.count() == 5
        got_packs = await uow.content.get_many(reversed([p.id for p in packs]))
        assert list(got_packs) == [p.id for p in reversed(packs)]
        assert list(got_packs.values()) == list(reversed(packs))
        at = planned[0].scheduled_for
        sending = [d.start_sending(at) for d in planned]
        await uow.deliveries.update_many(sending)
        await uow.commit()

    async with uow_factory() as uow:
        got = await uow.deliveries.get_many(d.id for d in planned)
    assert list(got.values()) == sending


async def test_update_many_writes_every_state_field_and_never_the_plan(
    uow_factory: UowFactory,
) -> None:
    people = [make_advisor(750 + n) for n in range(3)]
    packs = [make_pack(a.id) for a in people]
    planned = [make_delivery(a, p) for a, p in zip(people, packs, strict=True)]
    await add_committed(uow_factory, *people, *packs, *planned)
    at = planned[0].scheduled_for
    lease = at + dt.timedelta(seconds=30)
    leased = planned[0].start_sending(at, owner="worker-1", until=lease)
    sent = planned[1].start_sending(at).mark_sent("wamid.A", at).note_message("wamid.B")
    failed = (
        planned[2]
        .start_sending(at)
        .mark_failed("131026", "undeliverable", at, failure_class="recipient")
    )
    # A plan field changed on the way in is not written: a delivery's plan is fixed.
    moved = attrs.evolve(sent, to="+919999999999")
    async with uow_factory() as uow:
        await uow.deliveries.update_many([leased, moved, failed])
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.deliveries.get_many(d.id for d in planned)
    assert list(got.values()) == [leased, sent, failed]


async def test_a_page_of_packs_is_newest_first_with_the_total(uow_factory: UowFactory) -> None:
    me, other = make_advisor(770), make_advisor(771)
    mine = [
        make_pack(me.id, topic=f"topic {n}", created_at=T0 + dt.timedelta(hours=n))
        for n in range(5)
    ]
    draft = make_pack(me.id, status=ContentStatus.DRAFT, created_at=T0 + dt.timedelta(hours=9))
    theirs = make_pack(other.id)
    await add_committed(uow_factory, me, other, *mine, draft, theirs)
    async with uow_factory() as uow:
        first, total = await uow.content.page(advisor_id=me.id, limit=2)
        rest, _ = await uow.content.page(advisor_id=me.id, limit=10, offset=2)
        approved, approved_total = await uow.content.page(
            advisor_id=me.id, status=ContentStatus.APPROVED, limit=1, offset=4
        )
        everyone, everyone_total = await uow.content.page(limit=100)
        beyond, beyond_total = await uow.content.page(advisor_id=me.id, offset=50)
    assert total == 6
    assert [p.id for p in first] == [draft.id, mine[4].id]
    assert [p.id for p in rest] == [p.id for p in reversed(mine[:4])]
    assert (approved_total, [p.id for p in approved]) == (5, [mine[0].id])
    assert everyone_total == 7 == len(everyone)
    assert (list(beyond), beyond_total) == ([], 6)


async def test_packs_created_in_a_period_are_listed_oldest_first(
    uow_factory: UowFactory,
) -> None:
    me, other = make_advisor(780), make_advisor(781)
    at = [T0 + dt.timedelta(days=n) for n in range(4)]
    mine = [make_pack(me.id, created_at=when) for when in at]
    theirs = make_pack(other.id, created_at=at[1])
    shared = make_pack(None, created_at=at[1])
    await add_committed(uow_factory, me, other, *mine, theirs, shared)
    async with uow_factory() as uow:
        window = await uow.content.created_between(me.id, at[1], at[3])
        everyone = await uow.content.created_between(None, at[1], at[2])
    assert [p.id for p in window] == [mine[1].id, mine[2].id]
    assert sorted(p.id.int for p in everyone) == sorted(p.id.int for p in (mine[1], theirs))


async def test_deliveries_between_two_dates_include_both_ends(uow_factory: UowFactory) -> None:
    me, other = make_advisor(782), make_advisor(783)
    mine, theirs = make_pack(me.id), make_pack(other.id)
    days = [DAY + dt.timedelta(days=n) for n in range(4)]
    planned = [make_delivery(me, mine, date=day) for day in days]
    elsewhere = make_delivery(other, theirs, date=days[1])
    await add_committed(uow_factory, me, other, mine, theirs, *planned, elsewhere)
    async with uow_factory() as uow:
        window = await uow.deliveries.between(me.id, days[1], days[2])
        everyone = await uow.deliveries.between(None, days[1], days[1])
        none = await uow.deliveries.between(me.id, days[3] + dt.timedelta(days=1), days[3])
    assert [d.id for d in window] == [planned[1].id, planned[2].id]
    assert {d.id for d in everyone} == {planned[1].id, elsewhere.id}
    assert list(none) == []


async def test_topics_for_lists_an_advisors_posts_by_day_newest_first(
    uow_factory: UowFactory,
) -> None:
    me, other = make_advisor(760), make_advisor(761)
    # Created 00:30 on 10 March in India, which is still 9 March in UTC.
    just_after_midnight = dt.datetime(2025, 3, 10, 0, 30, tzinfo=IST)
    packs = [
        make_pack(me.id, topic="tax saving", scheduled_date=dt.date(2025, 3, 12)),
        make_pack(me.id, topic="diwali wishes", scheduled_date=dt.date(2025, 2, 1)),
        make_pack(me.id, topic="budget day", status=ContentStatus.REJECTED, scheduled_date=DAY),
        make_pack(
            me.id,
            topic="goal planning",
            status=ContentStatus.DRAFT,
            scheduled_date=None,
            created_at=just_after_midnight,
        ),
        make_pack(
            me.id,
            topic="emergency fund",
            status=ContentStatus.DRAFT,
            scheduled_date=None,
            created_at=dt.datetime(2025, 3, 9, 23, 0, tzinfo=IST),
        ),
        make_pack(other.id, topic="sip basics", scheduled_date=DAY),
    ]
    await add_committed(uow_factory, me, other, *packs)
    async with uow_factory() as uow:
        found = await uow.content.topics_for(me.id, dt.date(2025, 3, 10), dt.date(2025, 3, 14))
        nothing = await uow.content.topics_for(other.id, dt.date(2025, 1, 1), dt.date(2025, 1, 2))
    assert list(found) == [
        ("tax saving", dt.date(2025, 3, 12)),
        ("goal planning", dt.date(2025, 3, 10)),
    ]
    assert list(nothing) == []


async def test_a_batch_with_one_bad_item_writes_none_of_it(uow_factory: UowFactory) -> None:
    people = [make_advisor(800 + n) for n in range(3)]
    clash = attrs.evolve(make_advisor(899), email=people[0].email)
    async with uow_factory() as uow:
        with pytest.raises(ConflictError) as caught:
            await uow.advisors.add_many([*people, clash])
    assert caught.value.entity == "advisors"
    async with uow_factory() as uow:
        assert await uow.advisors.count() == 0


async def test_get_many_and_update_many_name_a_missing_id(uow_factory: UowFactory) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    known = make_delivery(advisor, pack)
    await add_committed(uow_factory, known)
    ghost = make_delivery(advisor, pack, date=DAY + dt.timedelta(days=1))
    async with uow_factory() as uow:
        with pytest.raises(NotFoundError) as caught:
            await uow.deliveries.get_many([known.id, ghost.id])
        assert caught.value.key == ghost.id
        with pytest.raises(NotFoundError):
            await uow.content.get_many([uuid.uuid4()])
    async with uow_factory() as uow:
        with pytest.raises(NotFoundError) as caught:
            await uow.deliveries.update_many([known, ghost])
        assert caught.value.key == ghost.id


@pytest.mark.parametrize("lock", [False, True])
async def test_get_many_may_leave_out_missing_ids_keeping_the_order_asked(
    uow_factory: UowFactory, lock: bool
) -> None:
    advisor, pack = await _advisor_with_pack(uow_factory)
    days = [DAY + dt.timedelta(days=n) for n in range(3)]
    first, second, third = (make_delivery(advisor, pack, date=d) for d in days)
    await add_committed(uow_factory, first, second, third)
    asked = [third.id, uuid.uuid4(), first.id, second.id]
    async with uow_factory() as uow:
        got = await uow.deliveries.get_many(asked, lock=lock, missing_ok=True)
    assert list(got) == [third.id, first.id, second.id]
    assert got[first.id] == first


async def test_deliveries_are_found_by_the_provider_message_id(uow_factory: UowFactory) -> None:
    a, pa = await _advisor_with_pack(uow_factory, 1)
    b, pb = await _advisor_with_pack(uow_factory, 2)
    sent = make_delivery(a, pa).start_sending(T0).mark_sent("wamid.HBgM1", T0)
    queued = make_delivery(b, pb)
    await add_committed(uow_factory, sent, queued)
    async with uow_factory() as uow:
        found = await uow.deliveries.by_message_ids(["wamid.HBgM1", "wamid.nope"])
        none = await uow.deliveries.by_message_ids([])
    assert dict(found) == {"wamid.HBgM1": sent}
    assert dict(none) == {}


# -- the fallback library and selections -----------------------------------------------------


def make_entry(pack: ContentPack, **changes: Any) -> LibraryEntry:
    fields: dict[str, Any] = {
        "pack_id": pack.id,
        "topic": pack.topic,
        "applicable_months": ALL_MONTHS,
        "priority": 60,
        "engagement": 0.35,
        "quality": 70,
        "created_on": DAY - dt.timedelta(days=90),
    }
    fields.update(changes)
    return LibraryEntry(**fields)


async def add_entries_committed(uow_factory: UowFactory, *entries: LibraryEntry) -> None:
    async with uow_factory() as uow:
        for entry in entries:
            await uow.fallbacks.add_entry(entry)
        await uow.commit()


async def add_selections_committed(uow_factory: UowFactory, *records: SelectionRecord) -> None:
    async with uow_factory() as uow:
        await uow.fallbacks.add_selections(records)
        await uow.commit()


async def _library(uow_factory: UowFactory, n: int) -> list[tuple[ContentPack, LibraryEntry]]:
    """``n`` shared approved packs, each in the library."""
    packs = [make_pack(None, topic=f"topic-{i}", scheduled_date=None) for i in range(n)]
    entries = [make_entry(p, priority=10 * (i + 1)) for i, p in enumerate(packs)]
    await add_committed(uow_factory, *packs)
    await add_entries_committed(uow_factory, *entries)
    return list(zip(packs, entries, strict=True))


def make_selection(
    advisor: Advisor,
    library: list[tuple[ContentPack, LibraryEntry]],
    date: dt.date = DAY,
    **changes: Any,
) -> SelectionRecord:
    candidates = [e.candidate(languages=p.languages, passes_rulebook=True) for p, e in library]
    context = AdvisorContext(advisor_id=advisor.id, language=Language.EN)
    selection = select_fallback(
        candidates,
        context,
        date,
        weights=Weights(recency=0.5),
        trigger_reason=TriggerReason.COMPLIANCE_FAILURE,
    )
    assert selection is not None
    fields: dict[str, Any] = {
        "id": new_id(),
        "selection": selection,
        "rulebook_version": "2026.11.0",
        "selected_at": dt.datetime(2025, 3, 14, 0, 25, 0, 123456, tzinfo=dt.UTC),
    }
    fields.update(changes)
    return SelectionRecord(**fields)


async def test_a_library_entry_round_trips_and_only_active_entries_are_listed_by_pack_id(
    uow_factory: UowFactory,
) -> None:
    packs = [make_pack(None, topic="diwali", scheduled_date=None) for _ in range(3)]
    seasonal = make_entry(
        packs[0],
        topic="diwali",
        applicable_months={10, 11},
        expires_on=dt.date(2025, 11, 30),
        engagement=0.123456789,
        quality=0,
        priority=100,
    )
    evergreen = make_entry(packs[1])
    retired = make_entry(packs[2], active=False)
    await add_committed(uow_factory, *packs)
    async with uow_factory() as uow:
        for entry in (retired, seasonal, evergreen):
            await uow.fallbacks.add_entry(entry)
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.fallbacks.get_entry(seasonal.pack_id)
        active = await uow.fallbacks.entries()
        everything = await uow.fallbacks.entries(active_only=False)
    assert got == seasonal
    assert got.applicable_months == frozenset({10, 11})
    assert got.engagement == 0.123456789
    assert list(active) == sorted([seasonal, evergreen], key=lambda e: e.pack_id.int)
    assert list(everything) == sorted([seasonal, evergreen, retired], key=lambda e: e.pack_id.int)


async def test_a_pack_is_in_the_library_once_and_must_exist(uow_factory: UowFactory) -> None:
    ((_, entry),) = await _library(uow_factory, 1)
    with pytest.raises(ConflictError) as err:
        await add_entries_committed(uow_factory, attrs.evolve(entry, priority=1))
    assert (err.value.entity, err.value.key) == ("fallback_library", "pk_fallback_library")
    ghost = make_entry(make_pack(None))
    with pytest.raises(ConflictError) as err:
        await add_entries_committed(uow_factory, ghost)
    assert err.value.entity == "fallback_library"
    async with uow_factory() as uow:
        assert list(await uow.fallbacks.entries(active_only=False)) == [entry]


async def test_updating_a_library_entry_replaces_it_and_a_missing_one_is_not_found(
    uow_factory: UowFactory,
) -> None:
    ((pack, entry),) = await _library(uow_factory, 1)
    changed = attrs.evolve(entry, active=False, priority=5, applicable_months={3})
    async with uow_factory() as uow:
        await uow.fallbacks.update_entry(changed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.fallbacks.get_entry(pack.id) == changed
        assert list(await uow.fallbacks.entries()) == []
        with pytest.raises(NotFoundError) as err:
            await uow.fallbacks.update_entry(make_entry(make_pack(None)))
        with pytest.raises(NotFoundError):
            await uow.fallbacks.get_entry(new_id())
    assert err.value.entity == "library_entry"


async def test_a_selection_round_trips_with_its_breakdown_runner_ups_and_weights(
    uow_factory: UowFactory,
) -> None:
    library = await _library(uow_factory, 5)
    advisor = make_advisor(1)
    await add_committed(uow_factory, advisor)
    record = make_selection(advisor, library)
    assert len(record.selection.runner_ups) == 3
    async with uow_factory() as uow:
        await uow.fallbacks.add_selection(record)
        await uow.commit()
    async with uow_factory() as uow:
        (got,) = await uow.fallbacks.selections_for(DAY)
    assert got == record
    assert got.selection.breakdown == record.selection.breakdown
    assert got.selection.weights == Weights(recency=0.5)
    assert got.selection.trigger_reason is TriggerReason.COMPLIANCE_FAILURE
    assert got.selected_at == record.selected_at


async def test_an_advisor_gets_one_selection_per_date_and_a_failed_batch_writes_none(
    uow_factory: UowFactory,
) -> None:
    library = await _library(uow_factory, 2)
    a, b = make_advisor(1), make_advisor(2)
    await add_committed(uow_factory, a, b)
    first = make_selection(a, library)
    async with uow_factory() as uow:
        await uow.fallbacks.add_selection(first)
        await uow.commit()
    with pytest.raises(ConflictError) as err:
        await add_selections_committed(
            uow_factory, make_selection(b, library), make_selection(a, library)
        )
    assert (err.value.entity, err.value.key) == (
        "fallback_selections",
        "uq_fallback_selections_advisor_id_date",
    )
    unknown = make_advisor(3)
    with pytest.raises(ConflictError) as err:
        await add_selections_committed(uow_factory, make_selection(unknown, library))
    assert err.value.entity == "fallback_selections"
    async with uow_factory() as uow:
        assert list(await uow.fallbacks.selections_for(DAY)) == [first]


async def test_selections_for_a_date_are_ordered_by_advisor_and_filtered_by_advisor(
    uow_factory: UowFactory,
) -> None:
    library = await _library(uow_factory, 3)
    advisors = [make_advisor(n) for n in range(1, 5)]
    await add_committed(uow_factory, *advisors)
    today = [make_selection(a, library) for a in advisors]
    tomorrow = make_selection(advisors[0], library, DAY + dt.timedelta(days=1))
    async with uow_factory() as uow:
        await uow.fallbacks.add_selections([*today, tomorrow])
        await uow.commit()
    async with uow_factory() as uow:
        on_day = await uow.fallbacks.selections_for(DAY)
        one = await uow.fallbacks.selections_for(DAY, advisor_id=advisors[2].id)
        none = await uow.fallbacks.selections_for(DAY - dt.timedelta(days=1))
    assert list(on_day) == sorted(today, key=lambda r: r.advisor_id.int)
    assert list(one) == [today[2]]
    assert list(none) == []


async def test_last_used_gives_the_latest_date_of_each_pack_since_the_cutoff(
    uow_factory: UowFactory,
) -> None:
    library = await _library(uow_factory, 3)
    (p1, _), (p2, _), (p3, _) = library
    a, b, c = make_advisor(1), make_advisor(2), make_advisor(3)
    await add_committed(uow_factory, a, b, c)

    def chose(advisor: Advisor, pack: ContentPack, days_ago: int) -> SelectionRecord:
        # The library reduced to one pack: that pack is the one selected.
        only = [(p, e) for p, e in library if p.id == pack.id]
        return make_selection(advisor, only, DAY - dt.timedelta(days=days_ago))

    records = [
        chose(a, p1, 40),  # before the cutoff
        chose(a, p1, 20),
        chose(a, p1, 5),
        chose(a, p2, 10),
        chose(a, p3, -3),  # a later morning planned already
        chose(b, p2, 31),  # before the cutoff
        chose(c, p3, 1),
    ]
    async with uow_factory() as uow:
        await uow.fallbacks.add_selections(records)
        await uow.commit()
    since = DAY - dt.timedelta(days=30)
    async with uow_factory() as uow:
        used = await uow.fallbacks.last_used([a.id, b.id, new_id()], since=since)
        nobody = await uow.fallbacks.last_used([], since=since)
    assert used == {
        a.id: {
            p1.id: DAY - dt.timedelta(days=5),
            p2.id: DAY - dt.timedelta(days=10),
            p3.id: DAY + dt.timedelta(days=3),
        }
    }
    assert nobody == {}


# -- the delivery queue ------------------------------------------------------------------------


async def test_claiming_leases_due_deliveries_once_and_only_the_holder_extends_them(
    uow_factory: UowFactory,
) -> None:
    advisors = [make_advisor(n) for n in range(1, 4)]
    packs = [make_pack(a.id) for a in advisors]
    due = [
        make_delivery(a, p, send_time=dt.time(6, 0)) for a, p in zip(advisors, packs, strict=True)
    ]
    later = attrs.evolve(due[2], next_attempt_at=due[2].scheduled_for + dt.timedelta(hours=1))
    await add_committed(uow_factory, *advisors, *packs, due[0], due[1], later)
    now = due[0].scheduled_for + dt.timedelta(seconds=1)
    until = now + dt.timedelta(seconds=30)
    async with uow_factory() as uow:
        claimed = await uow.deliveries.claim_due(now, 10, owner="w1", until=until)
        await uow.commit()
    assert sorted(d.id for d in claimed) == sorted(d.id for d in due[:2])
    assert all(d.holds("w1") and d.attempts == 1 for d in claimed)
    async with uow_factory() as uow:
        assert await uow.deliveries.claim_due(now, 10, owner="w2", until=until) == []
        assert await uow.deliveries.count_open(now) == 0  # leased to w1 beyond now
        assert await uow.deliveries.count_open(until) == 2  # ...but not beyond its lease
        kept = await uow.deliveries.extend_leases("w2", [d.id for d in claimed], until)
        assert kept == set()
        kept = await uow.deliveries.extend_leases("w1", [claimed[0].id], until + until.resolution)
        await uow.commit()
    assert kept == {claimed[0].id}
    async with uow_factory() as uow:
        expired = await uow.deliveries.expired_leases(until, 10)
        held = await uow.deliveries.held_by("w1", [d.id for d in due])
        assert await uow.deliveries.held_by("w2", [d.id for d in due]) == set()
    assert [d.id for d in expired] == [claimed[1].id]
    assert held == {claimed[0].id, claimed[1].id}  # not the one still queued


async def test_an_sms_backup_is_one_per_delivery_and_must_be_sms(
    uow_factory: UowFactory,
) -> None:
    advisor = make_advisor(1)
    pack = make_pack(advisor.id)
    delivery = make_delivery(advisor, pack)
    await add_committed(uow_factory, advisor, pack, delivery)
    backup = delivery.sms_backup(id=new_id(), now=T0)
    await add_committed(uow_factory, backup)
    with pytest.raises(ConflictError) as caught:
        await add_committed(uow_factory, delivery.sms_backup(id=new_id(), now=T0))
    assert caught.value.key == "uq_deliveries_advisor_id_date_channel_variant"
    async with uow_factory() as uow:
        stored = await uow.deliveries.get(backup.id)
    assert stored == backup


async def test_inbound_messages_are_recorded_once_by_provider_id(uow_factory: UowFactory) -> None:
    advisor = make_advisor(1)
    await add_committed(uow_factory, advisor)
    message = InboundMessage(
        id=new_id(),
        provider_message_id="wamid.in-1",
        from_number=advisor.whatsapp_number,
        advisor_id=advisor.id,
        type="text",
        body="STOP",
        phone_number_id="106540352242922",
        sent_at=T0,
        received_at=T0 + dt.timedelta(seconds=2),
    )
    again = attrs.evolve(message, id=new_id(), body="changed")
    async with uow_factory() as uow:
        assert await uow.inbound.add_new([message]) == 1
        assert await uow.advisors.ids_by_whatsapp([advisor.whatsapp_number, "+910"]) == {
            advisor.whatsapp_number: advisor.id
        }
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbound.add_new([again]) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbound.for_advisor(advisor.id) == [message]


async def test_updating_statuses_writes_the_status_only_and_names_a_missing_pack(
    uow_factory: UowFactory,
) -> None:
    advisor = make_advisor(1)
    pack = make_pack(advisor.id)
    await add_committed(uow_factory, advisor, pack)
    moved = attrs.evolve(pack, status=ContentStatus.DELIVERED, topic="not written")
    async with uow_factory() as uow:
        await uow.content.update_statuses([moved])
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.content.get(pack.id)
        with pytest.raises(NotFoundError):
            await uow.content.update_statuses([attrs.evolve(pack, id=new_id())])
    assert stored == attrs.evolve(pack, status=ContentStatus.DELIVERED)


# -- the AI studio: jobs and the response cache ------------------------------------------------

MODEL = "gpt-4o-mini"
DIGEST_IN = "1" * 64
DIGEST_OUT = "f" * 64
DAY_START = dt.datetime(2025, 3, 14, tzinfo=IST)  # the quota's day starts at IST midnight
DAY_END = DAY_START + dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)


def make_job(advisor_id: uuid.UUID | None, **changes: Any) -> AiJob:
    fields: dict[str, Any] = {
        "id": new_id(),
        "advisor_id": advisor_id,
        "stage": AiStage.GENERATION,
        "model": MODEL,
        "prompt_version": "generate-v1",
        "input_hash": DIGEST_IN,
        "output_hash": DIGEST_OUT,
        "usage": TokenUsage(1200, 800),
        "latency_ms": 950,
        "cost_inr": Decimal("0.0123"),
        "created_at": DAY_START + dt.timedelta(hours=9),
    }
    fields.update(changes)
    return AiJob(**fields)


async def add_jobs_committed(uow_factory: UowFactory, *jobs: AiJob) -> None:
    async with uow_factory() as uow:
        for job in jobs:
            await uow.ai_jobs.add(job)
        await uow.commit()


async def test_an_ai_job_round_trips_every_field(uow_factory: UowFactory) -> None:
    advisor = make_advisor(1)
    await add_committed(uow_factory, advisor)
    failed = make_job(
        advisor.id,
        stage=AiStage.COMPLIANCE_CHECK,
        model="gpt-4o-2024-08-06",
        prompt_version="review-v3",
        output_hash=None,
        usage=TokenUsage(0, 0),
        latency_ms=30_000,
        cost_inr=Decimal("0"),
        outcome=AiOutcome.UNAVAILABLE,
        error="मॉडल उपलब्ध नहीं: timed out after 3 attempts",
        created_at=dt.datetime(2025, 3, 14, 23, 59, 59, 999999, tzinfo=IST),
    )
    succeeded = make_job(
        advisor.id,
        cost_inr=Decimal("12345.6789"),
        created_at=dt.datetime(2025, 3, 14, 0, 0, 0, 1, tzinfo=dt.UTC),
    )
    await add_jobs_committed(uow_factory, failed, succeeded)
    async with uow_factory() as uow:
        newest, oldest = await uow.ai_jobs.for_advisor(advisor.id)
    assert (newest, oldest) == (failed, succeeded)
    assert newest.stage is AiStage.COMPLIANCE_CHECK
    assert newest.outcome is AiOutcome.UNAVAILABLE
    assert newest.created_at.tzinfo is not None
    # Costs come back at the column's scale, four places, on every backend.
    assert str(oldest.cost_inr) == "12345.6789"
    assert str(newest.cost_inr) == "0.0000"


async def test_a_cache_hit_without_an_advisor_and_a_short_cost_round_trip(
    uow_factory: UowFactory,
) -> None:
    advisor = make_advisor(1)
    await add_committed(uow_factory, advisor)
    hit = make_job(advisor.id, cache_hit=True, usage=TokenUsage(), cost_inr=Decimal("0.1"))
    anonymous = make_job(None)
    await add_jobs_committed(uow_factory, hit, anonymous)
    async with uow_factory() as uow:
        (got,) = await uow.ai_jobs.for_advisor(advisor.id)
        rows = await uow.ai_jobs.usage(DAY_START, DAY_END)
    assert got == hit
    assert got.cache_hit is True
    assert str(got.cost_inr) == "0.1000"
    assert [r.advisor_id for r in rows] == [advisor.id, None]


async def test_for_advisor_lists_the_newest_first_up_to_the_limit(uow_factory: UowFactory) -> None:
    a, b = make_advisor(1), make_advisor(2)
    await add_committed(uow_factory, a, b)
    at = DAY_START + dt.timedelta(hours=10)
    spread = [make_job(a.id, created_at=at + dt.timedelta(minutes=m)) for m in (5, 1, 9, 3)]
    tied = [make_job(a.id, created_at=at + dt.timedelta(minutes=7)) for _ in range(3)]
    others = [make_job(b.id, created_at=at + dt.timedelta(minutes=8)), make_job(None)]
    await add_jobs_committed(uow_factory, *spread, *others, *tied)
    expected = sorted([*spread, *tied], key=lambda j: (j.created_at, j.id.int), reverse=True)
    async with uow_factory() as uow:
        everything = await uow.ai_jobs.for_advisor(a.id)
        first_four = await uow.ai_jobs.for_advisor(a.id, limit=4)
        none = await uow.ai_jobs.for_advisor(a.id, limit=0)
        nobody = await uow.ai_jobs.for_advisor(new_id())
    assert list(everything) == expected
    assert list(first_four) == expected[:4]
    assert list(none) == []
    assert list(nobody) == []


async def test_count_for_counts_model_calls_of_a_stage_in_a_half_open_window(
    uow_factory: UowFactory,
) -> None:
    a, b = make_advisor(1), make_advisor(2)
    await add_committed(uow_factory, a, b)
    # The window is given in IST; the jobs' times in UTC: the same instants either way.
    start_utc, end_utc = DAY_START.astimezone(dt.UTC), DAY_END.astimezone(dt.UTC)
    counted = [
        make_job(a.id, created_at=start_utc),
        make_job(a.id, created_at=end_utc - TICK),
        make_job(a.id, outcome=AiOutcome.UNAVAILABLE, output_hash=None, cost_inr=Decimal(0)),
        make_job(a.id, outcome=AiOutcome.REFUSED, output_hash=None),
    ]
    not_counted = [
        make_job(a.id, created_at=start_utc - TICK),
        make_job(a.id, created_at=end_utc),
        make_job(a.id, cache_hit=True, cost_inr=Decimal(0)),
        make_job(a.id, stage=AiStage.COMPLIANCE_CHECK),
        make_job(b.id),
        make_job(None),
    ]
    await add_jobs_committed(uow_factory, *not_counted[:3], *counted, *not_counted[3:])
    async with uow_factory() as uow:
        generations = await uow.ai_jobs.count_for(a.id, AiStage.GENERATION, DAY_START, DAY_END)
        checks = await uow.ai_jobs.count_for(a.id, AiStage.COMPLIANCE_CHECK, DAY_START, DAY_END)
        empty = await uow.ai_jobs.count_for(a.id, AiStage.GENERATION, DAY_START, DAY_START)
        unknown = await uow.ai_jobs.count_for(new_id(), AiStage.GENERATION, DAY_START, DAY_END)
    assert (generations, checks, empty, unknown) == (len(counted), 1, 0, 0)


def _float_total(costs: list[Decimal]) -> Decimal:
    """What summing the costs as binary floats (a naive REAL column) would report."""
    total = 0.0
    for cost in costs:
        total += float(cost)
    return Decimal(total).quantize(Decimal("0.0001"))


async def test_spend_is_an_exact_decimal_over_a_half_open_window(uow_factory: UowFactory) -> None:
    advisor = make_advisor(1)
    await add_committed(uow_factory, advisor)
    # Large calls among tiny ones in 0.0001 steps: a floating-point sum gets the last place
    # wrong here (checked below), so only an exact sum passes on every backend.
    costs = [
        cost
        for step in range(1, 41)
        for cost in (Decimal("9999999999.9999"), Decimal("0.0001") * step, Decimal("0.0003"))
    ]
    exact = sum(costs, start=Decimal(0))
    assert _float_total(costs) != exact
    inside = [
        make_job(
            advisor.id if i % 3 else None,
            cost_inr=cost,
            cache_hit=i % 7 == 0,
            created_at=DAY_START + dt.timedelta(seconds=i),
        )
        for i, cost in enumerate(costs)
    ]
    edges = [
        make_job(advisor.id, created_at=DAY_START - TICK, cost_inr=Decimal("1.0000")),
        make_job(advisor.id, created_at=DAY_END, cost_inr=Decimal("2.0000")),
        make_job(advisor.id, created_at=DAY_END - TICK, cost_inr=Decimal("0.0001")),
    ]
    await add_jobs_committed(uow_factory, *inside, *edges)
    async with uow_factory() as uow:
        spent = await uow.ai_jobs.spend(DAY_START, DAY_END)
        nothing = await uow.ai_jobs.spend(DAY_END + TICK, DAY_END + dt.timedelta(days=1))
        last_edge = await uow.ai_jobs.spend(DAY_END - TICK, DAY_END)
    assert isinstance(spent, Decimal)
    assert spent == exact + Decimal("0.0001")
    assert str(spent) == str(exact + Decimal("0.0001"))
    assert last_edge == Decimal("0.0001")
    assert nothing == 0
    assert str(nothing) == "0.0000"


async def test_usage_groups_by_advisor_and_model_highest_cost_first(
    uow_factory: UowFactory,
) -> None:
    a, b = sorted([make_advisor(1), make_advisor(2)], key=lambda x: x.id.int)
    await add_committed(uow_factory, a, b)

    def job(advisor: Advisor | None, model: str, cost: str, **changes: Any) -> AiJob:
        return make_job(
            None if advisor is None else advisor.id,
            model=model,
            cost_inr=Decimal(cost),
            **changes,
        )

    jobs = [
        job(a, "gpt-4o", "0.3000", usage=TokenUsage(10, 20)),
        job(a, "gpt-4o", "0.0001", usage=TokenUsage(1, 2), stage=AiStage.COMPLIANCE_CHECK),
        job(a, "gpt-4o", "0", cache_hit=True, usage=TokenUsage()),
        job(a, "gpt-4o-mini", "0.0500", usage=TokenUsage(100, 200)),
        job(b, "gpt-4o", "0.0500", usage=TokenUsage(5, 6)),
        job(b, "Z-model", "0.0500", usage=TokenUsage(7, 8), outcome=AiOutcome.INVALID),
        job(None, "gpt-4o", "0.0500", usage=TokenUsage(3, 4)),
        job(None, "gpt-4o", "0", cache_hit=True, usage=TokenUsage()),
        job(b, "gpt-4o", "9.9999", created_at=DAY_END),  # outside the window
    ]
    await add_jobs_committed(uow_factory, *jobs)
    async with uow_factory() as uow:
        rows = await uow.ai_jobs.usage(DAY_START, DAY_END)
        empty = await uow.ai_jobs.usage(DAY_END + TICK, DAY_END + dt.timedelta(days=1))

    def row(advisor: Advisor | None, model: str, *counts: int, cost: str) -> AiUsageRow:
        calls, hits, input_tokens, output_tokens = counts
        return AiUsageRow(
            advisor_id=None if advisor is None else advisor.id,
            model=model,
            calls=calls,
            cache_hits=hits,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_inr=Decimal(cost),
        )

    # Equal costs: by advisor id, no advisor last, then by model in code point order
    # ("Z-model" before "gpt-4o" whatever the database's collation).
    assert list(rows) == [
        row(a, "gpt-4o", 2, 1, 11, 22, cost="0.3001"),
        row(a, "gpt-4o-mini", 1, 0, 100, 200, cost="0.0500"),
        row(b, "Z-model", 1, 0, 7, 8, cost="0.0500"),
        row(b, "gpt-4o", 1, 0, 5, 6, cost="0.0500"),
        row(None, "gpt-4o", 1, 1, 3, 4, cost="0.0500"),
    ]
    assert [str(r.cost_inr) for r in rows] == ["0.3001", "0.0500", "0.0500", "0.0500", "0.0500"]
    assert list(empty) == []


async def test_an_ai_job_must_be_new_name_a_known_advisor_and_cost_nothing_negative(
    uow_factory: UowFactory,
) -> None:
    advisor = make_advisor(1)
    await add_committed(uow_factory, advisor)
    kept = make_job(advisor.id)
    await add_jobs_committed(uow_factory, kept)
    innocent = make_job(advisor.id)
    cases = [
        (attrs.evolve(kept, latency_ms=1), "pk_ai_jobs"),
        (make_job(advisor.id, cost_inr=Decimal("-0.0001")), "ck_ai_jobs_cost_inr_non_negative"),
        (make_job(new_id()), None),  # SQLite does not name the foreign key
    ]
    for bad, constraint in cases:
        with pytest.raises(ConflictError) as err:
            await add_jobs_committed(uow_factory, innocent, bad)
        assert err.value.entity == "ai_jobs"
        if constraint is not None:
            assert err.value.key == constraint
    async with uow_factory() as uow:
        assert list(await uow.ai_jobs.for_advisor(advisor.id)) == [kept]


def make_answer(key: str = "a" * 64, **changes: Any) -> CachedAnswer:
    created = DAY_START + dt.timedelta(hours=9)
    fields: dict[str, Any] = {
        "key": key,
        "stage": AiStage.GENERATION,
        "model": MODEL,
        "prompt_version": "generate-v1",
        "document": {
            "topic": "SIP क्या है?",
            "variants": {"hi": {"title": "SIP", "body": "हर महीने", "cta": "", "disclaimer": ""}},
            "usage": [1200, 800],
            "risk_score": None,
            "escalate": False,
            "score": 0.25,
        },
        "created_at": created,
        "expires_at": created + dt.timedelta(days=14),
    }
    fields.update(changes)
    return CachedAnswer(**fields)


async def put_committed(uow_factory: UowFactory, *answers: CachedAnswer) -> None:
    async with uow_factory() as uow:
        for answer in answers:
            await uow.ai_cache.put(answer)
        await uow.commit()


async def test_a_cached_answer_round_trips_until_it_expires(uow_factory: UowFactory) -> None:
    answer = make_answer()
    await put_committed(uow_factory, answer)
    async with uow_factory() as uow:
        at_creation = await uow.ai_cache.get(answer.key, answer.created_at)
        last_moment = await uow.ai_cache.get(answer.key, answer.expires_at - TICK)
        at_expiry = await uow.ai_cache.get(answer.key, answer.expires_at)
        later = await uow.ai_cache.get(answer.key, answer.expires_at + dt.timedelta(days=1))
        missing = await uow.ai_cache.get("b" * 64, answer.created_at)
    assert at_creation == answer
    assert last_moment == answer
    assert at_creation is not None
    assert at_creation.document["usage"] == [1200, 800]
    assert at_creation.stage is AiStage.GENERATION
    assert (at_expiry, later, missing) == (None, None, None)


async def test_putting_under_a_known_key_replaces_the_answer(uow_factory: UowFactory) -> None:
    first = make_answer()
    await put_committed(uow_factory, first)
    second = make_answer(
        stage=AiStage.COMPLIANCE_CHECK,
        model="gpt-4o",
        prompt_version="review-v2",
        document={"reviewer": "openai", "findings": []},
        created_at=first.created_at + dt.timedelta(days=1),
        expires_at=first.expires_at + dt.timedelta(days=1),
    )
    await put_committed(uow_factory, second)
    async with uow_factory() as uow:
        assert await uow.ai_cache.get(first.key, first.expires_at) == second
        # Twice in one unit of work: the last one stands.
        third = attrs.evolve(second, document={"reviewer": "again", "findings": [1]})
        await uow.ai_cache.put(third)
        await uow.ai_cache.put(attrs.evolve(third, key="c" * 64))
        assert await uow.ai_cache.get(first.key, first.created_at) == third
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.ai_cache.get(first.key, first.created_at) == third
        assert await uow.ai_cache.purge(second.expires_at) == 2  # one row per key


async def test_purge_deletes_the_answers_expired_at_now_and_counts_them(
    uow_factory: UowFactory,
) -> None:
    now = DAY_START + dt.timedelta(days=20)
    expired_long_ago = make_answer("1" * 64, expires_at=now - dt.timedelta(days=5))
    expiring_now = make_answer("2" * 64, expires_at=now)
    fresh = make_answer("3" * 64, expires_at=now + TICK)
    await put_committed(uow_factory, expired_long_ago, expiring_now, fresh)
    # Purged but not committed: nothing is deleted.
    async with uow_factory() as uow:
        assert await uow.ai_cache.purge(now) == 2
        assert await uow.ai_cache.get(expired_long_ago.key, DAY_START) is None
    async with uow_factory() as uow:
        assert await uow.ai_cache.get(expired_long_ago.key, DAY_START) == expired_long_ago
        assert await uow.ai_cache.purge(now) == 2
        assert await uow.ai_cache.purge(now) == 0
        # A key purged and put again in the same unit of work is kept.
        await uow.ai_cache.put(attrs.evolve(expiring_now, expires_at=now + dt.timedelta(days=1)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.ai_cache.get(fresh.key, now) == fresh
        assert await uow.ai_cache.get(expiring_now.key, now) is not None
        assert await uow.ai_cache.get(expired_long_ago.key, DAY_START) is None
        assert await uow.ai_cache.purge(now + dt.timedelta(days=1)) == 2


async def test_ai_jobs_and_answers_are_kept_only_on_commit(uow_factory: UowFactory) -> None:
    advisor = make_advisor(1)
    await add_committed(uow_factory, advisor)
    job, answer = make_job(advisor.id), make_answer()
    async with uow_factory() as uow:
        await uow.ai_jobs.add(job)
        await uow.ai_cache.put(answer)
        # A unit of work reads its own writes...
        assert await uow.ai_jobs.count_for(advisor.id, job.stage, DAY_START, DAY_END) == 1
        assert await uow.ai_jobs.spend(DAY_START, DAY_END) == job.cost_inr
        assert await uow.ai_cache.get(answer.key, answer.created_at) == answer
    # ...which are gone once it ends without a commit,
    async with uow_factory() as uow:
        assert await uow.ai_jobs.count_for(advisor.id, job.stage, DAY_START, DAY_END) == 0
        assert await uow.ai_jobs.spend(DAY_START, DAY_END) == 0
        assert list(await uow.ai_jobs.usage(DAY_START, DAY_END)) == []
        assert await uow.ai_cache.get(answer.key, answer.created_at) is None
        # ...or after an explicit rollback, and a conflict discards the rest of the work.
        await uow.ai_jobs.add(job)
        await uow.ai_cache.put(answer)
        await uow.rollback()
        await uow.ai_cache.put(answer)
        with pytest.raises(ConflictError):
            await uow.ai_jobs.add(make_job(new_id()))
        await uow.rollback()
        await uow.commit()
    async with uow_factory() as uow:
        assert list(await uow.ai_jobs.for_advisor(advisor.id)) == []
        assert await uow.ai_cache.get(answer.key, answer.created_at) is None
        assert await uow.ai_cache.purge(answer.expires_at) == 0


async def test_every_stage_and_outcome_round_trips(uow_factory: UowFactory) -> None:
    advisor = make_advisor(1)
    await add_committed(uow_factory, advisor)
    jobs = [
        make_job(
            advisor.id,
            stage=stage,
            outcome=outcome,
            created_at=DAY_START + dt.timedelta(minutes=n),
        )
        for n, (stage, outcome) in enumerate((s, o) for s in AiStage for o in AiOutcome)
    ]
    await add_jobs_committed(uow_factory, *jobs)
    async with uow_factory() as uow:
        got = await uow.ai_jobs.for_advisor(advisor.id)
    assert list(got) == jobs[::-1]
