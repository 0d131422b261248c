"""``projectone demo``: a full simulated morning on loopback, with the faults of a real one.

Everything runs in this process on 127.0.0.1: a SQLite database (or ``--db``), the WhatsApp
Cloud API simulator, the SMS gateway simulator, projectone's own HTTP service receiving the
simulator's signed status webhooks, and one delivery worker. The morning has what a real one
has: about one number in a hundred not on WhatsApp (131026, so the SMS backup carries it),
a sending number whose real throughput (60/s) is below the configured pace (80/s), so Meta
answers 130429 and the sender slows down, occasional transient errors (131000, retried),
advisors without their own content (a fallback pack goes out), and receipts that arrive
duplicated and out of order.

Time is simulated: seeding and planning happen at 05:30 IST, then the clock jumps to each send
slot; time spent working is real, so SLA figures measure the real speed of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web
from dependency_injector import providers
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from projectone.adapters.clock import SimulatedClock
from projectone.adapters.local_keys import generate_master_key
from projectone.adapters.sqlalchemy import safe_url
from projectone.container import Container, build_container, resolve, shutdown
from projectone.domain.delivery import Channel, Delivery, DeliveryStatus
from projectone.domain.retry import RetryPolicy
from projectone.domain.sla import SlaSummary
from projectone.domain.timezone import local_to_utc
from projectone.entrypoints._common import settings_of, today
from projectone.entrypoints.cli_worker import build_worker
from projectone.entrypoints.http import create_app
from projectone.entrypoints.log_masking import configure_masked_logging
from projectone.settings import WhatsAppSettings
from projectone.testing.whatsapp_simulator import WhatsAppSimulator, lognormal_latency

__all__ = ["run_demo"]

SeedDemo = Callable[[Container, int, dt.date], Awaitable[Any]]
SummaryTable = Callable[[dt.date, SlaSummary], Table]

# A demo's retries wait seconds, not the production policy's 5 s, 10 s…: the run stays short.
_DEMO_RETRY = RetryPolicy(
    base_delay=dt.timedelta(seconds=0.5), max_delay=dt.timedelta(seconds=2), jitter=0.5
)
_SETTLED = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.EXPIRED, DeliveryStatus.DELIVERED}
)


def _simulator(
    phones: Sequence[str], webhook_url: str, app_secret: str, clock: SimulatedClock
) -> WhatsAppSimulator:
    # One number in a hundred is "not on WhatsApp", as in any real list of contacts.
    failures = {p.lstrip("+"): 131026 for i, p in enumerate(phones) if i % 100 == 37}
    return WhatsAppSimulator(
        latency=lognormal_latency(0.02, 0.12),
        failures=failures,
        error_mix={131000: 0.01},
        rate_limit=60,
        webhook_url=webhook_url,
        app_secret=app_secret,
        read_fraction=0.6,
        duplicate_fraction=0.03,
        reorder_fraction=0.05,
        seed=7,
        # Receipts are stamped on the demo's simulated time, as Meta's are on real time.
        wall_clock=lambda: clock.now().timestamp(),
    )


async def run_demo(
    args: argparse.Namespace,
    out: Console,
    err: Console,
    *,
    seed: SeedDemo,
    table: SummaryTable,
) -> int:
    configure_masked_logging()
    date: dt.date = args.date or today()
    with tempfile.TemporaryDirectory(prefix="projectone-demo-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'demo.db'}"
        base = settings_of(args)
        secret = secrets.token_hex(16)
        settings = attrs.evolve(
            base,
            database_url=url,
            whatsapp=attrs.evolve(base.whatsapp, app_secret=secret),
        )
        if not args.db:
            # A throwaway database gets a throwaway master key: the demo never touches (or
            # creates) the key file real data is sealed with.
            settings = attrs.evolve(
                settings,
                privacy=attrs.evolve(settings.privacy, master_key=generate_master_key()),
            )
        clock = SimulatedClock(local_to_utc(date, dt.time(5, 30)))
        container = build_container(settings)
        container.clock.override(providers.Object(clock))
        try:
            return await _run(container, args, date, out, err, clock, seed, table)
        finally:
            await shutdown(container)


async def _run(
    container: Container,
    args: argparse.Namespace,
    date: dt.date,
    out: Console,
    err: Console,
    clock: SimulatedClock,
    seed: SeedDemo,
    table: SummaryTable,
) -> int:
    settings = container.settings()
    seeded = await seed(container, args.advisors, date)
    advisors = seeded.advisor_list
    err.print(
        f"seeded {seeded.advisors} advisors at {safe_url(settings.resolved_database_url)}; "
        f"their packs went through review: {seeded.auto_approved} auto-approved, "
        f"{seeded.approved - seeded.auto_approved} approved by a reviewer, "
        f"{seeded.blocked} blocked"
    )
    # projectone's own HTTP service receives the simulator's signed status webhooks.
    runner = web.AppRunner(create_app(container))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    webhook_url = f"http://127.0.0.1:{port}/v1/webhooks/whatsapp"
    assert settings.whatsapp.app_secret is not None
    phones = [a.whatsapp_number for a in advisors]
    try:
        async with _simulator(
            phones, webhook_url, settings.whatsapp.app_secret, clock
        ) as simulator:
            container.whatsapp_endpoint.override(
                providers.Object(
                    WhatsAppSettings(
                        api_base_url=simulator.base_url,
                        access_token=simulator.access_token,
                        phone_number_id=settings.whatsapp.phone_number_id,
                        rate_per_second=settings.whatsapp.rate_per_second,
                        app_secret=settings.whatsapp.app_secret,
                    )
                )
            )
            morning = await resolve(container.morning)
            plan = await morning.plan_morning(date)
            err.print(
                f"planned {plan.total} deliveries for {date}: {plan.fallbacks} from the "
                f"fallback library, {len(plan.without_content)} advisors without any content"
            )
            await _dispatch(container, plan.total, err, clock, date, advisors)
            # Let the last receipts (delivered, read) reach the webhook before reporting.
            await simulator.drain_webhooks()
            summary = await morning.sla_summary(date)
    finally:
        await runner.cleanup()
    out.print(table(date, summary))
    if args.json:
        doc = {
            "date": date.isoformat(),
            "advisors": len(advisors),
            **summary.as_dict(),
            "fallback": summary.fallbacks_used,
            "sms_backup": summary.sms_backups,
            "duplicates": summary.duplicates,
            "delivered": summary.delivered,
        }
        out.print(json.dumps(doc, sort_keys=True), soft_wrap=True, highlight=False)
    return 0


async def _dispatch(
    container: Container,
    total: int,
    err: Console,
    clock: SimulatedClock,
    date: dt.date,
    advisors: Sequence[Any],
) -> None:
    worker = await build_worker(container, retry=_DEMO_RETRY, receipt_wait=dt.timedelta(seconds=3))
    slots = sorted({local_to_utc(date, a.send_time) for a in advisors if a.receives_whatsapp})
    with Progress(
        TextColumn("[bold]dispatching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task("dispatch", total=total)

        def advance(delivery: Delivery) -> None:
            # One tick per WhatsApp delivery settled (sent, or handed over / given up).
            if delivery.channel is Channel.WHATSAPP and delivery.status in _SETTLED:
                progress.advance(task)

        worker.on_progress = advance
        for slot in slots:
            clock.jump_to(slot)
            # Drain the slot: first attempts, retries and SMS backups, all within a minute.
            await worker.run(drain=dt.timedelta(seconds=60), idle_sleep=0.05)
