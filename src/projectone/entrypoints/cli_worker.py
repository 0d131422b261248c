"""``projectone worker`` and ``projectone dispatch``: the delivery worker from the command line.

``worker`` runs until SIGTERM or SIGINT (then it claims nothing more, finishes what it holds
and exits 0), or with ``--drain`` until nothing is left to send within the SLA window.
``dispatch`` is the one-shot form: send what is due now, then exit.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import inspect
import signal
from typing import Any

from rich.console import Console

from projectone.container import Container, make_worker_config
from projectone.domain.delivery import SLA_WINDOW
from projectone.entrypoints._common import count, db_option, emit, settings_of, with_container
from projectone.entrypoints.gc_tuning import tune_for_service
from projectone.entrypoints.log_masking import configure_masked_logging
from projectone.services.dispatch import DispatchWorker, WorkerStats

__all__ = ["add_commands", "build_worker", "run_dispatch", "run_worker", "stats_doc"]


def _lease(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
    if not 0 < seconds <= 30:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 30, got {seconds}")
    return seconds


def add_commands(commands: Any) -> None:
    worker = commands.add_parser(
        "worker", help="send due deliveries until stopped (any number may run at once)"
    )
    worker.add_argument("--concurrency", type=count, metavar="N", help="sends in flight")
    worker.add_argument("--batch-size", type=count, metavar="N", help="deliveries per claim")
    worker.add_argument("--lease", type=_lease, metavar="SECONDS", help="claim lease, <= 30")
    worker.add_argument(
        "--send-policy",
        choices=("at_most_once", "at_least_once"),
        help="what to do about a send whose outcome is unknown",
    )
    worker.add_argument(
        "--drain",
        action="store_true",
        help="exit once nothing is left to send within the SLA window",
    )
    worker.add_argument("--json", action="store_true", help="print the final counts as JSON")
    db_option(worker)

    dispatch = commands.add_parser("dispatch", help="send every delivery that is due now")
    dispatch.add_argument("--json", action="store_true")
    db_option(dispatch)


def stats_doc(stats: WorkerStats) -> dict[str, int]:
    return {
        "claimed": stats.claimed,
        "sent": stats.sent,
        "retried": stats.retried,
        "failed": stats.failed,
        "sms_backup": stats.sms_handoffs,
        "sms_sent": stats.sms_sent,
        "awaiting_receipt": stats.awaiting_receipt,
        "resent": stats.resent,
        "recovered": stats.recovered,
        "lost_leases": stats.lost_leases,
        "settled_by_receipt": stats.settled_by_receipt,
        "record_errors": stats.record_errors,
    }


def _summary(stats: WorkerStats) -> str:
    return (
        f"sent {stats.sent} on WhatsApp and {stats.sms_sent} by SMS; "
        f"{stats.retried} retried, {stats.sms_handoffs} handed to SMS, {stats.failed} failed"
    )


async def build_worker(container: Container, **overrides: Any) -> DispatchWorker:
    """The container's worker, its settings overridden by ``overrides`` (WorkerConfig fields)."""
    config = make_worker_config(container.settings().dispatch, **overrides)
    worker: Any = container.worker(config=config)
    if inspect.isawaitable(worker):  # the sender's async resources were not started yet
        worker = await worker
    assert isinstance(worker, DispatchWorker)
    return worker


async def _worker(container: Container, args: argparse.Namespace) -> DispatchWorker:
    overrides: dict[str, Any] = {}
    if getattr(args, "concurrency", None):
        overrides["concurrency"] = args.concurrency
    if getattr(args, "batch_size", None):
        overrides["batch_size"] = args.batch_size
    if getattr(args, "lease", None):
        overrides["lease"] = dt.timedelta(seconds=args.lease)
    if getattr(args, "send_policy", None):
        overrides["send_policy"] = args.send_policy
    return await build_worker(container, **overrides)


async def run_worker(args: argparse.Namespace, out: Console, err: Console) -> int:
    # The worker logs what goes wrong with sends (numbers, provider errors): masked.
    configure_masked_logging()

    async def work(container: Container) -> int:
        worker = await _worker(container, args)
        tune_for_service()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        err.print(f"worker {worker.config.owner} started")
        try:
            stats = await worker.run(stop=stop, drain=SLA_WINDOW if args.drain else None)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        emit(out, args.json, stats_doc(stats), _summary(stats))
        return 0

    return await with_container(settings_of(args), work)


async def run_dispatch(args: argparse.Namespace, out: Console) -> int:
    configure_masked_logging()

    async def work(container: Container) -> int:
        worker = await _worker(container, args)
        stats = await worker.run(drain=dt.timedelta(0))
        emit(out, args.json, stats_doc(stats), _summary(stats))
        return 0

    return await with_container(settings_of(args), work)
