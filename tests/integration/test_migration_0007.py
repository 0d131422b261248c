"""Revision 0007 (queue indexes in claim order): down and up again, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.sqlalchemy import current_revision, downgrade, head_revision, upgrade

OLD = {"ix_deliveries_status_next_attempt_at", "ix_deliveries_status_lease_expires_at"}
NEW = {"ix_deliveries_status_next_attempt_at_id", "ix_deliveries_sending_lease_expires_at"}


async def _indexes(engine: AsyncEngine) -> set[str]:
    def inspect(connection: sa.Connection) -> set[str]:
        return {str(i["name"]) for i in sa.inspect(connection).get_indexes("deliveries")}

    async with engine.connect() as conn:
        return await conn.run_sync(inspect)


async def test_down_restores_the_old_queue_indexes_and_up_replaces_them_again(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine)
    indexes = await _indexes(engine)
    assert indexes >= NEW
    assert not OLD & indexes

    await downgrade(engine, "0006")
    assert await current_revision(engine) == "0006"
    indexes = await _indexes(engine)
    assert indexes >= OLD
    assert not NEW & indexes

    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    assert await _indexes(engine) >= NEW
