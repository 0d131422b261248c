"""Dispatch throughput: one delivery worker against a bare aiohttp loop, same simulator.

Both halves send the same number of text messages with the same concurrency to one WhatsApp
Cloud API simulator on loopback (rate limit off, no latency), which runs in a process of its
own so that neither half shares its CPU with the server. The baseline only POSTs; the
worker claims due deliveries from the database in leased batches, renders and sends each
through ``WhatsAppCloudSender`` (throttle off), and records every outcome. The ratio
(worker msg/s ÷ baseline msg/s) is the share of the practical limit the engine reaches.

By default a throwaway PostgreSQL database is created on 127.0.0.1 (as the tests do) and
dropped afterwards; ``--db`` points at another one (``sqlite:///…`` works too).

Run: ``.venv/bin/python bench/dispatch.py [--messages N] [--concurrency C] [--db URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import time
import uuid
from multiprocessing.connection import Connection

import aiohttp
import attrs
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from projectone.adapters.clock import SystemClock, UuidGenerator
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.adapters.whatsapp_cloud import WhatsAppCloudSender
from projectone.services.dispatch import DispatchWorker, WorkerConfig
from projectone.testing.queue import seed_due_deliveries
from projectone.testing.whatsapp_simulator import WhatsAppSimulator

DAY = dt.date(2026, 11, 23)
PHONE_NUMBER_ID = "100000000000001"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def serve_simulator(conn: Connection) -> None:
    """The simulator's process: serve until the parent says stop, then report the count."""

    async def serve() -> None:
        async with WhatsAppSimulator(phone_number_id=PHONE_NUMBER_ID) as sim:
            conn.send((sim.base_url, sim.access_token))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            conn.send(len(sim.sent))

    asyncio.run(serve())


@attrs.frozen
class Simulator:
    base_url: str
    access_token: str


async def baseline(
    sim: Simulator, session: aiohttp.ClientSession, n: int, concurrency: int
) -> float:
    url = f"{sim.base_url}/v21.0/{PHONE_NUMBER_ID}/messages"
    headers = {"Authorization": f"Bearer {sim.access_token}"}
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": f"9170{i:08d}",
            "type": "text",
            "text": {"preview_url": False, "body": "*Title*\n\nA morning post."},
            "biz_opaque_callback_data": str(uuid.uuid4()),
        }
        async with gate, session.post(url, json=body, headers=headers) as response:
            await response.read()
            assert response.status == 200

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start


async def worker_run(
    sim: Simulator,
    session: aiohttp.ClientSession,
    n: int,
    url: str,
    args: argparse.Namespace,
) -> tuple[float, int]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        uow = SqlAlchemyUnitOfWorkFactory(engine)
        clock, ids = SystemClock(), UuidGenerator()
        await seed_due_deliveries(uow, n, date=DAY, now=clock.now(), ids=ids)
        sender = WhatsAppCloudSender(
            session,
            base_url=sim.base_url,
            phone_number_id=PHONE_NUMBER_ID,
            access_token=sim.access_token,
            throttle=None,  # the bench measures the engine, not Meta's pacing
        )
        config = WorkerConfig(batch_size=args.batch_size, concurrency=args.concurrency)
        worker = DispatchWorker(
            uow_factory=uow, whatsapp=sender, clock=clock, ids=ids, config=config
        )
        start = time.perf_counter()
        stats = await worker.run(drain=dt.timedelta(0))
        return time.perf_counter() - start, stats.sent
    finally:
        await engine.dispose()


async def throwaway_postgres() -> tuple[str, str]:
    name = f"projectone_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(
        ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return name, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_postgres(name: str) -> None:
    admin = create_async_engine(
        ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--db", help="database URL (default: a throwaway PostgreSQL database)")
    args = parser.parse_args()
    name = None
    url = args.db
    if url is None:
        name, url = await throwaway_postgres()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve_simulator, args=(child,), daemon=True)
    server.start()
    try:
        sim = Simulator(*parent.recv())
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            await baseline(sim, session, 200, args.concurrency)  # warm up connections
            raw = await baseline(sim, session, args.messages, args.concurrency)
            took, sent = await worker_run(sim, session, args.messages, url, args)
        parent.send("stop")
        accepted = parent.recv()
    finally:
        server.join(timeout=10)
        if name is not None:
            await drop_postgres(name)
    assert accepted == 2 * args.messages + 200, f"the simulator accepted {accepted} messages"
    assert sent == args.messages, f"only {sent} of {args.messages} sent"
    bare, engine_rate = args.messages / raw, sent / took
    print(f"messages: {args.messages}, concurrency {args.concurrency}, batch {args.batch_size}")
    print(f"baseline bare aiohttp loop: {raw:.2f} s = {bare:,.0f} msg/s")
    print(f"worker (claim, send, record): {took:.2f} s = {engine_rate:,.0f} msg/s")
    print(f"ratio worker/baseline: {engine_rate / bare:.2f} (goal >= 0.6)")


if __name__ == "__main__":
    asyncio.run(main())
