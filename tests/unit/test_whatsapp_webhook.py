"""The WhatsApp webhook functions: signature, handshake and payload parsing.

Payloads here are written in Meta's wire shape (``entry[].changes[].value.statuses[]``), and
the simulator's ``build_status_webhook``/``sign_body`` are checked against the parser, so the
route (issue 7) and the simulator agree with what these functions accept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.adapters.whatsapp_webhook import (
    STATUS_VALUES,
    InboundMessage,
    Rejection,
    StatusUpdate,
    WebhookBatch,
    WebhookPayloadError,
    parse_webhook,
    verify_handshake,
    verify_signature,
)
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.errors import ValidationError
from projectone.testing.whatsapp_simulator import ERROR_TITLES, build_status_webhook, sign_body

S = DeliveryStatus
SECRET = "app-secret-8f14e45fceea167a"
VERIFY_TOKEN = "verify-me-please"
WAMID_1 = "wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgSQzZGNUVFOTgxMUUyMkI3MzVBAA=="
WAMID_2 = "wamid.HBgMOTE5ODc2NTQzMjExFQIAERgSMjk4RkE4NEQzRjlBNTA1MkE1AA=="
WAMID_IN = "wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhgWM0VCMEM3MDk5RTEyQkMyRDMwMjE5NAA="
TS = "1763856000"  # 2025-11-23 00:00:00 UTC
AT = dt.datetime(2025, 11, 23, tzinfo=dt.UTC)
DELIVERY_ID = "0b8f4b0e-6a55-4f8a-9b7c-3f1f2e9d5a10"


def meta_body(*values: dict[str, Any], kind: str = "whatsapp_business_account") -> bytes:
    """A webhook body with one change per ``value``, in Meta's compact form."""
    document = {
        "object": kind,
        "entry": [
            {
                "id": "102290129340398",
                "changes": [{"value": value, "field": "messages"} for value in values],
            }
        ],
    }
    return json.dumps(document, separators=(",", ":")).encode()


METADATA = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}


def status(**fields: Any) -> dict[str, Any]:
    """A well-formed ``sent`` status; ``fields`` override or (with ``None``) remove keys."""
    base: dict[str, Any] = {
        "id": WAMID_1,
        "status": "sent",
        "timestamp": TS,
        "recipient_id": "919876543210",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


REALISTIC_VALUE: dict[str, Any] = {
    "messaging_product": "whatsapp",
    "metadata": METADATA,
    "statuses": [
        {
            "id": WAMID_1,
            "status": "sent",
            "timestamp": TS,
            "recipient_id": "919876543210",
            "biz_opaque_callback_data": DELIVERY_ID,
            "conversation": {
                "id": "a34a10abd87c7badad4d1fc5bafadd71",
                "expiration_timestamp": "1763942400",
                "origin": {"type": "marketing"},
            },
            "pricing": {
                "billable": True,
                "pricing_model": "PMP",
                "type": "regular",
                "category": "marketing",
            },
        },
        {
            "id": WAMID_1,
            "status": "delivered",
            "timestamp": "1763856003",
            "recipient_id": "919876543210",
            "biz_opaque_callback_data": DELIVERY_ID,
            "conversation": {
                "id": "a34a10abd87c7badad4d1fc5bafadd71",
                "origin": {"type": "marketing"},
            },
            "pricing": {"billable": True, "pricing_model": "PMP", "category": "marketing"},
        },
        {
            "id": WAMID_1,
            "status": "read",
            "timestamp": "1763856090",
            "recipient_id": "919876543210",
            "biz_opaque_callback_data": DELIVERY_ID,
        },
        {
            "id": WAMID_2,
            "status": "failed",
            "timestamp": "1763856001",
            "recipient_id": "919876543211",
            "errors": [
                {
                    "code": 131026,
                    "title": "Message undeliverable",
                    "message": "Message undeliverable",
                    "error_data": {"details": "Message Undeliverable."},
                    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
                }
            ],
        },
    ],
}

INBOUND_VALUE: dict[str, Any] = {
    "messaging_product": "whatsapp",
    "metadata": METADATA,
    "contacts": [{"profile": {"name": "Asha Verma"}, "wa_id": "919876543210"}],
    "messages": [
        {
            "context": {"from": "15550783881", "id": WAMID_1},
            "from": "919876543210",
            "id": WAMID_IN,
            "timestamp": "1763856120",
            "type": "text",
            "text": {"body": "धन्यवाद, please send the Hindi version too"},
        }
    ],
}


# -- signature --------------------------------------------------------------------------------


def test_a_body_signed_with_the_app_secret_is_accepted() -> None:
    body = meta_body(REALISTIC_VALUE)
    header = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign_body(SECRET, body) == header
    assert verify_signature(SECRET, body, header)


def test_a_body_signed_with_another_secret_is_rejected() -> None:
    body = meta_body(REALISTIC_VALUE)
    assert not verify_signature(SECRET, body, sign_body(SECRET + "x", body))


def test_flipping_any_single_byte_of_the_body_is_rejected() -> None:
    body = meta_body(REALISTIC_VALUE)
    header = sign_body(SECRET, body)
    for index in range(len(body)):
        for mask in (0x01, 0x80):
            tampered = bytearray(body)
            tampered[index] ^= mask
            assert not verify_signature(SECRET, bytes(tampered), header), (index, mask)


def test_changing_any_single_character_of_the_signature_is_rejected() -> None:
    body = meta_body(REALISTIC_VALUE)
    header = sign_body(SECRET, body)
    for index, char in enumerate(header):
        for replacement in {"0", "f", "A", "=", " "} - {char}:
            tampered = header[:index] + replacement + header[index + 1 :]
            assert not verify_signature(SECRET, body, tampered), tampered


def test_a_signature_of_the_reserialised_json_does_not_verify_the_raw_body() -> None:
    # The simulator escapes non-ASCII as Meta does; the parsed-and-dumped text differs.
    body = build_status_webhook(
        [
            {
                "message_id": WAMID_1,
                "recipient_id": "919876543210",
                "status": "read",
                "timestamp": AT,
                "callback_data": "सुप्रभात-1",
            }
        ]
    )
    reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert reserialised != body
    assert verify_signature(SECRET, body, sign_body(SECRET, body))
    assert not verify_signature(SECRET, body, sign_body(SECRET, reserialised))


GOOD_HEX = hmac.new(SECRET.encode(), b"{}", hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256",
        GOOD_HEX,
        f"sha1={GOOD_HEX}",
        f"SHA256={GOOD_HEX}",
        f"sha256={GOOD_HEX.upper()}",
        f"sha256= {GOOD_HEX}",
        f"sha256={GOOD_HEX} ",
        f"sha256={GOOD_HEX}\n",
        f" sha256={GOOD_HEX}",
        f"sha256={GOOD_HEX[:32]} {GOOD_HEX[32:]}",
        f"sha256={GOOD_HEX[:-1]}",
        f"sha256={GOOD_HEX}0",
        f"sha256={GOOD_HEX[:-1]}g",
        f"sha256={GOOD_HEX[:-1]}٣",  # an Arabic-Indic digit: a digit to \d, not hex
        f"sha256={GOOD_HEX},sha256={GOOD_HEX}",
    ],
)
def test_missing_or_garbled_signature_headers_are_rejected(header: str | None) -> None:
    assert not verify_signature(SECRET, b"{}", header)


def test_the_garbled_header_cases_differ_from_a_header_that_verifies() -> None:
    assert verify_signature(SECRET, b"{}", f"sha256={GOOD_HEX}")


def test_an_empty_app_secret_verifies_nothing_not_even_its_own_signature() -> None:
    assert not verify_signature("", b"{}", sign_body("", b"{}"))


def test_a_secret_that_cannot_be_encoded_is_rejected_without_raising() -> None:
    assert not verify_signature("\ud800", b"{}", f"sha256={GOOD_HEX}")


def test_inputs_of_the_wrong_type_are_rejected_without_raising() -> None:
    wrong: Any = 42
    assert not verify_signature(wrong, b"{}", f"sha256={GOOD_HEX}")
    assert not verify_signature(SECRET, wrong, f"sha256={GOOD_HEX}")
    assert not verify_signature(SECRET, b"{}", wrong)


@st.composite
def signature_cases(draw: st.DrawFn) -> tuple[str, bytes, str | None]:
    """A secret, a body and a header that is sometimes right, often nearly right."""
    secret = draw(st.text(max_size=40))
    body = draw(st.binary(max_size=300))
    right = sign_body(secret, body)
    header = draw(
        st.one_of(
            st.none(),
            st.text(max_size=80),
            st.just(right),
            st.just(right.upper()),
            st.builds(lambda s: right + s, st.text(min_size=1, max_size=3)),
            st.builds(lambda n: right[:n], st.integers(0, len(right) - 1)),
            st.builds(
                lambda i, c: right[:i] + c + right[i + 1 :],
                st.integers(0, len(right) - 1),
                st.characters(),
            ),
            st.builds(lambda raw: "sha256=" + raw.hex(), st.binary(min_size=32, max_size=32)),
        )
    )
    return secret, body, header


@given(signature_cases())
def test_verify_signature_never_raises_and_accepts_only_the_exact_signature(
    case: tuple[str, bytes, str | None],
) -> None:
    secret, body, header = case
    expected = bool(secret) and header == sign_body(secret, body)
    assert verify_signature(secret, body, header) is expected


# -- handshake --------------------------------------------------------------------------------


def handshake(**overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def test_a_subscription_with_our_token_is_answered_with_its_challenge() -> None:
    assert verify_handshake(handshake(), VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        handshake(**{"hub.verify_token": "wrong-token"}),
        handshake(**{"hub.verify_token": VERIFY_TOKEN[:-1]}),
        handshake(**{"hub.verify_token": VERIFY_TOKEN + "x"}),
        handshake(**{"hub.verify_token": VERIFY_TOKEN.upper()}),
        handshake(**{"hub.verify_token": ""}),
        handshake(**{"hub.verify_token": None}),
        handshake(**{"hub.mode": "unsubscribe"}),
        handshake(**{"hub.mode": "Subscribe"}),
        handshake(**{"hub.mode": ""}),
        handshake(**{"hub.mode": None}),
        handshake(**{"hub.challenge": None}),
        handshake(**{"hub.challenge": ""}),
        handshake(**{"hub.challenge": "12 34"}),
        handshake(**{"hub.challenge": "1234\r\nSet-Cookie: x=1"}),
        handshake(**{"hub.challenge": "9" * 257}),
        {},
    ],
    ids=lambda params: ",".join(f"{k}={v[:12]!r}" for k, v in params.items()) or "empty",
)
def test_a_handshake_with_a_wrong_token_mode_or_challenge_is_refused(
    params: dict[str, str],
) -> None:
    assert verify_handshake(params, VERIFY_TOKEN) is None


def test_an_empty_configured_verify_token_refuses_every_handshake() -> None:
    assert verify_handshake(handshake(**{"hub.verify_token": ""}), "") is None


# -- parsing: exact results -------------------------------------------------------------------


def test_a_realistic_payload_of_statuses_and_an_inbound_text_parses_exactly() -> None:
    batch = parse_webhook(meta_body(REALISTIC_VALUE, INBOUND_VALUE))
    assert batch == WebhookBatch(
        statuses=(
            StatusUpdate(
                message_id=WAMID_1,
                recipient_id="919876543210",
                status=S.SENT,
                timestamp=AT,
                callback_data=DELIVERY_ID,
                pricing_category="marketing",
                conversation_id="a34a10abd87c7badad4d1fc5bafadd71",
            ),
            StatusUpdate(
                message_id=WAMID_1,
                recipient_id="919876543210",
                status=S.DELIVERED,
                timestamp=AT + dt.timedelta(seconds=3),
                callback_data=DELIVERY_ID,
                pricing_category="marketing",
                conversation_id="a34a10abd87c7badad4d1fc5bafadd71",
            ),
            StatusUpdate(
                message_id=WAMID_1,
                recipient_id="919876543210",
                status=S.READ,
                timestamp=AT + dt.timedelta(seconds=90),
                callback_data=DELIVERY_ID,
            ),
            StatusUpdate(
                message_id=WAMID_2,
                recipient_id="919876543211",
                status=S.FAILED,
                timestamp=AT + dt.timedelta(seconds=1),
                error_code=131026,
                error_title="Message undeliverable",
            ),
        ),
        messages=(
            InboundMessage(
                message_id=WAMID_IN,
                from_number="+919876543210",
                timestamp=AT + dt.timedelta(seconds=120),
                type="text",
                text="धन्यवाद, please send the Hindi version too",
                context_message_id=WAMID_1,
            ),
        ),
        rejected=(),
    )


def test_parsed_timestamps_are_aware_utc() -> None:
    batch = parse_webhook(meta_body(REALISTIC_VALUE, INBOUND_VALUE))
    stamps = [s.timestamp for s in batch.statuses] + [m.timestamp for m in batch.messages]
    assert all(stamp.utcoffset() == dt.timedelta(0) for stamp in stamps)


def test_an_inbound_message_that_is_not_text_has_a_type_and_no_text() -> None:
    image = {
        "from": "919876543210",
        "id": WAMID_IN,
        "timestamp": TS,
        "type": "image",
        "image": {"mime_type": "image/jpeg", "sha256": "abc", "id": "1234567890"},
    }
    batch = parse_webhook(meta_body({"metadata": METADATA, "messages": [image]}))
    assert batch.messages == (
        InboundMessage(
            message_id=WAMID_IN, from_number="+919876543210", timestamp=AT, type="image"
        ),
    )
    assert batch.rejected == ()


def test_a_failed_status_without_errors_parses_with_no_error_code() -> None:
    batch = parse_webhook(meta_body({"statuses": [status(status="failed")]}))
    assert batch.statuses[0].status is S.FAILED
    assert batch.statuses[0].error_code is None
    assert batch.statuses[0].error_title is None


def test_an_error_without_a_title_falls_back_to_its_message() -> None:
    failed = status(status="failed", errors=[{"code": 131047, "message": "Re-engagement"}])
    (update,) = parse_webhook(meta_body({"statuses": [failed]})).statuses
    assert (update.error_code, update.error_title) == (131047, "Re-engagement")


def test_a_payload_with_nothing_in_it_is_an_empty_batch() -> None:
    assert parse_webhook(meta_body({"metadata": METADATA})) == WebhookBatch()
    assert parse_webhook(b'{"object":"whatsapp_business_account","entry":[]}') == WebhookBatch()


# -- parsing: rejections ----------------------------------------------------------------------


def test_malformed_statuses_and_messages_are_rejected_while_the_rest_parse() -> None:
    value = {
        "statuses": [
            status(id="wamid.good-1"),
            status(id=None),
            status(status="deleted"),
            status(timestamp=1763856000),
            status(timestamp="17638560.5"),
            status(timestamp="9" * 12),
            status(status="failed", errors=[{"code": "131026", "title": "x"}]),
            status(recipient_id="   "),
            status(biz_opaque_callback_data={"delivery": 1}),
            status(pricing="marketing"),
            "not-an-object",
            status(id="wamid.good-2", status="read"),
        ],
        "messages": [
            {"from": "+919876543210", "id": WAMID_IN, "timestamp": TS, "type": "text"},
            {"from": "919876543210", "id": WAMID_IN, "timestamp": TS, "type": "text"},
            {"from": "919876543210", "id": WAMID_IN, "timestamp": TS, "type": "reaction"},
        ],
    }
    batch = parse_webhook(meta_body(value))
    assert [(s.message_id, s.status) for s in batch.statuses] == [
        ("wamid.good-1", S.SENT),
        ("wamid.good-2", S.READ),
    ]
    assert [m.type for m in batch.messages] == ["reaction"]
    at = "entry[0].changes[0].value"
    assert [r.path for r in batch.rejected] == [
        f"{at}.statuses[1].id",
        f"{at}.statuses[2].status",
        f"{at}.statuses[3].timestamp",
        f"{at}.statuses[4].timestamp",
        f"{at}.statuses[5].timestamp",
        f"{at}.statuses[6].errors[0].code",
        f"{at}.statuses[7].recipient_id",
        f"{at}.statuses[8].biz_opaque_callback_data",
        f"{at}.statuses[9].pricing",
        f"{at}.statuses[10]",
        f"{at}.messages[0].from",
        f"{at}.messages[1].text",
    ]
    reasons = {r.path.rsplit(".", 1)[-1]: r.reason for r in batch.rejected}
    assert reasons["status"] == "must be one of delivered, failed, read, sent (got 'deleted')"
    assert reasons["id"] == "is missing"
    assert all("\n" not in r.reason for r in batch.rejected)


@pytest.mark.parametrize("code", ["131026", True, 131026.0, None, [131026]])
def test_an_error_code_that_is_not_a_json_integer_rejects_its_status(code: object) -> None:
    failed = status(status="failed", errors=[{"code": code, "title": "Message undeliverable"}])
    batch = parse_webhook(meta_body({"statuses": [failed]}))
    assert batch.statuses == ()
    assert [r.path for r in batch.rejected] == [
        "entry[0].changes[0].value.statuses[0].errors[0].code"
    ]


def test_a_bad_entry_or_change_is_rejected_without_hiding_its_neighbours() -> None:
    document = {
        "object": "whatsapp_business_account",
        "entry": [
            "not-an-object",
            {"id": "1"},
            {
                "id": "2",
                "changes": [
                    {"field": "message_template_status_update", "value": {"event": "APPROVED"}},
                    {"field": "messages", "value": []},
                    {"field": "messages", "value": {"statuses": {"id": WAMID_1}}},
                    {"field": "messages", "value": {"statuses": [status()]}},
                    {
                        "field": "messages",
                        "value": {"errors": [{"code": 131000, "title": "Something went wrong"}]},
                    },
                ],
            },
        ],
    }
    batch = parse_webhook(json.dumps(document).encode())
    assert [s.message_id for s in batch.statuses] == [WAMID_1]
    assert [r.path for r in batch.rejected] == [
        "entry[0]",
        "entry[1].changes",
        "entry[2].changes[0].field",
        "entry[2].changes[1].value",
        "entry[2].changes[2].value.statuses",
        "entry[2].changes[4].value.errors[0]",
    ]
    assert "131000" in batch.rejected[-1].reason


@pytest.mark.parametrize("kind", ["page", "instagram", "", None, 1])
def test_a_payload_for_another_object_is_rejected_whole(kind: object) -> None:
    document = json.loads(meta_body(REALISTIC_VALUE, INBOUND_VALUE))
    if kind is None:
        del document["object"]
    else:
        document["object"] = kind
    batch = parse_webhook(json.dumps(document).encode())
    assert batch.statuses == ()
    assert batch.messages == ()
    assert len(batch.rejected) == 1
    assert batch.rejected[0].path == "object"
    assert "whatsapp_business_account" in batch.rejected[0].reason


def test_an_entry_list_that_is_not_a_list_is_a_single_rejection() -> None:
    batch = parse_webhook(b'{"object":"whatsapp_business_account","entry":{}}')
    assert batch.rejected == (Rejection(path="entry", reason="must be a list (got an object)"),)
    missing = parse_webhook(b'{"object":"whatsapp_business_account"}')
    assert missing.rejected == (Rejection(path="entry", reason="is missing"),)


def test_a_rejection_quotes_a_long_foreign_value_only_briefly() -> None:
    batch = parse_webhook(meta_body({"statuses": [status(status="x" * 10_000)]}))
    (rejection,) = batch.rejected
    assert len(rejection.reason) < 200


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "is not valid JSON"),
        (b"not json", "is not valid JSON"),
        (b'{"object": "whatsapp_business_account"', "is not valid JSON"),
        (b"[]", "must be a JSON object at the top level (got a list)"),
        (b'"whatsapp_business_account"', "must be a JSON object at the top level (got a string)"),
        (b"null", "must be a JSON object at the top level (got null)"),
        (b"\xff\xfe{}", "is not UTF-8"),
        ('{"object": "x"}'.encode("utf-16"), "is not UTF-8"),
        (b'\xef\xbb\xbf{"object": "x"}', "is not valid JSON"),
        (b'{"entry": NaN}', "NaN is not JSON"),
        (b'{"entry": -Infinity}', "-Infinity is not JSON"),
        (b'{"object": "a", "object": "whatsapp_business_account"}', "duplicate key 'object'"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"n": ' + b"1" * 5000 + b"}", "is not valid JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_raises_a_typed_error(raw: bytes, reason: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook(raw)
    error = caught.value
    assert isinstance(error, ValidationError)
    assert error.code == "webhook_payload_invalid"
    assert error.field == "body"
    assert reason in error.reason
    assert "\n" not in str(error)


# -- parsing: properties ----------------------------------------------------------------------


@given(st.binary(max_size=512))
def test_parse_webhook_on_arbitrary_bytes_returns_a_batch_or_raises_its_typed_error(
    raw: bytes,
) -> None:
    try:
        batch = parse_webhook(raw)
    except WebhookPayloadError:
        return
    assert isinstance(batch, WebhookBatch)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["sent", "delivered", "read", "failed", "text", "messages", TS, "919"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


Path = tuple[str | int, ...]


def _slots(node: object, path: Path = ()) -> list[tuple[Path, Any, Any]]:
    """Every (path, container, key) below ``node``, so any value can be swapped out."""
    found: list[tuple[Path, Any, Any]] = []
    children: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    for key, child in children:
        found.append(((*path, key), node, key))
        found.extend(_slots(child, (*path, key)))
    return found


@st.composite
def mutated_payloads(draw: st.DrawFn) -> tuple[dict[str, Any], list[Path]]:
    """The realistic payload with one to three values replaced by arbitrary JSON, and the
    paths replaced (replacing values, never inserting, keeps every other path valid)."""
    document: dict[str, Any] = json.loads(meta_body(REALISTIC_VALUE, INBOUND_VALUE))
    damaged: list[Path] = []
    for _ in range(draw(st.integers(1, 3))):
        path, container, key = draw(st.sampled_from(_slots(document)))
        container[key] = draw(JSON_VALUES)
        damaged.append(path)
    return document, damaged


def _is_sound(event: Path, damaged: list[Path]) -> bool:
    """Whether no damage touched ``event``, its ancestors or what they require."""
    change = event[:4]
    required = {("object",), (*change, "field")}
    for path in damaged:
        shorter = min(len(path), len(event))
        if path[:shorter] == event[:shorter] or path in required:
            return False
    return True


ORIGINAL = parse_webhook(meta_body(REALISTIC_VALUE, INBOUND_VALUE))
ORIGINAL_EVENTS: list[tuple[Path, StatusUpdate | InboundMessage]] = [
    *(
        (("entry", 0, "changes", 0, "value", "statuses", i), s)
        for i, s in enumerate(ORIGINAL.statuses)
    ),
    (("entry", 0, "changes", 1, "value", "messages", 0), ORIGINAL.messages[0]),
]


@given(mutated_payloads())
def test_a_damaged_payload_never_crashes_the_parser_and_keeps_its_sound_parts(
    case: tuple[dict[str, Any], list[Path]],
) -> None:
    document, damaged = case
    batch = parse_webhook(json.dumps(document).encode())
    parsed = [*batch.statuses, *batch.messages]
    for path, event in ORIGINAL_EVENTS:
        if _is_sound(path, damaged):
            assert event in parsed, (path, damaged)
    assert all(r.path.startswith(("object", "entry")) and r.reason for r in batch.rejected)
    for update in batch.statuses:
        assert update.status in STATUS_VALUES
        assert update.timestamp.tzinfo is not None


@st.composite
def status_updates(draw: st.DrawFn) -> StatusUpdate:
    state = draw(st.sampled_from(sorted(STATUS_VALUES)))
    failed = state is S.FAILED
    code = draw(st.sampled_from(sorted(ERROR_TITLES)) | st.integers(1, 10**9)) if failed else None
    return StatusUpdate(
        message_id="wamid." + draw(st.from_regex(r"[A-Za-z0-9_=-]{1,60}", fullmatch=True)),
        recipient_id=draw(st.from_regex(r"[1-9][0-9]{9,14}", fullmatch=True)),
        status=state,
        timestamp=dt.datetime.fromtimestamp(draw(st.integers(0, 2**33)), tz=dt.UTC),
        callback_data=draw(st.none() | st.text(max_size=512)),
        error_code=code,
        error_title=draw(st.text(max_size=80)) if failed else None,
        pricing_category=draw(
            st.none() | st.sampled_from(["marketing", "utility", "authentication", "service"])
        ),
        conversation_id=draw(st.none() | st.from_regex(r"[0-9a-f]{32}", fullmatch=True)),
    )


@given(st.lists(status_updates(), max_size=8))
def test_the_simulators_status_webhook_parses_back_into_the_same_events(
    updates: list[StatusUpdate],
) -> None:
    body = build_status_webhook([attrs.asdict(update, recurse=False) for update in updates])
    assert parse_webhook(body) == WebhookBatch(statuses=tuple(updates))
    assert verify_signature(SECRET, body, sign_body(SECRET, body))


def test_the_simulator_fills_in_metas_title_for_an_error_code() -> None:
    body = build_status_webhook(
        [
            {
                "message_id": WAMID_2,
                "recipient_id": "919876543211",
                "status": "failed",
                "timestamp": 1763856001,
                "error_code": 131026,
            }
        ]
    )
    (update,) = parse_webhook(body).statuses
    assert update.error_code == 131026
    assert update.error_title == ERROR_TITLES[131026]
    assert update.timestamp == AT + dt.timedelta(seconds=1)


def test_the_simulator_refuses_an_event_field_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="wamid"):
        build_status_webhook([{"wamid": WAMID_1, "status": "sent", "timestamp": 0}])
