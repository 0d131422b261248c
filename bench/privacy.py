"""The cost of sealed personal data on the paths that read it most.

Two reads of the same rows, measured in the same run on the same database:

* ``list_reachable``: the planner's read of every reachable advisor (three fields opened per
  advisor) against a bare ``SELECT`` of the same rows mapped to nothing;
* deliveries by date: the report's read of a morning (one number opened per delivery) against
  the same bare ``SELECT``.

The ratio is bare time ÷ repository time: the share of the repository read that is the
database itself (1.0 would mean opening sealed fields and mapping cost nothing). The first
read of each warms the process's data-key cache, as a long-running worker's is; a cold read
(every key unwrapped) is printed too.

Run: ``.venv/bin/python bench/privacy.py [--advisors N] [--rounds R] [--postgres | --db URL]``
(default: a SQLite file in a temporary folder; ``--postgres``: a throwaway database on
127.0.0.1, dropped afterwards; ``--db`` writes into the database given).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from projectone.adapters.clock import UuidGenerator
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.adapters.sqlalchemy.tables import advisors, deliveries
from projectone.testing.keys import fixed_key_store
from projectone.testing.postgres import create_throwaway, drop_throwaway
from projectone.testing.queue import seed_due_deliveries

NOW = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)


async def _best(rounds: int, read: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(rounds):
        began = time.perf_counter()
        count = await read()
        times.append(time.perf_counter() - began)
    return statistics.median(times), count


async def run(url: str, n: int, rounds: int) -> None:
    engine = create_engine(url)
    await upgrade(engine, key_store=fixed_key_store())
    factory = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    day = NOW.date()
    await seed_due_deliveries(factory, n, date=day, now=NOW, ids=UuidGenerator())

    async def reachable() -> int:
        async with factory() as uow:
            return len((await uow.advisors.list_reachable()).advisors)

    async def bare_advisors() -> int:
        async with engine.connect() as conn:
            rows = (await conn.execute(advisors.select().order_by(advisors.c.id))).all()
        return len(rows)

    async def morning() -> int:
        async with factory() as uow:
            return len(await uow.deliveries.for_date(day))

    async def bare_morning() -> int:
        async with engine.connect() as conn:
            query = deliveries.select().where(deliveries.c.date == day)
            rows = (await conn.execute(query)).all()
        return len(rows)

    factory.keys.clear()
    began = time.perf_counter()
    await reachable()
    cold = time.perf_counter() - began
    for label, read, bare in (
        ("list_reachable", reachable, bare_advisors),
        ("deliveries for a date", morning, bare_morning),
    ):
        await read()
        took, count = await _best(rounds, read)
        base, _ = await _best(rounds, bare)
        print(
            f"{label}: {count} rows in {took * 1000:.1f} ms ({took / count * 1e6:.1f} µs/row); "
            f"bare SELECT {base * 1000:.1f} ms; ratio {base / took:.2f}"
        )
    print(f"list_reachable, cold key cache: {cold * 1000:.1f} ms ({cold / n * 1e6:.1f} µs/row)")
    await engine.dispose()


async def on_postgres(n: int, rounds: int) -> None:
    name, url = await create_throwaway()
    try:
        await run(url, n, rounds)
    finally:
        await drop_throwaway(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advisors", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    where.add_argument(
        "--postgres", action="store_true", help="a throwaway database on 127.0.0.1:5432"
    )
    args = parser.parse_args()
    if args.postgres:
        asyncio.run(on_postgres(args.advisors, args.rounds))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(url, args.advisors, args.rounds))


if __name__ == "__main__":
    main()
