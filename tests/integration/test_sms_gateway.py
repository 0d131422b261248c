"""The SMS gateway sender against the SMS gateway simulator, over real loopback HTTP.

Nothing is patched: the adapter talks to an aiohttp server that speaks the MSG91-style wire
format and scrubs DLT fields like a gateway, so these tests prove the bytes on the wire, the
translation of real HTTP failures, and the delivery-report round trip.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from projectone.adapters.sms_gateway import SmsGatewaySender, parse_delivery_report
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.errors import ProviderError, UnavailableError, ValidationError
from projectone.ports.sms import (
    DltTemplate,
    OutboundSms,
    SmsEncoding,
    SmsReceipt,
    SmsReport,
    SmsSender,
)
from projectone.testing._loopback import closed_port, serve
from projectone.testing.sms_simulator import (
    DEMO_ENGLISH_TEMPLATE_ID,
    DEMO_HINDI_TEMPLATE_ID,
    DEMO_PRINCIPAL_ENTITY_ID,
    DEMO_SENDER_HEADER,
    DEMO_TEMPLATES,
    SmsGatewaySimulator,
)

__all__: list[str] = []

AUTH_KEY = "test-authkey"
RECIPIENT = "+919876543210"
DELIVERY_ID = "0b7e1c2a-5d7c-4c1e-9a44-1f0e6a3b2c10"
PROMO_TEMPLATE_ID = "1107170000000000009"
PROMO_TEXT = "Festive SIP tips from {#var#}. Mutual funds are subject to market risks. -567890"

ENGLISH = DltTemplate(
    template_id=DEMO_ENGLISH_TEMPLATE_ID,
    text=DEMO_TEMPLATES[DEMO_ENGLISH_TEMPLATE_ID][0],
    category="service_implicit",
)
HINDI = DltTemplate(
    template_id=DEMO_HINDI_TEMPLATE_ID,
    text=DEMO_TEMPLATES[DEMO_HINDI_TEMPLATE_ID][0],
    category="service_implicit",
)


def english_sms(to: str = RECIPIENT, **overrides: Any) -> OutboundSms:
    fields: dict[str, Any] = {
        "to": to,
        "body": ENGLISH.render("Asha Rao", "SIP basics"),
        "dlt_template_id": DEMO_ENGLISH_TEMPLATE_ID,
        "sender_header": DEMO_SENDER_HEADER,
        "principal_entity_id": DEMO_PRINCIPAL_ENTITY_ID,
        "category": "service_implicit",
        "callback_data": DELIVERY_ID,
    }
    fields.update(overrides)
    return OutboundSms(**fields)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def simulator() -> AsyncIterator[SmsGatewaySimulator]:
    async with SmsGatewaySimulator(auth_key=AUTH_KEY) as sim:
        yield sim


def make_sender(
    session: aiohttp.ClientSession,
    base_url: str,
    *,
    auth_key: str = AUTH_KEY,
    timeout: float = 5.0,
    templates: tuple[DltTemplate, ...] = (),
) -> SmsGatewaySender:
    return SmsGatewaySender(
        session, base_url=base_url, auth_key=auth_key, timeout=timeout, templates=templates
    )


@pytest.fixture
def sender(session: aiohttp.ClientSession, simulator: SmsGatewaySimulator) -> SmsGatewaySender:
    return make_sender(session, simulator.base_url)


async def provider_error_of(send: Awaitable[SmsReceipt]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await send
    return caught.value


async def provider_error_from(
    session: aiohttp.ClientSession,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> ProviderError:
    """Send one SMS to a tiny real server answering with ``handler``; return the refusal."""
    async with serve(handler) as server:
        return await provider_error_of(
            make_sender(session, server.base_url).send_sms(english_sms())
        )


# -- accepted sends ------------------------------------------------------------------------


async def test_the_gateway_sender_satisfies_the_sms_sender_port(
    sender: SmsGatewaySender,
) -> None:
    port: SmsSender = sender  # mypy checks the structural match
    assert port is sender


async def test_an_accepted_send_is_recorded_with_every_dlt_field(
    sender: SmsGatewaySender, simulator: SmsGatewaySimulator
) -> None:
    message = english_sms()

    receipt = await sender.send_sms(message)

    assert receipt.message_id == simulator.request_ids[0]
    assert receipt.length.encoding is SmsEncoding.GSM7
    assert receipt.length.segments == 1
    assert simulator.received == [
        {
            "sender": "PRJONE",
            "route": "4",
            "country": "91",
            "unicode": 0,
            "sms": [{"message": message.body, "to": ["919876543210"]}],
            "DLT_TE_ID": DEMO_ENGLISH_TEMPLATE_ID,
            "PE_ID": DEMO_PRINCIPAL_ENTITY_ID,
            "category": "service_implicit",
            "CRQID": DELIVERY_ID,
        }
    ]


async def test_a_hindi_send_goes_as_unicode_and_counts_ucs2_parts(
    sender: SmsGatewaySender, simulator: SmsGatewaySimulator
) -> None:
    body = HINDI.render("आशा राव", "SIP की मूल बातें")
    message = english_sms(body=body, dlt_template_id=DEMO_HINDI_TEMPLATE_ID)

    receipt = await sender.send_sms(message)

    assert simulator.received[0]["unicode"] == 1
    assert simulator.received[0]["sms"][0]["message"] == body
    assert receipt.length.encoding is SmsEncoding.UCS2
    assert receipt.length.segments == 2


async def test_a_promotional_send_uses_the_promotional_route_and_a_numeric_header(
    session: aiohttp.ClientSession,
) -> None:
    templates = {PROMO_TEMPLATE_ID: (PROMO_TEXT, "promotional")}
    async with SmsGatewaySimulator(
        auth_key=AUTH_KEY, sender_headers={"567890"}, templates=templates
    ) as sim:
        sender = make_sender(session, sim.base_url)
        await sender.send_sms(
            english_sms(
                body=PROMO_TEXT.replace("{#var#}", "Asha Rao"),
                dlt_template_id=PROMO_TEMPLATE_ID,
                sender_header="567890",
                category="promotional",
            )
        )

    assert sim.received[0]["route"] == "1"
    assert sim.received[0]["category"] == "promotional"


async def test_a_send_without_callback_data_carries_no_crqid(
    sender: SmsGatewaySender, simulator: SmsGatewaySimulator
) -> None:
    await sender.send_sms(english_sms(callback_data=None))

    assert "CRQID" not in simulator.received[0]


async def test_a_foreign_number_is_sent_in_full_with_the_international_country(
    sender: SmsGatewaySender, simulator: SmsGatewaySimulator
) -> None:
    await sender.send_sms(english_sms(to="+971501234567"))

    assert simulator.received[0]["country"] == "0"
    assert simulator.received[0]["sms"][0]["to"] == ["971501234567"]


async def test_concurrent_sends_each_get_a_distinct_request_id(
    sender: SmsGatewaySender, simulator: SmsGatewaySimulator
) -> None:
    messages = [english_sms(to=f"+9198765{n:05d}") for n in range(50)]

    receipts = await asyncio.gather(*(sender.send_sms(m) for m in messages))

    assert len({r.message_id for r in receipts}) == len(messages)
    assert sorted(r.message_id for r in receipts) == sorted(simulator.request_ids)


# -- refusals by the gateway ---------------------------------------------------------------


async def test_a_wrong_auth_key_is_an_auth_provider_error_and_nothing_is_sent(
    session: aiohttp.ClientSession, simulator: SmsGatewaySimulator
) -> None:
    sender = make_sender(session, simulator.base_url, auth_key="stale-key")

    error = await provider_error_of(sender.send_sms(english_sms()))

    assert error.provider == "sms_gateway"
    assert error.provider_code == 301
    assert error.http_status == 401
    assert error.message == "Authentication failure"
    assert "stale-key" not in str(error)
    assert simulator.received == []
    assert simulator.requests == 1


async def test_a_number_the_gateway_refuses_is_a_provider_error_with_its_code(
    session: aiohttp.ClientSession,
) -> None:
    blocked, healthy = "919800000001", "919800000002"
    async with SmsGatewaySimulator(auth_key=AUTH_KEY, failures={blocked: 312}) as sim:
        sender = make_sender(session, sim.base_url)

        error = await provider_error_of(sender.send_sms(english_sms(to=f"+{blocked}")))
        receipt = await sender.send_sms(english_sms(to=f"+{healthy}"))

    assert error.provider_code == 312
    assert error.http_status == 400
    assert "DND" in error.message
    assert receipt.message_id == sim.request_ids[0]
    assert [body["sms"][0]["to"] for body in sim.received] == [[healthy]]


async def test_a_rate_limit_is_a_provider_error_with_http_429(
    session: aiohttp.ClientSession,
) -> None:
    async with SmsGatewaySimulator(auth_key=AUTH_KEY, failures={"919876543210": 340}) as sim:
        error = await provider_error_of(make_sender(session, sim.base_url).send_sms(english_sms()))

    assert (error.provider_code, error.http_status) == (340, 429)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"dlt_template_id": "1107179999999999999"}, 322),
        ({"body": ENGLISH.render("Asha Rao", "SIP basics") + " Guaranteed returns!"}, 323),
        ({"sender_header": "OTHERS"}, 320),
        ({"principal_entity_id": "1201169999999999999"}, 321),
        ({"category": "transactional"}, 324),
    ],
)
async def test_the_gateway_scrubs_dlt_fields_and_the_refusal_keeps_its_code(
    sender: SmsGatewaySender,
    simulator: SmsGatewaySimulator,
    overrides: dict[str, Any],
    code: int,
) -> None:
    error = await provider_error_of(sender.send_sms(english_sms(**overrides)))

    assert error.provider_code == code
    assert error.http_status == 400
    assert simulator.received == []


async def test_a_refusal_answered_with_http_200_is_still_a_provider_error(
    session: aiohttp.ClientSession,
) -> None:
    # MSG91 answers some refusals with 200 and "type": "error".
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"type": "error", "code": "418", "message": "IP not whitelisted"})

    error = await provider_error_from(session, refuse)

    assert (error.provider_code, error.http_status, error.message) == (
        418,
        200,
        "IP not whitelisted",
    )


async def test_a_4xx_answer_that_is_not_json_is_a_provider_error_without_a_code(
    session: aiohttp.ClientSession,
) -> None:
    async def firewall(request: web.Request) -> web.Response:
        return web.Response(status=403, text="<html>Forbidden</html>", content_type="text/html")

    error = await provider_error_from(session, firewall)

    assert error.provider_code is None
    assert error.http_status == 403
    assert error.details is not None
    assert "Forbidden" in error.details


async def test_a_success_answer_without_a_request_id_is_a_provider_error(
    session: aiohttp.ClientSession,
) -> None:
    async def odd(request: web.Request) -> web.Response:
        return web.json_response({"type": "success"})

    error = await provider_error_from(session, odd)

    assert error.provider_code is None
    assert "request id" in error.message


async def test_a_redirect_is_not_followed_so_the_auth_key_stays_with_the_gateway(
    session: aiohttp.ClientSession,
) -> None:
    followed: list[str | None] = []

    async def redirect(request: web.Request) -> web.StreamResponse:
        if request.path == "/elsewhere":
            followed.append(request.headers.get("authkey"))
            return web.json_response({"type": "success", "message": "stolen"})
        raise web.HTTPTemporaryRedirect("/elsewhere")

    error = await provider_error_from(session, redirect)

    assert error.http_status == 307
    assert followed == []


# -- the gateway is unavailable ------------------------------------------------------------


@pytest.mark.parametrize(("code", "status"), [(500, 500), (503, 503)])
async def test_a_gateway_failure_on_its_side_is_unavailable_not_refused(
    session: aiohttp.ClientSession, code: int, status: int
) -> None:
    async with SmsGatewaySimulator(auth_key=AUTH_KEY, failures={"919876543210": code}) as sim:
        sender = make_sender(session, sim.base_url)

        with pytest.raises(UnavailableError) as caught:
            await sender.send_sms(english_sms())

    assert f"HTTP {status}" in caught.value.reason
    assert f"code {code}" in caught.value.reason
    assert caught.value.target == sender.target


async def test_a_stopped_server_is_unavailable_naming_the_host_not_the_key(
    session: aiohttp.ClientSession,
) -> None:
    sim = SmsGatewaySimulator(auth_key=AUTH_KEY)
    await sim.start()
    base_url, port = sim.base_url, sim.port
    await sim.stop()
    sender = make_sender(session, base_url)

    with pytest.raises(UnavailableError) as caught:
        await sender.send_sms(english_sms())

    assert caught.value.target == f"SMS gateway at 127.0.0.1:{port}"
    assert AUTH_KEY not in str(caught.value)


async def test_an_unreachable_port_is_unavailable(session: aiohttp.ClientSession) -> None:
    sender = make_sender(session, f"http://127.0.0.1:{closed_port()}")

    with pytest.raises(UnavailableError) as caught:
        await sender.send_sms(english_sms())

    assert "cannot connect" in caught.value.reason


async def test_an_answer_slower_than_the_timeout_is_unavailable_with_an_unknown_outcome(
    session: aiohttp.ClientSession,
) -> None:
    async with SmsGatewaySimulator(auth_key=AUTH_KEY, latency=(2.0, 2.0)) as sim:
        sender = make_sender(session, sim.base_url, timeout=0.1)

        with pytest.raises(UnavailableError) as caught:
            await sender.send_sms(english_sms())

    assert "outcome is unknown" in caught.value.reason
    assert sim.requests == 1
    assert sim.received == []


# -- refused locally, before any I/O ---------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"dlt_template_id": "1107179999999999999"}, "dlt_template_id"),
        ({"category": "transactional"}, "category"),
        ({"body": ENGLISH.render("Asha Rao", "SIP basics").replace("Dear", "Hi")}, "body"),
    ],
)
async def test_with_known_templates_a_mismatch_is_refused_before_sending(
    session: aiohttp.ClientSession,
    simulator: SmsGatewaySimulator,
    overrides: dict[str, Any],
    field: str,
) -> None:
    sender = make_sender(session, simulator.base_url, templates=(ENGLISH, HINDI))

    with pytest.raises(ValidationError) as caught:
        await sender.send_sms(english_sms(**overrides))

    assert caught.value.field == field
    assert simulator.requests == 0


async def test_with_known_templates_a_matching_message_goes_out(
    session: aiohttp.ClientSession, simulator: SmsGatewaySimulator
) -> None:
    sender = make_sender(session, simulator.base_url, templates=(ENGLISH, HINDI))

    await sender.send_sms(english_sms())

    assert len(simulator.received) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": 0}, "timeout"),
        ({"auth_key": ""}, "auth_key"),
        ({"base_url": "ftp://gateway"}, "base_url"),
        ({"base_url": "http://127.0.0.1:99999"}, "base_url"),
        ({"templates": (ENGLISH, ENGLISH)}, "templates"),
    ],
)
async def test_the_sender_refuses_a_bad_configuration(
    session: aiohttp.ClientSession, kwargs: dict[str, Any], field: str
) -> None:
    settings: dict[str, Any] = {"base_url": "http://127.0.0.1:1", "auth_key": AUTH_KEY}
    settings.update(kwargs)

    with pytest.raises(ValidationError) as caught:
        SmsGatewaySender(session, **settings)

    assert caught.value.field == field
    assert AUTH_KEY not in str(caught.value)


# -- delivery reports ----------------------------------------------------------------------


class ReportReceiver:
    """Our callback endpoint in miniature: keeps the raw bodies, parses them as the app will."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.reports: list[SmsReport] = []

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.bodies.append(raw)
        self.reports.extend(parse_delivery_report(raw))
        return web.json_response({"ok": True})


@pytest.mark.parametrize("form", [True, False])
async def test_delivery_reports_round_trip_to_the_callback_url(
    sender: SmsGatewaySender, simulator: SmsGatewaySimulator, form: bool
) -> None:
    receipts = [
        await sender.send_sms(english_sms(to="+919800000001", callback_data="delivery-1")),
        await sender.send_sms(english_sms(to="+919800000002", callback_data=None)),
    ]
    receiver = ReportReceiver()
    at = dt.datetime(2024, 5, 22, 0, 31, 20, tzinfo=dt.UTC)
    async with serve(receiver.handle) as callback:
        status = await simulator.post_delivery_reports(
            f"{callback.base_url}/sms/reports", simulator.report_events(status=1, at=at), form=form
        )

    assert status == 200
    assert receiver.bodies[0].startswith(b"data=" if form else b"[")
    assert [(r.message_id, r.recipient, r.callback_data) for r in receiver.reports] == [
        (receipts[0].message_id, "+919800000001", "delivery-1"),
        (receipts[1].message_id, "+919800000002", None),
    ]
    assert all(r.status is DeliveryStatus.DELIVERED for r in receiver.reports)
    assert all(r.timestamp == at for r in receiver.reports)
    assert all(r.sender_header == "PRJONE" for r in receiver.reports)


async def test_a_failed_delivery_report_carries_the_gateway_status(
    sender: SmsGatewaySender, simulator: SmsGatewaySimulator
) -> None:
    receipt = await sender.send_sms(english_sms())
    receiver = ReportReceiver()
    async with serve(receiver.handle) as callback:
        await simulator.post_delivery_reports(
            callback.base_url, simulator.report_events(status=9, request_ids=[receipt.message_id])
        )

    (report,) = receiver.reports
    assert report.status is DeliveryStatus.FAILED
    assert (report.gateway_status, report.description) == (9, "NDNC")
    assert report.callback_data == DELIVERY_ID


# -- the simulator's wire behaviour, for clients other than ours ----------------------------


async def post_raw(
    session: aiohttp.ClientSession,
    simulator: SmsGatewaySimulator,
    body: dict[str, Any] | bytes,
    *,
    auth_key: str | None = AUTH_KEY,
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if auth_key is not None:
        headers["authkey"] = auth_key
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = f"{simulator.base_url}/api/v2/sendsms"
    async with session.post(url, data=data, headers=headers) as response:
        document: dict[str, Any] = await response.json()
        return response.status, document


def raw_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sender": DEMO_SENDER_HEADER,
        "route": "4",
        "country": "91",
        "unicode": 0,
        "sms": [{"message": ENGLISH.render("A", "B"), "to": ["919876543210"]}],
        "DLT_TE_ID": DEMO_ENGLISH_TEMPLATE_ID,
        "PE_ID": DEMO_PRINCIPAL_ENTITY_ID,
        "category": "service_implicit",
    }
    body.update(overrides)
    return body


async def test_the_simulator_answers_a_send_like_the_gateway(
    session: aiohttp.ClientSession, simulator: SmsGatewaySimulator
) -> None:
    status, document = await post_raw(session, simulator, raw_body())

    assert status == 200
    assert document == {"type": "success", "message": simulator.request_ids[0]}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", 310),
        (raw_body(DLT_TE_ID=None), 310),
        (raw_body(route="1"), 324),
        (raw_body(sms=[{"message": HINDI.render("अ", "ब"), "to": ["919876543210"]}]), 310),
        (raw_body(sms=[{"message": ENGLISH.render("A", "B"), "to": ["9198765"]}]), 311),
        (raw_body(sms=[{"message": ENGLISH.render("A", "B"), "to": ["915876543210"]}]), 311),
        (raw_body(sms=[]), 310),
    ],
)
async def test_the_simulator_refuses_a_malformed_send_with_its_code(
    session: aiohttp.ClientSession,
    simulator: SmsGatewaySimulator,
    body: dict[str, Any] | bytes,
    code: int,
) -> None:
    status, document = await post_raw(session, simulator, body)

    assert status == 400
    assert document["type"] == "error"
    assert document["code"] == str(code)
    assert simulator.received == []


async def test_the_simulator_refuses_a_missing_auth_key_with_401(
    session: aiohttp.ClientSession, simulator: SmsGatewaySimulator
) -> None:
    status, document = await post_raw(session, simulator, raw_body(), auth_key=None)

    assert (status, document["code"]) == (401, "301")


def test_the_simulator_refuses_an_unknown_failure_code() -> None:
    with pytest.raises(ValueError, match="unknown error code"):
        SmsGatewaySimulator(failures={"919876543210": 999})


async def test_the_simulator_base_url_is_unavailable_before_start() -> None:
    sim = SmsGatewaySimulator()

    with pytest.raises(RuntimeError):
        _ = sim.base_url

    async with sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
