"""Delivery workers as separate processes sharing one PostgreSQL queue.

Each test seeds a throwaway database with deliveries already due, starts the Cloud API and SMS
gateway simulators on loopback in this process, and runs ``projectone worker --drain`` in
subprocesses pointed at them through ``PROJECTONE_*`` variables, exactly as an operator would.
What the simulators received is then compared with what the database says.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Mapping

import attrs
import pytest
from aiohttp import web

from projectone.adapters.clock import UuidGenerator
from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.container import build_container
from projectone.domain import Delivery, DeliveryStatus
from projectone.domain.delivery import Channel
from projectone.entrypoints.http import create_app
from projectone.settings import Settings, WhatsAppSettings
from projectone.testing.keys import fixed_key_store
from projectone.testing.queue import seed_due_deliveries
from projectone.testing.sms_simulator import SmsGatewaySimulator
from projectone.testing.whatsapp_simulator import WhatsAppSimulator

# The tests' master key (conftest.py): databases written in-process open in the CLI.
MASTER_KEY = "PROJECTONE_PRIVACY_MASTER_KEY"

pytestmark = pytest.mark.postgres

DAY = dt.date(2026, 11, 23)
PHONE_NUMBER_ID = "100000000000001"
SENT_OR_LATER = {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ}


@attrs.define
class Queue:
    url: str
    deliveries: list[Delivery]

    async def stored(self) -> list[Delivery]:
        engine = create_engine(self.url)
        try:
            async with SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())() as uow:
                return list(await uow.deliveries.for_date(DAY))
        finally:
            await engine.dispose()


async def seed(url: str, n: int) -> Queue:
    """``n`` advisors with an approved pack each and a WhatsApp delivery due ten seconds ago."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        deliveries = await seed_due_deliveries(
            SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store()),
            n,
            date=DAY,
            now=dt.datetime.now(dt.UTC),
            ids=UuidGenerator(),
        )
    finally:
        await engine.dispose()
    return Queue(url, deliveries)


@attrs.define
class Providers:
    whatsapp: WhatsAppSimulator
    sms: SmsGatewaySimulator

    def env(self, url: str, **dispatch: object) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PROJECTONE_") or k == MASTER_KEY
        }
        env.update(
            PROJECTONE_DATABASE_URL=url,
            PROJECTONE_WHATSAPP_API_BASE_URL=self.whatsapp.base_url,
            PROJECTONE_WHATSAPP_ACCESS_TOKEN=self.whatsapp.access_token,
            PROJECTONE_WHATSAPP_PHONE_NUMBER_ID=PHONE_NUMBER_ID,
            PROJECTONE_WHATSAPP_RATE_PER_SECOND="1000",
            PROJECTONE_SMS_API_BASE_URL=self.sms.base_url,
            PROJECTONE_SMS_AUTH_KEY=self.sms.auth_key,
            PROJECTONE_DISPATCH_RETRY_BASE_DELAY_SECONDS="0.2",
            PROJECTONE_DISPATCH_RETRY_MAX_DELAY_SECONDS="1",
        )
        env.update({f"PROJECTONE_DISPATCH_{k.upper()}": str(v) for k, v in dispatch.items()})
        return env


SECRET = "webhook-secret-for-workers"


@pytest.fixture
async def providers(postgres_url: str) -> AsyncIterator[Providers]:
    """The simulators, the Cloud API one posting signed status webhooks to projectone's own
    HTTP service on the same (migrated) database, as Meta would."""
    engine = create_engine(postgres_url)
    await upgrade(engine)
    await engine.dispose()
    settings = Settings(database_url=postgres_url, whatsapp=WhatsAppSettings(app_secret=SECRET))
    runner = web.AppRunner(create_app(build_container(settings)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    whatsapp = WhatsAppSimulator(
        phone_number_id=PHONE_NUMBER_ID,
        latency=(0.0, 0.004),
        webhook_url=f"http://127.0.0.1:{runner.addresses[0][1]}/v1/webhooks/whatsapp",
        app_secret=SECRET,
        duplicate_fraction=0.05,
        reorder_fraction=0.05,
    )
    try:
        async with whatsapp, SmsGatewaySimulator() as sms:
            yield Providers(whatsapp, sms)
            await whatsapp.drain_webhooks()
            assert whatsapp.webhook_failures == 0
    finally:
        await runner.cleanup()


async def start_worker(env: Mapping[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "projectone",
        "worker",
        "--drain",
        "--json",
        *args,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process) -> dict[str, int]:
    async with asyncio.timeout(240):
        stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    doc: dict[str, int] = json.loads(stdout.decode().strip().splitlines()[-1])
    return doc


def by_channel(stored: list[Delivery], channel: Channel) -> dict[uuid.UUID, Delivery]:
    return {d.id: d for d in stored if d.channel is channel}


def backups_by_original(stored: list[Delivery]) -> dict[uuid.UUID, Delivery]:
    """The SMS backups, by the WhatsApp delivery each stands in for."""
    return {d.backup_of: d for d in stored if d.backup_of is not None}


async def test_two_worker_processes_share_5000_deliveries_with_no_duplicate_and_none_lost(
    postgres_url: str, providers: Providers
) -> None:
    queue = await seed(postgres_url, 5000)
    env = providers.env(postgres_url)
    first = await start_worker(env, "--batch-size", "100")
    second = await start_worker(env, "--batch-size", "100")
    a, b = await asyncio.gather(finish(first), finish(second))

    wanted = {str(d.id) for d in queue.deliveries}
    assert set(providers.whatsapp.sends_per_callback) == wanted
    assert providers.whatsapp.duplicate_callbacks == {}
    # Each send recorded once: by its worker, or by its status webhook when that came first.
    recorded = [w["sent"] + w["settled_by_receipt"] for w in (a, b)]
    assert sum(recorded) == 5000
    assert a["claimed"] > 0, "both workers took a share of the queue"
    assert b["claimed"] > 0, "both workers took a share of the queue"
    assert a["record_errors"] == b["record_errors"] == 0
    stored = await queue.stored()
    assert {d.status for d in stored} <= SENT_OR_LATER
    assert len(stored) == 5000
    assert all(d.lease_owner is None for d in stored)


async def test_a_worker_killed_mid_run_is_taken_over_and_everything_is_accounted_for(
    postgres_url: str, providers: Providers
) -> None:
    queue = await seed(postgres_url, 1500)
    providers.whatsapp.latency = (0.01, 0.03)
    # Short leases and waits so the takeover happens within seconds in a test.
    env = providers.env(postgres_url, lease_seconds=2, receipt_wait_seconds=2)
    doomed = await start_worker(env, "--concurrency", "8", "--batch-size", "50")
    # Half way through a batch of 50 (not on a boundary, 300): the dead worker then surely
    # holds claimed deliveries it never sent, which only a takeover can settle. Killed right
    # after a whole batch, everything it held may already be settled by webhooks.
    while providers.whatsapp.requests < 325:  # noqa: ASYNC110 - a counter in another task
        await asyncio.sleep(0.02)
    doomed.send_signal(signal.SIGKILL)
    await doomed.wait()
    killed_at = providers.whatsapp.requests
    assert killed_at < 1500, "the worker was killed mid-run"

    survivor = await finish(await start_worker(env))
    assert survivor["recovered"] > 0, "the survivor took over the dead worker's leases"

    await providers.whatsapp.drain_webhooks()
    stored = await queue.stored()
    whatsapp = by_channel(stored, Channel.WHATSAPP)
    backups = backups_by_original(stored)
    assert providers.whatsapp.duplicate_callbacks == {}, "at most once on WhatsApp"
    accepted = set(providers.whatsapp.sends_per_callback)
    for delivery in queue.deliveries:
        final = whatsapp[delivery.id]
        if str(delivery.id) in accepted:
            # WhatsApp took it, whether the dead worker heard back or only the webhook said so.
            assert final.status in SENT_OR_LATER, final
            assert final.provider_message_id is not None
            assert delivery.id not in backups
        else:
            # Claimed by the dead worker, never sent, outcome unknown: the SMS backup took it.
            assert final.error_code == "outcome_unknown", final
            assert backups[delivery.id].status is DeliveryStatus.SENT
    sms_ids = {body["CRQID"] for body in providers.sms.received}
    assert sms_ids == {str(b.id) for b in backups.values()}
    assert all(d.lease_owner is None for d in stored)


async def test_injected_rate_limits_slow_sending_but_lose_nothing(
    postgres_url: str, providers: Providers
) -> None:
    queue = await seed(postgres_url, 600)
    providers.whatsapp.rate_limit = 150  # per second, below what the sender asks
    # Backoffs long enough for the sender's throttle to learn the number's real pace (the
    # defaults are 5 s and 10 s; these keep the test short).
    env = providers.env(
        postgres_url,
        retry_base_delay_seconds=1,
        retry_max_delay_seconds=4,
        receipt_wait_seconds=5,
    )
    result = await finish(await start_worker(env))

    assert providers.whatsapp.requests > 600, "some sends were refused with 130429"
    assert result["retried"] > 0
    assert providers.whatsapp.duplicate_callbacks == {}
    stored = await queue.stored()
    whatsapp = by_channel(stored, Channel.WHATSAPP)
    backups = backups_by_original(stored)
    # Every message went out once: on WhatsApp, or by SMS after three refusals in a row.
    on_whatsapp = {k for k, d in whatsapp.items() if d.status in SENT_OR_LATER}
    assert {str(k) for k in on_whatsapp} == set(providers.whatsapp.sends_per_callback)
    assert on_whatsapp | set(backups) == set(whatsapp)
    assert not on_whatsapp & set(backups)
    assert all(b.status is DeliveryStatus.SENT for b in backups.values())
    # The throttle learnt the number's pace: nearly everything still went on WhatsApp.
    assert len(backups) <= len(whatsapp) // 20, f"{len(backups)} of 600 ended on SMS"
    assert result["record_errors"] == 0
    for key in backups:
        assert whatsapp[key].failure_class == "rate_limit"


async def test_invalid_numbers_end_on_sms_and_nothing_else_does(
    postgres_url: str, providers: Providers
) -> None:
    queue = await seed(postgres_url, 200)
    invalid = {d.id: d.to for d in queue.deliveries[::40]}
    providers.whatsapp.failures = {to.lstrip("+"): 131026 for to in invalid.values()}
    result = await finish(await start_worker(providers.env(postgres_url)))

    assert result["sms_backup"] == len(invalid)
    stored = await queue.stored()
    whatsapp = by_channel(stored, Channel.WHATSAPP)
    backups = backups_by_original(stored)
    assert set(backups) == set(invalid)
    for delivery_id in invalid:
        assert whatsapp[delivery_id].status is DeliveryStatus.FAILED
        assert whatsapp[delivery_id].failure_class == "invalid_number"
        assert backups[delivery_id].status is DeliveryStatus.SENT
    assert len(providers.sms.received) == len(invalid)
    others = [d for key, d in whatsapp.items() if key not in invalid]
    assert {d.status for d in others} <= SENT_OR_LATER


@pytest.mark.parametrize("policy", ["at_most_once", "at_least_once"])
async def test_lost_answers_are_settled_by_receipts_or_resent_by_policy(
    postgres_url: str, providers: Providers, policy: str
) -> None:
    queue = await seed(postgres_url, 300)
    # For one send in ten WhatsApp takes the message but the answer never comes in time.
    providers.whatsapp.lost_answer_fraction = 0.1
    providers.whatsapp.lost_answer_delay = 3.0
    # ...and its status webhook comes after the sender has given up waiting (0.5 s).
    providers.whatsapp.webhook_delay = (1.0, 1.5)
    env = providers.env(postgres_url, send_policy=policy, receipt_wait_seconds=5)
    env["PROJECTONE_WHATSAPP_TIMEOUT_SECONDS"] = "0.5"
    result = await finish(await start_worker(env))
    await providers.whatsapp.drain_webhooks()

    stored = {d.id: d for d in await queue.stored()}
    duplicates = providers.whatsapp.duplicate_callbacks
    assert providers.whatsapp.lost_answers > 0
    assert all(stored[d.id].status in SENT_OR_LATER for d in queue.deliveries)
    assert backups_by_original(list(stored.values())) == {}, "nothing needed the SMS backup"
    if policy == "at_most_once":
        assert duplicates == {}, "the webhook settled every lost answer: nothing sent twice"
        assert result["awaiting_receipt"] > 0
    else:
        assert result["resent"] > 0
        assert duplicates, "at-least-once resent messages WhatsApp had in fact taken"
        # Every second send was reported by its webhook and recorded as a duplicate.
        for key, count in duplicates.items():
            assert len(stored[uuid.UUID(key)].duplicate_message_ids) == count - 1
