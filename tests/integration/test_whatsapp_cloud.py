"""The WhatsApp Cloud sender against the WhatsApp simulator, over real loopback HTTP.

Nothing is patched: the adapter talks to an aiohttp server that speaks Meta's wire format, so
these tests prove the bytes on the wire and the translation of real HTTP failures.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from projectone.adapters.whatsapp_cloud import WhatsAppCloudSender
from projectone.domain.errors import ProviderError, UnavailableError, ValidationError
from projectone.ports.messaging import OutboundText, SendReceipt, WhatsAppSender
from projectone.testing.whatsapp_simulator import WhatsAppSimulator

__all__: list[str] = []

TOKEN = "test-token"
PHONE_NUMBER_ID = "106540352242922"
RECIPIENT = "+919876543210"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def simulator() -> AsyncIterator[WhatsAppSimulator]:
    async with WhatsAppSimulator(access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID) as sim:
        yield sim


def make_sender(
    session: aiohttp.ClientSession,
    base_url: str,
    *,
    access_token: str = TOKEN,
    phone_number_id: str = PHONE_NUMBER_ID,
    timeout: float = 5.0,
) -> WhatsAppCloudSender:
    return WhatsAppCloudSender(
        session,
        base_url=base_url,
        phone_number_id=phone_number_id,
        access_token=access_token,
        timeout=timeout,
    )


@pytest.fixture
def sender(session: aiohttp.ClientSession, simulator: WhatsAppSimulator) -> WhatsAppCloudSender:
    return make_sender(session, simulator.base_url)


def closed_port() -> int:
    """A loopback port nobody listens on: bind an ephemeral port, then release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def provider_error_of(send: Awaitable[SendReceipt]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await send
    return caught.value


# -- success -------------------------------------------------------------------------------


async def test_the_cloud_sender_satisfies_the_whatsapp_sender_port(
    sender: WhatsAppCloudSender,
) -> None:
    port: WhatsAppSender = sender  # mypy checks the structural match
    assert port is sender


async def test_an_accepted_message_returns_a_wamid_and_the_recipient_wa_id(
    sender: WhatsAppCloudSender,
) -> None:
    receipt = await sender.send_text(OutboundText(to=RECIPIENT, body="Good morning"))

    assert receipt.message_id.startswith("wamid.")
    assert len(receipt.message_id) > len("wamid.") + 10
    assert receipt.recipient_id == "919876543210"


async def test_the_simulator_sees_the_exact_wire_body_with_digits_only_and_callback_data(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    message = OutboundText(
        to=RECIPIENT,
        body="SIP explainer: मासिक निवेश",
        callback_data="delivery-42",
        preview_url=True,
    )

    await sender.send_text(message)

    assert simulator.sent == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "919876543210",
            "type": "text",
            "text": {"preview_url": True, "body": "SIP explainer: मासिक निवेश"},
            "biz_opaque_callback_data": "delivery-42",
        }
    ]


async def test_a_message_without_callback_data_omits_biz_opaque_callback_data(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    await sender.send_text(OutboundText(to="919876543210", body="Hello"))

    assert "biz_opaque_callback_data" not in simulator.sent[0]
    assert simulator.sent[0]["text"] == {"preview_url": False, "body": "Hello"}


async def test_a_body_of_exactly_4096_characters_is_accepted(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    await sender.send_text(OutboundText(to=RECIPIENT, body="x" * 4096))

    assert len(simulator.sent) == 1


async def test_many_concurrent_sends_each_get_a_distinct_wamid(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    messages = [OutboundText(to=f"+91987654{n:04d}", body=f"note {n}") for n in range(100)]

    receipts = await asyncio.gather(*(sender.send_text(m) for m in messages))

    wamids = {receipt.message_id for receipt in receipts}
    assert len(wamids) == len(messages)
    assert len(simulator.sent) == len(messages)
    assert {r.recipient_id for r in receipts} == {m.to.removeprefix("+") for m in messages}


# -- refusals by Meta ----------------------------------------------------------------------


async def test_a_wrong_access_token_is_refused_with_code_190_and_http_401(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    sender = make_sender(session, simulator.base_url, access_token="stale-token")

    error = await provider_error_of(sender.send_text(OutboundText(to=RECIPIENT, body="Hi")))

    assert error.provider == "whatsapp"
    assert error.provider_code == 190
    assert error.http_status == 401
    assert error.trace_id
    assert simulator.sent == []


async def test_an_unknown_phone_number_id_is_refused_with_code_100(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    sender = make_sender(session, simulator.base_url, phone_number_id="999")

    error = await provider_error_of(sender.send_text(OutboundText(to=RECIPIENT, body="Hi")))

    assert error.provider_code == 100
    assert error.http_status == 400
    assert "Unsupported post request" in error.message


@pytest.mark.parametrize(
    ("code", "http_status", "details_fragment"),
    [
        (131026, 400, "not on WhatsApp"),
        (130429, 429, "throughput"),
        (131047, 400, "24 hours"),
        (132000, 400, "number of variable parameter"),
    ],
)
async def test_an_injected_failure_surfaces_with_metas_code_and_details(
    session: aiohttp.ClientSession, code: int, http_status: int, details_fragment: str
) -> None:
    failing, healthy = "919800000001", "919800000002"
    async with WhatsAppSimulator(access_token=TOKEN, failures={failing: code}) as sim:
        sender = make_sender(session, sim.base_url)

        error = await provider_error_of(sender.send_text(OutboundText(to=f"+{failing}", body="x")))
        receipt = await sender.send_text(OutboundText(to=f"+{healthy}", body="x"))

    assert error.provider_code == code
    assert error.http_status == http_status
    assert error.message.startswith(f"(#{code}) ")
    assert error.details is not None
    assert details_fragment in error.details
    assert receipt.recipient_id == healthy
    assert [body["to"] for body in sim.sent] == [healthy]


async def test_a_failure_rate_of_one_fails_every_send_with_the_configured_code(
    session: aiohttp.ClientSession,
) -> None:
    async with WhatsAppSimulator(access_token=TOKEN, failure_rate=1.0, seed=7) as sim:
        sender = make_sender(session, sim.base_url)

        error = await provider_error_of(sender.send_text(OutboundText(to=RECIPIENT, body="x")))

    assert error.provider_code == 131000
    assert error.http_status == 500
    assert sim.requests == 1


async def test_the_same_seed_fails_the_same_requests(session: aiohttp.ClientSession) -> None:
    async def failed_indices(seed: int) -> list[int]:
        async with WhatsAppSimulator(access_token=TOKEN, failure_rate=0.5, seed=seed) as sim:
            sender = make_sender(session, sim.base_url)
            failed = []
            for n in range(20):
                try:
                    await sender.send_text(OutboundText(to=RECIPIENT, body=f"n{n}"))
                except ProviderError:
                    failed.append(n)
            return failed

    first = await failed_indices(3)

    assert first == await failed_indices(3)
    assert 0 < len(first) < 20


# -- the network fails ---------------------------------------------------------------------


async def test_an_unreachable_server_raises_unavailable_error_naming_the_host(
    session: aiohttp.ClientSession,
) -> None:
    port = closed_port()
    sender = make_sender(session, f"http://127.0.0.1:{port}")

    with pytest.raises(UnavailableError) as caught:
        await sender.send_text(OutboundText(to=RECIPIENT, body="Hi"))

    assert caught.value.target == f"WhatsApp Cloud API at 127.0.0.1:{port}"
    assert TOKEN not in str(caught.value)


async def test_an_answer_slower_than_the_timeout_raises_unavailable_error(
    session: aiohttp.ClientSession,
) -> None:
    async with WhatsAppSimulator(access_token=TOKEN, latency=(2.0, 2.0)) as sim:
        sender = make_sender(session, sim.base_url, timeout=0.1)

        with pytest.raises(UnavailableError) as caught:
            await sender.send_text(OutboundText(to=RECIPIENT, body="Hi"))

    assert "outcome is unknown" in caught.value.reason
    assert sim.requests == 1


async def test_an_answer_that_is_not_json_is_a_provider_error_without_a_code(
    session: aiohttp.ClientSession,
) -> None:
    # A proxy in front of Meta answering with HTML: a tiny real server, not a patched client.
    async def bad_gateway(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/{tail:.*}", bad_gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        sender = make_sender(session, f"http://{host}:{port}")

        error = await provider_error_of(sender.send_text(OutboundText(to=RECIPIENT, body="x")))
    finally:
        await runner.cleanup()

    assert error.provider_code is None
    assert error.http_status == 502
    assert error.details is not None
    assert "Bad Gateway" in error.details


# -- refused before sending ----------------------------------------------------------------


async def test_a_body_over_4096_characters_is_a_validation_error_and_nothing_is_sent(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    with pytest.raises(ValidationError) as caught:
        await sender.send_text(OutboundText(to=RECIPIENT, body="x" * 4097))

    assert caught.value.field == "body"
    assert simulator.requests == 0


@pytest.mark.parametrize("to", ["", "+", "98765 43210", "+91-98765-43210", "abc"])
async def test_a_recipient_that_is_not_an_e164_number_is_a_validation_error(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator, to: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await sender.send_text(OutboundText(to=to, body="Hi"))

    assert caught.value.field == "to"
    assert simulator.requests == 0


async def test_callback_data_over_512_characters_is_a_validation_error(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    with pytest.raises(ValidationError) as caught:
        await sender.send_text(OutboundText(to=RECIPIENT, body="Hi", callback_data="d" * 513))

    assert caught.value.field == "callback_data"
    assert simulator.requests == 0


# -- the simulator's wire behaviour, for clients other than ours ----------------------------


async def post_raw(
    session: aiohttp.ClientSession,
    simulator: WhatsAppSimulator,
    body: bytes,
    *,
    token: str | None = TOKEN,
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{simulator.base_url}/v21.0/{PHONE_NUMBER_ID}/messages"
    async with session.post(url, data=body, headers=headers) as response:
        document: dict[str, Any] = await response.json()
        return response.status, document


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", 100),
        (b'{"to": "919876543210", "type": "text", "text": {"body": "x"}}', 100),
        (b'{"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}', 131008),
        (b'{"messaging_product": "whatsapp", "to": "919876543210", "type": "text"}', 131008),
        (
            b'{"messaging_product": "whatsapp", "to": "91 98765", "type": "text",'
            b' "text": {"body": "x"}}',
            131026,
        ),
    ],
)
async def test_the_simulator_refuses_a_malformed_send_with_metas_code(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator, body: bytes, code: int
) -> None:
    status, document = await post_raw(session, simulator, body)

    assert status == 400
    assert document["error"]["code"] == code
    assert document["error"]["message"].startswith(f"(#{code}) ")
    assert document["error"]["error_data"]["messaging_product"] == "whatsapp"
    assert simulator.sent == []


async def test_the_simulator_refuses_a_missing_token_with_code_190(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    status, document = await post_raw(session, simulator, b"{}", token=None)

    assert status == 401
    assert document["error"]["code"] == 190
    assert document["error"]["type"] == "OAuthException"


async def test_the_simulator_answers_a_send_exactly_like_meta(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    body = (
        b'{"messaging_product": "whatsapp", "to": "+919876543210", "type": "text",'
        b' "text": {"body": "hello"}}'
    )

    status, document = await post_raw(session, simulator, body)

    assert status == 200
    wamid = document["messages"][0]["id"]
    assert document == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+919876543210", "wa_id": "919876543210"}],
        "messages": [{"id": wamid}],
    }
    assert wamid.startswith("wamid.")


async def test_the_simulator_base_url_is_unavailable_before_start() -> None:
    sim = WhatsAppSimulator()

    with pytest.raises(RuntimeError):
        _ = sim.base_url

    await sim.start()
    try:
        assert sim.base_url.startswith("http://127.0.0.1:")
    finally:
        await sim.stop()
