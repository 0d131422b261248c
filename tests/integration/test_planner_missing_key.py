"""An advisor whose personal data does not open is left out of the plan, named, and the
others are planned (both databases)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.clock import UuidGenerator
from projectone.adapters.rulebook_files import default_rulebook
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, upgrade
from projectone.adapters.sqlalchemy.tables import data_keys
from projectone.services import CatalogService, MorningService
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.fakes import ManualClock
from projectone.testing.keys import fixed_key_store

MORNING = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.UTC)


async def test_an_advisor_whose_data_key_is_lost_is_named_and_the_rest_are_planned(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine)
    uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    clock, ids = ManualClock(NOW), UuidGenerator()
    people = demo_advisors(3, ids=ids, now=NOW)
    await CatalogService(uow, clock, ids).register(
        people, demo_packs(people, MORNING, ids=ids, now=NOW)
    )
    lost = people[1]
    async with engine.begin() as conn:
        await conn.execute(data_keys.delete().where(data_keys.c.subject_id == lost.id))

    # A fresh factory: the registering one keeps the keys it wrote in its process cache.
    planner = MorningService(
        uow_factory=SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store()),
        clock=clock,
        ids=ids,
        rulebook=default_rulebook(),
    )
    result = await planner.plan_morning(MORNING)
    assert result.unreadable == (lost.id,)
    assert result.planned == 2
    async with uow() as unit:
        planned = await unit.deliveries.keys_for_date(MORNING)
    assert {advisor_id for advisor_id, _, _ in planned} == {p.id for p in people} - {lost.id}
