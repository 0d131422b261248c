"""The change feed behind /v1/ws, on the in-memory fakes: what it reports, to whom, at what cost."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, Self

import attrs
import pytest

from projectone.domain.access import Principal
from projectone.domain.advisor import Advisor
from projectone.domain.audit import Actor, Role, change_event
from projectone.domain.content import ContentPack, ContentStatus
from projectone.domain.delivery import Delivery, DeliveryStatus
from projectone.domain.errors import NotFoundError, UnauthenticatedError, ValidationError
from projectone.domain.language import Language
from projectone.services.change_feed import (
    ChangeFeed,
    ContentChange,
    Cursor,
    DeliveryChange,
    FeedCache,
    Poll,
    Scope,
    window_dates,
)
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.fakes import (
    InMemoryStore,
    InMemoryUnitOfWork,
    InMemoryUnitOfWorkFactory,
    ManualClock,
    SequentialIds,
)

# 09:00 UTC is 14:30 in India: today is the 23rd there too.
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)


class CountingUnitOfWork(InMemoryUnitOfWork):
    """The fakes' unit of work, counting the content, delivery and audit reads made."""

    def __init__(self, store: InMemoryStore, calls: Counter[str]) -> None:
        super().__init__(store)
        self.calls = calls

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        for repo, name in (
            (self.content, "get_many"),
            (self.content, "get"),
            (self.deliveries, "for_date"),
            (self.audit, "events"),
        ):
            setattr(repo, name, self._counted(name, getattr(repo, name)))
        return self

    def _counted(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await method(*args, **kwargs)

        return counted


class CountingFactory:
    def __init__(self, inner: InMemoryUnitOfWorkFactory) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __call__(self) -> InMemoryUnitOfWork:
        return CountingUnitOfWork(self.inner.store, self.calls)


@attrs.define
class World:
    uow: CountingFactory
    clock: ManualClock
    ids: SequentialIds
    me: Advisor
    other: Advisor
    feed: ChangeFeed

    @property
    def mine(self) -> Principal:
        return Principal(subject="me", role=Role.ADVISOR, advisor_id=self.me.id)

    @property
    def theirs(self) -> Principal:
        return Principal(subject="them", role=Role.ADVISOR, advisor_id=self.other.id)

    @property
    def admin(self) -> Principal:
        return Principal(subject="asha", role=Role.ADMIN)

    async def pack(self, advisor: Advisor | None, **changes: Any) -> ContentPack:
        """A new draft of ``advisor`` (``None``: the library's), with its ``create`` event."""
        owner = advisor or self.me
        pack = demo_packs(
            [owner], TODAY, ids=self.ids, now=self.clock.now(), status=ContentStatus.DRAFT
        )[0]
        pack = attrs.evolve(pack, advisor_id=None if advisor is None else advisor.id, **changes)
        async with self.uow.inner() as uow:
            await uow.content.add(pack)
            await uow.audit.append([self._event(pack, "create")])
            await uow.commit()
        return pack

    async def move(self, pack: ContentPack, status: ContentStatus, action: str) -> ContentPack:
        moved = attrs.evolve(pack, status=status)
        async with self.uow.inner() as uow:
            await uow.content.update(moved)
            await uow.audit.append([self._event(moved, action)])
            await uow.commit()
        return moved

    async def event(self, entity_type: str, entity_id: str, action: str = "touch") -> None:
        draft = change_event(
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            old=None,
            new={"status": "x"},
            actor=Actor.system(),
            now=self.clock.now(),
            event_id=self.ids.new_id(),
        )
        async with self.uow.inner() as uow:
            await uow.audit.append([draft])
            await uow.commit()

    def _event(self, pack: ContentPack, action: str) -> Any:
        return change_event(
            action=action,
            entity_type="content_pack",
            entity_id=str(pack.id),
            old=None,
            new={"status": pack.status.value},
            actor=Actor.system(),
            now=self.clock.now(),
            event_id=self.ids.new_id(),
        )

    async def deliver(self, pack: ContentPack, date: dt.date = TODAY) -> Delivery:
        assert pack.advisor_id is not None
        delivery = Delivery.plan(
            id=self.ids.new_id(),
            advisor_id=pack.advisor_id,
            pack_id=pack.id,
            date=date,
            send_time=dt.time(6, 0),
            language=Language.EN,
            to="+919800000001",
            content_hash=pack.content_hash,
            now=self.clock.now(),
        )
        async with self.uow.inner() as uow:
            await uow.deliveries.add(delivery)
            await uow.commit()
        return delivery

    async def save(self, delivery: Delivery) -> Delivery:
        async with self.uow.inner() as uow:
            await uow.deliveries.update(delivery)
            await uow.commit()
        return delivery


@pytest.fixture
async def world() -> World:
    store = InMemoryUnitOfWorkFactory()
    clock = ManualClock(NOW)
    ids = SequentialIds()
    me, other = demo_advisors(2, ids=ids, now=NOW)
    async with store() as uow:
        await uow.advisors.add_many([me, other])
        await uow.commit()
    counting = CountingFactory(store)
    return World(counting, clock, ids, me, other, ChangeFeed(uow_factory=counting, clock=clock))


def content(poll: Poll) -> list[ContentChange]:
    return [c for c in poll.changes if isinstance(c, ContentChange)]


def deliveries(poll: Poll) -> list[DeliveryChange]:
    return [c for c in poll.changes if isinstance(c, DeliveryChange)]


# -- scope: who may follow what -----------------------------------------------------------------


async def test_an_advisor_follows_their_own_advisor(world: World) -> None:
    scope = await world.feed.scope(world.mine)
    assert scope.advisor_id == world.me.id
    assert await world.feed.scope(world.mine, world.me.id) == scope


async def test_an_advisor_cannot_name_another_advisor(world: World) -> None:
    with pytest.raises(NotFoundError):
        await world.feed.scope(world.mine, world.other.id)


async def test_an_advisor_account_that_does_not_exist_is_unauthenticated(world: World) -> None:
    ghost = Principal(subject="ghost", role=Role.ADVISOR, advisor_id=uuid.uuid4())
    with pytest.raises(UnauthenticatedError):
        await world.feed.scope(ghost)


async def test_staff_follow_everyone_or_one_existing_advisor(world: World) -> None:
    assert (await world.feed.scope(world.admin)).advisor_id is None
    assert (await world.feed.scope(world.admin, world.other.id)).advisor_id == world.other.id
    with pytest.raises(NotFoundError):
        await world.feed.scope(world.admin, uuid.uuid4())


def test_a_scope_built_by_hand_still_enforces_ownership(world: World) -> None:
    # Even a scope naming another advisor's id reports nothing of theirs to an advisor.
    forged = Scope(principal=world.mine, advisor_id=world.other.id)
    assert not forged.covers(world.other.id)
    assert not forged.covers(world.me.id)
    assert not Scope(principal=world.mine).covers(None)  # the library is not theirs
    assert Scope(principal=world.admin).covers(None)


# -- content -----------------------------------------------------------------------------------


async def test_a_new_subscription_starts_at_the_head_and_reports_what_follows(
    world: World,
) -> None:
    before = await world.pack(world.me)
    scope = await world.feed.scope(world.mine)
    cursor = await world.feed.start(scope)
    assert cursor.sequence == 1
    assert (await world.feed.poll(scope, cursor)).changes == ()

    moved = await world.move(before, ContentStatus.PENDING_REVIEW, "submit")
    polled = await world.feed.poll(scope, cursor)
    assert content(polled) == [
        ContentChange(
            pack_id=moved.id,
            advisor_id=world.me.id,
            status=ContentStatus.PENDING_REVIEW,
            version=moved.version,
            action="submit",
            at=NOW,
            sequence=2,
        )
    ]
    assert polled.cursor.sequence == 2
    assert (await world.feed.poll(scope, polled.cursor)).changes == ()


async def test_an_advisor_never_receives_another_advisors_or_the_librarys_packs(
    world: World,
) -> None:
    scope = await world.feed.scope(world.mine)
    cursor = await world.feed.start(scope)
    theirs = await world.pack(world.other)
    library = await world.pack(None)
    mine = await world.pack(world.me)
    await world.move(theirs, ContentStatus.PENDING_REVIEW, "submit")
    polled = await world.feed.poll(scope, cursor)
    assert [c.pack_id for c in content(polled)] == [mine.id]
    assert polled.cursor.sequence == 4  # it read past the others' events all the same
    assert library.advisor_id is None


async def test_staff_receive_every_pack_or_one_advisors(world: World) -> None:
    everyone = await world.feed.scope(world.admin)
    one = await world.feed.scope(world.admin, world.other.id)
    cursor = await world.feed.start(everyone)
    theirs = await world.pack(world.other)
    library = await world.pack(None)
    mine = await world.pack(world.me)
    assert [c.pack_id for c in content(await world.feed.poll(everyone, cursor))] == [
        theirs.id,
        library.id,
        mine.id,
    ]
    assert [c.pack_id for c in content(await world.feed.poll(one, cursor))] == [theirs.id]


async def test_several_events_of_a_pack_make_one_change_with_its_current_status(
    world: World,
) -> None:
    scope = await world.feed.scope(world.mine)
    cursor = await world.feed.start(scope)
    first = await world.pack(world.me)
    second = await world.pack(world.me)
    pending = await world.move(first, ContentStatus.PENDING_REVIEW, "submit")
    await world.move(pending, ContentStatus.DRAFT, "submit_blocked")
    changes = content(await world.feed.poll(scope, cursor))
    # In the order of each pack's last event, with that event's sequence and action.
    assert [(c.pack_id, c.status, c.action, c.sequence) for c in changes] == [
        (second.id, ContentStatus.DRAFT, "create", 2),
        (first.id, ContentStatus.DRAFT, "submit_blocked", 4),
    ]


async def test_other_entities_and_vanished_packs_are_skipped(world: World) -> None:
    scope = await world.feed.scope(world.admin)
    cursor = await world.feed.start(scope)
    await world.event("advisor", str(world.me.id))
    await world.event("content_pack", "not-a-uuid")
    await world.event("content_pack", str(uuid.uuid4()))  # a pack erased since
    pack = await world.pack(world.me)
    polled = await world.feed.poll(scope, cursor)
    assert [c.pack_id for c in content(polled)] == [pack.id]
    assert polled.cursor.sequence == 4


async def test_packs_are_loaded_in_one_query_whatever_the_number_of_events(
    world: World,
) -> None:
    scope = await world.feed.scope(world.admin)
    cursor = await world.feed.start(scope)
    for _ in range(10):
        pack = await world.pack(world.me)
        for _ in range(3):
            pack = await world.move(pack, ContentStatus.DRAFT, "edit")
    world.uow.calls.clear()
    polled = await world.feed.poll(scope, cursor)
    assert len(content(polled)) == 10
    assert world.uow.calls["get_many"] == 1
    assert world.uow.calls["get"] == 0


async def test_other_advisors_packs_are_not_loaded_again(world: World) -> None:
    scope = await world.feed.scope(world.mine)
    cursor = await world.feed.start(scope)
    theirs = await world.pack(world.other)
    cursor = (await world.feed.poll(scope, cursor)).cursor
    await world.move(theirs, ContentStatus.PENDING_REVIEW, "submit")
    world.uow.calls.clear()
    polled = await world.feed.poll(scope, cursor)
    assert polled.changes == ()
    assert world.uow.calls["get_many"] == 0  # its owner is known: not ours


async def test_a_poll_reads_a_bounded_number_of_events_and_the_next_one_goes_on(
    world: World,
) -> None:
    feed = attrs.evolve(world.feed, page_size=2, max_events=3)
    scope = await feed.scope(world.admin)
    cursor = await feed.start(scope)
    packs = [await world.pack(world.me) for _ in range(5)]
    first = await feed.poll(scope, cursor)
    assert [c.pack_id for c in content(first)] == [p.id for p in packs[:3]]
    assert first.cursor.sequence == 3
    second = await feed.poll(scope, first.cursor)
    assert [c.pack_id for c in content(second)] == [p.id for p in packs[3:]]
    assert world.uow.calls["events"] == 2 + 2


async def test_resuming_after_a_sequence_replays_what_followed_it(world: World) -> None:
    first = await world.pack(world.me)
    second = await world.pack(world.me)
    scope = await world.feed.scope(world.mine)
    cursor = await world.feed.start(scope, after=1)
    assert cursor.sequence == 1
    assert [c.pack_id for c in content(await world.feed.poll(scope, cursor))] == [second.id]
    # Beyond the head: the head (later events are not skipped).
    assert (await world.feed.start(scope, after=99)).sequence == 2
    with pytest.raises(ValidationError):
        await world.feed.start(scope, after=-1)
    assert first.id != second.id


# -- deliveries --------------------------------------------------------------------------------


async def test_deliveries_are_reported_when_new_or_changed_never_at_the_start(
    world: World,
) -> None:
    pack = await world.pack(world.me)
    queued = await world.deliver(pack)
    scope = await world.feed.scope(world.mine)
    cursor = await world.feed.start(scope)
    assert set(cursor.deliveries) == {queued.id}
    first = await world.feed.poll(scope, cursor)
    assert deliveries(first) == []

    sent_at = NOW + dt.timedelta(seconds=3)
    sending = await world.save(queued.start_sending(NOW))
    sent = await world.save(sending.mark_sent("wamid.1", sent_at))
    tomorrow = await world.deliver(pack, TODAY + dt.timedelta(days=1))  # not watched (yet)
    second = await world.feed.poll(scope, first.cursor)
    assert deliveries(second) == [
        DeliveryChange(
            delivery_id=sent.id,
            advisor_id=world.me.id,
            pack_id=pack.id,
            date=TODAY,
            channel=sent.channel,
            variant=sent.variant,
            status=DeliveryStatus.SENT,
            at=sent_at,
            error_code=None,
        )
    ]
    assert (await world.feed.poll(scope, second.cursor)).changes == ()
    assert tomorrow.id not in second.cursor.deliveries


async def test_a_new_delivery_and_a_retry_are_reported(world: World) -> None:
    pack = await world.pack(world.me)
    scope = await world.feed.scope(world.mine)
    cursor = await world.feed.start(scope)
    planned = await world.deliver(pack)
    new = await world.feed.poll(scope, cursor)
    assert [(c.delivery_id, c.status, c.at) for c in deliveries(new)] == [
        (planned.id, DeliveryStatus.QUEUED, planned.queued_at)
    ]
    world.clock.advance(dt.timedelta(minutes=1))
    retry = planned.start_sending(NOW).schedule_retry(
        NOW + dt.timedelta(seconds=30), error_code="130429", error_message="rate limited"
    )
    await world.save(retry)
    again = deliveries(await world.feed.poll(scope, new.cursor))
    # Queued again, with the error; no stamp of its own, so when the feed saw it.
    assert [(c.status, c.error_code, c.at) for c in again] == [
        (DeliveryStatus.QUEUED, "130429", world.clock.now())
    ]
    message = again[0].message()
    assert message["type"] == "delivery.status"
    assert message["date"] == TODAY.isoformat()


async def test_an_advisor_never_receives_another_advisors_deliveries(world: World) -> None:
    mine = await world.pack(world.me)
    theirs = await world.pack(world.other)
    advisor = await world.feed.scope(world.mine)
    staff = await world.feed.scope(world.admin)
    cursor = Cursor(sequence=0)
    await world.deliver(theirs)
    own = await world.deliver(mine)
    assert [c.delivery_id for c in deliveries(await world.feed.poll(advisor, cursor))] == [own.id]
    assert len(deliveries(await world.feed.poll(staff, cursor))) == 2


async def test_the_window_is_today_and_yesterday_in_india(world: World) -> None:
    # 19:00 UTC on the 23rd is 00:30 on the 24th in India.
    assert window_dates(dt.datetime(2026, 11, 23, 19, 0, tzinfo=dt.UTC)) == (
        TODAY,
        TODAY + dt.timedelta(days=1),
    )
    pack = await world.pack(world.me)
    old = await world.deliver(pack, TODAY - dt.timedelta(days=2))
    yesterday = await world.deliver(pack, TODAY - dt.timedelta(days=1))
    scope = await world.feed.scope(world.mine)
    polled = await world.feed.poll(scope, Cursor(sequence=99))
    assert [c.delivery_id for c in deliveries(polled)] == [yesterday.id]
    assert old.id not in polled.cursor.deliveries


# -- shared reads, the loop -------------------------------------------------------------------


async def test_the_shared_cache_reads_a_day_once_per_ttl(world: World) -> None:
    ticks = [100.0]
    cache = FeedCache(ttl=0.5, monotonic=lambda: ticks[0])
    feed = attrs.evolve(world.feed, cache=cache)
    pack = await world.pack(world.me)
    a = await feed.scope(world.mine)
    b = await feed.scope(world.admin)
    cursor = await feed.start(a)
    world.uow.calls.clear()
    await world.deliver(pack)
    assert deliveries(await feed.poll(a, cursor)) == []  # still the cached day
    assert deliveries(await feed.poll(b, cursor)) == []
    assert world.uow.calls["for_date"] == 0
    ticks[0] += 0.5
    assert len(deliveries(await feed.poll(a, cursor))) == 1
    assert len(deliveries(await feed.poll(b, cursor))) == 1
    assert world.uow.calls["for_date"] == 2  # one read per day, for both subscriptions
    with pytest.raises(ValidationError):
        FeedCache(ttl=-1)


async def test_follow_polls_until_the_subscriber_stops(world: World) -> None:
    scope = await world.feed.scope(world.mine)
    cursor = await world.feed.start(scope)
    pack = await world.pack(world.me)
    seen: list[Poll] = []
    async for polled in world.feed.follow(scope, cursor, interval=0.001):
        seen.append(polled)
        if len(seen) == 1:
            await world.move(pack, ContentStatus.PENDING_REVIEW, "submit")
        if len(seen) == 2:
            break
    assert [[c.action for c in content(p)] for p in seen] == [["create"], ["submit"]]
    with pytest.raises(ValidationError):
        await anext(world.feed.follow(scope, cursor, interval=0))


def test_content_messages_are_plain_json(world: World) -> None:
    pack_id = uuid.uuid4()
    change = ContentChange(
        pack_id=pack_id,
        advisor_id=None,
        status=ContentStatus.APPROVED,
        version=2,
        action="approve",
        at=dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        sequence=7,
    )
    assert change.message() == {
        "type": "content.status",
        "pack_id": str(pack_id),
        "advisor_id": None,
        "status": "approved",
        "version": 2,
        "action": "approve",
        "at": "2026-11-23T06:30:00+00:00",
        "sequence": 7,
    }
