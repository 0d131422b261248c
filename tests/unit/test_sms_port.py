"""The SMS port: DLT fields checked when a message is built, SMS length counting (GSM-7 and
UCS-2, with worked examples), DLT templates, and the strict delivery-report parser."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.adapters.sms_gateway import DeliveryReportError, parse_delivery_report
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.errors import ValidationError
from projectone.ports.sms import (
    DEFAULT_MAX_SEGMENTS,
    DLT_VARIABLE,
    MAX_SEGMENTS_CEILING,
    MAX_VARIABLE_LENGTH,
    DltTemplate,
    OutboundSms,
    SmsCategory,
    SmsEncoding,
    SmsLength,
    measure_sms,
)

__all__: list[str] = []

TEMPLATE_ID = "1107170000000000001"
ENTITY_ID = "1201160000000000001"


def make_sms(**overrides: Any) -> OutboundSms:
    fields: dict[str, Any] = {
        "to": "+919876543210",
        "body": "Dear investor, today's note is on WhatsApp. -PRJONE",
        "dlt_template_id": TEMPLATE_ID,
        "sender_header": "PRJONE",
        "principal_entity_id": ENTITY_ID,
        "category": "service_implicit",
        "callback_data": "0b7e1c2a-5d7c-4c1e-9a44-1f0e6a3b2c10",
    }
    fields.update(overrides)
    return OutboundSms(**fields)


def field_error(**overrides: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        make_sms(**overrides)
    return caught.value


# -- OutboundSms ----------------------------------------------------------------------------


def test_a_well_formed_message_keeps_its_fields_and_converts_the_category() -> None:
    sms = make_sms()

    assert sms.category is SmsCategory.SERVICE_IMPLICIT
    assert sms.category.header_suffix == "S"
    assert sms.max_segments == DEFAULT_MAX_SEGMENTS
    assert sms.length == SmsLength(encoding=SmsEncoding.GSM7, units=51, segments=1)


@pytest.mark.parametrize(
    ("category", "suffix"),
    [
        ("transactional", "T"),
        ("service_implicit", "S"),
        ("service_explicit", "S"),
        ("promotional", "P"),
    ],
)
def test_each_category_names_the_header_suffix_the_network_adds(category: str, suffix: str) -> None:
    assert SmsCategory(category).header_suffix == suffix


def test_an_unknown_category_is_refused_naming_the_allowed_ones() -> None:
    error = field_error(category="marketing")

    assert error.field == "category"
    assert "service_explicit" in error.reason


@pytest.mark.parametrize(
    "header",
    ["PRJON", "PRJONES", "prjone", "PRJ0NE", "VM-PRJONE", "PRJONE-S", "PRJ NE", "ПРДЖОН", ""],
)
def test_a_service_header_must_be_six_capital_letters_without_prefix_or_suffix(
    header: str,
) -> None:
    error = field_error(sender_header=header)

    assert error.field == "sender_header"


def test_a_promotional_header_is_six_digits_and_a_letter_header_is_refused_for_it() -> None:
    assert make_sms(category="promotional", sender_header="567890").sender_header == "567890"

    error = field_error(category="promotional", sender_header="PRJONE")
    assert error.field == "sender_header"
    assert "6 digits" in error.reason
    assert field_error(category="transactional", sender_header="567890").field == "sender_header"


@pytest.mark.parametrize("field", ["dlt_template_id", "principal_entity_id"])
@pytest.mark.parametrize(
    "value",
    ["", "110717000000000000A", "1107 1700 0000 0000 001", "123456789", "1" * 26, "١٢٣٤٥٦٧٨٩٠"],
)
def test_dlt_ids_must_be_ascii_digits_of_a_plausible_length(field: str, value: str) -> None:
    error = field_error(**{field: value})

    assert error.field == field
    assert "digits" in error.reason


def test_dlt_ids_of_ten_and_twenty_five_digits_are_accepted() -> None:
    assert make_sms(dlt_template_id="1" * 10, principal_entity_id="2" * 25)


@pytest.mark.parametrize(
    "to", ["919876543210", "+91 9876543210", "+0919876543210", "+91987654321", "+915876543210"]
)
def test_the_recipient_must_be_e164_and_an_indian_number_a_mobile(to: str) -> None:
    assert field_error(to=to).field == "to"


def test_a_foreign_e164_number_is_accepted() -> None:
    assert make_sms(to="+971501234567").to == "+971501234567"


@pytest.mark.parametrize("callback_data", ["", "has space", "a/b", "x" * 65, "डिलीवरी"])
def test_callback_data_must_be_a_short_plain_reference(callback_data: str) -> None:
    assert field_error(callback_data=callback_data).field == "callback_data"


def test_callback_data_may_be_left_out() -> None:
    assert make_sms(callback_data=None).callback_data is None


@pytest.mark.parametrize("body", ["", "   \n"])
def test_a_blank_body_is_refused(body: str) -> None:
    assert field_error(body=body).field == "body"


@pytest.mark.parametrize("max_segments", [0, MAX_SEGMENTS_CEILING + 1, True, 2.0])
def test_max_segments_must_be_a_whole_number_up_to_the_ceiling(max_segments: object) -> None:
    assert field_error(max_segments=max_segments).field == "max_segments"


def test_a_body_beyond_max_segments_is_refused_with_the_count_and_encoding() -> None:
    # 4 GSM-7 parts hold 4 × 153 = 612 septets; 613 need a fifth part.
    assert make_sms(body="A" * 612).length.segments == 4
    error = field_error(body="A" * 613)

    assert error.field == "body"
    assert "needs 5 SMS parts in GSM7" in error.reason
    assert "at most 4" in error.reason
    assert error.value == "<613 characters>"


def test_hindi_runs_out_of_parts_much_sooner_than_english() -> None:
    # 4 UCS-2 parts hold 4 × 67 = 268 code units.
    assert make_sms(body="न" * 268).length.segments == 4
    error = field_error(body="न" * 269)

    assert "needs 5 SMS parts in UCS2" in error.reason
    assert make_sms(body="न" * 269, max_segments=5).length.segments == 5


def test_a_smaller_max_segments_is_honoured() -> None:
    assert field_error(body="A" * 161, max_segments=1).field == "body"


# -- measure_sms: worked examples -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "encoding", "units", "segments"),
    [
        # Latin text in the GSM 03.38 alphabet: 160 septets in one SMS, 153 per part beyond.
        ("Good morning", SmsEncoding.GSM7, 12, 1),
        ("A" * 160, SmsEncoding.GSM7, 160, 1),
        ("A" * 161, SmsEncoding.GSM7, 161, 2),
        ("A" * 306, SmsEncoding.GSM7, 306, 2),
        ("A" * 307, SmsEncoding.GSM7, 307, 3),
        # Accented letters of the basic table are one septet each.
        ("Café à Genève, Zürich", SmsEncoding.GSM7, 21, 1),
        # Extension-table characters take two septets (escape + character).
        ("€" * 80, SmsEncoding.GSM7, 160, 1),
        ("€" * 81, SmsEncoding.GSM7, 162, 2),
        # 21 characters, 8 of them from the extension table: 29 septets.
        ("[SIP] {monthly} ~ |^\\", SmsEncoding.GSM7, 29, 1),
        # An escape pair never straddles a part: 306 septets, yet 3 parts (152 | 153 | 1).
        ("A" * 152 + "€" + "A" * 152, SmsEncoding.GSM7, 306, 3),
        # Hindi: every code point (consonant, virama, vowel sign) is one UTF-16 unit.
        ("नमस्ते", SmsEncoding.UCS2, 6, 1),
        ("न" * 70, SmsEncoding.UCS2, 70, 1),
        ("न" * 71, SmsEncoding.UCS2, 71, 2),
        ("न" * 134, SmsEncoding.UCS2, 134, 2),
        ("न" * 135, SmsEncoding.UCS2, 135, 3),
        # Marathi "investment": ग ु ं त व ण ू क.
        ("गुंतवणूक", SmsEncoding.UCS2, 8, 1),
        # A conjunct is several code points: क ् ष.
        ("क्ष", SmsEncoding.UCS2, 3, 1),
        # One rupee sign (not in GSM 03.38) turns the whole message into UCS-2.
        ("₹500 SIP", SmsEncoding.UCS2, 8, 1),
        ("A" * 159 + "₹", SmsEncoding.UCS2, 160, 3),
        # Curly quotes do too.
        ("It’s your SIP day", SmsEncoding.UCS2, 17, 1),
        # An emoji outside the BMP is a surrogate pair: two units.
        ("🙏", SmsEncoding.UCS2, 2, 1),
        # ... which never straddles a part: 134 units, yet 3 parts (66 | 67 | 1).
        ("न" * 66 + "🙏" + "न" * 66, SmsEncoding.UCS2, 134, 3),
        # Mixed English and Hindi is UCS-2 throughout.
        ("SIP: मासिक निवेश", SmsEncoding.UCS2, 16, 1),
    ],
)
def test_measure_sms_worked_examples(
    body: str, encoding: SmsEncoding, units: int, segments: int
) -> None:
    assert measure_sms(body) == SmsLength(encoding=encoding, units=units, segments=segments)


@given(st.text(alphabet="ABCXYZabc0123 .,", min_size=1, max_size=1000))
def test_plain_ascii_parts_are_the_textbook_formula(body: str) -> None:
    length = measure_sms(body)

    assert length.encoding is SmsEncoding.GSM7
    expected = 1 if len(body) <= 160 else -(-len(body) // 153)
    assert length.segments == expected


@given(st.text(min_size=1, max_size=600))
def test_parts_are_never_fewer_than_the_units_allow(body: str) -> None:
    length = measure_sms(body)

    single, part = (160, 153) if length.encoding is SmsEncoding.GSM7 else (70, 67)
    if length.units <= single:
        assert length.segments == 1
    else:
        assert length.segments >= -(-length.units // part)
        # A character is at most two units, so at most one unit is lost per boundary.
        assert length.segments <= -(-length.units // (part - 1))


# -- DLT templates --------------------------------------------------------------------------


def english_template() -> DltTemplate:
    return DltTemplate(
        template_id=TEMPLATE_ID,
        text="Dear investor, {#var#} has shared today's note: {#var#}. -PRJONE",
        category="service_implicit",
    )


def test_a_template_renders_and_matches_its_rendering() -> None:
    template = english_template()

    text = template.render("Asha Rao", "SIP basics")

    assert text == "Dear investor, Asha Rao has shared today's note: SIP basics. -PRJONE"
    assert template.variables == 2
    assert template.matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Dear investor, Asha Rao has shared today's note: SIP basics -PRJONE",  # "." dropped
        "dear investor, Asha Rao has shared today's note: SIP basics. -PRJONE",  # case
        "Dear investor,  Asha has shared today's note: x. -PRJONE ",  # trailing space
        "Dear investor, " + "x" * 31 + " has shared today's note: x. -PRJONE",  # variable > 30
        "Guaranteed returns! Dear investor, A has shared today's note: x. -PRJONE",
    ],
)
def test_a_template_refuses_text_that_is_not_an_exact_fill(text: str) -> None:
    assert not english_template().matches(text)


def test_render_refuses_a_wrong_number_of_values_or_an_overlong_value() -> None:
    template = english_template()

    with pytest.raises(ValidationError):
        template.render("only one")
    with pytest.raises(ValidationError):
        template.render("x" * 31, "y")


def test_a_template_needs_fixed_text_and_a_dlt_id() -> None:
    with pytest.raises(ValidationError):
        DltTemplate(template_id=TEMPLATE_ID, text="{#var#} {#var#}", category="transactional")
    with pytest.raises(ValidationError):
        DltTemplate(template_id="T-1", text="Hello {#var#}", category="transactional")


def test_a_near_miss_against_many_slots_is_decided_without_backtracking_blowup() -> None:
    # A backtracking regex takes exponential time here (each slot can absorb 0-30 spaces);
    # the position-set matcher answers at once. No timing assertion: it simply must return.
    template = DltTemplate(
        template_id=TEMPLATE_ID,
        text="Hi " + " ".join([DLT_VARIABLE] * 8) + " end",
        category="transactional",
    )

    assert not template.matches("Hi " + " " * 160 + " enx")
    assert template.matches("Hi a b c d e f g h end")


_PIECES = st.text(alphabet="ab ", max_size=4)


@given(
    fixed=st.lists(_PIECES, min_size=1, max_size=4).filter(lambda parts: "".join(parts).strip()),
    text=st.text(alphabet="ab ", max_size=80),
)
def test_template_matching_agrees_with_a_regular_expression(fixed: list[str], text: str) -> None:
    template = DltTemplate(
        template_id=TEMPLATE_ID, text=DLT_VARIABLE.join(fixed), category="transactional"
    )
    slot = f"(?s:.{{0,{MAX_VARIABLE_LENGTH}}})"
    oracle = re.compile(slot.join(re.escape(part) for part in fixed))

    assert template.matches(text) == (oracle.fullmatch(text) is not None)


def test_a_hindi_template_matches_with_its_variables_filled() -> None:
    template = DltTemplate(
        template_id=TEMPLATE_ID,
        text="प्रिय निवेशक, {#var#} ने आज का नोट भेजा है। -PRJONE",
        category="service_implicit",
    )

    assert template.matches("प्रिय निवेशक, आशा राव ने आज का नोट भेजा है। -PRJONE")


# -- parse_delivery_report ------------------------------------------------------------------


def report(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "date": "2024-05-22 06:01:20",
        "number": "919876543210",
        "status": "1",
        "desc": "DELIVERED",
        "CRQID": "delivery-42",
        "failedReason": "",
        "credit": "1",
    }
    item.update(overrides)
    return item


def webhook(*reports: dict[str, Any], request_id: str = "3365646f0000000000000001") -> bytes:
    body = [{"senderId": "PRJONE", "requestId": request_id, "report": list(reports)}]
    return json.dumps(body).encode()


def test_a_delivered_report_is_read_with_ist_converted_to_utc() -> None:
    (parsed,) = parse_delivery_report(webhook(report()))

    assert parsed.message_id == "3365646f0000000000000001"
    assert parsed.recipient == "+919876543210"
    assert parsed.status is DeliveryStatus.DELIVERED
    assert parsed.gateway_status == 1
    assert parsed.description == "DELIVERED"
    # 06:01:20 IST is 00:31:20 UTC.
    assert parsed.timestamp == dt.datetime(2024, 5, 22, 0, 31, 20, tzinfo=dt.UTC)
    assert parsed.callback_data == "delivery-42"
    assert parsed.sender_header == "PRJONE"
    assert parsed.failure_reason is None


def test_failure_statuses_keep_the_gateway_code_and_reason() -> None:
    parsed = parse_delivery_report(
        webhook(
            report(status="9", desc="NDNC", number="919800000001"),
            report(
                status=17, desc="BLOCKED", failedReason="Blocked by user", number="919800000002"
            ),
            report(status="2", desc=None, CRQID="", number="919800000003"),
        )
    )

    assert [p.status for p in parsed] == [DeliveryStatus.FAILED] * 3
    assert [p.gateway_status for p in parsed] == [9, 17, 2]
    assert parsed[1].failure_reason == "Blocked by user"
    assert parsed[2].description == "failed"  # the gateway's word when it gives none
    assert parsed[2].callback_data is None


def test_several_requests_and_reports_keep_their_order() -> None:
    body = [
        {"requestId": "r1", "report": [report(number="919800000001")]},
        {"requestId": "r2", "report": [report(number="919800000002"), report(status="2")]},
    ]

    parsed = parse_delivery_report(json.dumps(body).encode())

    assert [(p.message_id, p.recipient) for p in parsed] == [
        ("r1", "+919800000001"),
        ("r2", "+919800000002"),
        ("r2", "+919876543210"),
    ]
    assert parsed[0].sender_header is None


def test_the_form_encoded_body_msg91_posts_is_read_too() -> None:
    raw = urlencode({"data": webhook(report()).decode()}).encode()

    (parsed,) = parse_delivery_report(raw)

    assert parsed.callback_data == "delivery-42"


def test_an_empty_array_is_no_reports() -> None:
    assert parse_delivery_report(b"[]") == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"\xff\xfe", "body"),
        (b"", "body"),
        (b"{not json", "body"),
        (b'[{"requestId": "r", "report": [{"status": NaN}]}]', "body"),
        (b'[{"requestId": "r", "requestId": "s", "report": []}]', "body"),
        (b'{"requestId": "r"}', "body"),
        (b"data=%5B%5D&extra=1", "body"),
        (b"[1]", "[0]"),
        (b'[{"report": []}]', "[0].requestId"),
        (b'[{"requestId": "  ", "report": []}]', "[0].requestId"),
        (b'[{"requestId": "r", "report": []}]', "[0].report"),
        (b'[{"requestId": "r", "senderId": 5, "report": [{}]}]', "[0].senderId"),
    ],
)
def test_a_malformed_body_raises_naming_where(raw: bytes, field: str) -> None:
    with pytest.raises(DeliveryReportError) as caught:
        parse_delivery_report(raw)

    assert caught.value.field == field
    assert caught.value.code == "sms_report_invalid"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"number": "+919876543210"}, "number"),
        ({"number": "98765"}, "number"),
        ({"number": None}, "number"),
        ({"status": "7"}, "status"),
        ({"status": "DELIVERED"}, "status"),
        ({"status": True}, "status"),
        ({"status": None}, "status"),
        ({"date": "2024-05-22T06:01:20"}, "date"),
        ({"date": "2024-02-30 06:01:20"}, "date"),
        ({"date": 1716337880}, "date"),
        ({"CRQID": 42}, "CRQID"),
        ({"desc": ["DELIVERED"]}, "desc"),
    ],
)
def test_a_malformed_report_field_raises_naming_it(overrides: dict[str, Any], field: str) -> None:
    body = webhook(report(), report(**overrides))

    with pytest.raises(DeliveryReportError) as caught:
        parse_delivery_report(body)

    assert caught.value.field == f"[0].report[1].{field}"


def test_a_long_foreign_value_is_shortened_in_the_error() -> None:
    with pytest.raises(DeliveryReportError) as caught:
        parse_delivery_report(webhook(report(status="9" * 5000)))

    assert len(str(caught.value)) < 300
