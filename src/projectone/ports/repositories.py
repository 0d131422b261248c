"""Repositories: collections of domain objects, one per aggregate."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from projectone.domain.advisor import Advisor
from projectone.domain.audit import AuditDraft, AuditEvent
from projectone.domain.content import ContentPack, ContentStatus, VariantSnapshot
from projectone.domain.delivery import Channel, Delivery, DeliveryStatus, Variant
from projectone.domain.fallback import LibraryEntry, SelectionRecord
from projectone.domain.inbound import InboundMessage
from projectone.domain.incident import Incident, IncidentStatus
from projectone.domain.language import Language

__all__ = [
    "AdvisorRepository",
    "AuditLog",
    "ContentRepository",
    "DeliveryRepository",
    "FallbackRepository",
    "InboundMessageRepository",
    "IncidentRepository",
    "Reachable",
]


@attrs.frozen
class Reachable:
    """The advisors a morning is planned for (``list_reachable``), by id, and the ids of those
    left out because their personal data cannot be opened (their data key is missing, which
    only a damaged store explains): reported, never dropped in silence, and never allowed to
    stop everyone else's morning."""

    advisors: tuple[Advisor, ...]
    unreadable: tuple[uuid.UUID, ...] = ()


class AdvisorRepository(Protocol):
    async def add(self, advisor: Advisor) -> None:
        """Store a new advisor; ``ConflictError`` if its id, registration number, email or
        WhatsApp number is taken (raised at the latest on commit)."""
        ...

    async def add_many(self, advisors: Iterable[Advisor]) -> None:
        """``add`` for many advisors at once (one round trip where the store allows)."""
        ...

    async def get(self, advisor_id: uuid.UUID) -> Advisor:
        """The advisor, or ``NotFoundError``."""
        ...

    async def update(self, advisor: Advisor) -> None:
        """Replace the stored advisor with the same id, or ``NotFoundError``."""
        ...

    async def ids_by_whatsapp(self, numbers: Iterable[str]) -> Mapping[str, uuid.UUID]:
        """The advisors whose WhatsApp number is one of ``numbers``, by number."""
        ...

    async def list_reachable(self) -> Reachable:
        """Active advisors who opted in to WhatsApp, ordered by id; those whose personal data
        cannot be opened are left out and named in ``unreadable``."""
        ...

    async def count(self) -> int: ...


class ContentRepository(Protocol):
    async def add(self, pack: ContentPack) -> None:
        """Store a new pack; ``ConflictError`` if the id is taken."""
        ...

    async def add_many(self, packs: Iterable[ContentPack]) -> None:
        """``add`` for many packs at once."""
        ...

    async def get(self, pack_id: uuid.UUID) -> ContentPack:
        """The pack, or ``NotFoundError``."""
        ...

    async def get_many(self, pack_ids: Iterable[uuid.UUID]) -> Mapping[uuid.UUID, ContentPack]:
        """The packs by id; ``NotFoundError`` naming the first id that does not exist."""
        ...

    async def sendable_for(
        self, advisor_ids: Sequence[uuid.UUID], date: dt.date
    ) -> dict[uuid.UUID, ContentPack]:
        """For each advisor, the newest approved or scheduled pack meant for ``date``."""
        ...

    async def variants_for(
        self, keys: Iterable[tuple[uuid.UUID, Language]]
    ) -> Mapping[tuple[uuid.UUID, Language], VariantSnapshot]:
        """One language of each of several packs, with the pack's status and approved hash,
        by (pack id, language): what the delivery worker needs to send, without the rest of
        each pack. ``NotFoundError`` naming the first pack that does not exist."""
        ...

    async def update(self, pack: ContentPack) -> None:
        """Replace the stored pack with the same id, or ``NotFoundError``."""
        ...

    async def update_many(self, packs: Iterable[ContentPack]) -> None:
        """``update`` for many packs at once."""
        ...

    async def update_statuses(self, packs: Iterable[ContentPack]) -> None:
        """Write only the status of each pack, for a move that changes nothing else (marking
        packs delivered: thousands a morning, and their text need not travel again);
        ``NotFoundError`` for a missing one."""
        ...

    async def with_status(
        self, status: ContentStatus, *, advisor_id: uuid.UUID | None = None, limit: int = 1000
    ) -> Sequence[ContentPack]:
        """Up to ``limit`` packs in ``status`` (of one advisor when given), oldest first."""
        ...

    async def page(
        self,
        *,
        advisor_id: uuid.UUID | None = None,
        status: ContentStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[ContentPack], int]:
        """One page of packs (of one advisor, in one status, when given), newest first (then
        by id), and how many match in all."""
        ...

    async def created_between(
        self, advisor_id: uuid.UUID | None, since: dt.datetime, until: dt.datetime
    ) -> Sequence[ContentPack]:
        """Packs created in ``[since, until)`` (of one advisor, or every advisor's but not the
        shared library's when ``None``), oldest first."""
        ...

    async def topics_for(
        self, advisor_id: uuid.UUID, since: dt.date, until: dt.date
    ) -> Sequence[tuple[str, dt.date]]:
        """(topic, day) of the advisor's packs whose day falls in ``[since, until]``, newest
        first: the scheduled date, else the day it was created (in India). Rejected and
        archived packs are left out: they were never posts. For topic suggestions, which
        avoid repeating what the advisor posted or planned recently."""
        ...


class DeliveryRepository(Protocol):
    async def add(self, delivery: Delivery) -> None:
        """Store a new delivery; ``ConflictError`` if one exists for the same advisor, date,
        channel and variant (raised at the latest on commit)."""
        ...

    async def add_many(self, deliveries: Iterable[Delivery]) -> None:
        """``add`` for many deliveries at once."""
        ...

    async def get(self, delivery_id: uuid.UUID, *, lock: bool = False) -> Delivery:
        """The delivery, or ``NotFoundError``. ``lock``: hold its row until the unit of work
        ends, so a read-modify-write cannot lose a concurrent writer's change."""
        ...

    async def get_many(
        self, delivery_ids: Iterable[uuid.UUID], *, lock: bool = False, missing_ok: bool = False
    ) -> Mapping[uuid.UUID, Delivery]:
        """The deliveries by id; ``NotFoundError`` naming the first id that does not exist,
        unless ``missing_ok`` (then those are left out). ``lock`` as in :meth:`get`, the rows
        taken in id order."""
        ...

    async def update(self, delivery: Delivery) -> None:
        """Replace the stored delivery with the same id, or ``NotFoundError``."""
        ...

    async def by_message_ids(
        self, message_ids: Iterable[str], *, lock: bool = False
    ) -> Mapping[str, Delivery]:
        """The deliveries whose provider message id is one of ``message_ids``, by that id
        (ids no delivery carries are simply absent). ``lock`` as in :meth:`get`."""
        ...

    async def update_many(self, deliveries: Iterable[Delivery]) -> None:
        """Write the state (``STATE_FIELDS``: status, attempts, stamps, errors, lease…) of many
        deliveries at once, as a batch of outcomes needs; their plan was fixed when they were
        added. ``NotFoundError`` for a missing one."""
        ...

    async def between(
        self, advisor_id: uuid.UUID | None, since: dt.date, until: dt.date
    ) -> Sequence[Delivery]:
        """Deliveries dated ``since`` to ``until`` inclusive (of one advisor, or all), by date
        and schedule."""
        ...

    async def keys_for_date(self, date: dt.date) -> set[tuple[uuid.UUID, Channel, Variant]]:
        """(advisor id, channel, variant) of every delivery already planned for ``date``."""
        ...

    async def due(self, now: dt.datetime, limit: int, *, lock: bool = False) -> Sequence[Delivery]:
        """Up to ``limit`` queued deliveries whose ``next_attempt_at`` is at or before ``now``,
        earliest first. ``lock``: claim them for this unit of work, skipping rows another one
        holds (``FOR UPDATE SKIP LOCKED``), so concurrent workers never pick the same row."""
        ...

    async def claim_due(
        self, now: dt.datetime, limit: int, *, owner: str, until: dt.datetime
    ) -> Sequence[Delivery]:
        """Claim up to ``limit`` of :meth:`due` at once: each moves to ``sending`` as by
        ``Delivery.start_sending(now, owner=owner, until=until)``, skipping rows another unit
        of work holds; returns them as stored, earliest due first.

        A delivery whose sealed number cannot be opened (its advisor's data key is missing)
        comes back with an empty ``to``, like an erased advisor's, instead of failing the
        claim: the worker fails it and sends the others. Every other read raises
        ``KeyStoreError`` for it."""
        ...

    async def expired_leases(self, now: dt.datetime, limit: int) -> Sequence[Delivery]:
        """Up to ``limit`` ``sending`` deliveries whose lease ended at or before ``now`` (or
        that never had one), locked and skipping rows another unit of work holds; a number
        that cannot be opened comes back empty, as from :meth:`claim_due`."""
        ...

    async def held_by(self, owner: str, delivery_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Those of ``delivery_ids`` still ``sending`` under ``owner``'s lease, their rows
        locked until the unit of work ends (in id order, like every locking read)."""
        ...

    async def count_open(self, until: dt.datetime) -> int:
        """How many deliveries need a worker by ``until``: queued with an attempt due by
        then, or ``sending`` with a lease (a worker's, or a receipt wait) ending by then."""
        ...

    async def extend_leases(
        self, owner: str, delivery_ids: Iterable[uuid.UUID], until: dt.datetime
    ) -> set[uuid.UUID]:
        """Move the lease expiry of those of ``delivery_ids`` still ``sending`` under
        ``owner``'s lease to ``until``, touching nothing else; returns the ids extended."""
        ...

    async def for_date(self, date: dt.date) -> Sequence[Delivery]:
        """Every delivery planned for ``date``."""
        ...

    async def page(
        self,
        *,
        advisor_id: uuid.UUID | None = None,
        date: dt.date | None = None,
        status: DeliveryStatus | None = None,
        channel: Channel | None = None,
        variant: Variant | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[Delivery], int]:
        """One page of the deliveries matching every filter given, latest ``scheduled_for``
        first (then by id), and how many match in all."""
        ...


class AuditLog(Protocol):
    """The append-only, hash-chained audit trail (DESIGN.md §3.5)."""

    async def append(self, drafts: Sequence[AuditDraft]) -> list[AuditEvent]:
        """Chain ``drafts`` after the current head, in order, and store them in this unit of
        work's transaction. Concurrent writers are serialised: the chain stays one line."""
        ...

    async def head(self) -> AuditEvent | None:
        """The last event of the chain, or ``None`` when it is empty."""
        ...

    async def events(self, *, after: int = 0, limit: int = 1000) -> Sequence[AuditEvent]:
        """Up to ``limit`` events with ``sequence > after``, in chain order."""
        ...

    async def for_entity(self, entity_type: str, entity_id: str) -> Sequence[AuditEvent]:
        """Every event about one pack, advisor or incident, in chain order."""
        ...

    async def on_day(self, day: dt.date) -> Sequence[AuditEvent]:
        """Every event that happened on ``day`` (UTC), in chain order."""
        ...

    async def last_before(self, moment: dt.datetime) -> AuditEvent | None:
        """The last event (highest sequence) that happened before ``moment``."""
        ...


class IncidentRepository(Protocol):
    async def add(self, incident: Incident) -> None:
        """Store a new incident; ``ConflictError`` if the id is taken."""
        ...

    async def get(self, incident_id: uuid.UUID) -> Incident:
        """The incident, or ``NotFoundError``."""
        ...

    async def update(self, incident: Incident) -> None:
        """Replace the stored incident with the same id, or ``NotFoundError``."""
        ...

    async def list(
        self, *, status: IncidentStatus | None = None, pack_id: uuid.UUID | None = None
    ) -> Sequence[Incident]:
        """Incidents, newest first, filtered by status and/or pack."""
        ...


class FallbackRepository(Protocol):
    """The shared fallback library and the fallback selections made from it (DESIGN.md §3.4)."""

    async def add_entry(self, entry: LibraryEntry) -> None:
        """Put a pack in the library; ``ConflictError`` if it is there already or the pack does
        not exist (raised at the latest on commit)."""
        ...

    async def update_entry(self, entry: LibraryEntry) -> None:
        """Replace the library entry of the same pack, or ``NotFoundError``."""
        ...

    async def get_entry(self, pack_id: uuid.UUID) -> LibraryEntry:
        """The library entry of the pack, or ``NotFoundError``."""
        ...

    async def entries(self, *, active_only: bool = True) -> Sequence[LibraryEntry]:
        """The library (only its active entries unless told otherwise), ordered by pack id."""
        ...

    async def add_selection(self, record: SelectionRecord) -> None:
        """Store a selection; ``ConflictError`` if its id is taken, the advisor already has a
        selection for that date, or the advisor or the pack does not exist."""
        ...

    async def add_selections(self, records: Iterable[SelectionRecord]) -> None:
        """``add_selection`` for many selections at once."""
        ...

    async def selections_for(
        self, date: dt.date, *, advisor_id: uuid.UUID | None = None
    ) -> Sequence[SelectionRecord]:
        """The selections made for ``date`` (of one advisor when given), ordered by advisor."""
        ...

    async def last_used(
        self, advisor_ids: Iterable[uuid.UUID], *, since: dt.date
    ) -> dict[uuid.UUID, dict[uuid.UUID, dt.date]]:
        """For each of ``advisor_ids``: every pack selected for them for a date on or after
        ``since``, with the latest such date. Advisors with none are absent."""
        ...


class InboundMessageRepository(Protocol):
    async def add_new(self, messages: Iterable[InboundMessage]) -> int:
        """Record the messages not recorded yet (by provider message id, so a redelivered
        webhook adds nothing); returns how many were new."""
        ...

    async def for_advisor(self, advisor_id: uuid.UUID) -> Sequence[InboundMessage]:
        """The messages an advisor sent us, oldest first."""
        ...
