"""Revisions 0002 and 0003 on a database that already holds data, and the append-only audit
table."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.sqlalchemy import (
    SqlAlchemyUnitOfWorkFactory,
    create_engine,
    downgrade,
    upgrade,
)
from projectone.domain.content import ContentVariant, content_hash
from projectone.domain.language import Language
from projectone.testing.keys import fixed_key_store

NOW = dt.datetime(2026, 11, 20, 0, 30, tzinfo=dt.UTC)
VARIANTS = {Language.EN: ContentVariant(title="SIP", body="Invest every month.")}
HASH = content_hash(VARIANTS)


async def _seed_at_0001(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    ids = {name: uuid.uuid4() for name in ("advisor", "approved", "draft", "delivery")}
    await upgrade(engine, "0001")
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO advisors (id, name, type, registration_no, email, whatsapp_number,"
                " languages, send_time, tier, status, whatsapp_opt_in_at, created_at) VALUES"
                " (:id, 'Priya', 'RIA', 'INA000012345', 'p@example.in', '+919800000001',"
                " :languages, :send_time, 'basic', 'active', :now, :now)"
            ).bindparams(
                sa.bindparam("id", type_=sa.Uuid()),
                sa.bindparam("languages", type_=sa.JSON()),
                sa.bindparam("now", type_=sa.DateTime(timezone=True)),
                sa.bindparam("send_time", type_=sa.Time()),
            ),
            {
                "id": ids["advisor"],
                "languages": ["en"],
                "send_time": dt.time(6, 0),
                "now": NOW,
            },
        )
        for key, status in (("approved", "approved"), ("draft", "draft")):
            await conn.execute(
                sa.text(
                    "INSERT INTO content_packs (id, advisor_id, topic, type, variants, languages,"
                    " content_hash, status, version, parent_id, scheduled_date, created_at)"
                    " VALUES (:id, :advisor, 'sip', 'daily_post', :variants, :languages, :hash,"
                    " :status, 1, NULL, :date, :now)"
                ).bindparams(
                    sa.bindparam("id", type_=sa.Uuid()),
                    sa.bindparam("advisor", type_=sa.Uuid()),
                    sa.bindparam("variants", type_=sa.JSON()),
                    sa.bindparam("languages", type_=sa.JSON()),
                    sa.bindparam("date", type_=sa.Date()),
                    sa.bindparam("now", type_=sa.DateTime(timezone=True)),
                ),
                {
                    "id": ids[key],
                    "advisor": ids["advisor"],
                    "variants": {"en": VARIANTS[Language.EN].as_dict()},
                    "languages": ["en"],
                    "hash": HASH,
                    "status": status,
                    "date": dt.date(2026, 11, 21),
                    "now": NOW,
                },
            )
        await conn.execute(
            sa.text(
                "INSERT INTO deliveries (id, advisor_id, pack_id, date, language, channel, variant,"
                " to_number, content_hash, scheduled_for, sla_target, status, attempts,"
                " queued_at) VALUES (:id, :advisor, :pack, :date, 'en', 'whatsapp', 'post',"
                " '+919800000001', :hash, :now, :now, 'queued', 0, :now)"
            ).bindparams(
                sa.bindparam("id", type_=sa.Uuid()),
                sa.bindparam("advisor", type_=sa.Uuid()),
                sa.bindparam("pack", type_=sa.Uuid()),
                sa.bindparam("date", type_=sa.Date()),
                sa.bindparam("now", type_=sa.DateTime(timezone=True)),
            ),
            {
                "id": ids["delivery"],
                "advisor": ids["advisor"],
                "pack": ids["approved"],
                "date": dt.date(2026, 11, 21),
                "hash": HASH,
                "now": NOW,
            },
        )
    return ids


async def test_packs_approved_before_the_workflow_keep_their_approval_on_record(
    engine: AsyncEngine,
) -> None:
    ids = await _seed_at_0001(engine)
    await upgrade(engine)
    async with engine.connect() as conn:
        rows = {
            row.id: row
            for row in await conn.execute(
                sa.text(
                    "SELECT id, status, approved_hash, reviewer_id, findings, escalated"
                    " FROM content_packs"
                ).columns(id=sa.Uuid(), findings=sa.JSON())
            )
        }
        deliveries = (await conn.execute(sa.text("SELECT count(*) FROM deliveries"))).scalar()
    approved, draft = rows[ids["approved"]], rows[ids["draft"]]
    assert (approved.approved_hash, approved.reviewer_id) == (HASH, "migration:0002")
    assert (draft.approved_hash, draft.reviewer_id) == (None, None)
    assert approved.findings == []
    assert not approved.escalated
    assert deliveries == 1  # the table rebuild kept the rows that refer to the packs


async def test_an_approved_pack_without_an_approved_hash_is_refused_by_the_schema(
    engine: AsyncEngine,
) -> None:
    ids = await _seed_at_0001(engine)
    await upgrade(engine)
    with pytest.raises(sa.exc.IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE content_packs SET approved_hash = NULL WHERE id = :id").bindparams(
                    sa.bindparam("id", type_=sa.Uuid())
                ),
                {"id": ids["approved"]},
            )


async def _insert_audit_row(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO audit_events (id, sequence, occurred_at, actor_type, actor_id,"
                " actor_role, action, entity_type, entity_id, changed_fields, retention_until,"
                " prev_hash, hash) VALUES (:id, 1, :now, 'system', 'projectone', 'system',"
                " 'create', 'content_pack', 'x', :fields, :until, :prev, :hash)"
            ).bindparams(
                sa.bindparam("id", type_=sa.Uuid()),
                sa.bindparam("now", type_=sa.DateTime(timezone=True)),
                sa.bindparam("fields", type_=sa.JSON()),
                sa.bindparam("until", type_=sa.Date()),
            ),
            {
                "id": uuid.uuid4(),
                "now": NOW,
                "fields": [],
                "until": dt.date(2033, 11, 20),
                "prev": "0" * 64,
                "hash": "a" * 64,
            },
        )


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'approve'", "DELETE FROM audit_events"],
)
async def test_audit_rows_cannot_be_updated_or_deleted(engine: AsyncEngine, statement: str) -> None:
    await upgrade(engine)
    await _insert_audit_row(engine)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement))
    async with engine.connect() as conn:
        action = (await conn.execute(sa.text("SELECT action FROM audit_events"))).scalar_one()
    assert action == "create"


@pytest.mark.postgres
async def test_the_audit_table_cannot_be_truncated_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await upgrade(engine)
        await _insert_audit_row(engine)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.text("TRUNCATE audit_events"))
    finally:
        await engine.dispose()


# -- revision 0003: the delivery engine --------------------------------------------------------


async def test_deliveries_from_before_the_engine_become_due_at_their_send_time(
    engine: AsyncEngine,
) -> None:
    ids = await _seed_at_0001(engine)
    await upgrade(engine, "0002")
    await upgrade(engine)
    uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    async with uow() as tx:
        delivery = await tx.deliveries.get(ids["delivery"])
        due = await tx.deliveries.due(NOW, 10)
    assert delivery.next_attempt_at == delivery.scheduled_for == NOW
    assert (delivery.fallback, delivery.backup_of, delivery.lease_owner) == (False, None, None)
    assert delivery.duplicate_message_ids == ()
    assert [d.id for d in due] == [ids["delivery"]]


async def test_a_delivery_left_sending_by_the_old_dispatcher_counts_as_an_expired_lease(
    engine: AsyncEngine,
) -> None:
    ids = await _seed_at_0001(engine)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE deliveries SET status = 'sending', attempts = 1 WHERE id = :id"
            ).bindparams(sa.bindparam("id", type_=sa.Uuid())),
            {"id": ids["delivery"]},
        )
    await upgrade(engine)
    async with SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())() as tx:
        expired = await tx.deliveries.expired_leases(NOW, 10)
    assert [d.id for d in expired] == [ids["delivery"]]


async def test_revision_0003_downgrades_to_0002_keeping_the_deliveries(
    engine: AsyncEngine,
) -> None:
    await _seed_at_0001(engine)
    await upgrade(engine)
    await downgrade(engine, "0002")
    async with engine.connect() as conn:
        count = (await conn.execute(sa.text("SELECT count(*) FROM deliveries"))).scalar()
        tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    assert count == 1
    assert "inbound_messages" not in tables
    assert "fallback_library" not in tables
