"""No personal data in the service's logs: the masking filter on real loggers and handlers."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from projectone.domain.advisor import MASK
from projectone.entrypoints.http.request_log import RequestIdFilter
from projectone.entrypoints.log_masking import PiiMaskingFilter, install_pii_masking


@pytest.fixture
def handler() -> logging.StreamHandler[io.StringIO]:
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    return handler


@pytest.fixture
def logged(
    handler: logging.StreamHandler[io.StringIO],
) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own (not propagating to the test run's root) writing to a string."""
    logger = logging.getLogger("projectone.test.log_masking")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    install_pii_masking(logger)
    yield logger, handler.stream
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def test_a_phone_number_in_the_arguments_is_not_written(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logged
    logger.info("sent to %s", "+919876543210")
    assert stream.getvalue() == f"INFO projectone.test.log_masking sent to +{MASK * 8}3210\n"


def test_an_email_address_in_a_traceback_is_not_written(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logged
    try:
        raise ValueError("no advisor with email asha.d@example.in")
    except ValueError:
        logger.exception("lookup failed for %s", "asha.d@example.in")
    written = stream.getvalue()
    assert "asha.d@example.in" not in written
    assert f"ValueError: no advisor with email a{MASK * 3}@example.in" in written
    assert "Traceback (most recent call last)" in written


def test_records_of_child_loggers_are_masked_by_the_parents_handler(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logged
    logging.getLogger(f"{logger.name}.whatsapp").warning("wa_id %s opted out", "919876543210")
    assert stream.getvalue().endswith(f".whatsapp wa_id {MASK * 8}3210 opted out\n")


def test_installing_twice_adds_one_filter_per_handler(
    logged: tuple[logging.Logger, io.StringIO], handler: logging.StreamHandler[io.StringIO]
) -> None:
    logger, _ = logged
    install_pii_masking(logger)
    assert sum(isinstance(f, PiiMaskingFilter) for f in handler.filters) == 1


def test_the_root_logger_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    monkeypatch.setattr(root, "handlers", [handler])
    install_pii_masking()
    assert any(isinstance(f, PiiMaskingFilter) for f in handler.filters)


def test_the_filter_works_alongside_the_request_id_filter() -> None:
    record = logging.LogRecord(
        "projectone.http", logging.INFO, __file__, 1, "to %s", ("a@b.in",), None
    )
    assert RequestIdFilter().filter(record)
    assert PiiMaskingFilter().filter(record)
    assert record.getMessage() == f"to a{MASK * 3}@b.in"
    assert getattr(record, "request_id") == "-"  # noqa: B009 - set by the other filter


def test_a_broken_log_call_passes_through_unchanged() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert PiiMaskingFilter().filter(record)
    assert record.msg == "%d items"
    assert record.args == ("many",)


def test_a_message_that_is_not_a_string_is_rendered_and_masked() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, {"phone": "+919876543210"}, None, None
    )
    assert PiiMaskingFilter().filter(record)
    assert record.msg == f"{{'phone': '+{MASK * 8}3210'}}"


def test_a_stack_given_with_the_record_is_masked() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "m", None, None, sinfo="at 98765 43210"
    )
    assert PiiMaskingFilter().filter(record)
    assert record.stack_info == f"at {MASK * 6}3210"
