from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain import Advisor, AdvisorStatus, AdvisorType, Language, ValidationError
from projectone.domain.advisor import MASK, mask_email, mask_phone, parse_send_time
from projectone.testing.strategies import advisors, registration_numbers

NOW = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)


def make(**overrides: Any) -> Advisor:
    fields: dict[str, Any] = {
        "id": uuid.UUID(int=1),
        "name": "Priya Sharma",
        "type": "MFD",
        "registration_no": "ARN-12345",
        "email": "priya@example.in",
        "whatsapp_number": "+919876543210",
        "languages": ["en", "hi"],
        "created_at": NOW,
    }
    fields.update(overrides)
    return Advisor(**fields)


def test_a_valid_advisor_gets_the_product_defaults() -> None:
    advisor = make()
    assert advisor.send_time == dt.time(6, 0)
    assert advisor.languages == (Language.EN, Language.HI)
    assert advisor.status is AdvisorStatus.ACTIVE
    assert not advisor.receives_whatsapp  # no opt-in yet


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"registration_no": "ARN-"}, "registration_no"),
        ({"registration_no": "ARN-12345678"}, "registration_no"),
        ({"type": "RIA", "registration_no": "ARN-12345"}, "registration_no"),
        ({"type": "RIA", "registration_no": "INA12345678"}, "registration_no"),
        ({"type": "RIA", "registration_no": "ina000012345"}, "registration_no"),
        ({"type": "XYZ"}, "type"),
        ({"email": "priya.example.in"}, "email"),
        ({"email": "priya@example"}, "email"),
        ({"email": "pri ya@example.in"}, "email"),
        ({"whatsapp_number": "9876543210"}, "whatsapp_number"),
        ({"whatsapp_number": "+0123456789"}, "whatsapp_number"),
        ({"whatsapp_number": "+91 98765 43210"}, "whatsapp_number"),
        ({"languages": ["en", "fr"]}, "languages"),
        ({"languages": []}, "languages"),
        ({"languages": "en"}, "languages"),
        ({"languages": ["en", "en"]}, "languages"),
        ({"name": "  "}, "name"),
        ({"tier": "gold"}, "tier"),
        ({"created_at": dt.datetime(2026, 1, 1)}, "created_at"),
        ({"whatsapp_opt_in_at": dt.datetime(2026, 1, 1)}, "whatsapp_opt_in_at"),
    ],
)
def test_bad_input_is_refused_with_an_error_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make(**overrides)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_an_advisor_stays_valid_through_evolve() -> None:
    with pytest.raises(ValidationError, match="email"):
        attrs.evolve(make(), email="not-an-email")


@given(st.sampled_from(AdvisorType), st.data())
def test_every_well_formed_registration_number_is_accepted(
    kind: AdvisorType, data: st.DataObject
) -> None:
    number = data.draw(registration_numbers(kind))
    assert make(type=kind, registration_no=number).registration_no == number


@given(st.sampled_from(AdvisorType), st.text(max_size=14))
def test_a_registration_number_is_accepted_only_in_its_types_shape(
    kind: AdvisorType, text: str
) -> None:
    import re

    shape = r"INA\d{9}" if kind is AdvisorType.RIA else r"ARN-\d{1,7}"
    well_formed = re.fullmatch(shape, text, flags=re.ASCII) is not None
    try:
        make(type=kind, registration_no=text)
    except ValidationError as exc:
        assert exc.field == "registration_no"
        assert not well_formed
    else:
        assert well_formed


@given(advisors())
def test_only_active_opted_in_advisors_receive_whatsapp(advisor: Advisor) -> None:
    assert advisor.receives_whatsapp == (
        advisor.status is AdvisorStatus.ACTIVE and advisor.whatsapp_opt_in_at is not None
    )


# -- masking and send times ------------------------------------------------------------------


@given(advisors())
def test_masked_personal_data_keeps_only_the_country_code_last_digits_and_domain(
    advisor: Advisor,
) -> None:
    phone = mask_phone(advisor.whatsapp_number)
    assert len(phone) == len(advisor.whatsapp_number)
    assert phone[:3] == advisor.whatsapp_number[:3] == "+91"
    assert phone[-4:] == advisor.whatsapp_number[-4:]
    assert set(phone[3:-4]) == {MASK}
    local, _, domain = advisor.email.rpartition("@")
    email = mask_email(advisor.email)
    assert email == f"{local[0]}{MASK * 3}@{domain}"


def test_the_mask_looks_as_documented() -> None:
    assert mask_phone("+919876541234") == "+91••••••1234"
    assert mask_email("priya.sharma@example.in") == "p•••@example.in"
    assert mask_phone("+1234") == "•••••"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("06:00", dt.time(6, 0)), ("00:00", dt.time(0, 0)), ("23:59", dt.time(23, 59))],
)
def test_a_send_time_is_hh_mm(text: str, expected: dt.time) -> None:
    assert parse_send_time(text) == expected


@pytest.mark.parametrize("text", ["6:00", "24:00", "06:60", "06:00:00", " 06:00", "", 600, None])
def test_anything_else_is_not_a_send_time(text: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_send_time(text)
    assert caught.value.field == "send_time"
