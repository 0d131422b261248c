"""A delivery whose number cannot be opened fails alone; the morning goes on (both databases)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.clock import UuidGenerator
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, upgrade
from projectone.adapters.sqlalchemy.tables import data_keys, deliveries
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.errors import KeyStoreError
from projectone.services.dispatch import NUMBER_UNAVAILABLE, DispatchWorker, WorkerConfig
from projectone.testing.fakes import FakeWhatsAppSender, ManualClock
from projectone.testing.keys import fixed_key_store
from projectone.testing.queue import seed_due_deliveries

NOW = dt.datetime(2026, 11, 24, 0, 31, tzinfo=dt.UTC)


async def test_a_missing_data_key_fails_its_delivery_and_the_others_are_sent(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine)
    uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    keyless, *others = await seed_due_deliveries(
        uow, 3, date=NOW.date(), now=NOW, ids=UuidGenerator()
    )
    # The number stays sealed in the row; the key that opens it is gone (a damaged restore).
    async with engine.begin() as conn:
        await conn.execute(data_keys.delete().where(data_keys.c.subject_id == keyless.advisor_id))
    sender = FakeWhatsAppSender()
    worker = DispatchWorker(
        uow_factory=SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store()),
        whatsapp=sender,
        clock=ManualClock(NOW),
        ids=UuidGenerator(),
        config=WorkerConfig(owner="w"),
    )
    stats = await worker.run(drain=dt.timedelta(0))
    assert (stats.sent, stats.failed) == (2, 1)
    assert sorted(m.callback_data or "" for m in sender.sent) == sorted(str(d.id) for d in others)
    # A fresh factory: the seeding one still holds the key in its process cache.
    async with SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())() as unit:
        # Reads other than a worker's claim still refuse the row rather than hide the damage.
        with pytest.raises(KeyStoreError):
            await unit.deliveries.get(keyless.id)
    async with uow() as unit:
        sent = await unit.deliveries.get_many(d.id for d in others)
    assert {d.status for d in sent.values()} == {DeliveryStatus.SENT}
    async with engine.connect() as conn:
        query = sa.select(deliveries.c.status, deliveries.c.error_code).where(
            deliveries.c.id == keyless.id
        )
        row = (await conn.execute(query)).one()
    assert tuple(row) == ("failed", NUMBER_UNAVAILABLE)
