from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.errors import ValidationError
from projectone.domain.failure import (
    CODE_RANGES,
    KNOWN_CODES,
    FailureClass,
    classify,
)

F = FailureClass

# (code, class, retryable, SMS fallback): the brief's table, as an operator would read it.
EXPECTED = [
    (130429, F.RATE_LIMIT, True, True),
    (131056, F.RATE_LIMIT, True, True),
    (80007, F.RATE_LIMIT, True, True),
    (4, F.RATE_LIMIT, True, True),
    (131000, F.SYSTEM_ERROR, True, True),
    (131016, F.SYSTEM_ERROR, True, True),
    (131057, F.SYSTEM_ERROR, True, True),
    (2, F.SYSTEM_ERROR, True, True),
    (131026, F.INVALID_NUMBER, False, True),
    (130472, F.INVALID_NUMBER, False, True),
    (131047, F.REENGAGEMENT_REQUIRED, False, True),
    (131049, F.CONTENT_VIOLATION, False, True),
    (131050, F.CONTENT_VIOLATION, False, False),
    (131048, F.RATE_LIMIT, False, True),
    (131051, F.CONTENT_VIOLATION, False, True),
    (131052, F.CONTENT_VIOLATION, False, True),
    (131053, F.CONTENT_VIOLATION, False, True),
    (131008, F.CONTENT_VIOLATION, False, True),
    (131009, F.CONTENT_VIOLATION, False, True),
    (100, F.CONTENT_VIOLATION, False, True),
    (132000, F.TEMPLATE_ERROR, False, True),
    (132001, F.TEMPLATE_ERROR, False, True),
    (132005, F.TEMPLATE_ERROR, False, True),
    (132007, F.TEMPLATE_ERROR, False, True),
    (132012, F.TEMPLATE_ERROR, False, True),
    (132015, F.TEMPLATE_ERROR, False, True),
    (132016, F.TEMPLATE_ERROR, False, True),
    (190, F.AUTH_ERROR, False, True),
    (10, F.AUTH_ERROR, False, True),
    (368, F.CONTENT_VIOLATION, False, True),
    (131031, F.AUTH_ERROR, False, True),
    (131042, F.AUTH_ERROR, False, True),
    (133010, F.AUTH_ERROR, False, True),
]


@pytest.mark.parametrize(("code", "failure_class", "retryable", "sms"), EXPECTED)
def test_each_listed_code_is_classified_as_the_table_says(
    code: int, failure_class: FailureClass, retryable: bool, sms: bool
) -> None:
    c = classify(code)
    assert (c.failure_class, c.retryable, c.sms_fallback) == (failure_class, retryable, sms)
    assert c.code == code


def test_the_table_of_known_codes_is_exactly_the_listed_codes() -> None:
    assert set(KNOWN_CODES) == {code for code, *_ in EXPECTED}


@pytest.mark.parametrize("code", sorted(KNOWN_CODES))
def test_every_known_code_has_a_title_and_a_one_sentence_operator_action(code: int) -> None:
    entry = KNOWN_CODES[code]
    assert entry.code == code
    assert entry.title.strip()
    assert entry.operator_action.strip().endswith(".")
    assert entry.operator_action.count(". ") == 0


@pytest.mark.parametrize("status", [None, 200, 400, 404, 500, 503])
def test_a_known_code_decides_whatever_the_http_status(status: int | None) -> None:
    assert classify(131026, http_status=status) == KNOWN_CODES[131026]
    assert classify(130429, http_status=status) == KNOWN_CODES[130429]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_an_unknown_code_with_a_server_error_status_is_a_retryable_system_error(
    status: int,
) -> None:
    c = classify(999_999, http_status=status)
    assert c.failure_class is F.SYSTEM_ERROR
    assert c.retryable
    assert c.sms_fallback
    assert c.code == 999_999
    assert str(status) in c.title


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_an_unknown_code_with_a_client_error_status_is_unknown_and_not_retried(
    status: int,
) -> None:
    c = classify(999_999, http_status=status)
    assert c.failure_class is F.UNKNOWN
    assert not c.retryable
    assert c.code == 999_999


def test_http_429_without_a_known_code_is_a_retryable_rate_limit() -> None:
    c = classify(None, http_status=429)
    assert c.failure_class is F.RATE_LIMIT
    assert c.retryable


def test_no_code_and_no_status_is_a_network_failure_worth_retrying() -> None:
    c = classify(None)
    assert c.failure_class is F.SYSTEM_ERROR
    assert c.retryable
    assert c.sms_fallback
    assert c.code is None


def test_no_code_with_a_server_error_status_is_a_retryable_system_error() -> None:
    c = classify(None, http_status=502)
    assert (c.failure_class, c.retryable, c.code) == (F.SYSTEM_ERROR, True, None)


def test_an_unknown_code_with_no_status_is_unknown_and_not_retried() -> None:
    # Webhook failures carry a code but no HTTP status.
    c = classify(777_777)
    assert (c.failure_class, c.retryable) == (F.UNKNOWN, False)
    assert "777777" in c.title


@pytest.mark.parametrize("code", [132002, 132008, 132010])
def test_an_unlisted_code_in_the_template_family_is_a_template_error(code: int) -> None:
    c = classify(code, http_status=400)
    assert (c.failure_class, c.retryable, c.code) == (F.TEMPLATE_ERROR, False, code)


@pytest.mark.parametrize("code", [200, 250, 299])
def test_an_unlisted_permission_code_is_an_auth_error(code: int) -> None:
    c = classify(code)
    assert (c.failure_class, c.retryable, c.code) == (F.AUTH_ERROR, False, code)


def test_the_code_families_do_not_shadow_a_listed_code() -> None:
    for codes, family in CODE_RANGES:
        assert family.code is None
        assert family.title.strip()
        assert family.operator_action.strip()
        for code in codes:
            expected = KNOWN_CODES.get(code, attrs.evolve(family, code=code))
            assert classify(code) == expected


@given(code=st.one_of(st.none(), st.integers(0, 10**7)), status=st.integers(100, 599))
def test_every_code_and_status_gets_a_complete_answer(code: int | None, status: int) -> None:
    c = classify(code, http_status=status)
    assert isinstance(c.failure_class, FailureClass)
    assert c.title.strip()
    assert c.operator_action.strip()
    assert c == classify(code, http_status=status)
    in_family = code is not None and any(code in codes for codes, _ in CODE_RANGES)
    if code not in KNOWN_CODES and not in_family and not c.retryable:
        assert status < 500


@pytest.mark.parametrize(
    ("code", "status", "field"),
    [
        (-1, None, "code"),
        (True, None, "code"),
        ("131026", None, "code"),
        (None, 99, "http_status"),
        (None, 600, "http_status"),
        (1, True, "http_status"),
    ],
)
def test_a_malformed_code_or_status_is_refused_naming_it(
    code: object, status: object, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        classify(code, http_status=status)  # type: ignore[arg-type]
    assert err.value.field == field


def test_a_classification_validates_its_fields() -> None:
    good = KNOWN_CODES[131026]
    with pytest.raises(ValidationError) as err:
        attrs.evolve(good, title=" ")
    assert err.value.field == "title"
    with pytest.raises(ValidationError) as err:
        attrs.evolve(good, retryable="yes")  # type: ignore[arg-type]
    assert err.value.field == "retryable"
    with pytest.raises(ValidationError) as err:
        attrs.evolve(good, failure_class="flaky")
    assert err.value.field == "failure_class"
    assert attrs.evolve(good, failure_class="unknown").failure_class is F.UNKNOWN


def test_the_operations_guide_lists_every_known_code() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    for code, classification in KNOWN_CODES.items():
        assert f"| {code} | `{classification.failure_class.value}` |" in guide, code
