"""Dispatch throughput: the whole morning pipeline against the raw HTTP floor.

Both halves talk to the same WhatsApp Cloud API simulator on loopback with the same
concurrency. The baseline only POSTs the messages with aiohttp; the pipeline claims the due
deliveries in a SQLite database, renders and sends each through ``WhatsAppCloudSender`` and
records every outcome. The ratio (pipeline time / baseline time) is the cost of projectone's
bookkeeping on top of the network calls it cannot avoid.

Run: ``.venv/bin/python bench/bench_dispatch.py [--messages N] [--db URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

import aiohttp
import attrs

from projectone.adapters.clock import SimulatedClock, UuidGenerator
from projectone.adapters.sqlalchemy import (
    SqlAlchemyUnitOfWorkFactory,
    create_engine,
    prepare,
    upgrade,
)
from projectone.adapters.whatsapp_cloud import WhatsAppCloudSender
from projectone.domain.timezone import local_to_utc
from projectone.services import CatalogService, MorningService
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.whatsapp_simulator import WhatsAppSimulator

CONCURRENCY = 32
DAY = dt.date(2026, 11, 23)


async def baseline(sim: WhatsAppSimulator, session: aiohttp.ClientSession, n: int) -> float:
    url = f"{sim.base_url}/v21.0/100000000000001/messages"
    headers = {"Authorization": f"Bearer {sim.access_token}"}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": f"9170{i:08d}",
            "type": "text",
            "text": {"preview_url": False, "body": "*Title*\n\nA morning post."},
        }
        async with gate, session.post(url, json=body, headers=headers) as response:
            await response.read()
            assert response.status == 200

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start


async def pipeline(
    sim: WhatsAppSimulator, session: aiohttp.ClientSession, n: int, url: str
) -> tuple[float, int]:
    engine = create_engine(url)
    try:
        if url.startswith("sqlite"):
            await prepare(engine, auto_migrate=True)
        else:
            await upgrade(engine)
        uow = SqlAlchemyUnitOfWorkFactory(engine)
        clock = SimulatedClock(local_to_utc(DAY, dt.time(5, 0)))
        ids = UuidGenerator()
        # Everyone in one send slot: the whole morning is due at once.
        advisors = [
            attrs.evolve(a, send_time=dt.time(6, 0))
            for a in demo_advisors(n, ids=ids, now=clock.now())
        ]
        await CatalogService(uow, clock, ids).register(
            advisors, demo_packs(advisors, DAY, ids=ids, now=clock.now())
        )
        sender = WhatsAppCloudSender(
            session,
            base_url=sim.base_url,
            phone_number_id="100000000000001",
            access_token=sim.access_token,
            # The bench measures the pipeline, not Meta's 80/s pacing (tested on its own).
            throttle=None,
        )
        morning = MorningService(
            uow_factory=uow,
            sender=sender,
            clock=clock,
            ids=ids,
            batch_size=200,
            concurrency=CONCURRENCY,
        )
        await morning.plan_morning(DAY)
        clock.jump_to(local_to_utc(DAY, dt.time(6, 0)))
        start = time.perf_counter()
        result = await morning.dispatch_due(clock.now())
        return time.perf_counter() - start, result.sent
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        async with WhatsAppSimulator() as sim, aiohttp.ClientSession() as session:
            await baseline(sim, session, 50)  # warm up connections
            raw = await baseline(sim, session, args.messages)
            piped, sent = await pipeline(sim, session, args.messages, url)
    reachable = sent
    print(f"messages: {args.messages} ({reachable} reachable advisors), concurrency {CONCURRENCY}")
    print(f"baseline raw aiohttp POSTs: {raw:.3f} s = {args.messages / raw:,.0f} msg/s")
    print(f"pipeline dispatch_due:      {piped:.3f} s = {reachable / piped:,.0f} msg/s")
    print(
        f"ratio pipeline/baseline (per message): {(piped / reachable) / (raw / args.messages):.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
