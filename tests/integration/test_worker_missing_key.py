"""A delivery whose number cannot be opened fails alone; the morning goes on (both databases)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.clock import UuidGenerator
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, upgrade
from projectone.adapters.sqlalchemy.tables import data_keys, deliveries
from projectone.domain.delivery import Delivery, DeliveryStatus
from projectone.domain.errors import KeyStoreError
from projectone.domain.language import Language
from projectone.ports.sms import DltTemplate
from projectone.services.dispatch import (
    NUMBER_UNAVAILABLE,
    DispatchWorker,
    SmsBackup,
    WorkerConfig,
)
from projectone.testing.fakes import FakeSmsSender, FakeWhatsAppSender, ManualClock
from projectone.testing.keys import fixed_key_store
from projectone.testing.queue import seed_due_deliveries
from projectone.testing.sms_simulator import DEMO_TEMPLATES

NOW = dt.datetime(2026, 11, 24, 0, 31, tzinfo=dt.UTC)


async def _three_due_one_key_lost(
    engine: AsyncEngine, *, claimed_by: str | None = None
) -> tuple[SqlAlchemyUnitOfWorkFactory, Delivery, list[Delivery]]:
    """Three due deliveries (claimed by ``claimed_by``, a worker that then died, if given);
    the data key of the first one's advisor is then deleted, its number left sealed in the row
    (a damaged restore)."""
    await upgrade(engine)
    uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    keyless, *others = await seed_due_deliveries(
        uow, 3, date=NOW.date(), now=NOW, ids=UuidGenerator()
    )
    if claimed_by is not None:
        async with uow() as unit:
            await unit.deliveries.claim_due(NOW, 10, owner=claimed_by, until=NOW)
            await unit.commit()
    async with engine.begin() as conn:
        await conn.execute(data_keys.delete().where(data_keys.c.subject_id == keyless.advisor_id))
    return uow, keyless, others


async def test_a_missing_data_key_fails_its_delivery_and_the_others_are_sent(
    engine: AsyncEngine,
) -> None:
    uow, keyless, others = await _three_due_one_key_lost(engine)
    sender = FakeWhatsAppSender()
    worker = DispatchWorker(
        uow_factory=SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store()),
        whatsapp=sender,
        clock=ManualClock(NOW),
        ids=UuidGenerator(),
        config=WorkerConfig(owner="w"),
    )
    async with asyncio.timeout(60):  # before the fix: claims failed forever (see below)
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


async def test_recovery_settles_a_dead_workers_delivery_whose_key_is_gone_with_the_others(
    engine: AsyncEngine,
) -> None:
    # A worker claimed all three and died; then the key of one advisor went missing.
    _, keyless, others = await _three_due_one_key_lost(engine, claimed_by="dead")

    clock = ManualClock(NOW + dt.timedelta(seconds=1))
    texts = FakeSmsSender()
    ((template_id, (text, category)), *_) = DEMO_TEMPLATES.items()
    template = DltTemplate(template_id=template_id, text=text, category=category)
    for _ in range(2):  # the lease ends; then the wait for a receipt ends (at most once)
        worker = DispatchWorker(
            uow_factory=SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store()),
            whatsapp=FakeWhatsAppSender(),
            clock=clock,
            ids=UuidGenerator(),
            config=WorkerConfig(owner="w", receipt_wait=dt.timedelta(seconds=20)),
            sms=SmsBackup(
                sender=texts,
                templates=dict.fromkeys(Language, template),
                sender_header="PRJONE",
                principal_entity_id="1201160000000000001",
            ),
        )
        # A bound against a hang, not a speed check: the bug this guards against made the
        # draining worker retry its recovery forever (it takes well under a second).
        async with asyncio.timeout(60):
            await worker.run(drain=dt.timedelta(seconds=-1))
        clock.advance(dt.timedelta(seconds=21))
    async with engine.connect() as conn:
        query = sa.select(
            deliveries.c.id, deliveries.c.channel, deliveries.c.status, deliveries.c.error_code
        )
        rows = [tuple(row) for row in await conn.execute(query)]
    # Nothing stayed stuck behind the damaged row, which got no SMS backup: there is no number
    # to text, and a backup's number could not even be sealed. The others went out by SMS.
    given_up = {row[0]: row[1:] for row in rows if row[1] == "whatsapp"}
    assert given_up == {d.id: ("whatsapp", "failed", "outcome_unknown") for d in [keyless, *others]}
    assert sorted(row[1:] for row in rows if row[1] == "sms") == [("sms", "sent", None)] * 2
    assert len(texts.sent) == 2
