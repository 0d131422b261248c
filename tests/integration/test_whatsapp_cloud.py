"""The WhatsApp Cloud sender against the WhatsApp simulator, over real loopback HTTP.

Nothing is patched: the adapter talks to an aiohttp server that speaks Meta's wire format, so
these tests prove the bytes on the wire and the translation of real HTTP failures.
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

from projectone.adapters.whatsapp_cloud import SendThrottle, WhatsAppCloudSender
from projectone.domain.errors import ProviderError, UnavailableError, ValidationError
from projectone.domain.failure import FailureClass
from projectone.ports.messaging import (
    BodyComponent,
    ButtonComponent,
    CurrencyParameter,
    DateTimeParameter,
    HeaderComponent,
    ImageParameter,
    OutboundImage,
    OutboundTemplate,
    OutboundText,
    PayloadParameter,
    SendReceipt,
    TextParameter,
    WhatsAppSender,
)
from projectone.testing._loopback import closed_port, serve
from projectone.testing.whatsapp_simulator import ApprovedTemplate, WhatsAppSimulator

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
    throttle: SendThrottle | float | None = 80.0,
) -> WhatsAppCloudSender:
    return WhatsAppCloudSender(
        session,
        base_url=base_url,
        phone_number_id=phone_number_id,
        access_token=access_token,
        timeout=timeout,
        throttle=throttle,
    )


@pytest.fixture
def sender(session: aiohttp.ClientSession, simulator: WhatsAppSimulator) -> WhatsAppCloudSender:
    return make_sender(session, simulator.base_url)


async def provider_error_of(send: Awaitable[SendReceipt]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await send
    return caught.value


async def bad_gateway(request: web.Request) -> web.Response:
    """A proxy in front of Meta answering with HTML."""
    return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")


async def bad_gateway_error(session: aiohttp.ClientSession) -> ProviderError:
    """What the sender makes of a proxy's HTML 502: a tiny real server, not a patched client."""
    async with serve(bad_gateway) as proxy:
        sender = make_sender(session, proxy.base_url)
        return await provider_error_of(sender.send_text(OutboundText(to=RECIPIENT, body="x")))


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
    error = await bad_gateway_error(session)

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


# -- images --------------------------------------------------------------------------------

IMAGE_URL = "https://cdn.example.in/packs/2026-11-23/sip.png"


async def test_an_image_by_link_with_a_caption_goes_out_in_metas_documented_shape(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    receipt = await sender.send_image(
        OutboundImage(
            to=RECIPIENT, link=IMAGE_URL, caption="SIP: छोटी बचत", callback_data="delivery-7"
        )
    )

    assert receipt.message_id.startswith("wamid.")
    assert simulator.sent == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "919876543210",
            "type": "image",
            "image": {"link": IMAGE_URL, "caption": "SIP: छोटी बचत"},
            "biz_opaque_callback_data": "delivery-7",
        }
    ]


async def test_an_image_by_media_id_without_a_caption_sends_only_the_id(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    await sender.send_image(OutboundImage(to=RECIPIENT, media_id="1037543291543636"))

    assert simulator.sent == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "919876543210",
            "type": "image",
            "image": {"id": "1037543291543636"},
        }
    ]


async def test_an_image_by_media_id_with_a_caption_of_exactly_1024_characters_is_sent(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    await sender.send_image(OutboundImage(to=RECIPIENT, media_id="42", caption="c" * 1024))

    assert simulator.sent[0]["image"] == {"id": "42", "caption": "c" * 1024}


def _image(**changes: Any) -> OutboundImage:
    fields: dict[str, Any] = {"to": RECIPIENT, "link": IMAGE_URL}
    fields.update(changes)
    return OutboundImage(**fields)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: _image(link=None), "link"),  # neither link nor media id
        (lambda: _image(media_id="42"), "link"),  # both
        (lambda: _image(link="ftp://cdn.example.in/a.png"), "link"),
        (lambda: _image(link="/packs/a.png"), "link"),
        (lambda: _image(link=None, media_id=" "), "media_id"),
        (lambda: _image(link=None, media_id="4 2"), "media_id"),
        (lambda: _image(caption="c" * 1025), "caption"),
        (lambda: _image(caption="  "), "caption"),
        (lambda: _image(to="98765 43210"), "to"),
        (lambda: _image(callback_data="d" * 513), "callback_data"),
    ],
)
async def test_a_bad_image_is_a_validation_error_before_any_request(
    sender: WhatsAppCloudSender,
    simulator: WhatsAppSimulator,
    build: Callable[[], OutboundImage],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as caught:
        await sender.send_image(build())

    assert caught.value.field == field
    assert simulator.requests == 0


# -- templates -----------------------------------------------------------------------------

MORNING = ApprovedTemplate(languages=["en", "hi", "mr"], header=1, body=3, buttons=[0, 1])


@pytest.fixture
async def template_simulator() -> AsyncIterator[WhatsAppSimulator]:
    templates = {
        "morning_pack": MORNING,
        "reengage_advisor": ApprovedTemplate(languages=["en_US"], body=1),
    }
    async with WhatsAppSimulator(access_token=TOKEN, templates=templates) as sim:
        yield sim


def morning_template(**changes: Any) -> OutboundTemplate:
    fields: dict[str, Any] = {
        "to": RECIPIENT,
        "name": "morning_pack",
        "language": "hi",
        "components": [
            HeaderComponent(ImageParameter(link=IMAGE_URL)),
            BodyComponent(
                [
                    TextParameter("प्रिया"),
                    CurrencyParameter(fallback_value="₹5,000", code="INR", amount_1000=5_000_000),
                    DateTimeParameter("23 November 2026"),
                ]
            ),
            ButtonComponent(sub_type="url", index=0, parameter=TextParameter("sip-basics")),
            ButtonComponent(
                sub_type="quick_reply", index=1, parameter=PayloadParameter("STOP_MORNING")
            ),
        ],
        "callback_data": "delivery-9",
    }
    fields.update(changes)
    return OutboundTemplate(**fields)


async def test_a_template_with_components_goes_out_in_metas_documented_shape(
    session: aiohttp.ClientSession, template_simulator: WhatsAppSimulator
) -> None:
    sender = make_sender(session, template_simulator.base_url)

    receipt = await sender.send_template(morning_template())

    assert receipt.recipient_id == "919876543210"
    assert template_simulator.sent == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "919876543210",
            "type": "template",
            "template": {
                "name": "morning_pack",
                "language": {"code": "hi"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [{"type": "image", "image": {"link": IMAGE_URL}}],
                    },
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "प्रिया"},
                            {
                                "type": "currency",
                                "currency": {
                                    "fallback_value": "₹5,000",
                                    "code": "INR",
                                    "amount_1000": 5_000_000,
                                },
                            },
                            {
                                "type": "date_time",
                                "date_time": {"fallback_value": "23 November 2026"},
                            },
                        ],
                    },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "0",
                        "parameters": [{"type": "text", "text": "sip-basics"}],
                    },
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "1",
                        "parameters": [{"type": "payload", "payload": "STOP_MORNING"}],
                    },
                ],
            },
            "biz_opaque_callback_data": "delivery-9",
        }
    ]


async def test_a_template_without_variables_leaves_components_out(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    await sender.send_template(OutboundTemplate(to=RECIPIENT, name="hello_world", language="en_US"))

    assert simulator.sent[0]["template"] == {"name": "hello_world", "language": {"code": "en_US"}}
    assert "biz_opaque_callback_data" not in simulator.sent[0]


@pytest.mark.parametrize(
    ("changes", "details"),
    [
        ({"name": "evening_pack"}, "template name (evening_pack) does not exist in hi"),
        ({"language": "ta"}, "template name (morning_pack) does not exist in ta"),
    ],
)
async def test_an_unknown_template_or_language_is_132001_classified_template_error(
    session: aiohttp.ClientSession,
    template_simulator: WhatsAppSimulator,
    changes: dict[str, str],
    details: str,
) -> None:
    sender = make_sender(session, template_simulator.base_url)

    error = await provider_error_of(sender.send_template(morning_template(**changes)))

    assert error.provider_code == 132001
    assert error.http_status == 400
    assert error.details == details
    assert error.classification is not None
    assert error.classification.failure_class is FailureClass.TEMPLATE_ERROR
    assert error.classification.code == 132001
    assert not error.classification.retryable
    assert template_simulator.sent == []


@pytest.mark.parametrize(
    ("components", "details"),
    [
        (
            [BodyComponent([TextParameter("only one")])],
            "body: number of localizable_params (1) does not match the expected number of "
            "params (3)",
        ),
        (
            [
                HeaderComponent(ImageParameter(link=IMAGE_URL)),
                BodyComponent([TextParameter("a"), TextParameter("b"), TextParameter("c")]),
                ButtonComponent(sub_type="url", index=0, parameter=TextParameter("x")),
            ],
            "button 1: number of localizable_params (0) does not match the expected number of "
            "params (1)",
        ),
        (
            [
                HeaderComponent(ImageParameter(link=IMAGE_URL)),
                BodyComponent([TextParameter("a"), TextParameter("b"), TextParameter("c")]),
                ButtonComponent(sub_type="url", index=0, parameter=TextParameter("x")),
                ButtonComponent(sub_type="url", index=1, parameter=TextParameter("y")),
                ButtonComponent(sub_type="url", index=2, parameter=TextParameter("z")),
            ],
            "button 2: number of localizable_params (1) does not match the expected number of "
            "params (0)",
        ),
    ],
)
async def test_a_wrong_parameter_count_is_132000_classified_template_error(
    session: aiohttp.ClientSession,
    template_simulator: WhatsAppSimulator,
    components: list[Any],
    details: str,
) -> None:
    sender = make_sender(session, template_simulator.base_url)

    error = await provider_error_of(sender.send_template(morning_template(components=components)))

    assert error.provider_code == 132000
    assert error.details == details
    assert error.classification is not None
    assert error.classification.failure_class is FailureClass.TEMPLATE_ERROR
    assert not error.classification.retryable
    assert template_simulator.requests == 1
    assert template_simulator.sent == []


def _button(sub_type: str, parameter: Any, index: int = 0) -> ButtonComponent:
    return ButtonComponent(sub_type=sub_type, index=index, parameter=parameter)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: morning_template(name="Morning Pack"), "name"),
        (lambda: morning_template(name="m" * 513), "name"),
        (lambda: morning_template(language="english"), "language"),
        (lambda: morning_template(language="EN"), "language"),
        (lambda: morning_template(language="en-US"), "language"),
        (lambda: morning_template(to="+91-98765-43210"), "to"),
        (lambda: morning_template(callback_data="d" * 513), "callback_data"),
        (
            lambda: morning_template(
                components=[BodyComponent([TextParameter("a")])] * 2,
            ),
            "components",
        ),
        (
            lambda: morning_template(
                components=[
                    _button("url", TextParameter("a")),
                    _button("quick_reply", PayloadParameter("b")),
                ]
            ),
            "components",
        ),
        (lambda: morning_template(components=[TextParameter("loose")]), "components"),
        (lambda: _button("quick_reply", TextParameter("a")), "parameter"),
        (lambda: _button("url", PayloadParameter("a")), "parameter"),
        (lambda: _button("phone_number", TextParameter("a")), "sub_type"),
        (lambda: _button("url", TextParameter("a"), index=10), "index"),
        (lambda: BodyComponent([]), "parameters"),
        (lambda: BodyComponent([ImageParameter(link=IMAGE_URL)]), "parameters"),
        (lambda: HeaderComponent(PayloadParameter("a")), "parameter"),  # type: ignore[arg-type]
        (lambda: TextParameter(" "), "text"),
        (lambda: CurrencyParameter(fallback_value="₹1", code="inr", amount_1000=1000), "code"),
        (
            lambda: CurrencyParameter(fallback_value="₹1", code="INR", amount_1000=1.5),  # type: ignore[arg-type]
            "amount_1000",
        ),
        (lambda: ImageParameter(), "link"),
    ],
)
async def test_a_bad_template_is_a_validation_error_before_any_request(
    sender: WhatsAppCloudSender,
    simulator: WhatsAppSimulator,
    build: Callable[[], object],
    field: str,
) -> None:
    async def attempt() -> None:
        message = build()
        assert isinstance(message, OutboundTemplate), "the bad value must be refused when built"
        await sender.send_template(message)

    with pytest.raises(ValidationError) as caught:
        await attempt()

    assert caught.value.field == field
    assert simulator.requests == 0


# -- classification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "failure_class", "retryable"),
    [
        (131026, FailureClass.INVALID_NUMBER, False),
        (130429, FailureClass.RATE_LIMIT, True),
        (131047, FailureClass.REENGAGEMENT_REQUIRED, False),
        (131000, FailureClass.SYSTEM_ERROR, True),
        (190, FailureClass.AUTH_ERROR, False),
    ],
)
async def test_every_provider_error_carries_the_classification_of_its_code(
    session: aiohttp.ClientSession, code: int, failure_class: FailureClass, retryable: bool
) -> None:
    async with WhatsAppSimulator(access_token=TOKEN, failures={"919800000001": code}) as sim:
        sender = make_sender(session, sim.base_url)

        error = await provider_error_of(
            sender.send_image(OutboundImage(to="919800000001", link=IMAGE_URL))
        )

    assert error.classification is not None
    assert error.classification.failure_class is failure_class
    assert error.classification.retryable is retryable
    assert error.classification.code == code


async def test_an_unreadable_5xx_answer_is_classified_a_retryable_system_error(
    session: aiohttp.ClientSession,
) -> None:
    error = await bad_gateway_error(session)

    assert error.provider_code is None
    assert error.classification is not None
    assert error.classification.failure_class is FailureClass.SYSTEM_ERROR
    assert error.classification.retryable


# -- the simulator's throughput limit ------------------------------------------------------


class FakeMonotonic:
    """A monotonic clock and a sleep that never wait: ``sleep`` records what it was asked and,
    when ``advance`` is set, moves the clock on by it as a real sleep would."""

    def __init__(self, *, advance: bool = False) -> None:
        self.now = 1_000.0
        self.advance = advance
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.advance:
            self.now += seconds


async def test_the_rate_limited_simulator_answers_130429_classified_a_retryable_rate_limit(
    session: aiohttp.ClientSession,
) -> None:
    clock = FakeMonotonic()
    async with WhatsAppSimulator(
        access_token=TOKEN, rate_limit=3, monotonic=clock.monotonic
    ) as sim:
        sender = make_sender(session, sim.base_url, throttle=None)
        for n in range(3):
            await sender.send_text(OutboundText(to=RECIPIENT, body=f"n{n}"))

        error = await provider_error_of(sender.send_text(OutboundText(to=RECIPIENT, body="n3")))
        other_number = make_sender(session, sim.base_url, phone_number_id="106540352242999")
        await other_number.send_text(OutboundText(to=RECIPIENT, body="own window"))
        clock.now += 0.75
        still_limited = await provider_error_of(
            sender.send_text(OutboundText(to=RECIPIENT, body="n4"))
        )
        clock.now += 0.25  # a full second after the first three: their slots are free again
        await sender.send_text(OutboundText(to=RECIPIENT, body="n5"))

    assert error.provider_code == 130429
    assert error.http_status == 429
    assert error.classification is not None
    assert error.classification.failure_class is FailureClass.RATE_LIMIT
    assert error.classification.retryable
    assert still_limited.provider_code == 130429
    assert [body["text"]["body"] for body in sim.sent] == ["n0", "n1", "n2", "own window", "n5"]
    assert sim.requests == 7


async def test_the_simulator_has_no_rate_limit_by_default(
    sender: WhatsAppCloudSender, simulator: WhatsAppSimulator
) -> None:
    await asyncio.gather(
        *(sender.send_text(OutboundText(to=RECIPIENT, body=f"n{n}")) for n in range(50))
    )

    assert len(simulator.sent) == 50


# -- throttling ----------------------------------------------------------------------------


async def test_a_sender_paces_itself_at_80_messages_a_second_by_default(
    session: aiohttp.ClientSession,
) -> None:
    sender = WhatsAppCloudSender(
        session, base_url="http://127.0.0.1:9", phone_number_id="1", access_token=TOKEN
    )

    assert sender.throttle is not None
    assert sender.throttle.rate == 80


@pytest.mark.parametrize("rate", [0, -1, 1000.5, float("nan")])
def test_a_throttle_rate_outside_0_to_1000_is_a_validation_error(
    session: aiohttp.ClientSession, rate: float
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_sender(session, "http://127.0.0.1:9", throttle=rate)

    assert caught.value.field == "rate"


async def test_25_concurrent_sends_at_10_a_second_reserve_turns_a_tenth_of_a_second_apart(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    # The clock stands still: every send reserves its token at once, the first ten from the
    # full bucket, the other fifteen 0.1 s, 0.2 s … 1.5 s ahead.
    clock = FakeMonotonic()
    throttle = SendThrottle(10, monotonic=clock.monotonic, sleep=clock.sleep)
    sender = make_sender(session, simulator.base_url, throttle=throttle)

    await asyncio.gather(
        *(sender.send_text(OutboundText(to=RECIPIENT, body=f"n{n}")) for n in range(25))
    )

    assert clock.sleeps == pytest.approx([n / 10 for n in range(1, 16)], abs=1e-6)
    assert len(simulator.sent) == 25
    assert throttle.bucket(PHONE_NUMBER_ID).available(_at(clock.now)) == pytest.approx(-15)


async def test_25_sequential_sends_at_10_a_second_wait_a_tenth_of_a_second_after_the_burst(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    # Each sleep moves the clock on, as a real one would: after the burst of ten, every send
    # waits exactly the time one token takes to come back.
    clock = FakeMonotonic(advance=True)
    throttle = SendThrottle(10, monotonic=clock.monotonic, sleep=clock.sleep)
    sender = make_sender(session, simulator.base_url, throttle=throttle)

    for n in range(25):
        await sender.send_image(OutboundImage(to=RECIPIENT, media_id=f"{n + 1}"))

    assert clock.sleeps == pytest.approx([0.1] * 15, abs=1e-6)
    assert clock.now == pytest.approx(1_001.5)
    assert len(simulator.sent) == 25


async def test_senders_sharing_a_throttle_share_one_bucket_per_phone_number(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    clock = FakeMonotonic()
    throttle = SendThrottle(10, monotonic=clock.monotonic, sleep=clock.sleep)
    first = make_sender(session, simulator.base_url, throttle=throttle)
    second = make_sender(session, simulator.base_url, throttle=throttle)
    async with WhatsAppSimulator(access_token=TOKEN) as elsewhere:
        other_number = make_sender(
            session, elsewhere.base_url, phone_number_id="106540352242999", throttle=throttle
        )

        await asyncio.gather(
            *(first.send_text(OutboundText(to=RECIPIENT, body="a")) for _ in range(6)),
            *(second.send_text(OutboundText(to=RECIPIENT, body="b")) for _ in range(6)),
            *(other_number.send_text(OutboundText(to=RECIPIENT, body="c")) for _ in range(10)),
        )

    # Twelve sends of one number share ten tokens; the other number's ten take none of them.
    assert clock.sleeps == pytest.approx([0.1, 0.2], abs=1e-6)


async def test_a_message_refused_locally_takes_no_token(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    clock = FakeMonotonic()
    throttle = SendThrottle(10, monotonic=clock.monotonic, sleep=clock.sleep)
    sender = make_sender(session, simulator.base_url, throttle=throttle)

    with pytest.raises(ValidationError):
        await sender.send_text(OutboundText(to=RECIPIENT, body="x" * 4097))

    assert throttle.bucket(PHONE_NUMBER_ID).available(_at(clock.now)) == 10


async def test_a_throughput_refusal_halves_the_pace_once_a_second_and_it_climbs_back(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    clock = FakeMonotonic(advance=True)
    throttle = SendThrottle(100, monotonic=clock.monotonic, sleep=clock.sleep)
    simulator.failures = {RECIPIENT.lstrip("+"): 130429}
    sender = make_sender(session, simulator.base_url, throttle=throttle)

    for _ in range(3):  # one burst of refusals is one signal
        with pytest.raises(ProviderError):
            await sender.send_text(OutboundText(to=RECIPIENT, body="x"))
    assert throttle.bucket(PHONE_NUMBER_ID).rate == pytest.approx(50, abs=0.5)

    clock.now += 1.0
    with pytest.raises(ProviderError):
        await sender.send_text(OutboundText(to=RECIPIENT, body="x"))
    # It had climbed back 5/s during that second, then halved again.
    assert throttle.bucket(PHONE_NUMBER_ID).rate == pytest.approx(27.5, abs=0.5)

    simulator.failures = {}
    clock.now += 4.0  # 5 % of 100/s per second, four seconds on
    await sender.send_text(OutboundText(to=RECIPIENT, body="y"))
    assert throttle.bucket(PHONE_NUMBER_ID).rate == pytest.approx(47.5, abs=1)


async def test_a_pair_rate_limit_does_not_slow_the_number_down(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    clock = FakeMonotonic(advance=True)
    throttle = SendThrottle(100, monotonic=clock.monotonic, sleep=clock.sleep)
    simulator.failures = {RECIPIENT.lstrip("+"): 131056}
    sender = make_sender(session, simulator.base_url, throttle=throttle)

    with pytest.raises(ProviderError):
        await sender.send_text(OutboundText(to=RECIPIENT, body="x"))
    assert throttle.bucket(PHONE_NUMBER_ID).rate == 100


def _at(seconds: float) -> dt.datetime:
    """The datetime ``SendThrottle`` lays monotonic ``seconds`` on."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


# -- duplicates ----------------------------------------------------------------------------


async def test_the_simulator_counts_accepted_sends_per_callback_data(
    session: aiohttp.ClientSession,
) -> None:
    failing = "919800000001"
    async with WhatsAppSimulator(access_token=TOKEN, failures={failing: 131026}) as sim:
        sender = make_sender(session, sim.base_url)
        await sender.send_text(OutboundText(to=RECIPIENT, body="x", callback_data="delivery-1"))
        # The same delivery again, as a retry after a lost answer would send it.
        await sender.send_image(
            OutboundImage(to=RECIPIENT, link=IMAGE_URL, callback_data="delivery-1")
        )
        await sender.send_template(
            OutboundTemplate(
                to=RECIPIENT, name="hello_world", language="en", callback_data="delivery-2"
            )
        )
        await sender.send_text(OutboundText(to=RECIPIENT, body="no callback"))
        await provider_error_of(
            sender.send_text(OutboundText(to=failing, body="x", callback_data="delivery-3"))
        )

    assert sim.sends_per_callback == {"delivery-1": 2, "delivery-2": 1}
    assert sim.duplicate_callbacks == {"delivery-1": 2}


# -- the simulator's checks of images and templates, for clients other than ours -----------


def _send(kind: str, content: object) -> bytes:
    body = {"messaging_product": "whatsapp", "to": "919876543210", "type": kind, kind: content}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_send("image", {"caption": "no source"}), 100),
        (_send("image", {"link": IMAGE_URL, "id": "42"}), 100),
        (_send("image", {"link": "ftp://cdn.example.in/a.png"}), 100),
        (_send("image", {"id": "42", "caption": "c" * 1025}), 100),
        (_send("image", None), 131008),
        (_send("video", {"link": IMAGE_URL}), 131051),
        (_send("template", None), 131008),
        (_send("template", {"language": {"code": "en"}}), 131008),
        (_send("template", {"name": "hello_world"}), 131008),
        (_send("template", {"name": "t", "language": {"code": "en"}, "components": {}}), 100),
        (
            _send(
                "template",
                {"name": "t", "language": {"code": "en"}, "components": [{"type": "footer"}]},
            ),
            100,
        ),
        (
            _send(
                "template",
                {
                    "name": "t",
                    "language": {"code": "en"},
                    "components": [{"type": "body", "parameters": [{"type": "text"}]}],
                },
            ),
            131008,
        ),
        (
            _send(
                "template",
                {
                    "name": "t",
                    "language": {"code": "en"},
                    "components": [
                        {"type": "button", "sub_type": "url", "index": "12", "parameters": []}
                    ],
                },
            ),
            100,
        ),
        (
            _send(
                "template",
                {
                    "name": "t",
                    "language": {"code": "en"},
                    "components": [
                        {"type": "body", "parameters": [{"type": "currency", "currency": {}}]}
                    ],
                },
            ),
            100,
        ),
    ],
)
async def test_the_simulator_refuses_a_malformed_image_or_template_with_metas_code(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator, body: bytes, code: int
) -> None:
    status, document = await post_raw(session, simulator, body)

    assert status == 400
    assert document["error"]["code"] == code
    assert simulator.sent == []


async def test_the_simulator_without_templates_accepts_any_well_formed_template(
    session: aiohttp.ClientSession, simulator: WhatsAppSimulator
) -> None:
    content = {
        "name": "anything",
        "language": {"code": "mr"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "नमस्कार"}]},
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": 0,
                "parameters": [{"type": "payload", "payload": "YES"}],
            },
        ],
    }

    status, _ = await post_raw(session, simulator, _send("template", content))

    assert status == 200
    assert simulator.sent[0]["template"] == content


def test_an_approved_template_refuses_a_bare_language_string() -> None:
    with pytest.raises(ValueError, match="languages"):
        ApprovedTemplate(languages="en")
