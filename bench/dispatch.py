"""Dispatch throughput: one delivery worker against a bare aiohttp loop, same simulator.

Both halves send the same text messages (the same request bodies) with the same concurrency
to one WhatsApp Cloud API simulator on loopback (rate limit off, no latency), which runs in a
process of its own so that neither half shares its CPU with the server. The baseline only POSTs; the
worker claims due deliveries from the database in leased batches, renders and sends each
through ``WhatsAppCloudSender`` (throttle off), and records every outcome. The ratio
(worker msg/s ÷ baseline msg/s) is the share of the practical limit the engine reaches.

By default a throwaway PostgreSQL database is created on 127.0.0.1 (as the tests do) and
dropped afterwards; ``--db`` points at another one (``sqlite:///…`` works too).

Run: ``.venv/bin/python bench/dispatch.py [--messages N] [--concurrency C] [--db URL]
[--breakdown] [--default-gc]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import time
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import attrs

from projectone.adapters.clock import SimulatedClock, SystemClock, UuidGenerator
from projectone.adapters.rulebook_files import default_rulebook
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.adapters.whatsapp_cloud import WhatsAppCloudSender
from projectone.domain.audit import Actor
from projectone.domain.delivery import Delivery, DeliveryStatus
from projectone.domain.timezone import local_to_utc
from projectone.entrypoints.gc_tuning import tune_for_service
from projectone.ports.messaging import WhatsAppSender
from projectone.services import CatalogService, MorningService
from projectone.services.dispatch import DispatchWorker, WorkerConfig
from projectone.services.fallback import FallbackLibraryService
from projectone.testing.demo_data import demo_advisors, demo_library, demo_packs, lacks_content
from projectone.testing.fakes import FakeWhatsAppSender
from projectone.testing.keys import fixed_key_store
from projectone.testing.postgres import create_throwaway, drop_throwaway
from projectone.testing.queue import seed_due_deliveries
from projectone.testing.whatsapp_simulator import WhatsAppSimulator

DAY = dt.date(2026, 11, 23)
MORNING = dt.date(2026, 11, 24)
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
class Timing:
    #: Until the last outcome was recorded as sent: what the SLA sees.
    sending: float
    #: Until the worker stopped, its bookkeeping (packs marked delivered, audited) included.
    total: float
    #: CPU seconds of this process until the last send was recorded.
    cpu: float


@attrs.frozen
class Simulator:
    base_url: str
    access_token: str


async def baseline(
    sim: Simulator,
    session: aiohttp.ClientSession,
    payloads: Sequence[Mapping[str, Any]],
    concurrency: int,
) -> tuple[float, float]:
    url = f"{sim.base_url}/v21.0/{PHONE_NUMBER_ID}/messages"
    headers = {"Authorization": f"Bearer {sim.access_token}"}
    gate = asyncio.Semaphore(concurrency)

    async def one(body: Mapping[str, Any]) -> None:
        async with gate, session.post(url, json=body, headers=headers) as response:
            await response.read()
            assert response.status == 200

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(body) for body in payloads))
    return time.perf_counter() - start, time.process_time() - cpu


async def seed(url: str, n: int) -> list[dict[str, Any]]:
    """Queue ``n`` due deliveries in ``url`` and return the very request bodies the worker
    will send for them, so that the baseline sends the same requests."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
        due = await seed_due_deliveries(
            uow, n, date=DAY, now=SystemClock().now(), ids=UuidGenerator()
        )
        async with uow() as unit:
            packs = await unit.content.get_many({d.pack_id for d in due})
        return [
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": d.to.removeprefix("+"),
                "type": "text",
                "text": {
                    "preview_url": False,
                    "body": packs[d.pack_id].variants[d.language].render(),
                },
                "biz_opaque_callback_data": str(d.id),
            }
            for d in due
        ]
    finally:
        await engine.dispose()


async def worker_run(
    sender: WhatsAppSender, url: str, args: argparse.Namespace
) -> tuple[Timing, int]:
    engine = create_engine(url)
    try:
        uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
        clock, ids = SystemClock(), UuidGenerator()
        config = WorkerConfig(batch_size=args.batch_size, concurrency=args.concurrency)
        last_sent, last_cpu = 0.0, 0.0

        def progress(delivery: Delivery) -> None:
            nonlocal last_sent, last_cpu
            if delivery.status is DeliveryStatus.SENT:
                last_sent, last_cpu = time.perf_counter(), time.process_time()

        worker = DispatchWorker(
            uow_factory=uow,
            whatsapp=sender,
            clock=clock,
            ids=ids,
            config=config,
            on_progress=progress,
        )
        start, cpu = time.perf_counter(), time.process_time()
        stats = await worker.run(drain=dt.timedelta(0))
        took = Timing(last_sent - start, time.perf_counter() - start, last_cpu - cpu)
        return took, stats.sent
    finally:
        await engine.dispose()


async def in_memory_run(args: argparse.Namespace) -> Timing:
    """The worker's own share: the same run with an in-memory sender (no HTTP at all)."""
    name, url = await throwaway_postgres()
    try:
        await seed(url, args.messages)
        took, sent = await worker_run(FakeWhatsAppSender(), url, args)
        assert sent == args.messages
        return took
    finally:
        await drop_postgres(name)


async def morning_run(
    sim: Simulator,
    session: aiohttp.ClientSession,
    advisors: int,
    url: str,
    args: argparse.Namespace,
) -> tuple[float, float, int]:
    """A whole morning: ``advisors`` registered with approved packs (one in ten without, so
    fallbacks are chosen), then planned (re-check, fallbacks) and dispatched, timed."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
        ids = UuidGenerator()
        six = local_to_utc(MORNING, dt.time(6, 0))
        clock = SimulatedClock(six - dt.timedelta(minutes=30))
        people = [
            attrs.evolve(a, send_time=dt.time(6, 0))
            for a in demo_advisors(advisors, ids=ids, now=clock.now(), start=1_000_000)
        ]
        with_content = [a for i, a in enumerate(people) if not lacks_content(i)]
        packs = demo_packs(with_content, MORNING, ids=ids, now=clock.now())
        library = demo_library(ids=ids, now=clock.now())
        await CatalogService(uow, clock, ids).register(people, [*packs, *(p for p, _ in library)])
        await FallbackLibraryService(uow, clock, ids).add(
            (e for _, e in library), Actor.system("bench")
        )
        planner = MorningService(uow_factory=uow, clock=clock, ids=ids, rulebook=default_rulebook())
        sender = WhatsAppCloudSender(
            session,
            base_url=sim.base_url,
            phone_number_id=PHONE_NUMBER_ID,
            access_token=sim.access_token,
            throttle=None,
        )
        worker = DispatchWorker(
            uow_factory=uow,
            whatsapp=sender,
            clock=clock,
            ids=ids,
            config=WorkerConfig(batch_size=args.batch_size, concurrency=args.concurrency),
        )
        start = time.perf_counter()
        plan = await planner.plan_morning(MORNING)
        planned = time.perf_counter() - start
        clock.jump_to(six)
        stats = await worker.run(drain=dt.timedelta(0))
        assert plan.fallbacks > 0
        return planned, time.perf_counter() - start, stats.sent
    finally:
        await engine.dispose()


async def throwaway_postgres() -> tuple[str, str]:
    return await create_throwaway(admin_url=ADMIN_URL)


async def drop_postgres(name: str) -> None:
    await drop_throwaway(name, admin_url=ADMIN_URL)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--advisors", type=int, default=2_000, help="for the whole-morning run")
    parser.add_argument("--db", help="database URL (default: a throwaway PostgreSQL database)")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also run the worker with an in-memory sender: its own cost without HTTP",
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep CPython's default collector settings (the library's, for embedders) instead "
        "of the worker command's (entrypoints/gc_tuning.py)",
    )
    args = parser.parse_args()
    name = None
    url = args.db
    if url is None:
        name, url = await throwaway_postgres()
    # The whole-morning run plans every advisor in its database: it gets one of its own.
    morning_name, morning_url = await throwaway_postgres()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve_simulator, args=(child,), daemon=True)
    server.start()
    try:
        sim = Simulator(*parent.recv())
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            payloads = await seed(url, args.messages)
            # As ``projectone worker`` does once it is set up; the baseline runs with it too.
            if not args.default_gc:
                tune_for_service()
            await baseline(sim, session, payloads[:200], args.concurrency)  # warm up
            raw, raw_cpu = await baseline(sim, session, payloads, args.concurrency)
            sender = WhatsAppCloudSender(
                session,
                base_url=sim.base_url,
                phone_number_id=PHONE_NUMBER_ID,
                access_token=sim.access_token,
                throttle=None,  # the bench measures the engine, not Meta's pacing
            )
            took, sent = await worker_run(sender, url, args)
            planned, morning, morning_sent = await morning_run(
                sim, session, args.advisors, morning_url, args
            )
        parent.send("stop")
        accepted = parent.recv()
        alone = await in_memory_run(args) if args.breakdown else None
    finally:
        server.join(timeout=10)
        await drop_postgres(morning_name)
        if name is not None:
            await drop_postgres(name)
    assert accepted == 2 * args.messages + 200 + morning_sent, f"the simulator took {accepted}"
    assert sent == args.messages, f"only {sent} of {args.messages} sent"
    bare = args.messages / raw
    sending, total = sent / took.sending, sent / took.total
    print(f"messages: {args.messages}, concurrency {args.concurrency}, batch {args.batch_size}")
    per = 1e6 / args.messages
    print(
        f"baseline bare aiohttp loop: {raw:.2f} s = {bare:,.0f} msg/s "
        f"(CPU {raw_cpu * per:.0f} us/msg)"
    )
    print(
        f"worker, to the last send recorded: {took.sending:.2f} s = {sending:,.0f} msg/s "
        f"(CPU {took.cpu * per:.0f} us/msg)"
    )
    print(f"worker, bookkeeping included: {took.total:.2f} s = {total:,.0f} msg/s")
    ratio, overall = sending / bare, total / bare
    print(f"ratio worker/baseline: {ratio:.2f} sending, {overall:.2f} in all (goal >= 0.6)")
    print(
        f"a morning of {args.advisors} advisors: planned in {planned:.2f} s, planned and "
        f"dispatched ({morning_sent} sent) in {morning:.2f} s (goal < 5 s)"
    )
    if alone is not None:
        print(
            f"worker with an in-memory sender (no HTTP): {args.messages / alone.sending:,.0f} "
            f"msg/s (CPU {alone.cpu * per:.0f} us/msg)"
        )


if __name__ == "__main__":
    asyncio.run(main())
