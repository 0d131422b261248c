"""The unit of work: one atomic change across repositories."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from projectone.ports.ai import AiCache, AiJobRepository
from projectone.ports.privacy import ConsentRepository, SubjectRepository
from projectone.ports.repositories import (
    AdvisorRepository,
    AuditLog,
    ContentRepository,
    DeliveryRepository,
    FallbackRepository,
    InboundMessageRepository,
    IncidentRepository,
)

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]


class UnitOfWork(Protocol):
    """Use as ``async with uow_factory() as uow: ...; await uow.commit()``.

    Nothing is kept unless ``commit`` is awaited; leaving the block without it, or with an
    exception, rolls everything back.
    """

    advisors: AdvisorRepository
    content: ContentRepository
    deliveries: DeliveryRepository
    audit: AuditLog
    incidents: IncidentRepository
    fallbacks: FallbackRepository
    inbound: InboundMessageRepository
    ai_jobs: AiJobRepository
    ai_cache: AiCache
    consents: ConsentRepository
    subjects: SubjectRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make the changes durable; ``ConflictError`` if a uniqueness rule is broken."""
        ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
