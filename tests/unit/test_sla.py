from __future__ import annotations

import datetime as dt
import json
import uuid

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain import Delivery, summarize
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.failure import KNOWN_CODES, FailureClass, classify
from projectone.domain.language import Language
from projectone.domain.sla import OWN_CODE_CLASSES, failure_class_of
from projectone.services import dispatch as dispatch_service
from projectone.testing.builders import planned_delivery
from projectone.testing.strategies import deliveries

# Provider codes known and unknown, our own codes, and codes nobody wrote down.
ERROR_CODES = st.one_of(
    st.sampled_from(sorted(str(c) for c in KNOWN_CODES)),
    st.integers(0, 10**9).map(str),
    st.sampled_from(sorted(OWN_CODE_CLASSES)),
    st.sampled_from(["None", "-1", "1e3", " 4", "١٢"]),
)


@st.composite
def mornings(draw: st.DrawFn) -> list[Delivery]:
    out = []
    for d in draw(st.lists(deliveries(), max_size=30)):
        fate = draw(
            st.sampled_from(
                ["queued", "sending", "sent", "failed", "delivered", "read", "late", "expired"]
            )
        )
        at = d.scheduled_for + dt.timedelta(seconds=draw(st.integers(0, 900)))
        receipt = at + dt.timedelta(seconds=draw(st.integers(0, 900)))
        if fate == "expired":
            d = d.advance(DeliveryStatus.EXPIRED, at)
        elif fate != "queued":
            d = d.start_sending(at)
        if fate in ("sent", "delivered", "read", "late"):
            d = d.mark_sent("wamid.x", at)
        if fate == "delivered":
            d = d.apply_report(DeliveryStatus.DELIVERED, receipt)
        if fate == "read":
            d = d.apply_report(DeliveryStatus.READ, receipt)
        if fate in ("failed", "late"):
            d = d.mark_failed(draw(ERROR_CODES), "undeliverable", receipt)
        out.append(d)
    return out


@given(mornings())
def test_every_planned_message_is_counted_exactly_once(morning: list[Delivery]) -> None:
    now = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
    s = summarize(morning, now)
    assert s.planned == len(morning) == s.sent + s.failed + s.pending
    assert s.sla_met + s.sla_missed <= s.planned
    assert 0.0 <= s.sla_met_ratio <= 1.0
    assert s.read <= s.delivered <= s.sent
    if s.p50_delay_seconds is not None:
        assert s.p95_delay_seconds is not None
        assert s.max_delay_seconds is not None
        assert 0 <= s.p50_delay_seconds <= s.p95_delay_seconds <= s.max_delay_seconds


@given(mornings(), deliveries())
def test_one_more_message_sent_on_time_never_lowers_the_ratio(
    morning: list[Delivery], extra: Delivery
) -> None:
    now = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
    on_time = extra.start_sending(extra.scheduled_for).mark_sent("wamid.y", extra.scheduled_for)
    assert (
        summarize([*morning, on_time], now).sla_met_ratio >= summarize(morning, now).sla_met_ratio
    )


def test_an_empty_morning_meets_its_sla() -> None:
    s = summarize([], dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert s.planned == 0
    assert s.sla_met_ratio == 1.0
    assert s.p50_delay_seconds is None


NOW = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)


@given(mornings())
def test_the_new_figures_add_up(morning: list[Delivery]) -> None:
    s = summarize(morning, NOW)
    for ratio in (s.sla_met_ratio, s.delivered_ratio, s.read_ratio):
        assert ratio is None or 0.0 <= ratio <= 1.0
    assert (s.delivered_ratio is None) == (s.read_ratio is None) == (s.sent == 0)
    assert s.delivered_by_target <= s.delivered
    assert sum(s.failures_by_class.values()) == s.failed
    assert list(s.failures_by_class) == list(FailureClass)
    assert all(n >= 0 for n in s.failures_by_class.values())
    minutes = [m for m, _ in s.sends_by_minute]
    assert minutes == sorted(set(minutes))
    assert all(n > 0 for _, n in s.sends_by_minute)
    # Every message the provider accepted is in the chart once, failed-after-sent included.
    assert sum(n for _, n in s.sends_by_minute) == sum(d.sent_at is not None for d in morning)
    assert (s.fallbacks_used, s.sms_backups, s.duplicates) == (0, 0, 0)


@given(mornings())
def test_the_json_form_keeps_the_old_keys_and_round_trips(morning: list[Delivery]) -> None:
    doc = summarize(morning, NOW).as_dict()
    assert json.loads(json.dumps(doc)) == doc
    assert {
        "planned", "sent", "failed", "pending", "sla_met", "sla_missed", "delivered", "read",
        "p50_delay_seconds", "p95_delay_seconds", "max_delay_seconds", "sla_met_ratio",
    } <= set(doc)  # fmt: skip
    assert sum(doc["failures_by_class"].values()) == doc["failed"]


def _planned(minute: int) -> Delivery:
    return Delivery.plan(
        id=uuid.uuid4(),
        advisor_id=uuid.uuid4(),
        pack_id=uuid.uuid4(),
        date=dt.date(2026, 3, 2),
        send_time=dt.time(6, minute),
        language=Language.EN,
        to="+919876543210",
        content_hash="0" * 64,
        now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )


def _sent(d: Delivery, after: dt.timedelta) -> Delivery:
    return d.start_sending(d.scheduled_for).mark_sent("wamid.x", d.scheduled_for + after)


def test_sends_are_counted_per_minute_from_the_earliest_send_time() -> None:
    first, second, third = _planned(0), _planned(0), _planned(3)
    morning = [
        _sent(third, dt.timedelta(seconds=10)),  # 06:03:10 -> minute 3
        _sent(first, dt.timedelta(seconds=59)),  # 06:00:59 -> minute 0
        _sent(second, dt.timedelta(seconds=61)),  # 06:01:01 -> minute 1
        _planned(9),  # never sent: widens nothing, charts nothing
    ]
    s = summarize(morning, NOW)
    assert s.window_start == first.scheduled_for
    assert s.sends_by_minute == ((0, 1), (1, 1), (3, 1))


def test_receipts_count_as_delivered_and_read_of_what_was_sent() -> None:
    a, b, c, d = (_sent(_planned(0), dt.timedelta(seconds=5)) for _ in range(4))
    at = a.scheduled_for
    morning = [
        a.apply_report(DeliveryStatus.READ, at + dt.timedelta(minutes=1)),
        b.apply_report(DeliveryStatus.DELIVERED, at + dt.timedelta(minutes=6)),  # after target
        c,
        d,
        _planned(0),
    ]
    s = summarize(morning, NOW)
    assert (s.sent, s.delivered, s.read, s.delivered_by_target) == (4, 2, 1, 1)
    assert (s.delivered_ratio, s.read_ratio) == (0.5, 0.25)
    assert summarize([_planned(0)], NOW).delivered_ratio is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("content_changed", FailureClass.CONTENT_VIOLATION),
        ("content_integrity", FailureClass.CONTENT_VIOLATION),
        ("provider_unavailable", FailureClass.SYSTEM_ERROR),
        ("unknown", FailureClass.UNKNOWN),
        ("131026", FailureClass.INVALID_NUMBER),
        ("130429", FailureClass.RATE_LIMIT),
        ("132003", FailureClass.TEMPLATE_ERROR),  # in the 132xxx family, not named
        ("999999", FailureClass.UNKNOWN),
        ("None", FailureClass.UNKNOWN),
        ("-4", FailureClass.UNKNOWN),
        ("1" * 40, FailureClass.UNKNOWN),
    ],
)
def test_each_error_code_is_reported_under_one_class(code: str, expected: FailureClass) -> None:
    failed = _planned(0).start_sending(NOW).mark_failed(code, "", NOW)
    assert failure_class_of(failed) is expected
    assert summarize([failed], NOW).failures_by_class[expected] == 1


@given(st.sampled_from(sorted(KNOWN_CODES)))
def test_a_numeric_code_is_classed_as_the_provider_table_says(code: int) -> None:
    failed = _planned(0).start_sending(NOW).mark_failed(str(code), "", NOW)
    assert failure_class_of(failed) is classify(code).failure_class


def test_an_expired_delivery_without_a_code_is_a_system_error() -> None:
    expired = _planned(0).advance(DeliveryStatus.EXPIRED, NOW)
    assert failure_class_of(expired) is FailureClass.SYSTEM_ERROR
    assert summarize([expired], NOW).failures_by_class[FailureClass.SYSTEM_ERROR] == 1


def test_every_code_the_dispatch_worker_writes_has_a_class() -> None:
    own = set(dispatch_service.ERROR_CODES)
    assert own >= {"content_changed", "content_integrity", "sla_cutoff", "outcome_unknown"}
    assert own <= set(OWN_CODE_CLASSES)


def test_fallbacks_sms_backups_and_duplicates_are_counted_from_the_deliveries() -> None:
    base = planned_delivery()
    six = base.scheduled_for
    base = base.start_sending(six)
    plain = base.mark_sent("wamid.1", six + dt.timedelta(seconds=3))
    fallback = attrs.evolve(plain, id=uuid.uuid4(), fallback=True).note_message("wamid.1")
    fallback = attrs.evolve(fallback, provider_message_id="wamid.2").note_message("wamid.3")
    failed = attrs.evolve(base, id=uuid.uuid4()).mark_failed("131026", "undeliverable", six)
    backup = failed.sms_backup(id=uuid.uuid4(), now=six)
    sent_backup = backup.start_sending(six).mark_sent("sms-1", six + dt.timedelta(seconds=9))
    s = summarize([plain, fallback, failed, sent_backup], NOW)
    assert (s.planned, s.sent, s.failed) == (3, 2, 1)
    assert (s.fallbacks_used, s.sms_backups, s.sms_sent, s.duplicates) == (1, 1, 1, 1)
    assert s.as_dict()["sms_backups"] == 1
