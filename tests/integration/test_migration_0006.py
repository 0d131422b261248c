"""Revision 0006 (deliveries carry their message hash): down and up again on a database that
holds deliveries, which keep their plan and are then checked against the whole pack."""

from __future__ import annotations

import datetime as dt

import attrs
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.clock import UuidGenerator
from projectone.adapters.sqlalchemy import (
    SqlAlchemyUnitOfWorkFactory,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from projectone.domain.delivery import DeliveryStatus
from projectone.services.dispatch import DispatchWorker, WorkerConfig
from projectone.testing.fakes import FakeWhatsAppSender, ManualClock
from projectone.testing.keys import fixed_key_store
from projectone.testing.queue import seed_due_deliveries

NOW = dt.datetime(2026, 11, 25, 0, 31, tzinfo=dt.UTC)


async def _columns(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    def inspect(connection: sa.Connection) -> tuple[set[str], set[str]]:
        inspector = sa.inspect(connection)
        columns = {c["name"] for c in inspector.get_columns("deliveries")}
        checks = {str(c["name"]) for c in inspector.get_check_constraints("deliveries")}
        return columns, checks

    async with engine.connect() as conn:
        return await conn.run_sync(inspect)


async def test_down_and_up_again_keeps_every_delivery_which_is_then_sent_as_approved(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine)
    uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    planned = await seed_due_deliveries(
        uow, 3, date=NOW.date(), now=NOW, ids=UuidGenerator(), overdue=dt.timedelta(0)
    )
    assert all(d.message_hash for d in planned)

    await downgrade(engine, "0005")
    assert await current_revision(engine) == "0005"
    columns, checks = await _columns(engine)
    assert "message_hash" not in columns
    assert "ck_deliveries_message_hash_length" not in checks
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM deliveries"))).scalar() == 3

    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    columns, checks = await _columns(engine)
    assert "message_hash" in columns
    assert "ck_deliveries_message_hash_length" in checks
    async with uow() as unit:
        stored = await unit.deliveries.get_many(d.id for d in planned)
    # The plan is kept but for the hash, which is not made up afterwards: these deliveries are
    # checked against their whole pack, and go out.
    assert [stored[d.id] for d in planned] == [attrs.evolve(d, message_hash=None) for d in planned]
    sender = FakeWhatsAppSender()
    worker = DispatchWorker(
        uow_factory=uow,
        whatsapp=sender,
        clock=ManualClock(NOW),
        ids=UuidGenerator(),
        config=WorkerConfig(owner="after-0006"),
    )
    stats = await worker.run(drain=dt.timedelta(0))
    assert stats.sent == 3
    async with uow() as unit:
        sent = await unit.deliveries.get_many(d.id for d in planned)
    assert {d.status for d in sent.values()} == {DeliveryStatus.SENT}
