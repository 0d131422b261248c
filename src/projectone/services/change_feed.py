"""The change feed: what a principal's content packs and deliveries did since they last looked.

Behind ``/v1/ws`` (issue 7 point 7). Packs and deliveries change in other processes too
(delivery workers, receipt webhooks, other API processes), so an in-process pub/sub cannot see
every change. The feed reads what changed from the database:

* **Content**: the audit chain is the change log. Every content status change is an audit
  event with ``entity_type == "content_pack"``; the feed reads the events after the last
  sequence the subscriber saw (in pages, at most :data:`MAX_EVENTS` a poll: a subscriber far
  behind catches up over several polls), keeps the last event of each pack, loads those packs
  in **one** ``get_many`` (no query per event) and reports each pack's *current* status,
  version and owner with the sequence of its last event. Writers of the chain are
  serialised until they commit, so events become visible in sequence order and a cursor
  never skips one.
* **Deliveries**: the deliveries of today and yesterday in Asia/Kolkata, compared with the
  snapshot (status and error code per delivery) taken at the previous poll: a delivery that is
  new to the window, or whose status or error code changed, is reported.

Ownership is enforced here, not by the caller: a :class:`Scope` reports only what its
principal may see (``Principal.sees``: an advisor only their own advisor's packs and
deliveries, never the shared library's or another advisor's), optionally narrowed to one
advisor for staff.

The trade-off, and the next step: every subscription polls on its own (``follow``, one loop
per connection, default every second). The audit read costs one indexed range query per poll
per connection, proportional to the platform's whole audit traffic in that second. The
delivery read uses ``DeliveryRepository.for_date``, which returns the whole platform's
deliveries of a day, so a :class:`FeedCache` shared by all subscriptions of a process keeps
each day's deliveries for a fraction of a second: with it a process reads each day once per
``ttl`` whatever how many sockets are open, at the price of that much extra latency. The
owners of packs (which never change) are cached there too, so an advisor's subscription does
not load other advisors' packs again and again. Polling still costs a query per connection
per interval while nothing happens; the next step is a notifier (PostgreSQL
``LISTEN``/``NOTIFY`` sent by the audit and delivery writers, or Redis pub/sub) that wakes the
subscriptions of a process only when something changed, with this poll kept as the catch-up
read after a wake-up or a reconnect (the cursor stays the same).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from projectone.domain.access import Principal
from projectone.domain.advisor import AdvisorStatus
from projectone.domain.audit import AuditEvent
from projectone.domain.content import ContentPack, ContentStatus
from projectone.domain.delivery import Channel, Delivery, DeliveryStatus, Variant
from projectone.domain.errors import (
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    ValidationError,
)
from projectone.domain.timezone import IST
from projectone.ports.clock import Clock
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "CONTENT_ENTITY",
    "DEFAULT_INTERVAL",
    "MAX_EVENTS",
    "Change",
    "ChangeFeed",
    "ContentChange",
    "Cursor",
    "DeliveryChange",
    "DeliveryState",
    "FeedCache",
    "Poll",
    "Scope",
    "window_dates",
]

#: The audit ``entity_type`` of content packs.
CONTENT_ENTITY = "content_pack"
#: Seconds between two polls of one subscription.
DEFAULT_INTERVAL = 1.0
#: Audit events read per query, and at most per poll.
PAGE = 500
MAX_EVENTS = 5000
#: Pack owners remembered per process (a pack's advisor never changes).
MAX_OWNERS = 100_000


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


@attrs.frozen(kw_only=True)
class ContentChange:
    """A content pack changed: its current ``status`` and ``version`` after the audit event
    ``sequence`` (``action``, at ``at``), the last one of that pack the poll read."""

    pack_id: uuid.UUID
    advisor_id: uuid.UUID | None
    status: ContentStatus
    version: int
    action: str
    at: dt.datetime
    sequence: int

    def message(self) -> dict[str, Any]:
        """The ``content.status`` WebSocket message."""
        return {
            "type": "content.status",
            "pack_id": str(self.pack_id),
            "advisor_id": None if self.advisor_id is None else str(self.advisor_id),
            "status": self.status.value,
            "version": self.version,
            "action": self.action,
            "at": _utc_text(self.at),
            "sequence": self.sequence,
        }


@attrs.frozen(kw_only=True)
class DeliveryChange:
    """A delivery is new to the window or its status (or error code) changed. ``at`` is the
    stamp of its status (sent, delivered, read, failed, or queued for a first attempt) and
    otherwise the moment the change was seen."""

    delivery_id: uuid.UUID
    advisor_id: uuid.UUID
    pack_id: uuid.UUID
    date: dt.date
    channel: Channel
    variant: Variant
    status: DeliveryStatus
    at: dt.datetime
    error_code: str | None

    def message(self) -> dict[str, Any]:
        """The ``delivery.status`` WebSocket message."""
        return {
            "type": "delivery.status",
            "delivery_id": str(self.delivery_id),
            "advisor_id": str(self.advisor_id),
            "pack_id": str(self.pack_id),
            "date": self.date.isoformat(),
            "channel": self.channel.value,
            "variant": self.variant.value,
            "status": self.status.value,
            "at": _utc_text(self.at),
            "error_code": self.error_code,
        }


Change: TypeAlias = ContentChange | DeliveryChange


@attrs.frozen
class DeliveryState:
    """What a subscriber is told about a delivery; a change of either is reported."""

    status: DeliveryStatus
    error_code: str | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryState:
        return cls(delivery.status, delivery.error_code)


@attrs.frozen(kw_only=True)
class Cursor:
    """Where a subscriber is: the last audit ``sequence`` it was told about, and the state of
    every delivery of the window as it was last told."""

    sequence: int
    deliveries: Mapping[uuid.UUID, DeliveryState] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Poll:
    """The changes one poll found (content first, by sequence; then deliveries, by time) and
    the cursor to give the next poll."""

    changes: tuple[Change, ...]
    cursor: Cursor


@attrs.frozen(kw_only=True)
class Scope:
    """What a subscription reports: whatever ``principal`` may see, of ``advisor_id`` only
    when given. Build it with :meth:`ChangeFeed.scope`, which checks the advisor exists;
    :meth:`covers` enforces ownership however it was built."""

    principal: Principal
    advisor_id: uuid.UUID | None = None

    def covers(self, advisor_id: uuid.UUID | None) -> bool:
        if not self.principal.sees(advisor_id):
            return False
        return self.advisor_id is None or advisor_id == self.advisor_id


def window_dates(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """Yesterday and today in Asia/Kolkata: the delivery dates a feed watches."""
    today = now.astimezone(IST).date()
    return today - dt.timedelta(days=1), today


class FeedCache:
    """Reads shared by every subscription of a process.

    Each day's deliveries are kept for ``ttl`` seconds (``0``: never kept), so that a process
    reads a day once per ``ttl`` however many subscriptions poll it; the owner of each pack
    seen is kept for good (it never changes), up to :data:`MAX_OWNERS` packs.
    """

    def __init__(
        self, *, ttl: float = 0.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl < 0:
            raise ValidationError("ttl", ttl, "must not be negative")
        self.ttl = ttl
        self._monotonic = monotonic
        self._days: dict[dt.date, tuple[float, Sequence[Delivery]]] = {}
        self._lock = asyncio.Lock()
        self._owners: dict[uuid.UUID, uuid.UUID | None] = {}

    async def deliveries(self, uow: UnitOfWork, dates: Sequence[dt.date]) -> list[Delivery]:
        """Every delivery of ``dates``, read through ``uow`` unless read less than ``ttl``
        seconds ago."""
        if self.ttl == 0:
            return [d for date in dates for d in await uow.deliveries.for_date(date)]
        async with self._lock:
            now = self._monotonic()
            # Only the current window is worth keeping.
            for stale in set(self._days) - set(dates):
                del self._days[stale]
            out: list[Delivery] = []
            for date in dates:
                hit = self._days.get(date)
                if hit is None or now - hit[0] >= self.ttl:
                    hit = (now, tuple(await uow.deliveries.for_date(date)))
                    self._days[date] = hit
                out.extend(hit[1])
            return out

    def owner(self, pack_id: uuid.UUID) -> tuple[bool, uuid.UUID | None]:
        """(known, advisor id) of a pack."""
        if pack_id in self._owners:
            return True, self._owners[pack_id]
        return False, None

    def remember(self, packs: Iterable[ContentPack]) -> None:
        for pack in packs:
            if len(self._owners) >= MAX_OWNERS:
                self._owners.clear()
            self._owners[pack.id] = pack.advisor_id


def _pack_id(event: AuditEvent) -> uuid.UUID | None:
    try:
        return uuid.UUID(event.entity_id)
    except ValueError:
        return None


def _delivery_at(delivery: Delivery, seen: dt.datetime) -> dt.datetime:
    s = DeliveryStatus
    stamps = {
        s.SENT: delivery.sent_at,
        s.DELIVERED: delivery.delivered_at,
        s.READ: delivery.read_at,
        s.FAILED: delivery.failed_at,
    }
    stamp = stamps.get(delivery.status)
    if delivery.status is s.QUEUED and delivery.attempts == 0:
        stamp = delivery.queued_at
    return stamp or seen


@attrs.define
class ChangeFeed:
    """Reads what changed for a :class:`Scope` since a :class:`Cursor` (see the module)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    cache: FeedCache = attrs.field(factory=FeedCache)
    page_size: int = PAGE
    max_events: int = MAX_EVENTS

    async def scope(self, principal: Principal, advisor_id: uuid.UUID | None = None) -> Scope:
        """The scope of a subscription of ``principal`` (to ``advisor_id`` when given).

        An advisor may only name their own advisor (another one is ``NotFoundError``, as for
        the HTTP API); an advisor whose account does not exist is ``UnauthenticatedError``
        (their token proves nothing useful); staff naming an unknown advisor get
        ``NotFoundError``.
        """
        if principal.is_advisor:
            if advisor_id is not None and advisor_id != principal.advisor_id:
                raise NotFoundError("advisor", advisor_id)
            own = principal.advisor_id
            assert own is not None  # an advisor principal always names its advisor
            try:
                async with self.uow_factory() as uow:
                    account = await uow.advisors.get(own)
            except NotFoundError:
                raise UnauthenticatedError("bearer token", "the advisor does not exist") from None
            if account.status in (AdvisorStatus.SUSPENDED, AdvisorStatus.CANCELLED):
                # As the HTTP API does: a closed account follows nothing.
                raise PermissionDeniedError(
                    "follow changes", f"the advisor account is {account.status.value}"
                )
            if account.processing_withdrawn_at is not None:
                raise PermissionDeniedError(
                    "follow changes", "the advisor withdrew consent to processing their data"
                )
            return Scope(principal=principal, advisor_id=own)
        if advisor_id is not None:
            await self._advisor_exists(advisor_id)
        return Scope(principal=principal, advisor_id=advisor_id)

    async def _advisor_exists(self, advisor_id: uuid.UUID | None) -> None:
        if advisor_id is None:
            return
        async with self.uow_factory() as uow:
            await uow.advisors.get(advisor_id)

    async def start(self, scope: Scope, *, after: int | None = None) -> Cursor:
        """Where a new subscription starts: after the audit event ``after`` (to resume after a
        reconnect; never beyond the head of the chain) or at the head, with the deliveries of
        the window as they are now (not reported: the subscriber asked for changes)."""
        if after is not None and after < 0:
            raise ValidationError("after", after, "must be a whole number >= 0")
        async with self.uow_factory() as uow:
            head = await uow.audit.head()
            top = 0 if head is None else head.sequence
            sequence = top if after is None else min(after, top)
            deliveries = await self._deliveries(uow, scope)
        return Cursor(sequence=sequence, deliveries={d.id: DeliveryState.of(d) for d in deliveries})

    async def poll(self, scope: Scope, cursor: Cursor) -> Poll:
        """What changed in ``scope`` since ``cursor``, and the cursor to poll from next."""
        async with self.uow_factory() as uow:
            content, sequence = await self._content(uow, scope, cursor.sequence)
            deliveries = await self._deliveries(uow, scope)
        seen = self.clock.now()
        changed: list[DeliveryChange] = []
        snapshot: dict[uuid.UUID, DeliveryState] = {}
        for delivery in deliveries:
            state = DeliveryState.of(delivery)
            snapshot[delivery.id] = state
            if cursor.deliveries.get(delivery.id) != state:
                changed.append(
                    DeliveryChange(
                        delivery_id=delivery.id,
                        advisor_id=delivery.advisor_id,
                        pack_id=delivery.pack_id,
                        date=delivery.date,
                        channel=delivery.channel,
                        variant=delivery.variant,
                        status=delivery.status,
                        at=_delivery_at(delivery, seen),
                        error_code=delivery.error_code,
                    )
                )
        changed.sort(key=lambda c: (c.at, c.delivery_id))
        return Poll(
            changes=(*content, *changed),
            cursor=Cursor(sequence=sequence, deliveries=snapshot),
        )

    async def follow(
        self, scope: Scope, cursor: Cursor, *, interval: float = DEFAULT_INTERVAL
    ) -> AsyncIterator[Poll]:
        """Poll every ``interval`` seconds, forever: one poll loop for one subscriber. Errors
        of a poll propagate (the caller decides whether the subscription ends)."""
        if interval <= 0:
            raise ValidationError("interval", interval, "must be more than 0 seconds")
        while True:
            await asyncio.sleep(interval)
            polled = await self.poll(scope, cursor)
            cursor = polled.cursor
            yield polled

    # -- reads ---------------------------------------------------------------------------------

    async def _deliveries(self, uow: UnitOfWork, scope: Scope) -> list[Delivery]:
        rows = await self.cache.deliveries(uow, window_dates(self.clock.now()))
        return [d for d in rows if scope.covers(d.advisor_id)]

    async def _content(
        self, uow: UnitOfWork, scope: Scope, after: int
    ) -> tuple[list[ContentChange], int]:
        last: dict[uuid.UUID, AuditEvent] = {}
        read = 0
        while read < self.max_events:
            limit = min(self.page_size, self.max_events - read)
            page = await uow.audit.events(after=after, limit=limit)
            for event in page:
                if event.entity_type != CONTENT_ENTITY:
                    continue
                pack_id = _pack_id(event)
                if pack_id is None:
                    continue
                known, owner = self.cache.owner(pack_id)
                if known and not scope.covers(owner):
                    continue
                last.pop(pack_id, None)  # keep the packs in the order of their last event
                last[pack_id] = event
            if page:
                after = page[-1].sequence
            read += len(page)
            if len(page) < limit:
                break
        packs = await self._packs(uow, last)
        self.cache.remember(packs.values())
        changes = [
            ContentChange(
                pack_id=pack.id,
                advisor_id=pack.advisor_id,
                status=pack.status,
                version=pack.version,
                action=event.action,
                at=event.occurred_at,
                sequence=event.sequence,
            )
            for pack_id, event in last.items()
            if (pack := packs.get(pack_id)) is not None and scope.covers(pack.advisor_id)
        ]
        return changes, after

    async def _packs(
        self, uow: UnitOfWork, pack_ids: Iterable[uuid.UUID]
    ) -> Mapping[uuid.UUID, ContentPack]:
        """The packs that still exist among ``pack_ids``, in one query when all do."""
        wanted = set(pack_ids)
        if not wanted:
            return {}
        try:
            return await uow.content.get_many(wanted)
        except NotFoundError:
            pass
        # A pack an event names is gone (erased): read the others one by one, which only
        # happens after such an erasure.
        found: dict[uuid.UUID, ContentPack] = {}
        for pack_id in wanted:
            try:
                found[pack_id] = await uow.content.get(pack_id)
            except NotFoundError:
                continue
        return found
