"""Repositories over one ``AsyncConnection`` (SQLAlchemy Core), implementing the ports.

A repository never commits: it runs inside the transaction its unit of work opened. A write that
breaks a constraint rolls that whole transaction back before ``ConflictError`` is raised, so the
unit of work cannot go on to commit half of its changes (PostgreSQL would refuse anyway, SQLite
would not).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from projectone.adapters.sqlalchemy import mapping
from projectone.adapters.sqlalchemy._ids import id_in as _id_in
from projectone.adapters.sqlalchemy.errors import conflict_from_integrity_error
from projectone.adapters.sqlalchemy.keyring import SubjectKeys, sender_subject
from projectone.adapters.sqlalchemy.tables import (
    advisors,
    ai_cache,
    ai_jobs,
    audit_events,
    content_packs,
    deliveries,
    fallback_library,
    fallback_selections,
    inbound_messages,
    incidents,
)
from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.ai import AiJob, AiStage, CachedAnswer
from projectone.domain.audit import GENESIS_HASH, AuditDraft, AuditEvent
from projectone.domain.content import ContentPack, ContentStatus, VariantSnapshot
from projectone.domain.delivery import Channel, Delivery, DeliveryStatus, Variant
from projectone.domain.errors import KeyStoreError, NotFoundError, SubjectErasedError
from projectone.domain.fallback import LibraryEntry, SelectionRecord
from projectone.domain.inbound import InboundMessage
from projectone.domain.incident import Incident, IncidentStatus
from projectone.domain.language import Language
from projectone.domain.timezone import IST
from projectone.ports.ai import AiUsageRow
from projectone.ports.repositories import Reachable

__all__ = [
    "CONFLICT_MARK",
    "SqlAdvisorRepository",
    "SqlAiCache",
    "SqlAiJobRepository",
    "SqlAuditLog",
    "SqlContentRepository",
    "SqlDeliveryRepository",
    "SqlFallbackRepository",
    "SqlIncidentRepository",
]

# Set in ``AsyncConnection.info`` when a conflict rolled the transaction back, so the unit of
# work owning the connection refuses to commit whatever is written after it (the connection
# would otherwise autobegin a fresh transaction and commit a partial change).
CONFLICT_MARK = "projectone.rolled_back_by_conflict"

# Bound parameters per IN list: far below SQLite's limit (32,766) and PostgreSQL's (65,535),
# while a 2,000-advisor morning still needs only a handful of queries.
_IN_CHUNK = 500

_SENDABLE = (ContentStatus.APPROVED.value, ContentStatus.SCHEDULED.value)


def _in_status(status: DeliveryStatus) -> sa.ColumnElement[bool]:
    """``deliveries.status = <status>`` with the status written into the SQL text.

    Not a bound parameter: psycopg prepares a statement run often, and PostgreSQL may then plan
    it once for any parameter value. Such a generic plan cannot use the queue's partial index
    (``WHERE status = 'sending'``, migration 0007) and misjudges how many rows a status holds.
    """
    return deliveries.c.status == sa.literal(status.value, literal_execute=True)


def _chunks(ids: Iterable[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _IN_CHUNK):
        yield unique[start : start + _IN_CHUNK]


async def _get_many(
    conn: AsyncConnection, table: sa.Table, ids: Iterable[uuid.UUID], entity: str
) -> dict[uuid.UUID, sa.RowMapping]:
    """Rows of ``table`` by id, in the order asked; ``NotFoundError`` for the first missing."""
    wanted = list(dict.fromkeys(ids))
    found: dict[uuid.UUID, sa.RowMapping] = {}
    for chunk in _chunks(wanted):
        result = await conn.execute(table.select().where(_id_in(conn, table.c.id, chunk)))
        found.update((row["id"], row) for row in result.mappings())
    for key in wanted:
        if key not in found:
            raise NotFoundError(entity, key)
    return {key: found[key] for key in wanted}


async def _execute(
    conn: AsyncConnection,
    statement: sa.Executable,
    table: str,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> sa.CursorResult[Any]:
    """Execute a write (``rows``: many at once); on a constraint violation roll back and raise
    ``ConflictError``."""
    try:
        return await (conn.execute(statement) if rows is None else conn.execute(statement, rows))
    except IntegrityError as exc:
        await conn.rollback()
        conn.info[CONFLICT_MARK] = True
        raise conflict_from_integrity_error(exc, table) from exc


async def _write(
    conn: AsyncConnection,
    statement: sa.Executable,
    table: str,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """``_execute``, returning the rows affected (-1 where the driver cannot tell)."""
    return (await _execute(conn, statement, table, rows)).rowcount


async def _update_by_id(
    conn: AsyncConnection, table: sa.Table, row: Mapping[str, Any], entity: str
) -> None:
    """Replace every column of the row whose id is ``row["id"]``, or ``NotFoundError``."""
    values = {k: v for k, v in row.items() if k != "id"}
    statement = table.update().where(table.c.id == row["id"]).values(**values)
    if await _write(conn, statement, table.name) == 0:
        raise NotFoundError(entity, row["id"])


def _json_scalar(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value")


def _recordset_update(
    table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[sa.Update, str, list[dict[str, Any]]]:
    """One ``UPDATE … FROM json_populate_recordset(…)`` for many rows (PostgreSQL).

    The rows travel as one JSON document that the server parses into the table's own row type,
    so a batch of outcomes is one statement, one round trip and one C-encoded parameter. An
    executemany would be one statement per row, and array parameters are dumped element by
    element in Python; at the worker's rate either costs more than the send itself.
    """
    columns = list(rows[0])
    document = json.dumps(
        [{name: row[name] for name in columns} for row in rows],
        default=_json_scalar,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    source = sa.func.json_populate_recordset(
        sa.literal_column(f'NULL::"{table.name}"'),
        sa.cast(sa.bindparam("rows", type_=sa.Text()), sa.JSON()),
    ).table_valued(*columns, name="v")
    values = {name: source.c[name] for name in columns if name != "id"}
    statement = table.update().where(table.c.id == source.c.id).values(values)
    return statement, table.name, [{"rows": document}]


async def _update_many_by_id(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[Mapping[str, Any]], entity: str
) -> None:
    """``_update_by_id`` for many rows in one executemany; ``NotFoundError`` for a missing one."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        changed = await _write(conn, *_recordset_update(table, rows))
        if changed != len(rows):
            await _get_many(conn, table, (row["id"] for row in rows), entity)
        return
    # executemany needs bind names distinct from the column names it sets.
    params = [{f"b_{key}": value for key, value in row.items()} for row in rows]
    # The rows name the columns to set: all of them for a full update, fewer for a partial one.
    columns = [name for name in rows[0] if name != "id"]
    statement = (
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values({name: sa.bindparam(f"b_{name}") for name in columns})
    )
    changed = await _write(conn, statement, table.name, params)
    if changed != len(rows):
        # Either a row is missing or the driver cannot count: find out which.
        await _get_many(conn, table, (row["id"] for row in rows), entity)


class SqlAdvisorRepository:
    """Advisors, their personal fields sealed under each one's data key (keyring.py)."""

    def __init__(self, conn: AsyncConnection, keys: SubjectKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def _to_rows(self, items: Sequence[Advisor]) -> list[dict[str, Any]]:
        if not items:
            return []
        ciphers = await self._keys.ensure([a.id for a in items], min(a.created_at for a in items))
        return [
            mapping.advisor_to_row(
                a,
                ciphers[a.id],
                await self._keys.index("email", a.email),
                await self._keys.index("phone", a.whatsapp_number),
            )
            for a in items
        ]

    async def _from_rows(self, rows: Sequence[sa.RowMapping]) -> list[Advisor]:
        ciphers = await self._keys.require(row["id"] for row in rows)
        return [mapping.advisor_from_row(row, ciphers[row["id"]]) for row in rows]

    async def add(self, advisor: Advisor) -> None:
        await self.add_many([advisor])

    async def add_many(self, items: Iterable[Advisor]) -> None:
        rows = await self._to_rows(list(items))
        if rows:
            await _write(self._conn, advisors.insert(), advisors.name, rows)

    async def get(self, advisor_id: uuid.UUID) -> Advisor:
        result = await self._conn.execute(advisors.select().where(advisors.c.id == advisor_id))
        row = result.mappings().one_or_none()
        if row is None:
            raise NotFoundError("advisor", advisor_id)
        if row["erased_at"] is not None:
            raise SubjectErasedError(advisor_id, mapping.from_db_time(row["erased_at"]))
        return (await self._from_rows([row]))[0]

    async def update(self, advisor: Advisor) -> None:
        (row,) = await self._to_rows([advisor])
        await _update_by_id(self._conn, advisors, row, "advisor")

    async def ids_by_whatsapp(self, numbers: Iterable[str]) -> Mapping[str, uuid.UUID]:
        by_index = {await self._keys.index("phone", n): n for n in dict.fromkeys(numbers)}
        wanted = list(by_index)
        found: dict[str, uuid.UUID] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            query = sa.select(advisors.c.whatsapp_index, advisors.c.id).where(
                advisors.c.whatsapp_index.in_(wanted[start : start + _IN_CHUNK])
            )
            found.update((by_index[row[0]], row[1]) for row in await self._conn.execute(query))
        return found

    async def list_reachable(self) -> Reachable:
        # Mirrors Advisor.receives_whatsapp: active, consenting to processing, opted in.
        query = (
            advisors.select()
            .where(
                advisors.c.status == AdvisorStatus.ACTIVE.value,
                advisors.c.whatsapp_opt_in_at.is_not(None),
                advisors.c.processing_withdrawn_at.is_(None),
                advisors.c.erased_at.is_(None),
            )
            .order_by(advisors.c.id)
        )
        rows = list((await self._conn.execute(query)).mappings())
        ciphers = await self._keys.ciphers(row["id"] for row in rows)
        # One advisor whose data cannot be opened (key missing, a field that does not open
        # under it) must not stop everyone's morning: named, left out.
        found: list[Advisor] = []
        unreadable: list[uuid.UUID] = []
        for row in rows:
            cipher = ciphers.get(row["id"])
            try:
                advisor = None if cipher is None else mapping.advisor_from_row(row, cipher)
            except KeyStoreError:  # a field that does not open under its key
                advisor = None
            if advisor is None:
                unreadable.append(row["id"])
            else:
                found.append(advisor)
        return Reachable(tuple(found), tuple(unreadable))

    async def count(self) -> int:
        result = await self._conn.execute(sa.select(sa.func.count()).select_from(advisors))
        return int(result.scalar_one())


# Built once: building the statement and its cache key on every call cost ~100 us of the
# API's hot path (GET /v1/content/{id}); SQLAlchemy caches the compiled form either way.
_PACK_BY_ID = content_packs.select().where(content_packs.c.id == sa.bindparam("pack_id"))


class SqlContentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, pack: ContentPack) -> None:
        row = mapping.pack_to_row(pack)
        await _write(self._conn, content_packs.insert().values(**row), content_packs.name)

    async def add_many(self, packs: Iterable[ContentPack]) -> None:
        rows = [mapping.pack_to_row(p) for p in packs]
        if rows:
            await _write(self._conn, content_packs.insert(), content_packs.name, rows)

    async def get_many(self, pack_ids: Iterable[uuid.UUID]) -> Mapping[uuid.UUID, ContentPack]:
        rows = await _get_many(self._conn, content_packs, pack_ids, "content_pack")
        return {key: mapping.pack_from_row(row) for key, row in rows.items()}

    async def get(self, pack_id: uuid.UUID) -> ContentPack:
        result = await self._conn.execute(_PACK_BY_ID, {"pack_id": pack_id})
        row = result.mappings().one_or_none()
        if row is None:
            raise NotFoundError("content_pack", pack_id)
        return mapping.pack_from_row(row)

    async def sendable_for(
        self, advisor_ids: Sequence[uuid.UUID], date: dt.date
    ) -> dict[uuid.UUID, ContentPack]:
        """The newest (latest ``created_at``, then highest version, then id) sendable pack.

        All candidates are fetched in that order and the first per advisor kept: a portable
        alternative to ``DISTINCT ON``/window functions for the few packs an advisor has a day.
        """
        chosen: dict[uuid.UUID, ContentPack] = {}
        unique_ids = list(dict.fromkeys(advisor_ids))
        for start in range(0, len(unique_ids), _IN_CHUNK):
            chunk = unique_ids[start : start + _IN_CHUNK]
            query = (
                content_packs.select()
                .where(
                    content_packs.c.advisor_id.in_(chunk),
                    content_packs.c.scheduled_date == date,
                    content_packs.c.status.in_(_SENDABLE),
                )
                .order_by(
                    content_packs.c.advisor_id,
                    content_packs.c.created_at.desc(),
                    content_packs.c.version.desc(),
                    content_packs.c.id.desc(),
                )
            )
            for row in (await self._conn.execute(query)).mappings():
                advisor_id = row["advisor_id"]
                if advisor_id not in chosen:
                    chosen[advisor_id] = mapping.pack_from_row(row)
        return chosen

    async def variants_for(
        self, keys: Iterable[tuple[uuid.UUID, Language]]
    ) -> Mapping[tuple[uuid.UUID, Language], VariantSnapshot]:
        by_language: dict[Language, list[uuid.UUID]] = {}
        for pack_id, language in dict.fromkeys(keys):
            by_language.setdefault(language, []).append(pack_id)
        found: dict[tuple[uuid.UUID, Language], VariantSnapshot] = {}
        c = content_packs.c
        for language, pack_ids in by_language.items():
            for chunk in _chunks(pack_ids):
                # Only this language's fields cross the wire and get decoded: the worker's
                # hot path, one pack (three languages of text) per delivery otherwise.
                query = sa.select(
                    c.id, c.status, c.approved_hash, c.variants[language.value].label("variant")
                ).where(_id_in(self._conn, c.id, chunk))
                for row in (await self._conn.execute(query)).mappings():
                    found[(row["id"], language)] = mapping.variant_snapshot_from_row(row, language)
            for pack_id in pack_ids:
                if (pack_id, language) not in found:
                    raise NotFoundError("content_pack", pack_id)
        return found

    async def update(self, pack: ContentPack) -> None:
        await _update_by_id(self._conn, content_packs, mapping.pack_to_row(pack), "content_pack")

    async def update_many(self, packs: Iterable[ContentPack]) -> None:
        rows = [mapping.pack_to_row(p) for p in packs]
        await _update_many_by_id(self._conn, content_packs, rows, "content_pack")

    async def update_statuses(self, packs: Iterable[ContentPack]) -> None:
        rows = [{"id": p.id, "status": p.status.value} for p in packs]
        await _update_many_by_id(self._conn, content_packs, rows, "content_pack")

    async def page(
        self,
        *,
        advisor_id: uuid.UUID | None = None,
        status: ContentStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[ContentPack], int]:
        c = content_packs.c
        where = []
        if advisor_id is not None:
            where.append(c.advisor_id == advisor_id)
        if status is not None:
            where.append(c.status == status.value)
        total = await self._conn.scalar(
            sa.select(sa.func.count()).select_from(content_packs).where(*where)
        )
        query = (
            content_packs.select()
            .where(*where)
            .order_by(c.created_at.desc(), c.id)
            .limit(max(limit, 0))
            .offset(max(offset, 0))
        )
        rows = (await self._conn.execute(query)).mappings()
        return [mapping.pack_from_row(row) for row in rows], int(total or 0)

    async def created_between(
        self, advisor_id: uuid.UUID | None, since: dt.datetime, until: dt.datetime
    ) -> Sequence[ContentPack]:
        c = content_packs.c
        owner = c.advisor_id.is_not(None) if advisor_id is None else c.advisor_id == advisor_id
        query = (
            content_packs.select()
            .where(
                owner,
                c.created_at >= mapping.to_db_time(since),
                c.created_at < mapping.to_db_time(until),
            )
            .order_by(c.created_at, c.id)
        )
        result = await self._conn.execute(query)
        return [mapping.pack_from_row(row) for row in result.mappings()]

    async def topics_for(
        self, advisor_id: uuid.UUID, since: dt.date, until: dt.date
    ) -> Sequence[tuple[str, dt.date]]:
        c = content_packs.c
        # A day's creations in India start up to 5.5 h before its UTC midnight: widen the
        # timestamp bounds by a day each side and decide the exact day below.
        early = mapping.to_db_time(dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
        late = mapping.to_db_time(dt.datetime.combine(until, dt.time(), tzinfo=dt.UTC))
        query = (
            sa.select(c.topic, c.scheduled_date, c.created_at)
            .where(
                c.advisor_id == advisor_id,
                c.status.not_in((ContentStatus.REJECTED.value, ContentStatus.ARCHIVED.value)),
                sa.or_(
                    c.scheduled_date.between(since, until),
                    sa.and_(
                        c.scheduled_date.is_(None),
                        c.created_at >= early - dt.timedelta(days=1),
                        c.created_at < late + dt.timedelta(days=2),
                    ),
                ),
            )
            .order_by(c.created_at.desc(), c.id)
        )
        found = []
        for topic, scheduled, created in await self._conn.execute(query):
            day = scheduled or mapping.from_db_time(created).astimezone(IST).date()
            if since <= day <= until:
                found.append((topic, day))
        found.sort(key=lambda item: item[1], reverse=True)
        return found

    async def with_status(
        self, status: ContentStatus, *, advisor_id: uuid.UUID | None = None, limit: int = 1000
    ) -> Sequence[ContentPack]:
        query = content_packs.select().where(content_packs.c.status == status.value)
        if advisor_id is not None:
            query = query.where(content_packs.c.advisor_id == advisor_id)
        query = query.order_by(content_packs.c.created_at, content_packs.c.id).limit(limit)
        result = await self._conn.execute(query)
        return [mapping.pack_from_row(row) for row in result.mappings()]


class SqlDeliveryRepository:
    """Deliveries; the number each goes to is sealed under the advisor's data key."""

    def __init__(self, conn: AsyncConnection, keys: SubjectKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def _to_rows(self, items: Iterable[Delivery]) -> list[dict[str, Any]]:
        items = list(items)
        ciphers = await self._keys.ciphers(d.advisor_id for d in items)
        keyless = {d.advisor_id for d in items} - ciphers.keys()
        if keyless:
            # An advisor who does not exist: the foreign key refuses the row (ConflictError),
            # as for any other table. One who exists without a key (erased, or a damaged
            # store) must not get a delivery that could never say where it goes.
            query = sa.select(advisors.c.id).where(advisors.c.id.in_(list(keyless)))
            for (existing,) in await self._conn.execute(query):
                raise KeyStoreError("no data key for a new delivery's advisor", existing)
        return [mapping.delivery_to_row(d, ciphers.get(d.advisor_id)) for d in items]

    async def _load(
        self, rows: Iterable[sa.RowMapping], *, unreadable_as_empty: bool = False
    ) -> list[Delivery]:
        rows = list(rows)
        # Erased advisors have no key, and their deliveries no number: those map to "".
        ciphers = await self._keys.ciphers(
            row["advisor_id"] for row in rows if row["to_sealed"] is not None
        )
        return [
            mapping.delivery_from_row(
                row, ciphers.get(row["advisor_id"]), unreadable_as_empty=unreadable_as_empty
            )
            for row in rows
        ]

    async def add(self, delivery: Delivery) -> None:
        await self.add_many([delivery])

    async def add_many(self, items: Iterable[Delivery]) -> None:
        rows = await self._to_rows(items)
        if rows:
            await _write(self._conn, deliveries.insert(), deliveries.name, rows)

    def _locked(self, query: sa.Select[Any], *, skip: bool = False) -> sa.Select[Any]:
        # Row locks exist on PostgreSQL only; SQLite serialises writers with one write lock
        # taken at BEGIN, so there a single worker runs (docs/operations.md).
        if self._conn.dialect.name != "postgresql":
            return query
        return query.with_for_update(skip_locked=skip)

    async def get_many(
        self, delivery_ids: Iterable[uuid.UUID], *, lock: bool = False, missing_ok: bool = False
    ) -> Mapping[uuid.UUID, Delivery]:
        wanted = list(dict.fromkeys(delivery_ids))
        found: dict[uuid.UUID, Delivery] = {}
        # Every locking reader takes rows in id order (across chunks too), so two of them (a
        # worker and a webhook) cannot each hold a row the other waits for.
        for chunk in _chunks(sorted(wanted) if lock else wanted):
            query = deliveries.select().where(_id_in(self._conn, deliveries.c.id, chunk))
            if lock:
                query = self._locked(query.order_by(deliveries.c.id))
            result = await self._conn.execute(query)
            found.update((d.id, d) for d in await self._load(result.mappings()))
        if missing_ok:
            return {key: found[key] for key in wanted if key in found}
        for key in wanted:
            if key not in found:
                raise NotFoundError("delivery", key)
        return {key: found[key] for key in wanted}

    async def get(self, delivery_id: uuid.UUID, *, lock: bool = False) -> Delivery:
        query = deliveries.select().where(deliveries.c.id == delivery_id)
        if lock:
            query = self._locked(query)
        row = (await self._conn.execute(query)).mappings().one_or_none()
        if row is None:
            raise NotFoundError("delivery", delivery_id)
        return (await self._load([row]))[0]

    async def update(self, delivery: Delivery) -> None:
        (row,) = await self._to_rows([delivery])
        await _update_by_id(self._conn, deliveries, row, "delivery")

    async def by_message_ids(
        self, message_ids: Iterable[str], *, lock: bool = False
    ) -> Mapping[str, Delivery]:
        wanted = list(dict.fromkeys(message_ids))
        found: dict[str, Delivery] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            query = deliveries.select().where(
                deliveries.c.provider_message_id.in_(wanted[start : start + _IN_CHUNK])
            )
            if lock:
                query = self._locked(query.order_by(deliveries.c.id))
            rows = list((await self._conn.execute(query)).mappings())
            for row, delivery in zip(rows, await self._load(rows), strict=True):
                found[row["provider_message_id"]] = delivery
        return found

    async def update_many(self, items: Iterable[Delivery]) -> None:
        rows = [mapping.delivery_state_to_row(d) for d in items]
        await _update_many_by_id(self._conn, deliveries, rows, "delivery")

    async def between(
        self, advisor_id: uuid.UUID | None, since: dt.date, until: dt.date
    ) -> Sequence[Delivery]:
        c = deliveries.c
        query = deliveries.select().where(c.date >= since, c.date <= until)
        if advisor_id is not None:
            query = query.where(c.advisor_id == advisor_id)
        query = query.order_by(c.date, c.scheduled_for, c.id)
        result = await self._conn.execute(query)
        return await self._load(result.mappings())

    async def keys_for_date(self, date: dt.date) -> set[tuple[uuid.UUID, Channel, Variant]]:
        query = sa.select(
            deliveries.c.advisor_id, deliveries.c.channel, deliveries.c.variant
        ).where(deliveries.c.date == date)
        result = await self._conn.execute(query)
        return {(row[0], Channel(row[1]), Variant(row[2])) for row in result}

    async def due(self, now: dt.datetime, limit: int, *, lock: bool = False) -> Sequence[Delivery]:
        if limit <= 0:
            return []
        query = (
            deliveries.select()
            .where(
                _in_status(DeliveryStatus.QUEUED),
                # UTC on both sides: on SQLite this is a comparison of stored text.
                deliveries.c.next_attempt_at <= mapping.to_db_time(now),
            )
            # id breaks ties so the order (and which rows fit the limit) is deterministic.
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
        )
        if lock:
            # Rows another worker is claiming right now are skipped, not waited for.
            query = self._locked(query, skip=True)
        result = await self._conn.execute(query)
        return await self._load(result.mappings())

    async def claim_due(
        self, now: dt.datetime, limit: int, *, owner: str, until: dt.datetime
    ) -> Sequence[Delivery]:
        if limit <= 0:
            return []
        c = deliveries.c
        # One statement, one round trip: pick and lock the due rows (skipping rows another
        # worker is claiming), then move them to sending under our lease, as
        # Delivery.start_sending does.
        picked = (
            sa.select(c.id)
            .where(
                _in_status(DeliveryStatus.QUEUED),
                c.next_attempt_at <= mapping.to_db_time(now),
            )
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
        )
        statement = (
            deliveries.update()
            .where(c.id.in_(self._locked(picked, skip=True).scalar_subquery()))
            .values(
                status=DeliveryStatus.SENDING.value,
                attempts=c.attempts + 1,
                lease_owner=owner,
                lease_expires_at=mapping.to_db_time(until),
            )
            .returning(*deliveries.c)
        )
        result = await self._conn.execute(statement)
        # One row whose number cannot be opened must not stop the morning: it comes back
        # without a number, and the worker fails it alone (see the port).
        claimed = await self._load(result.mappings(), unreadable_as_empty=True)
        claimed.sort(key=lambda d: (d.next_attempt_at, d.id))
        return claimed

    async def expired_leases(self, now: dt.datetime, limit: int) -> Sequence[Delivery]:
        if limit <= 0:
            return []
        query = (
            deliveries.select()
            .where(
                _in_status(DeliveryStatus.SENDING),
                sa.or_(
                    deliveries.c.lease_expires_at.is_(None),
                    deliveries.c.lease_expires_at <= mapping.to_db_time(now),
                ),
            )
            .order_by(deliveries.c.lease_expires_at, deliveries.c.id)
            .limit(limit)
        )
        result = await self._conn.execute(self._locked(query, skip=True))
        return await self._load(result.mappings(), unreadable_as_empty=True)

    async def held_by(self, owner: str, delivery_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        c = deliveries.c
        held: set[uuid.UUID] = set()
        for chunk in _chunks(dict.fromkeys(delivery_ids)):
            # Only the ids cross the wire: the worker holds the rows as it claimed them.
            query = (
                sa.select(c.id)
                .where(
                    _id_in(self._conn, c.id, chunk),
                    c.status == DeliveryStatus.SENDING.value,
                    c.lease_owner == owner,
                )
                .order_by(c.id)
            )
            held.update(row[0] for row in await self._conn.execute(self._locked(query)))
        return held

    async def count_open(self, until: dt.datetime) -> int:
        c = deliveries.c
        at = mapping.to_db_time(until)
        query = sa.select(sa.func.count()).where(
            sa.or_(
                sa.and_(
                    _in_status(DeliveryStatus.SENDING),
                    sa.or_(c.lease_expires_at.is_(None), c.lease_expires_at <= at),
                ),
                sa.and_(
                    _in_status(DeliveryStatus.QUEUED),
                    c.next_attempt_at <= at,
                ),
            )
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def extend_leases(
        self, owner: str, delivery_ids: Iterable[uuid.UUID], until: dt.datetime
    ) -> set[uuid.UUID]:
        wanted = list(dict.fromkeys(delivery_ids))
        kept: set[uuid.UUID] = set()
        c = deliveries.c
        for chunk in _chunks(wanted):
            # Rows are locked in id order first, as every other locking writer takes them: an
            # UPDATE alone locks in scan order and deadlocked with the worker recording a
            # batch of the same rows.
            mine = (
                sa.select(c.id)
                .where(
                    _id_in(self._conn, c.id, chunk),
                    c.lease_owner == owner,
                    c.status == DeliveryStatus.SENDING.value,
                )
                .order_by(c.id)
            )
            # One statement touching the lease columns only: a heartbeat never rewrites state.
            statement = (
                deliveries.update()
                .where(c.id.in_(self._locked(mine).scalar_subquery()))
                .values(lease_expires_at=mapping.to_db_time(until))
                .returning(c.id)
            )
            result = await self._conn.execute(statement)
            kept.update(row[0] for row in result)
        return kept

    async def for_date(self, date: dt.date) -> Sequence[Delivery]:
        query = (
            deliveries.select()
            .where(deliveries.c.date == date)
            .order_by(deliveries.c.scheduled_for, deliveries.c.id)
        )
        result = await self._conn.execute(query)
        return await self._load(result.mappings())

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
        c = deliveries.c
        where: list[sa.ColumnElement[bool]] = []
        if advisor_id is not None:
            where.append(c.advisor_id == advisor_id)
        if date is not None:
            where.append(c.date == date)
        if status is not None:
            where.append(c.status == status.value)
        if channel is not None:
            where.append(c.channel == channel.value)
        if variant is not None:
            where.append(c.variant == variant.value)
        total = await self._conn.scalar(
            sa.select(sa.func.count()).select_from(deliveries).where(*where)
        )
        query = (
            deliveries.select()
            .where(*where)
            .order_by(c.scheduled_for.desc(), c.id)
            .limit(max(limit, 0))
            .offset(max(offset, 0))
        )
        rows = (await self._conn.execute(query)).mappings()
        return await self._load(rows), int(total or 0)


# pg_advisory_xact_lock key serialising writers of the audit chain ("p1audit" as a bigint).
AUDIT_CHAIN_LOCK = int.from_bytes(b"p1audit", "big")


class SqlAuditLog:
    """The audit chain in ``audit_events``.

    ``append`` reads the head and inserts after it inside the caller's transaction. Writers are
    serialised so the chain stays one line: on PostgreSQL by a transaction-scoped advisory lock
    (released at commit or rollback), on SQLite by the write lock every transaction takes up
    front (``BEGIN IMMEDIATE``). The unique ``sequence`` and ``hash`` columns are the backstop:
    a fork cannot be stored.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, drafts: Sequence[AuditDraft]) -> list[AuditEvent]:
        batch = list(drafts)
        if not batch:
            return []
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(
                sa.select(sa.func.pg_advisory_xact_lock(sa.literal(AUDIT_CHAIN_LOCK)))
            )
        head = await self.head()
        prev_hash, sequence = (GENESIS_HASH, 0) if head is None else (head.hash, head.sequence)
        events: list[AuditEvent] = []
        for draft in batch:
            sequence += 1
            event = draft.chain(prev_hash, sequence)
            events.append(event)
            prev_hash = event.hash
        rows = [mapping.audit_event_to_row(e) for e in events]
        await _write(self._conn, audit_events.insert(), audit_events.name, rows)
        return events

    async def head(self) -> AuditEvent | None:
        query = audit_events.select().order_by(audit_events.c.sequence.desc()).limit(1)
        row = (await self._conn.execute(query)).mappings().one_or_none()
        return None if row is None else mapping.audit_event_from_row(row)

    async def events(self, *, after: int = 0, limit: int = 1000) -> Sequence[AuditEvent]:
        query = (
            audit_events.select()
            .where(audit_events.c.sequence > after)
            .order_by(audit_events.c.sequence)
            .limit(limit)
        )
        result = await self._conn.execute(query)
        return [mapping.audit_event_from_row(row) for row in result.mappings()]

    async def for_entity(self, entity_type: str, entity_id: str) -> Sequence[AuditEvent]:
        query = (
            audit_events.select()
            .where(
                audit_events.c.entity_type == entity_type,
                audit_events.c.entity_id == entity_id,
            )
            .order_by(audit_events.c.sequence)
        )
        result = await self._conn.execute(query)
        return [mapping.audit_event_from_row(row) for row in result.mappings()]

    async def on_day(self, day: dt.date) -> Sequence[AuditEvent]:
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        query = (
            audit_events.select()
            .where(
                audit_events.c.occurred_at >= mapping.to_db_time(start),
                audit_events.c.occurred_at < mapping.to_db_time(start + dt.timedelta(days=1)),
            )
            .order_by(audit_events.c.sequence)
        )
        result = await self._conn.execute(query)
        return [mapping.audit_event_from_row(row) for row in result.mappings()]

    async def last_before(self, moment: dt.datetime) -> AuditEvent | None:
        query = (
            audit_events.select()
            .where(audit_events.c.occurred_at < mapping.to_db_time(moment))
            .order_by(audit_events.c.sequence.desc())
            .limit(1)
        )
        row = (await self._conn.execute(query)).mappings().one_or_none()
        return None if row is None else mapping.audit_event_from_row(row)


class SqlIncidentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, incident: Incident) -> None:
        row = mapping.incident_to_row(incident)
        await _write(self._conn, incidents.insert().values(**row), incidents.name)

    async def get(self, incident_id: uuid.UUID) -> Incident:
        query = incidents.select().where(incidents.c.id == incident_id)
        row = (await self._conn.execute(query)).mappings().one_or_none()
        if row is None:
            raise NotFoundError("incident", incident_id)
        return mapping.incident_from_row(row)

    async def update(self, incident: Incident) -> None:
        await _update_by_id(self._conn, incidents, mapping.incident_to_row(incident), "incident")

    async def list(
        self, *, status: IncidentStatus | None = None, pack_id: uuid.UUID | None = None
    ) -> Sequence[Incident]:
        query = incidents.select()
        if status is not None:
            query = query.where(incidents.c.status == status.value)
        if pack_id is not None:
            query = query.where(incidents.c.pack_id == pack_id)
        query = query.order_by(incidents.c.opened_at.desc(), incidents.c.id)
        result = await self._conn.execute(query)
        return [mapping.incident_from_row(row) for row in result.mappings()]


class SqlFallbackRepository:
    """The fallback library (``fallback_library``) and selections (``fallback_selections``)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_entry(self, entry: LibraryEntry) -> None:
        row = mapping.library_entry_to_row(entry)
        await _write(self._conn, fallback_library.insert().values(**row), fallback_library.name)

    async def update_entry(self, entry: LibraryEntry) -> None:
        row = mapping.library_entry_to_row(entry)
        values = {k: v for k, v in row.items() if k != "pack_id"}
        statement = (
            fallback_library.update()
            .where(fallback_library.c.pack_id == entry.pack_id)
            .values(**values)
        )
        if await _write(self._conn, statement, fallback_library.name) == 0:
            raise NotFoundError("library_entry", entry.pack_id)

    async def get_entry(self, pack_id: uuid.UUID) -> LibraryEntry:
        query = fallback_library.select().where(fallback_library.c.pack_id == pack_id)
        row = (await self._conn.execute(query)).mappings().one_or_none()
        if row is None:
            raise NotFoundError("library_entry", pack_id)
        return mapping.library_entry_from_row(row)

    async def entries(self, *, active_only: bool = True) -> Sequence[LibraryEntry]:
        query = fallback_library.select().order_by(fallback_library.c.pack_id)
        if active_only:
            query = query.where(fallback_library.c.active.is_(True))
        result = await self._conn.execute(query)
        return [mapping.library_entry_from_row(row) for row in result.mappings()]

    async def add_selection(self, record: SelectionRecord) -> None:
        row = mapping.selection_to_row(record)
        statement = fallback_selections.insert().values(**row)
        await _write(self._conn, statement, fallback_selections.name)

    async def add_selections(self, records: Iterable[SelectionRecord]) -> None:
        rows = [mapping.selection_to_row(r) for r in records]
        if rows:
            statement = fallback_selections.insert()
            await _write(self._conn, statement, fallback_selections.name, rows)

    async def selections_for(
        self, date: dt.date, *, advisor_id: uuid.UUID | None = None
    ) -> Sequence[SelectionRecord]:
        query = fallback_selections.select().where(fallback_selections.c.date == date)
        if advisor_id is not None:
            query = query.where(fallback_selections.c.advisor_id == advisor_id)
        query = query.order_by(fallback_selections.c.advisor_id)
        result = await self._conn.execute(query)
        return [mapping.selection_from_row(row) for row in result.mappings()]

    async def last_used(
        self, advisor_ids: Iterable[uuid.UUID], *, since: dt.date
    ) -> dict[uuid.UUID, dict[uuid.UUID, dt.date]]:
        found: dict[uuid.UUID, dict[uuid.UUID, dt.date]] = {}
        t = fallback_selections
        for chunk in _chunks(advisor_ids):
            # One row per (advisor, pack): the unique (advisor_id, date) index serves the range.
            query = (
                sa.select(t.c.advisor_id, t.c.pack_id, sa.func.max(t.c.date))
                .where(t.c.advisor_id.in_(chunk), t.c.date >= since)
                .group_by(t.c.advisor_id, t.c.pack_id)
            )
            for advisor_id, pack_id, last in await self._conn.execute(query):
                found.setdefault(advisor_id, {})[pack_id] = _as_date(last)
        return found


def _as_date(value: dt.date | str) -> dt.date:
    # SQLite hands back an aggregate over a DATE column as its stored ISO text.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


class SqlInboundMessageRepository:
    """Inbound messages, number and text sealed: under the advisor's data key, or for a
    number we do not know under a key of that sender's own (``keyring.sender_subject``)."""

    def __init__(self, conn: AsyncConnection, keys: SubjectKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def add_new(self, messages: Iterable[InboundMessage]) -> int:
        items = list(messages)
        if not items:
            return 0
        indexes = [await self._keys.index("phone", m.from_number) for m in items]
        subjects = [
            m.advisor_id if m.advisor_id is not None else sender_subject(index)
            for m, index in zip(items, indexes, strict=True)
        ]
        ciphers = await self._keys.ensure(subjects, min(m.received_at for m in items))
        rows = [
            mapping.inbound_to_row(m, subject, ciphers[subject], index)
            for m, subject, index in zip(items, subjects, indexes, strict=True)
        ]
        # Both dialects say "skip a row whose provider id is already there" the same way, so
        # a webhook redelivered by Meta, or two deliveries racing, record each message once.
        insert = (
            postgresql.insert(inbound_messages)
            if self._conn.dialect.name == "postgresql"
            else sqlite.insert(inbound_messages)
        )
        statement = insert.on_conflict_do_nothing(index_elements=["provider_message_id"]).returning(
            inbound_messages.c.id
        )
        added = 0
        for row in rows:
            # RETURNING names the rows written: driver row counts differ for skipped ones.
            result = await _execute(self._conn, statement.values(**row), inbound_messages.name)
            added += len(result.all())
        return added

    async def for_advisor(self, advisor_id: uuid.UUID) -> Sequence[InboundMessage]:
        query = (
            inbound_messages.select()
            .where(inbound_messages.c.advisor_id == advisor_id)
            .order_by(inbound_messages.c.sent_at, inbound_messages.c.id)
        )
        rows = list((await self._conn.execute(query)).mappings())
        ciphers = await self._keys.require(row["subject_id"] for row in rows)
        return [mapping.inbound_from_row(row, ciphers[row["subject_id"]]) for row in rows]


# ``cost_inr`` in whole ten-thousandths of a rupee (its scale is 4).
_COST_UNITS = 10_000


def _cost_sum(conn: AsyncConnection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``SUM(column)`` for ``ai_jobs.cost_inr``, exact on both backends.

    PostgreSQL sums ``numeric`` exactly. SQLite has no decimal type: the column holds REAL,
    and a SUM of REALs gathers binary rounding error (enough, over a month of calls, to change
    the fourth decimal). Each stored value is exact at four places (14 digits fit a double),
    so there every value is turned into a whole number of ten-thousandths and those integers
    are summed, which SQLite does exactly (:func:`_cost_total` scales back).
    """
    if conn.dialect.name == "sqlite":
        units = sa.func.round(column * sa.literal_column(str(_COST_UNITS)))
        return sa.func.sum(sa.cast(units, sa.Integer()))
    return sa.func.sum(column)


def _cost_total(conn: AsyncConnection, value: Any) -> Decimal:
    """A value of :func:`_cost_sum` as rupees (four places; ``None``, no rows, is zero)."""
    if value is not None and conn.dialect.name == "sqlite":
        value = Decimal(int(value)).scaleb(-4)
    return mapping.cost_from_db(value)


class SqlAiJobRepository:
    """The record of AI requests (``ai_jobs``): quota counts, spend and usage reports."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, job: AiJob) -> None:
        row = mapping.ai_job_to_row(job)
        await _write(self._conn, ai_jobs.insert().values(**row), ai_jobs.name)

    async def count_for(
        self, advisor_id: uuid.UUID, stage: AiStage, since: dt.datetime, until: dt.datetime
    ) -> int:
        c = ai_jobs.c
        query = sa.select(sa.func.count()).where(
            c.advisor_id == advisor_id,
            c.stage == stage.value,
            c.cache_hit.is_(False),
            c.created_at >= mapping.to_db_time(since),
            c.created_at < mapping.to_db_time(until),
        )
        return int((await self._conn.execute(query)).scalar_one())

    def _window(self, since: dt.datetime, until: dt.datetime) -> sa.ColumnElement[bool]:
        return sa.and_(
            ai_jobs.c.created_at >= mapping.to_db_time(since),
            ai_jobs.c.created_at < mapping.to_db_time(until),
        )

    async def spend(self, since: dt.datetime, until: dt.datetime) -> Decimal:
        query = sa.select(_cost_sum(self._conn, ai_jobs.c.cost_inr)).where(
            self._window(since, until)
        )
        return _cost_total(self._conn, (await self._conn.execute(query)).scalar_one())

    async def usage(self, since: dt.datetime, until: dt.datetime) -> Sequence[AiUsageRow]:
        c = ai_jobs.c
        query = (
            sa.select(
                c.advisor_id,
                c.model,
                sa.func.sum(sa.case((c.cache_hit, 0), else_=1)),
                sa.func.sum(sa.case((c.cache_hit, 1), else_=0)),
                sa.func.sum(c.input_tokens),
                sa.func.sum(c.output_tokens),
                _cost_sum(self._conn, c.cost_inr),
            )
            .where(self._window(since, until))
            .group_by(c.advisor_id, c.model)
        )
        rows = [
            AiUsageRow(
                advisor_id=advisor_id,
                model=model,
                calls=int(calls),
                cache_hits=int(hits),
                input_tokens=int(input_tokens),
                output_tokens=int(output_tokens),
                cost_inr=_cost_total(self._conn, cost),
            )
            for advisor_id, model, calls, hits, input_tokens, output_tokens, cost in (
                await self._conn.execute(query)
            )
        ]
        # Sorted here rather than in SQL: the order of model names would otherwise follow
        # the database's collation, which differs between servers (and from the fakes).
        rows.sort(key=_usage_order)
        return rows

    async def for_advisor(self, advisor_id: uuid.UUID, limit: int = 100) -> Sequence[AiJob]:
        if limit <= 0:
            return []
        query = (
            ai_jobs.select()
            .where(ai_jobs.c.advisor_id == advisor_id)
            .order_by(ai_jobs.c.created_at.desc(), ai_jobs.c.id.desc())
            .limit(limit)
        )
        result = await self._conn.execute(query)
        return [mapping.ai_job_from_row(row) for row in result.mappings()]


def _usage_order(row: AiUsageRow) -> tuple[Decimal, bool, int, str]:
    """How usage rows are listed: highest cost first, then by advisor (no advisor last), then
    by model (code point order)."""
    advisor = -1 if row.advisor_id is None else row.advisor_id.int
    return (-row.cost_inr, row.advisor_id is None, advisor, row.model)


class SqlAiCache:
    """Model answers kept for identical requests (``ai_cache``), keyed by fingerprint."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, key: str, now: dt.datetime) -> CachedAnswer | None:
        query = ai_cache.select().where(
            ai_cache.c.key == key, ai_cache.c.expires_at > mapping.to_db_time(now)
        )
        row = (await self._conn.execute(query)).mappings().one_or_none()
        return None if row is None else mapping.cached_answer_from_row(row)

    async def put(self, answer: CachedAnswer) -> None:
        row = mapping.cached_answer_to_row(answer)
        # One statement either way: two requests answering the same key at once both succeed,
        # the later write winning, instead of one failing on the primary key.
        insert = (
            postgresql.insert(ai_cache)
            if self._conn.dialect.name == "postgresql"
            else sqlite.insert(ai_cache)
        ).values(**row)
        statement = insert.on_conflict_do_update(
            index_elements=[ai_cache.c.key],
            set_={name: insert.excluded[name] for name in row if name != "key"},
        )
        await _write(self._conn, statement, ai_cache.name)

    async def purge(self, now: dt.datetime) -> int:
        statement = (
            ai_cache.delete()
            .where(ai_cache.c.expires_at <= mapping.to_db_time(now))
            .returning(ai_cache.c.key)
        )
        result = await _execute(self._conn, statement, ai_cache.name)
        # RETURNING names the rows deleted: no reliance on the driver's row count.
        return len(result.all())
