"""Reading the audit trail back: verifying the chain, daily digests, an entity's history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence

import attrs

from projectone.domain.access import Principal, require_role
from projectone.domain.audit import (
    GENESIS_HASH,
    AuditEvent,
    ChainReport,
    Digest,
    Role,
    daily_digest,
    verify_against_digests,
    verify_chain,
)
from projectone.domain.errors import ProjectOneError
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = ["AuditService"]

# Events read per query while walking the chain: memory stays flat whatever its length.
PAGE = 5000


@attrs.define
class AuditService:
    uow_factory: UnitOfWorkFactory
    page_size: int = PAGE

    async def _pages(self, uow: UnitOfWork) -> AsyncIterator[Sequence[AuditEvent]]:
        """The chain in order, ``page_size`` events at a time (memory stays flat)."""
        after = 0
        while page := await uow.audit.events(after=after, limit=self.page_size):
            yield page
            after = page[-1].sequence

    async def verify(self) -> ChainReport:
        """Walk the whole chain, page by page, and report the first broken link.

        After a retention purge the chain starts later than the genesis: it is walked from the
        anchor the purge recorded in its own (chained) event, and only from there. Anything
        else missing at the start is a broken link like any other."""
        prev_hash, prev_sequence, count = GENESIS_HASH, 0, 0
        async with self.uow_factory() as uow:
            try:
                async for page in self._pages(uow):
                    if prev_sequence == 0 and page[0].sequence > 1:
                        prev_hash, prev_sequence = await _anchor(uow, page[0].sequence - 1)
                    report = verify_chain(page, after_hash=prev_hash, after_sequence=prev_sequence)
                    if not report.ok:
                        return attrs.evolve(report, count=count + report.count)
                    count += len(page)
                    prev_hash, prev_sequence = page[-1].hash, page[-1].sequence
            except ProjectOneError as exc:
                return _unreadable(count, prev_hash, prev_sequence, exc)
        return ChainReport(
            ok=True,
            count=count,
            head_hash=prev_hash,
            first_bad_id=None,
            first_bad_sequence=None,
            reason=None,
        )

    async def verify_with_digests(self, digests: Sequence[Digest]) -> ChainReport:
        """:meth:`verify`, then the chain against digests kept outside the database.

        Holds the whole chain in memory (a rewrite can only be judged against all of it).
        """
        events: list[AuditEvent] = []
        async with self.uow_factory() as uow:
            try:
                async for page in self._pages(uow):
                    events.extend(page)
            except ProjectOneError as exc:
                head, after = (
                    (events[-1].hash, events[-1].sequence) if events else (GENESIS_HASH, 0)
                )
                return _unreadable(len(events), head, after, exc)
            anchor_hash, anchor_sequence = GENESIS_HASH, 0
            if events and events[0].sequence > 1:
                anchor_hash, anchor_sequence = await _anchor(uow, events[0].sequence - 1)
        return verify_against_digests(
            events, digests, after_hash=anchor_hash, after_sequence=anchor_sequence
        )

    async def digest(self, day: dt.date) -> Digest:
        """The chain's head and event count at the end of ``day`` (UTC)."""
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        async with self.uow_factory() as uow:
            on_day = list(await uow.audit.on_day(day))
            before = await uow.audit.last_before(start)
        return daily_digest([*([before] if before else []), *on_day], day)

    async def history(self, entity_type: str, entity_id: str) -> Sequence[AuditEvent]:
        async with self.uow_factory() as uow:
            return await uow.audit.for_entity(entity_type, entity_id)

    # -- for a principal (the HTTP API): the trail is for admins only ---------------------------

    async def verify_as(self, principal: Principal) -> ChainReport:
        require_role(principal, "verify the audit trail", Role.ADMIN)
        return await self.verify()

    async def pack_history_as(
        self, principal: Principal, pack_id: uuid.UUID
    ) -> Sequence[AuditEvent]:
        """A content pack's events, for an admin; ``NotFoundError`` for an unknown pack."""
        require_role(principal, "read the audit trail", Role.ADMIN)
        async with self.uow_factory() as uow:
            await uow.content.get(pack_id)
            return await uow.audit.for_entity("content_pack", str(pack_id))


async def _anchor(uow: UnitOfWork, sequence: int) -> tuple[str, int]:
    """Where the chain resumes after a purge that deleted up to ``sequence``: that event's
    hash as the purge recorded it, or the genesis (so the gap is reported) if none did."""
    for event in await uow.audit.for_entity("retention", "purge"):
        anchor = (event.new_values or {}).get("audit_anchor")
        if isinstance(anchor, dict) and anchor.get("sequence") == sequence:
            recorded = anchor.get("hash")
            if isinstance(recorded, str):
                return recorded, sequence
    return GENESIS_HASH, 0


def _unreadable(count: int, head: str, after: int, exc: ProjectOneError) -> ChainReport:
    """A stored row that does not even load (a field rewritten out of shape) is tampering."""
    return ChainReport(
        ok=False,
        count=count,
        head_hash=head,
        first_bad_id=None,
        first_bad_sequence=after + 1,
        reason=f"event after sequence {after} cannot be read: {exc}",
    )
