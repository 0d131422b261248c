"""Revision 0004 (the AI studio's jobs and response cache): up, down and up again, on a
database that already holds data."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.sqlalchemy import (
    SqlAlchemyUnitOfWorkFactory,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from projectone.adapters.sqlalchemy.mapping import cached_answer_to_row
from projectone.adapters.sqlalchemy.tables import ai_cache, ai_jobs
from projectone.domain.advisor import Advisor
from projectone.domain.ai import AiJob, AiOutcome, AiStage, CachedAnswer, TokenUsage
from projectone.domain.language import Language
from projectone.testing.keys import fixed_key_store

AI_TABLES = {ai_jobs.name: ai_jobs, ai_cache.name: ai_cache}
NOW = dt.datetime(2026, 11, 24, 4, 30, tzinfo=dt.UTC)


def _schema(connection: sa.Connection) -> dict[str, Any]:
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    found: dict[str, Any] = {"tables": tables}
    for name in AI_TABLES:
        if name not in tables:
            continue
        found[name] = {
            "columns": [(c["name"], c["nullable"]) for c in inspector.get_columns(name)],
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "indexes": {i["name"]: i["column_names"] for i in inspector.get_indexes(name)},
            "checks": {c["name"] for c in inspector.get_check_constraints(name)},
            "foreign_keys": {
                f["name"]: (f["constrained_columns"], f["referred_table"])
                for f in inspector.get_foreign_keys(name)
            },
        }
    return found


def _declared(table: sa.Table) -> dict[str, Any]:
    return {
        "columns": [(c.name, c.nullable) for c in table.columns],
        "primary_key": [c.name for c in table.primary_key.columns],
        "indexes": {str(i.name): [c.name for c in i.columns] for i in table.indexes},
        "checks": {str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint)},
        "foreign_keys": {
            str(f.name): ([c.name for c in f.columns], f.referred_table.name)
            for f in table.foreign_key_constraints
        },
    }


async def _inspect(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_schema)


def _advisor() -> Advisor:
    return Advisor(
        id=uuid.uuid4(),
        name="Priya",
        type="RIA",
        registration_no="INA000012345",
        email="p@example.in",
        whatsapp_number="+919800000001",
        languages=(Language.EN,),
        whatsapp_opt_in_at=NOW,
        created_at=NOW,
    )


def _job(advisor: Advisor) -> AiJob:
    return AiJob(
        id=uuid.uuid4(),
        advisor_id=advisor.id,
        stage=AiStage.GENERATION,
        model="gpt-4o-mini",
        prompt_version="generate-v1",
        input_hash="1" * 64,
        output_hash="2" * 64,
        usage=TokenUsage(900, 600),
        latency_ms=1200,
        cost_inr=Decimal("0.0455"),
        created_at=NOW,
    )


def _answer() -> CachedAnswer:
    return CachedAnswer(
        key="a" * 64,
        stage=AiStage.COMPLIANCE_CHECK,
        model="gpt-4o-mini",
        prompt_version="review-v1",
        document={"reviewer": "openai", "findings": []},
        created_at=NOW,
        expires_at=NOW + dt.timedelta(days=14),
    )


async def test_revision_0004_creates_the_ai_tables_as_tables_py_declares_them(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine, "0003")
    before = await _inspect(engine)
    assert not before["tables"] & set(AI_TABLES)
    await upgrade(engine, "0004")
    assert (await _inspect(engine))["tables"] - before["tables"] == set(AI_TABLES)
    # tables.py describes the head: the later revision 0005 adds ai_cache.advisor_id.
    await upgrade(engine)
    after = await _inspect(engine)
    for name, table in AI_TABLES.items():
        assert after[name] == _declared(table), name
    assert after[ai_jobs.name]["indexes"] == {
        "ix_ai_jobs_advisor_id_stage_created_at": ["advisor_id", "stage", "created_at"],
        "ix_ai_jobs_created_at": ["created_at"],
    }
    assert after[ai_cache.name]["indexes"] == {
        "ix_ai_cache_expires_at": ["expires_at"],
        "ix_ai_cache_advisor_id": ["advisor_id"],
    }


async def test_revision_0004_downgrades_to_0003_and_upgrades_again(engine: AsyncEngine) -> None:
    await upgrade(engine)
    advisor = _advisor()
    factory = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    async with factory() as uow:
        await uow.advisors.add(advisor)
        await uow.ai_jobs.add(_job(advisor))
        await uow.ai_cache.put(_answer())
        await uow.commit()

    await downgrade(engine, "0003")
    assert await current_revision(engine) == "0003"
    schema = await _inspect(engine)
    assert not schema["tables"] & set(AI_TABLES)
    assert {"advisors", "deliveries", "inbound_messages"} <= schema["tables"]
    async with engine.connect() as conn:
        # Earlier data is untouched (back in the plaintext columns 0003 knows).
        row = (
            await conn.execute(
                sa.text("SELECT name, email, whatsapp_number FROM advisors WHERE id = :id"),
                {"id": advisor.id if engine.dialect.name == "postgresql" else advisor.id.hex},
            )
        ).one()
    assert tuple(row) == (advisor.name, advisor.email, advisor.whatsapp_number)

    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    async with factory() as uow:
        assert await uow.advisors.get(advisor.id) == advisor
    job, answer = _job(advisor), _answer()
    async with factory() as uow:
        # The jobs and answers went with the tables; the tables work again.
        assert list(await uow.ai_jobs.for_advisor(advisor.id)) == []
        assert await uow.ai_cache.get(answer.key, NOW) is None
        await uow.ai_jobs.add(job)
        await uow.ai_cache.put(answer)
        await uow.commit()
    async with factory() as uow:
        assert list(await uow.ai_jobs.for_advisor(advisor.id)) == [job]
        assert await uow.ai_cache.get(answer.key, NOW) == answer


async def test_the_ai_tables_refuse_rows_the_domain_would_refuse(engine: AsyncEngine) -> None:
    await upgrade(engine)
    row = {
        "id": uuid.uuid4(),
        "advisor_id": None,
        "stage": "generation",
        "model": "m",
        "prompt_version": "p",
        "input_hash": "1" * 64,
        "output_hash": None,
        "input_tokens": 0,
        "output_tokens": 0,
        "latency_ms": 0,
        "cost_inr": Decimal(0),
        "cache_hit": False,
        "outcome": "succeeded",
        "error": None,
        "created_at": NOW,
    }
    # Every value of the domain's enums is accepted (the revision spells them out by hand).
    accepted = [{"stage": stage.value} for stage in AiStage]
    accepted += [{"outcome": outcome.value} for outcome in AiOutcome]
    async with engine.begin() as conn:
        for values in accepted:
            await conn.execute(ai_jobs.insert().values(**{**row, "id": uuid.uuid4(), **values}))
        for stage in AiStage:
            answer = attrs.evolve(_answer(), key=stage.value, stage=stage)
            await conn.execute(ai_cache.insert().values(**cached_answer_to_row(answer)))
    bad_values: list[dict[str, Any]] = [
        {"stage": "translation"},
        {"outcome": "maybe"},
        {"input_tokens": -1},
        {"output_tokens": -1},
        {"latency_ms": -1},
        {"cost_inr": Decimal("-0.0001")},
        {"input_hash": "1" * 63},
        {"output_hash": "2" * 63},
    ]
    for bad in bad_values:
        with pytest.raises(sa.exc.IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(ai_jobs.insert().values(**{**row, "id": uuid.uuid4(), **bad}))
    with pytest.raises(sa.exc.IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                ai_cache.insert().values(
                    key="k",
                    stage="translation",
                    model="m",
                    prompt_version="p",
                    document={},
                    created_at=NOW,
                    expires_at=NOW,
                )
            )
    async with engine.connect() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(ai_jobs))).scalar()
    assert count == len(accepted)
