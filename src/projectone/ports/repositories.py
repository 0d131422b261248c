"""Repositories: collections of domain objects, one per aggregate."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from projectone.domain.advisor import Advisor
from projectone.domain.audit import AuditDraft, AuditEvent
from projectone.domain.content import ContentPack, ContentStatus
from projectone.domain.delivery import Channel, Delivery, Variant
from projectone.domain.incident import Incident, IncidentStatus

__all__ = [
    "AdvisorRepository",
    "AuditLog",
    "ContentRepository",
    "DeliveryRepository",
    "IncidentRepository",
]


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

    async def list_reachable(self) -> Sequence[Advisor]:
        """Active advisors who opted in to WhatsApp, ordered by id."""
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

    async def update(self, pack: ContentPack) -> None:
        """Replace the stored pack with the same id, or ``NotFoundError``."""
        ...

    async def with_status(
        self, status: ContentStatus, *, advisor_id: uuid.UUID | None = None, limit: int = 1000
    ) -> Sequence[ContentPack]:
        """Up to ``limit`` packs in ``status`` (of one advisor when given), oldest first."""
        ...


class DeliveryRepository(Protocol):
    async def add(self, delivery: Delivery) -> None:
        """Store a new delivery; ``ConflictError`` if one exists for the same advisor, date,
        channel and variant (raised at the latest on commit)."""
        ...

    async def add_many(self, deliveries: Iterable[Delivery]) -> None:
        """``add`` for many deliveries at once."""
        ...

    async def get(self, delivery_id: uuid.UUID) -> Delivery:
        """The delivery, or ``NotFoundError``."""
        ...

    async def get_many(self, delivery_ids: Iterable[uuid.UUID]) -> Mapping[uuid.UUID, Delivery]:
        """The deliveries by id; ``NotFoundError`` naming the first id that does not exist."""
        ...

    async def update(self, delivery: Delivery) -> None:
        """Replace the stored delivery with the same id, or ``NotFoundError``."""
        ...

    async def by_message_ids(self, message_ids: Iterable[str]) -> Mapping[str, Delivery]:
        """The deliveries whose provider message id is one of ``message_ids``, by that id
        (ids no delivery carries are simply absent)."""
        ...

    async def update_many(self, deliveries: Iterable[Delivery]) -> None:
        """``update`` for many deliveries at once."""
        ...

    async def keys_for_date(self, date: dt.date) -> set[tuple[uuid.UUID, Channel, Variant]]:
        """(advisor id, channel, variant) of every delivery already planned for ``date``."""
        ...

    async def due(self, now: dt.datetime, limit: int) -> Sequence[Delivery]:
        """Up to ``limit`` queued deliveries scheduled at or before ``now``, earliest first."""
        ...

    async def for_date(self, date: dt.date) -> Sequence[Delivery]:
        """Every delivery planned for ``date``."""
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
