"""What one read of a content pack by id costs, layer by layer, on PostgreSQL.

``GET /v1/content/{id}`` (bench/http_api.py) spends most of its CPU on this one read. The same
primary-key ``SELECT`` of a pack, in one process, measured in the same run:

1. **psycopg** (the baseline): the driver alone on a connection held open, ``fetchone``;
2. **SQLAlchemy, held connection**: ``AsyncConnection.execute`` of the Core statement, one row
   as a mapping;
3. **SQLAlchemy, pooled**: the same with a connection checked out of the pool and given back
   per read (autocommit engine, as a read-only unit of work has it);
4. **projectone**: a read-only unit of work and ``ContentRepository.get``, the pack mapped to
   ``ContentPack``: what the API does.

Each figure is process CPU per read (the server's CPU is not counted: it is the same for all),
with the ratio baseline ÷ layer. The reads rotate over ``--packs`` packs; rounds alternate the
layers so that a noisy neighbour hits them alike, and the median round is printed.

Run: ``.venv/bin/python bench/read_floor.py [--reads N] [--rounds R] [--packs P]`` (a throwaway
PostgreSQL database on 127.0.0.1, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg
import sqlalchemy as sa

from projectone.adapters.clock import UuidGenerator
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.adapters.sqlalchemy.engine import normalize_url
from projectone.adapters.sqlalchemy.tables import content_packs
from projectone.entrypoints.gc_tuning import tune_for_service
from projectone.testing.keys import fixed_key_store
from projectone.testing.postgres import create_throwaway, drop_throwaway
from projectone.testing.queue import seed_due_deliveries

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)

Read = Callable[[uuid.UUID], Awaitable[object]]


async def cpu_per_read(read: Read, ids: list[uuid.UUID], reads: int) -> float:
    """Microseconds of this process's CPU per call of ``read``."""
    start = time.process_time()
    for i in range(reads):
        await read(ids[i % len(ids)])
    return (time.process_time() - start) * 1e6 / reads


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=2_000, help="reads per layer and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--packs", type=int, default=100)
    args = parser.parse_args()
    name, url = await create_throwaway(admin_url=ADMIN_URL)
    engine = create_engine(url)
    autocommit = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        await upgrade(engine)
        uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
        seeded = await seed_due_deliveries(
            uow, args.packs, date=NOW.date(), now=NOW, ids=UuidGenerator()
        )
        ids = [d.pack_id for d in seeded]
        libpq = normalize_url(url).set(drivername="postgresql").render_as_string(False)
        driver = await psycopg.AsyncConnection.connect(libpq, autocommit=True)
        held = await autocommit.connect()
        by_id = content_packs.select().where(content_packs.c.id == sa.bindparam("pack_id"))

        async def psycopg_read(pack_id: uuid.UUID) -> object:
            cursor = driver.cursor()
            await cursor.execute("SELECT * FROM content_packs WHERE id = %s", (pack_id,))
            return await cursor.fetchone()

        async def held_read(pack_id: uuid.UUID) -> object:
            return (await held.execute(by_id, {"pack_id": pack_id})).mappings().one()

        async def pooled_read(pack_id: uuid.UUID) -> object:
            async with autocommit.connect() as conn:
                return (await conn.execute(by_id, {"pack_id": pack_id})).mappings().one()

        async def projectone_read(pack_id: uuid.UUID) -> object:
            async with uow.read_only() as unit:
                return await unit.content.get(pack_id)

        layers: dict[str, Read] = {
            "psycopg, held connection (baseline)": psycopg_read,
            "SQLAlchemy, held connection": held_read,
            "SQLAlchemy, pooled connection": pooled_read,
            "projectone read-only unit of work": projectone_read,
        }
        # As the API's process does once it is set up.
        tune_for_service()
        for read in layers.values():  # warm up: pools, statement caches, prepared statements
            await cpu_per_read(read, ids, 200)
        rounds: dict[str, list[float]] = {label: [] for label in layers}
        for _ in range(args.rounds):
            for label, read in layers.items():
                rounds[label].append(await cpu_per_read(read, ids, args.reads))
        await held.close()
        await driver.close()
    finally:
        await autocommit.dispose()
        await engine.dispose()
        await drop_throwaway(name, admin_url=ADMIN_URL)
    baseline = statistics.median(next(iter(rounds.values())))
    print(f"one primary-key read of a content pack, {args.reads} reads x {args.rounds} rounds")
    for label, figures in rounds.items():
        median = statistics.median(figures)
        print(f"  {label:38s} {median:6.0f} us CPU per read  ratio {baseline / median:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
