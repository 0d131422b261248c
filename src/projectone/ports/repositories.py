"""Repositories: collections of domain objects, one per aggregate."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from projectone.domain.advisor import Advisor
from projectone.domain.content import ContentPack
from projectone.domain.delivery import Channel, Delivery, Variant

__all__ = ["AdvisorRepository", "ContentRepository", "DeliveryRepository"]


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
