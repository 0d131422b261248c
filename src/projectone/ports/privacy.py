"""Privacy ports: the master key, consent records and what is held about a person.

``KeyStore`` wraps the per-person data keys (DESIGN.md §3.5). Only the wrapping happens
behind it, never the encryption of data: a KMS adapter then sees one call per person and
process (data keys are cached unwrapped), not one per field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs

from projectone.domain.consent import ConsentRecord
from projectone.domain.retention import PurgeCounts, RetentionCutoffs

__all__ = [
    "AuditAnchor",
    "ConsentRepository",
    "ErasureCounts",
    "KeyStore",
    "SubjectProfile",
    "SubjectRepository",
]


class KeyStore(Protocol):
    """The master key. ``key_id`` names it without revealing it (it is stored next to every
    wrapped data key, so a wrong master key is told apart from a damaged data key)."""

    @property
    def key_id(self) -> str: ...

    async def wrap(self, data_key: bytes, context: str) -> bytes:
        """``data_key`` encrypted under the master key, bound to ``context`` (the subject)."""
        ...

    async def unwrap(self, wrapped: bytes, context: str) -> bytes:
        """The data key back; ``KeyStoreError`` when ``wrapped`` does not open under this
        master key with this ``context``."""
        ...

    async def lookup_key(self) -> bytes:
        """The key of the keyed hashes (HMAC) used for equality lookups of personal data:
        stable for as long as the master key is."""
        ...


@attrs.frozen(kw_only=True)
class SubjectProfile:
    """What the advisors table holds about a person, decrypted; ``None`` fields once erased."""

    advisor_id: uuid.UUID
    name: str | None
    email: str | None
    whatsapp_number: str | None
    type: str
    registration_no: str
    status: str
    tier: str
    languages: tuple[str, ...]
    send_time: str
    whatsapp_opt_in_at: dt.datetime | None
    processing_withdrawn_at: dt.datetime | None
    created_at: dt.datetime
    erased_at: dt.datetime | None


@attrs.frozen(kw_only=True)
class AuditAnchor:
    """The last audit event a purge deleted: what remains of the chain links to it."""

    sequence: int
    hash: str


@attrs.frozen(kw_only=True)
class ErasureCounts:
    """What an erasure removed or made unreadable, by kind."""

    data_keys_destroyed: int = 0
    deliveries_unlinked: int = 0
    deliveries_expired: int = 0
    inbound_messages_deleted: int = 0
    ai_answers_deleted: int = 0
    consents_ended: int = 0
    content_packs_redacted: int = 0

    def as_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


class ConsentRepository(Protocol):
    async def add_many(self, records: Iterable[ConsentRecord]) -> None:
        """Store new records; ``ConflictError`` if an id is taken."""
        ...

    async def end_many(self, records: Iterable[ConsentRecord]) -> None:
        """Write the end (``ended_at``, ``end_reason``) of stored records; ``NotFoundError``
        for a missing one. Nothing else of a consent record ever changes."""
        ...

    async def for_advisor(self, advisor_id: uuid.UUID) -> Sequence[ConsentRecord]:
        """Every record of the advisor, oldest first: the history."""
        ...


class SubjectRepository(Protocol):
    """A person's data as a whole: their profile, erasure and retention."""

    async def profile(self, advisor_id: uuid.UUID) -> SubjectProfile:
        """The advisor's record, decrypted (PII ``None`` once erased); ``NotFoundError`` for
        an unknown advisor, ``KeyStoreError`` if their data key is missing while they are
        not erased."""
        ...

    async def erase(self, advisor_id: uuid.UUID, now: dt.datetime) -> ErasureCounts:
        """Destroy the person's data key and what only they are: their personal fields
        (nulled), the numbers on their deliveries (nulled), their queued deliveries (expired),
        their inbound messages and cached AI answers (deleted). ``SubjectErasedError`` if
        already erased."""
        ...

    async def cancelled_before(self, cutoff: dt.datetime) -> Sequence[uuid.UUID]:
        """Advisors not yet erased whose account was cancelled before ``cutoff``."""
        ...

    async def purge(
        self, cutoffs: RetentionCutoffs, now: dt.datetime, *, dry_run: bool
    ) -> tuple[PurgeCounts, AuditAnchor | None]:
        """Delete (or, with ``dry_run``, count) what is past retention (see
        ``projectone.domain.retention``; expired AI answers go too) and the anchor of the
        audit events deleted (``None`` when none were): the oldest events only, never a gap."""
        ...
