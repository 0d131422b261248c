"""The HTTP service over loopback: health, the WhatsApp webhook handshake and signed receipts.

The application is served by aiohttp on 127.0.0.1 and called with a real aiohttp client; the
webhook bodies are built and signed the way Meta sends them.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import attrs
import pytest
from aiohttp import web

from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.container import build_container, resolve, shutdown
from projectone.domain import Delivery, DeliveryStatus, Language
from projectone.entrypoints.http import create_app
from projectone.settings import Settings, WhatsAppSettings
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.whatsapp_simulator import build_status_webhook, sign_body

# The tests' master key (conftest.py): databases written in-process open in the CLI.
MASTER_KEY = "PROJECTONE_PRIVACY_MASTER_KEY"

SECRET = "webhook-secret"
TOKEN = "verify-me"
DAY = dt.date(2026, 11, 23)
T0 = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.UTC)


@attrs.define
class Service:
    url: str
    session: aiohttp.ClientSession
    delivery: Delivery
    settings: Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def service(request: pytest.FixtureRequest) -> AsyncIterator[Service]:
    url = request.getfixturevalue(f"{request.param}_url")
    settings = Settings(
        database_url=url, whatsapp=WhatsAppSettings(app_secret=SECRET, verify_token=TOKEN)
    )
    if request.param == "postgres":
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
    container = build_container(settings)
    catalog = await resolve(container.catalog)
    ids = container.ids()
    (advisor,) = demo_advisors(1, ids=ids, now=T0)
    (pack,) = demo_packs([advisor], DAY, ids=ids, now=T0)
    delivery = (
        Delivery.plan(
            id=ids.new_id(),
            advisor_id=advisor.id,
            pack_id=pack.id,
            date=DAY,
            send_time=dt.time(6, 0),
            language=Language.EN,
            to=advisor.whatsapp_number,
            content_hash=pack.content_hash,
            now=T0,
        )
        .start_sending(T0)
        .mark_sent("wamid.HBgMOTE5", T0)
    )
    await catalog.register([advisor], [pack])
    uow_factory = await resolve(container.uow_factory)
    async with uow_factory() as uow:
        await uow.deliveries.add(delivery)
        await uow.commit()
    runner = web.AppRunner(create_app(container))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            yield Service(f"http://127.0.0.1:{port}", session, delivery, settings)
    finally:
        await runner.cleanup()


async def stored(service: Service) -> Delivery:
    container = build_container(service.settings)
    try:
        uow_factory = await resolve(container.uow_factory)
        async with uow_factory() as uow:
            return await uow.deliveries.get(service.delivery.id)
    finally:
        await shutdown(container)


def receipt_body(status: str, seconds: int) -> bytes:
    return build_status_webhook(
        [
            {
                "message_id": "wamid.HBgMOTE5",
                "recipient_id": "919800000001",
                "status": status,
                "timestamp": T0 + dt.timedelta(seconds=seconds),
            }
        ]
    )


async def test_health_answers_with_security_headers_and_a_request_id(service: Service) -> None:
    async with service.session.get(f"{service.url}/health") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert len(response.headers["X-Request-ID"]) == 32
    async with service.session.get(
        f"{service.url}/ready", headers={"X-Request-ID": "trace-42"}
    ) as response:
        assert response.status == 200
        assert response.headers["X-Request-ID"] == "trace-42"


async def test_the_verification_handshake_echoes_the_challenge_only_for_our_token(
    service: Service,
) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    async with service.session.get(f"{service.url}/v1/webhooks/whatsapp", params=params) as r:
        assert (r.status, await r.text()) == (200, "1158201444")
    params["hub.verify_token"] = "guess"
    async with service.session.get(f"{service.url}/v1/webhooks/whatsapp", params=params) as r:
        assert r.status == 403
        assert (await r.json())["error"]["code"] == "permission_denied"


async def test_a_signed_receipt_advances_the_delivery(service: Service) -> None:
    body = receipt_body("delivered", 40)
    async with service.session.post(
        f"{service.url}/v1/webhooks/whatsapp",
        data=body,
        headers={"X-Hub-Signature-256": sign_body(SECRET, body)},
    ) as response:
        assert response.status == 200
        assert (await response.json())["applied"] == 1
    assert (await stored(service)).status is DeliveryStatus.DELIVERED


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64])
async def test_a_receipt_with_a_bad_signature_gets_401_and_writes_nothing(
    service: Service, signature: str | None
) -> None:
    body = receipt_body("read", 50)
    headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    async with service.session.post(
        f"{service.url}/v1/webhooks/whatsapp", data=body, headers=headers
    ) as response:
        assert response.status == 401
        document = await response.json()
    assert document["error"]["code"] == "unauthenticated"
    assert document["request_id"]
    assert (await stored(service)).status is DeliveryStatus.SENT


async def test_malformed_json_and_unknown_routes_are_json_errors(service: Service) -> None:
    body = b"{oops"
    async with service.session.post(
        f"{service.url}/v1/webhooks/whatsapp",
        data=body,
        headers={"X-Hub-Signature-256": sign_body(SECRET, body)},
    ) as response:
        assert response.status == 422
        assert (await response.json())["error"]["code"] == "webhook_payload_invalid"
    async with service.session.get(f"{service.url}/nowhere") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    big = b"x" * (2 << 20)
    async with service.session.post(f"{service.url}/v1/webhooks/whatsapp", data=big) as response:
        assert response.status == 413


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_until_interrupted(sqlite_url: str) -> None:
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PROJECTONE_") or k == MASTER_KEY
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "projectone", "serve", "--port", str(port), "--db", sqlite_url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            assert answer.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
