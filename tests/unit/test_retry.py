from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.errors import ValidationError
from projectone.domain.failure import KNOWN_CODES, Classification, FailureClass, classify
from projectone.domain.retry import (
    Action,
    Decision,
    RetryPolicy,
    backoff_delay,
    decide,
    needs_sms_now,
)

T0 = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.UTC)  # 06:00 IST
DEADLINE = T0 + dt.timedelta(minutes=5)
POLICY = RetryPolicy()
RATE_LIMIT = classify(130429)
UNDELIVERABLE = classify(131026)
OPTED_OUT = classify(131050)
SECOND = dt.timedelta(seconds=1)
# Retryable, but the recipient must not be reached another way.
RETRYABLE_NO_SMS = attrs.evolve(RATE_LIMIT, sms_fallback=False)


def after(
    c: Classification,
    attempts_made: int,
    *,
    now: dt.datetime = T0,
    rand: float = 0.5,
    policy: RetryPolicy = POLICY,
) -> Decision:
    return decide(
        policy,
        classification=c,
        attempts_made=attempts_made,
        now=now,
        sla_deadline=DEADLINE,
        rand=rand,
    )


def test_the_default_policy_is_three_attempts_five_seconds_doubling_to_a_minute() -> None:
    assert POLICY.max_attempts == 3
    assert POLICY.base_delay == 5 * SECOND
    assert POLICY.max_delay == 60 * SECOND
    assert POLICY.jitter == 0.5
    assert POLICY.sms_margin == 60 * SECOND
    assert POLICY.sms_cutoff(DEADLINE) == DEADLINE - 60 * SECOND


def test_a_rate_limited_first_attempt_is_retried_after_the_base_delay() -> None:
    d = after(RATE_LIMIT, 1)
    assert d.action is Action.RETRY
    assert d.at == T0 + 5 * SECOND
    assert "attempt 2 of 3" in d.reason


def test_the_second_retry_waits_twice_as_long() -> None:
    assert after(RATE_LIMIT, 2).at == T0 + 10 * SECOND


@pytest.mark.parametrize(("rand", "seconds"), [(0.0, 2.5), (0.25, 3.75), (0.5, 5.0), (0.75, 6.25)])
def test_jitter_moves_the_delay_up_to_half_either_way(rand: float, seconds: float) -> None:
    assert backoff_delay(POLICY, attempts_made=1, rand=rand) == dt.timedelta(seconds=seconds)


def test_the_delay_stops_doubling_at_the_maximum() -> None:
    policy = RetryPolicy(max_attempts=10)
    delays = [backoff_delay(policy, attempts_made=n, rand=0.5) for n in range(1, 10)]
    assert delays[:5] == [dt.timedelta(seconds=s) for s in (5, 10, 20, 40, 60)]
    assert set(delays[4:]) == {60 * SECOND}


def test_a_huge_attempt_count_does_not_overflow_the_delay() -> None:
    assert backoff_delay(POLICY, attempts_made=10**6, rand=0.5) == 60 * SECOND


def test_after_the_last_attempt_a_retryable_failure_goes_to_sms() -> None:
    d = after(RATE_LIMIT, 3)
    assert (d.action, d.at) == (Action.SMS, None)
    assert "all 3 attempts used" in d.reason


def test_after_the_last_attempt_a_failure_that_forbids_sms_is_given_up() -> None:
    assert after(RETRYABLE_NO_SMS, 3).action is Action.GIVE_UP


def test_an_undeliverable_number_goes_straight_to_sms() -> None:
    d = after(UNDELIVERABLE, 1)
    assert d.action is Action.SMS
    assert "not retryable" in d.reason


def test_a_marketing_opt_out_is_given_up_not_sent_by_sms() -> None:
    d = after(OPTED_OUT, 1)
    assert d.action is Action.GIVE_UP
    assert "SMS not allowed" in d.reason


def test_a_retry_that_would_land_inside_the_sms_margin_goes_to_sms_now() -> None:
    cutoff = DEADLINE - POLICY.sms_margin
    assert after(RATE_LIMIT, 1, now=cutoff - 5 * SECOND - dt.timedelta(microseconds=1)).at
    d = after(RATE_LIMIT, 1, now=cutoff - 5 * SECOND)
    assert d.action is Action.SMS
    assert "no time left" in d.reason
    assert after(RETRYABLE_NO_SMS, 1, now=cutoff).action is Action.GIVE_UP


def test_past_the_deadline_a_failed_message_still_goes_to_sms() -> None:
    assert after(RATE_LIMIT, 1, now=DEADLINE + 60 * SECOND).action is Action.SMS


def test_a_queued_message_needs_sms_from_the_cutoff_on() -> None:
    cutoff = DEADLINE - POLICY.sms_margin
    assert not needs_sms_now(cutoff - dt.timedelta(microseconds=1), DEADLINE, POLICY)
    assert needs_sms_now(cutoff, DEADLINE, POLICY)
    assert needs_sms_now(DEADLINE + SECOND, DEADLINE, POLICY)
    assert needs_sms_now(DEADLINE, DEADLINE, RetryPolicy(sms_margin=dt.timedelta(0)))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 11}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"base_delay": dt.timedelta(0)}, "base_delay"),
        ({"base_delay": 5}, "base_delay"),
        ({"max_delay": 4 * SECOND}, "max_delay"),
        ({"max_delay": dt.timedelta(hours=2)}, "max_delay"),
        ({"jitter": 1.0}, "jitter"),
        ({"jitter": -0.1}, "jitter"),
        ({"jitter": float("nan")}, "jitter"),
        ({"sms_margin": -SECOND}, "sms_margin"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_setting(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        RetryPolicy(**changes)  # type: ignore[arg-type]
    assert err.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"attempts_made": 0}, "attempts_made"),
        ({"rand": 1.0}, "rand"),
        ({"rand": -0.01}, "rand"),
        ({"now": dt.datetime(2026, 11, 23)}, "now"),
        ({"sla_deadline": None}, "sla_deadline"),
        ({"classification": "rate_limit"}, "classification"),
    ],
)
def test_bad_decision_inputs_are_refused_naming_them(
    changes: dict[str, object], field: str
) -> None:
    args: dict[str, object] = {
        "classification": RATE_LIMIT,
        "attempts_made": 1,
        "now": T0,
        "sla_deadline": DEADLINE,
        "rand": 0.5,
    } | changes
    with pytest.raises(ValidationError) as err:
        decide(POLICY, **args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_only_a_retry_carries_a_time() -> None:
    with pytest.raises(ValidationError):
        Decision(action=Action.RETRY, reason="x")
    with pytest.raises(ValidationError):
        Decision(action=Action.SMS, at=T0, reason="x")
    assert Decision(action="give_up", reason="x").action is Action.GIVE_UP


# --- properties -------------------------------------------------------------------------------

durations = st.integers(1, 3_600_000_000).map(lambda us: dt.timedelta(microseconds=us))


@st.composite
def policies(draw: st.DrawFn) -> RetryPolicy:
    base = draw(durations)
    top = draw(durations.filter(lambda d: d >= base) | st.just(base))
    return RetryPolicy(
        max_attempts=draw(st.integers(1, 10)),
        base_delay=base,
        max_delay=top,
        jitter=draw(st.floats(0, 1, exclude_max=True)),
        sms_margin=draw(
            st.integers(0, 3_600_000_000).map(lambda us: dt.timedelta(microseconds=us))
        ),
    )


classifications = st.sampled_from(
    [*KNOWN_CODES.values(), classify(None), classify(1, http_status=503), RETRYABLE_NO_SMS]
) | st.builds(
    Classification,
    failure_class=st.sampled_from(FailureClass),
    retryable=st.booleans(),
    sms_fallback=st.booleans(),
    code=st.none() | st.integers(0, 10**6),
    title=st.just("Anything"),
    operator_action=st.just("Anything."),
)
instants = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(dt.UTC)
)
offsets = st.integers(-600_000_000, 600_000_000).map(lambda us: dt.timedelta(microseconds=us))
rands = st.floats(0, 1, exclude_max=True)


@given(policies(), classifications, st.integers(1, 12), instants, offsets, rands)
def test_a_retry_is_never_scheduled_at_or_after_the_sms_cutoff(
    policy: RetryPolicy,
    c: Classification,
    attempts_made: int,
    now: dt.datetime,
    to_deadline: dt.timedelta,
    rand: float,
) -> None:
    deadline = now + to_deadline
    d = decide(
        policy,
        classification=c,
        attempts_made=attempts_made,
        now=now,
        sla_deadline=deadline,
        rand=rand,
    )
    if d.action is Action.RETRY:
        assert d.at is not None
        assert now < d.at < deadline - policy.sms_margin
        assert d.at - now == backoff_delay(policy, attempts_made=attempts_made, rand=rand)
        assert not needs_sms_now(now, deadline, policy)
    else:
        assert d.at is None


@given(policies(), classifications, instants, offsets, st.lists(rands, min_size=12, max_size=12))
def test_a_message_is_never_tried_more_than_max_attempts_times(
    policy: RetryPolicy,
    c: Classification,
    start: dt.datetime,
    to_deadline: dt.timedelta,
    draws: list[float],
) -> None:
    deadline = start + dt.timedelta(minutes=5) + to_deadline
    now, attempts = start, 1  # the first attempt has just failed
    for rand in draws:
        d = decide(
            policy,
            classification=c,
            attempts_made=attempts,
            now=now,
            sla_deadline=deadline,
            rand=rand,
        )
        if d.action is not Action.RETRY:
            assert d.action is (Action.SMS if c.sms_fallback else Action.GIVE_UP)
            break
        assert d.at is not None
        now, attempts = d.at, attempts + 1
    assert attempts <= policy.max_attempts


@given(policies(), rands, st.integers(1, 30))
def test_delays_never_shrink_as_attempts_grow_for_the_same_draw(
    policy: RetryPolicy, rand: float, attempts_made: int
) -> None:
    earlier = backoff_delay(policy, attempts_made=attempts_made, rand=rand)
    later = backoff_delay(policy, attempts_made=attempts_made + 1, rand=rand)
    assert dt.timedelta(0) < earlier <= later
    unjittered = min(policy.max_delay, policy.base_delay * 2 ** (attempts_made - 1))
    assert abs(earlier - unjittered) <= unjittered * policy.jitter + dt.timedelta(microseconds=1)


@given(policies(), classifications, st.integers(1, 12), instants, offsets, rands)
def test_a_failure_that_is_not_retryable_is_never_retried(
    policy: RetryPolicy,
    c: Classification,
    attempts_made: int,
    now: dt.datetime,
    to_deadline: dt.timedelta,
    rand: float,
) -> None:
    c = attrs.evolve(c, retryable=False)
    d = decide(
        policy,
        classification=c,
        attempts_made=attempts_made,
        now=now,
        sla_deadline=now + to_deadline,
        rand=rand,
    )
    assert d.action is (Action.SMS if c.sms_fallback else Action.GIVE_UP)


@given(policies(), classifications, st.integers(1, 12), instants, offsets, rands)
def test_the_decision_is_a_pure_function_of_its_inputs(
    policy: RetryPolicy,
    c: Classification,
    attempts_made: int,
    now: dt.datetime,
    to_deadline: dt.timedelta,
    rand: float,
) -> None:
    def once() -> Decision:
        return decide(
            attrs.evolve(policy),
            classification=attrs.evolve(c),
            attempts_made=attempts_made,
            now=now,
            sla_deadline=now + to_deadline,
            rand=rand,
        )

    assert once() == once()
