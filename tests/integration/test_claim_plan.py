"""How PostgreSQL runs the worker's claim: off the due-delivery index, never sorting the queue.

A morning puts most deliveries on one minute (06:00), so a claim that sorts the due rows to
take the first batch does work proportional to the whole queue, once per batch. This test runs
EXPLAIN on the very statement ``claim_due`` executes, with its parameters.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from projectone.adapters.clock import UuidGenerator
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.testing.keys import fixed_key_store
from projectone.testing.queue import seed_due_deliveries

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 11, 24, 0, 31, tzinfo=dt.UTC)


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
async def test_a_claim_reads_its_batch_off_the_index_without_sorting_the_due_queue(
    postgres_url: str, plan_cache_mode: str
) -> None:
    engine = create_engine(postgres_url)
    try:
        await upgrade(engine)
        uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
        # All due at the same instant, as at 06:00: only the id orders them.
        await seed_due_deliveries(uow, 600, date=NOW.date(), now=NOW, ids=UuidGenerator())
        captured: list[tuple[str, Any]] = []

        def capture(*args: Any) -> None:
            statement, parameters = args[2], args[3]
            if statement.lstrip().upper().startswith("UPDATE DELIVERIES"):
                captured.append((statement, parameters))

        sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
        async with uow() as unit:
            claimed = await unit.deliveries.claim_due(
                NOW, 50, owner="w", until=NOW + dt.timedelta(seconds=30)
            )
        sa.event.remove(engine.sync_engine, "before_cursor_execute", capture)
        assert len(claimed) == 50
        [(statement, parameters)] = captured

        async with engine.connect() as conn:
            # The claim runs as a prepared statement, which PostgreSQL may plan generically
            # (without the parameters' values); neither plan may sort.
            await conn.exec_driver_sql(f"SET plan_cache_mode = {plan_cache_mode}")
            result = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            [[document]] = result.all()
            await conn.rollback()
    finally:
        await engine.dispose()

    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    nodes = list(_nodes(plan))
    kinds = [node["Node Type"] for node in nodes]
    assert not {"Sort", "Incremental Sort"} & set(kinds), json.dumps(plan, indent=1)
    assert "ix_deliveries_status_next_attempt_at_id" in {n.get("Index Name") for n in nodes}
