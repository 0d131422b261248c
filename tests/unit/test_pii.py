"""Personal data in free text: masking it for logs, erasing one person from stored text."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.advisor import MASK
from projectone.domain.pii import contains_pii, mask_pii, redact

# --- strategies ---------------------------------------------------------------------------

# Text around a piece of personal data: letters (Latin and Devanagari), punctuation, spaces;
# no digits, so the number drawn is the only one.
_AROUND = st.lists(
    st.sampled_from(
        [
            *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'\"()[]/@#&*=_-",
            *["नमस्ते", "फ़ोन", "मेरा"],
        ]
    ),
    max_size=20,
).map("".join)
# What separates the data from the text around it: a digit run glued to letters is
# deliberately left alone (it is part of an identifier), so there is always one.
_GAP = st.sampled_from([" ", ", ", ": ", " (", ") ", "\n", "\t", "=", " <", "> ", "'", '"'])

_emails = st.from_regex(r"[a-z0-9][a-z0-9._%+-]{0,19}@[a-z0-9]{1,12}\.(in|com|org)", fullmatch=True)


@st.composite
def indian_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """An Indian mobile as people write it, and its ten-digit national number."""
    national = draw(st.from_regex(r"[6-9][0-9]{9}", fullmatch=True))
    prefix = draw(st.sampled_from(["", "+91", "91", "0", "+91 ", "+91-", "91 ", "0 "]))
    grouping = draw(st.sampled_from([(5, 5), (3, 3, 4), (4, 3, 3), (2, 2, 2, 2, 2), (10,)]))
    separator = draw(st.sampled_from([" ", "-"]))
    groups, at = [], 0
    for size in grouping:
        groups.append(national[at : at + size])
        at += size
    return prefix + separator.join(groups), national


_pans = st.from_regex(r"[A-Z]{5}[0-9]{4}[A-Z]", fullmatch=True)


@st.composite
def aadhaars(draw: st.DrawFn) -> str:
    digits = draw(st.from_regex(r"[2-9][0-9]{11}", fullmatch=True))
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join((digits[:4], digits[4:8], digits[8:]))


_sha256s = st.binary(min_size=32, max_size=32).map(bytes.hex)
_uuids = st.uuids().map(str)
_ina = st.from_regex(r"INA[0-9]{9}", fullmatch=True)
_arn = st.from_regex(r"ARN-[0-9]{1,7}", fullmatch=True)
_timestamps = st.datetimes().map(lambda d: d.isoformat())
# Characters that make up personal data and its neighbours, to stress the boundaries.
_TRICKY = st.text(alphabet="0123456789 -+.@%2Bab_AZx:T\u2022", max_size=60)


def embed(data: st.DataObject, pii: str, around: st.SearchStrategy[str] = _AROUND) -> str:
    return data.draw(around) + data.draw(_GAP) + pii + data.draw(_GAP) + data.draw(around)


# --- mask_pii: examples -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sent to +919876543210", f"sent to +{MASK * 8}3210"),
        ("wa_id=919876543210 ok", f"wa_id={MASK * 8}3210 ok"),
        ("call 98765 43210.", f"call {MASK * 6}3210."),
        ("call 98765-43210 now", f"call {MASK * 6}3210 now"),
        ("+91 98765 43210", f"+{MASK * 8}3210"),
        ("trunk 09876543210", f"trunk {MASK * 7}3210"),
        ("US +14155552671", f"US +{MASK * 7}2671"),
        ("GET /advisors?phone=%2B919876543210 200", f"GET /advisors?phone=%2B{MASK * 8}3210 200"),
        ("mail asha.d@example.in now", f"mail a{MASK * 3}@example.in now"),
        ("<asha@example.co.in>.", f"<a{MASK * 3}@example.co.in>."),
        ("PAN ABCDE1234F on file", f"PAN {MASK * 10} on file"),
        ("aadhaar 2345 6789 0123", f"aadhaar {MASK * 14}"),
        ("aadhaar 2345-6789-0123", f"aadhaar {MASK * 14}"),
        ("aadhaar 234567890123", f"aadhaar {MASK * 12}"),
        ("मेरा नंबर 9876543210 है", f"मेरा नंबर {MASK * 6}3210 है"),
        ("ईमेल priya@example.in पर भेजें", f"ईमेल p{MASK * 3}@example.in पर भेजें"),
    ],
)
def test_personal_data_in_text_is_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
    assert contains_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "advisor 123e4567-e89b-12d3-a456-426614174000 planned",
        "digest e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "2026-11-23T06:00:00+05:30 and 2026-11-23 06:00:00,123 and 2026-11-23",
        "registration INA123456789, distributor ARN-12345",
        "wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgSQkVCRjE4MDVGMzY4RTAwQzE1AA== delivered",
        '127.0.0.1:8080 "GET /health HTTP/1.1" 200 512 0.012345s',
        "took 1234 ms, 503 after 3 retries, latency 0.9876543210",
        "user@localhost and a@b.c1 are not addresses",
        "order abc9876543210 and x234567890123y are parts of identifiers",
        "हिन्दी अंक ९८७६५४३२१० छोड़ दिए जाते हैं",
        "",
    ],
)
def test_what_the_service_logs_about_itself_is_left_alone(text: str) -> None:
    assert mask_pii(text) == text
    assert not contains_pii(text)


def test_a_number_in_an_email_domain_is_masked_with_the_address() -> None:
    assert mask_pii("x@9876543210.example.in") == f"x{MASK * 3}@{MASK * 6}3210.example.in"


def test_masking_a_long_hostile_line_stays_fast() -> None:
    hostile = [
        "a" * 50_000 + "@",
        "a." * 25_000 + "@" + "b." * 25_000,
        "9 " * 50_000,
        "+" + "9" * 100_000,
        "1-" * 50_000,
    ]
    started = time.perf_counter()
    for text in hostile:
        mask_pii(text)
    assert time.perf_counter() - started < 2.0


# --- mask_pii: properties -----------------------------------------------------------------


@given(st.data(), _emails)
def test_no_email_address_survives_masking(data: st.DataObject, email: str) -> None:
    text = embed(data, email)
    assert email not in mask_pii(text)


@given(st.data(), indian_mobiles())
def test_no_indian_mobile_survives_masking(data: st.DataObject, mobile: tuple[str, str]) -> None:
    written, national = mobile
    masked = mask_pii(embed(data, written))
    assert written not in masked
    assert national not in re.sub(r"[^0-9]", "", masked)


@given(st.data(), st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True))
def test_no_e164_number_survives_masking(data: st.DataObject, number: str) -> None:
    masked = mask_pii(embed(data, number))
    assert number not in masked
    assert number[1:] not in masked


@given(st.data(), _pans)
def test_no_pan_survives_masking(data: st.DataObject, pan: str) -> None:
    assert pan not in mask_pii(embed(data, pan))


@given(st.data(), aadhaars())
def test_no_aadhaar_number_survives_masking(data: st.DataObject, aadhaar: str) -> None:
    masked = mask_pii(embed(data, aadhaar))
    assert aadhaar not in masked
    assert re.sub(r"[^0-9]", "", aadhaar) not in re.sub(r"[^0-9]", "", masked)


@given(st.data(), st.one_of(_uuids, _sha256s, _ina, _arn, _timestamps))
def test_service_identifiers_survive_masking(data: st.DataObject, identifier: str) -> None:
    # No @ around it: the text around could otherwise spell an email address of its own.
    text = embed(data, identifier, _AROUND.map(lambda t: t.replace("@", " ")))
    assert mask_pii(text) == text


@given(st.one_of(st.text(), _TRICKY))
def test_masking_twice_is_masking_once(text: str) -> None:
    once = mask_pii(text)
    assert mask_pii(once) == once


@given(st.text())
def test_masking_never_raises(text: str) -> None:
    assert isinstance(mask_pii(text), str)


# --- redact -------------------------------------------------------------------------------


def test_a_name_is_erased_as_a_whole_word_only() -> None:
    text = "Asha's plan: Asha, asha and ASHA agreed; Ashaben and Prasha did not."
    assert redact(text, ["Asha"]) == (
        "[erased]'s plan: [erased], [erased] and [erased] agreed; Ashaben and Prasha did not."
    )


def test_a_devanagari_name_is_erased_as_a_whole_word_only() -> None:
    assert redact("आशा ने कहा, आशाबेन नहीं", ["आशा"]) == "[erased] ने कहा, आशाबेन नहीं"


def test_case_is_ignored_with_full_casefolding() -> None:
    assert redact("Herr STRASSE und Herr Straße", ["strasse"]) == "Herr [erased] und Herr [erased]"


def test_a_longer_identifier_is_erased_before_a_shorter_one() -> None:
    assert redact("Asha Devi wrote; Asha  devi replied", ["Asha", "Asha Devi"]) == (
        "[erased] wrote; [erased] replied"
    )


@pytest.mark.parametrize(
    "written",
    [
        "+919876543210",
        "919876543210",
        "9876543210",
        "98765 43210",
        "98765-43210",
        "+91 98765 43210",
        "+91-98765-43210",
        "09876543210",
        "%2B919876543210",
    ],
)
def test_a_phone_number_is_erased_in_any_spelling(written: str) -> None:
    assert redact(f"call {written} today", ["+919876543210"]) == "call [erased] today"


def test_a_phone_number_inside_a_longer_number_is_not_erased() -> None:
    assert redact("ref 19876543210 and 98765432101", ["+919876543210"]) == (
        "ref 19876543210 and 98765432101"
    )


def test_an_email_address_is_erased_ignoring_case() -> None:
    assert redact("from Asha.D@Example.IN: hi", ["asha.d@example.in"]) == "from [erased]: hi"


def test_blank_identifiers_are_ignored() -> None:
    assert redact("nothing to see", ["", "   ", "\t"]) == "nothing to see"


def test_the_replacement_can_be_chosen_and_is_not_searched_again() -> None:
    assert redact("Asha met Ravi", ["asha", "ravi", "gone"], replacement="gone") == (
        "gone met gone"
    )


@given(st.text(), st.lists(st.text(max_size=12), max_size=4))
def test_redaction_never_raises(text: str, identifiers: list[str]) -> None:
    assert isinstance(redact(text, identifiers), str)


@given(st.data(), st.from_regex(r"[A-Za-z]{2,12}( [A-Za-z]{2,12})?", fullmatch=True))
def test_an_erased_name_is_gone(data: st.DataObject, name: str) -> None:
    around = data.draw(st.text(alphabet=" .,;:!?()-", min_size=1, max_size=10))
    text = around + name.upper() + around + name.lower() + around
    assert name.casefold() not in redact(text, [name], replacement="<>").casefold()
