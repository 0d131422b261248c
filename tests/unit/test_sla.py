from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from projectone.domain import Delivery, summarize
from projectone.testing.strategies import deliveries


@st.composite
def mornings(draw: st.DrawFn) -> list[Delivery]:
    out = []
    for d in draw(st.lists(deliveries(), max_size=30)):
        fate = draw(st.sampled_from(["queued", "sent", "failed", "read"]))
        at = d.scheduled_for + dt.timedelta(seconds=draw(st.integers(0, 900)))
        if fate != "queued":
            d = d.start_sending(at)
        if fate in ("sent", "read"):
            d = d.mark_sent("wamid.x", at)
        if fate == "read":
            d = d.apply_report(d.status.READ, at)
        if fate == "failed":
            d = d.mark_failed("131026", "undeliverable", at)
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
