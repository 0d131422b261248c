"""Consent records, and a person's data as a whole: profile, erasure, retention purge."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from projectone.adapters.sqlalchemy import mapping
from projectone.adapters.sqlalchemy.keyring import SubjectKeys, open_sealed
from projectone.adapters.sqlalchemy.repositories import _chunks, _update_many_by_id, _write
from projectone.adapters.sqlalchemy.tables import (
    advisors,
    ai_cache,
    ai_jobs,
    audit_events,
    consents,
    content_packs,
    deliveries,
    fallback_library,
    fallback_selections,
    inbound_messages,
    incidents,
)
from projectone.domain.advisor import AdvisorStatus
from projectone.domain.consent import ConsentRecord
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.errors import NotFoundError, SubjectErasedError
from projectone.domain.retention import PurgeCounts, RetentionCutoffs
from projectone.ports.privacy import AuditAnchor, ErasureCounts, SubjectProfile

__all__ = ["SqlConsentRepository", "SqlSubjectRepository"]


class SqlConsentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_many(self, records: Iterable[ConsentRecord]) -> None:
        rows = [mapping.consent_to_row(r) for r in records]
        if rows:
            await _write(self._conn, consents.insert(), consents.name, rows)

    async def end_many(self, records: Iterable[ConsentRecord]) -> None:
        # Only the end is written: nothing else of a consent record ever changes.
        rows = [
            {k: v for k, v in mapping.consent_to_row(r).items() if k in _END_COLUMNS}
            for r in records
        ]
        await _update_many_by_id(self._conn, consents, rows, "consent")

    async def for_advisor(self, advisor_id: uuid.UUID) -> Sequence[ConsentRecord]:
        query = (
            consents.select()
            .where(consents.c.advisor_id == advisor_id)
            .order_by(consents.c.given_at, consents.c.id)
        )
        result = await self._conn.execute(query)
        return [mapping.consent_from_row(row) for row in result.mappings()]


_END_COLUMNS = frozenset({"id", "ended_at", "end_reason"})
_PERSONAL_COLUMNS = (
    "name_sealed",
    "email_sealed",
    "whatsapp_sealed",
    "email_index",
    "whatsapp_index",
)


class SqlSubjectRepository:
    def __init__(self, conn: AsyncConnection, keys: SubjectKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def _row(self, advisor_id: uuid.UUID, *, lock: bool = False) -> sa.RowMapping:
        query = advisors.select().where(advisors.c.id == advisor_id)
        if lock and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().one_or_none()
        if row is None:
            raise NotFoundError("advisor", advisor_id)
        return row

    async def profile(self, advisor_id: uuid.UUID) -> SubjectProfile:
        row = await self._row(advisor_id)
        erased_at = row["erased_at"]
        personal: dict[str, str | None] = {"name": None, "email": None, "whatsapp_number": None}
        if erased_at is None:
            cipher = (await self._keys.require([advisor_id]))[advisor_id]
            personal = {
                "name": open_sealed(cipher, advisor_id, "name", row["name_sealed"]),
                "email": open_sealed(cipher, advisor_id, "email", row["email_sealed"]),
                "whatsapp_number": open_sealed(
                    cipher, advisor_id, "whatsapp_number", row["whatsapp_sealed"]
                ),
            }
        opt_in = row["whatsapp_opt_in_at"]
        withdrawn = row["processing_withdrawn_at"]
        return SubjectProfile(
            advisor_id=advisor_id,
            **personal,
            type=row["type"],
            registration_no=row["registration_no"],
            status=row["status"],
            tier=row["tier"],
            languages=tuple(row["languages"]),
            send_time=row["send_time"].strftime("%H:%M"),
            whatsapp_opt_in_at=None if opt_in is None else mapping.from_db_time(opt_in),
            processing_withdrawn_at=None if withdrawn is None else mapping.from_db_time(withdrawn),
            created_at=mapping.from_db_time(row["created_at"]),
            erased_at=None if erased_at is None else mapping.from_db_time(erased_at),
        )

    async def erase(self, advisor_id: uuid.UUID, now: dt.datetime) -> ErasureCounts:
        row = await self._row(advisor_id, lock=True)
        if row["erased_at"] is not None:
            raise SubjectErasedError(advisor_id, mapping.from_db_time(row["erased_at"]))
        at = mapping.to_db_time(now)
        destroyed = await self._keys.destroy(advisor_id)
        await _write(
            self._conn,
            advisors.update()
            .where(advisors.c.id == advisor_id)
            .values(
                **dict.fromkeys(_PERSONAL_COLUMNS),
                erased_at=at,
                status=AdvisorStatus.CANCELLED.value,
                whatsapp_opt_in_at=None,
            ),
            advisors.name,
        )
        if self._conn.dialect.name == "postgresql":
            # Their deliveries are locked in id order first, as every other writer of
            # deliveries (worker, status webhooks) takes them; the UPDATEs below alone would
            # lock in scan order and could deadlock with a webhook updating two of them.
            await self._conn.execute(
                sa.select(deliveries.c.id)
                .where(deliveries.c.advisor_id == advisor_id)
                .order_by(deliveries.c.id)
                .with_for_update()
            )
        # What was still waiting to go is not sent to a person who is gone; what went stays
        # counted (reports) but no longer says to which number.
        expired = await _write(
            self._conn,
            deliveries.update()
            .where(
                deliveries.c.advisor_id == advisor_id,
                deliveries.c.status == DeliveryStatus.QUEUED.value,
            )
            .values(status=DeliveryStatus.EXPIRED.value, error_code="subject_erased"),
            deliveries.name,
        )
        unlinked = await _write(
            self._conn,
            deliveries.update()
            .where(deliveries.c.advisor_id == advisor_id, deliveries.c.to_sealed.is_not(None))
            .values(to_sealed=None),
            deliveries.name,
        )
        removed = await _write(
            self._conn,
            inbound_messages.delete().where(inbound_messages.c.subject_id == advisor_id),
            inbound_messages.name,
        )
        answers = await _write(
            self._conn,
            ai_cache.delete().where(ai_cache.c.advisor_id == advisor_id),
            ai_cache.name,
        )
        return ErasureCounts(
            data_keys_destroyed=destroyed,
            deliveries_expired=max(expired, 0),
            deliveries_unlinked=max(unlinked, 0),
            inbound_messages_deleted=max(removed, 0),
            ai_answers_deleted=max(answers, 0),
        )

    async def cancelled_before(self, cutoff: dt.datetime) -> Sequence[uuid.UUID]:
        # Cancelled is final, so the one change_status event to "cancelled" dates it.
        events = await self._conn.execute(
            sa.select(audit_events.c.entity_id).where(
                audit_events.c.entity_type == "advisor",
                audit_events.c.action == "change_status",
                audit_events.c.occurred_at < mapping.to_db_time(cutoff),
                audit_events.c.new_values["status"].as_string() == AdvisorStatus.CANCELLED.value,
            )
        )
        candidates = {uuid.UUID(entity_id) for (entity_id,) in events}
        if not candidates:
            return []
        found = await _get_many_existing(self._conn, candidates)
        return sorted(found)

    async def purge(
        self, cutoffs: RetentionCutoffs, now: dt.datetime, *, dry_run: bool
    ) -> tuple[PurgeCounts, AuditAnchor | None]:
        logs = mapping.to_db_time(cutoffs.processing_logs_before)
        counts: dict[str, int] = {}
        old_deliveries = sa.select(deliveries.c.id).where(deliveries.c.scheduled_for < logs)
        # An SMS backup goes with the delivery it stood in for (backup_of is a foreign key).
        doomed_deliveries = sa.or_(
            deliveries.c.scheduled_for < logs, deliveries.c.backup_of.in_(old_deliveries)
        )
        counts["deliveries"] = await self._apply(deliveries, doomed_deliveries, dry_run)
        counts["fallback_selections"] = await self._apply(
            fallback_selections, fallback_selections.c.selected_at < logs, dry_run
        )
        counts["ai_jobs"] = await self._apply(ai_jobs, ai_jobs.c.created_at < logs, dry_run)
        counts["inbound_messages"] = await self._apply(
            inbound_messages, inbound_messages.c.received_at < logs, dry_run
        )
        counts["ai_cache"] = await self._apply(
            ai_cache, ai_cache.c.expires_at <= mapping.to_db_time(now), dry_run
        )
        counts["consents"] = await self._apply(
            consents,
            consents.c.ended_at < mapping.to_db_time(cutoffs.consent_ended_before),
            dry_run,
        )
        # A dry run deleted nothing above: references from rows that a real run would have
        # deleted by now must not keep a pack.
        kept_deliveries = sa.not_(doomed_deliveries) if dry_run else sa.true()
        kept_selections = fallback_selections.c.selected_at >= logs if dry_run else sa.true()
        counts["content_packs"] = await self._apply(
            content_packs,
            self._packs_past_retention(cutoffs, kept_deliveries, kept_selections),
            dry_run,
        )
        audit, anchor = await self._purge_audit(cutoffs.audit_before, dry_run)
        counts["audit_events"] = audit
        return PurgeCounts(**counts), anchor

    def _packs_past_retention(
        self,
        cutoffs: RetentionCutoffs,
        kept_deliveries: sa.ColumnElement[bool],
        kept_selections: sa.ColumnElement[bool],
    ) -> sa.ColumnElement[bool]:
        approved = mapping.to_db_time(cutoffs.content_approved_before)
        child = content_packs.alias("child")

        def unreferenced(
            column: sa.ColumnElement[Any], kept: sa.ColumnElement[bool] | None = None
        ) -> sa.ColumnElement[bool]:
            refers = column == content_packs.c.id
            return ~sa.exists().where(refers if kept is None else sa.and_(refers, kept))

        # An approval record past its seven years, that nothing still kept points at (the
        # shared fallback library's packs belong to no advisor and are not records of one).
        return sa.and_(
            content_packs.c.advisor_id.is_not(None),
            content_packs.c.reviewed_at.is_not(None),
            content_packs.c.reviewed_at < approved,
            unreferenced(deliveries.c.pack_id, kept_deliveries),
            unreferenced(fallback_selections.c.pack_id, kept_selections),
            unreferenced(fallback_library.c.pack_id),
            unreferenced(incidents.c.pack_id),
            unreferenced(child.c.parent_id),
        )

    async def _apply(self, table: sa.Table, where: sa.ColumnElement[bool], dry_run: bool) -> int:
        if dry_run:
            query = sa.select(sa.func.count()).select_from(table).where(where)
            return int((await self._conn.execute(query)).scalar_one())
        return max(await _write(self._conn, table.delete().where(where), table.name), 0)

    async def _purge_audit(self, today: dt.date, dry_run: bool) -> tuple[int, AuditAnchor | None]:
        """Delete the oldest events up to the first one still under retention: always a
        prefix of the chain, so what remains verifies from the anchor (the last one deleted).
        The newest event always stays, even past its retention: the chain goes on from it
        rather than starting again at sequence 1."""
        keeper = await self._conn.execute(
            sa.select(sa.func.min(audit_events.c.sequence)).where(
                audit_events.c.retention_until > today
            )
        )
        first_kept = keeper.scalar_one()
        if first_kept is None:
            newest = await self._conn.execute(sa.select(sa.func.max(audit_events.c.sequence)))
            first_kept = newest.scalar_one()
            if first_kept is None:
                return 0, None
        doomed = audit_events.c.sequence < first_kept
        last = await self._conn.execute(
            sa.select(audit_events.c.sequence, audit_events.c.hash)
            .where(doomed)
            .order_by(audit_events.c.sequence.desc())
            .limit(1)
        )
        row = last.one_or_none()
        if row is None:
            return 0, None
        count = await self._apply(audit_events, doomed, dry_run)
        return count, AuditAnchor(sequence=int(row[0]), hash=str(row[1]))


async def _get_many_existing(conn: AsyncConnection, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Of ``ids``, the advisors still cancelled and not erased."""
    found: set[uuid.UUID] = set()
    for chunk in _chunks(ids):
        query = sa.select(advisors.c.id).where(
            advisors.c.id.in_(chunk),
            advisors.c.status == AdvisorStatus.CANCELLED.value,
            advisors.c.erased_at.is_(None),
        )
        found.update(row[0] for row in await conn.execute(query))
    return found
