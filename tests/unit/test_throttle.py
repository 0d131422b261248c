from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.errors import ValidationError
from projectone.domain.throttle import DEFAULT_RATE, MAX_RATE, TokenBucket

T0 = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.UTC)
ZERO = dt.timedelta(0)
MS = dt.timedelta(milliseconds=1)


def test_a_new_bucket_sends_80_a_second_and_starts_full() -> None:
    bucket = TokenBucket()
    assert bucket.rate == DEFAULT_RATE == 80
    assert bucket.capacity == 80
    assert bucket.tokens == 80
    assert bucket.updated_at is None


def test_a_full_burst_goes_out_at_once_and_the_next_message_waits_one_token() -> None:
    bucket = TokenBucket()
    for _ in range(80):
        bucket, wait = bucket.take(T0)
        assert wait == ZERO
    bucket, wait = bucket.take(T0)
    assert wait == dt.timedelta(microseconds=12_500)  # 1/80 s
    bucket, wait = bucket.take(T0)
    assert wait == dt.timedelta(microseconds=25_000)  # queued behind the previous one


def test_tokens_come_back_at_the_rate_up_to_the_capacity() -> None:
    bucket, _ = TokenBucket(rate=10).take(T0, 10)
    assert bucket.available(T0) == 0
    assert bucket.available(T0 + 500 * MS) == pytest.approx(5)
    assert bucket.available(T0 + dt.timedelta(hours=1)) == 10
    _, wait = bucket.take(T0 + 100 * MS)
    assert wait == ZERO


def test_taking_several_tokens_at_once_waits_for_all_of_them() -> None:
    bucket, _ = TokenBucket(rate=100, capacity=10).take(T0, 10)
    _, wait = bucket.take(T0, 5)
    assert wait == 50 * MS


def test_a_slow_rate_still_allows_one_message() -> None:
    bucket = TokenBucket(rate=0.5)
    assert bucket.capacity == 1
    bucket, wait = bucket.take(T0)
    assert wait == ZERO
    _, wait = bucket.take(T0)
    assert wait == dt.timedelta(seconds=2)


def test_the_fastest_tier_is_a_thousand_a_second() -> None:
    assert TokenBucket(rate=MAX_RATE).capacity == 1000


def test_taking_returns_a_new_bucket_and_leaves_the_old_one_alone() -> None:
    before = TokenBucket(rate=5)
    after, _ = before.take(T0, 3)
    assert before == TokenBucket(rate=5)
    assert after is not before
    assert (after.tokens, after.updated_at) == (2, T0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        before.tokens = 0  # type: ignore[misc]


def test_a_clock_stepping_back_neither_mints_tokens_nor_moves_the_bucket_back() -> None:
    bucket, _ = TokenBucket(rate=10).take(T0, 10)
    bucket, wait = bucket.take(T0 - dt.timedelta(minutes=5))
    assert bucket.updated_at == T0
    assert bucket.tokens == -1
    assert wait == 100 * MS
    assert bucket.available(T0 - dt.timedelta(hours=1)) == -1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": -1}, "rate"),
        ({"rate": 1000.5}, "rate"),
        ({"rate": float("inf")}, "rate"),
        ({"rate": float("nan")}, "rate"),
        ({"rate": True}, "rate"),
        ({"rate": "80"}, "rate"),
        ({"capacity": 0.5}, "capacity"),
        ({"rate": 10, "tokens": 11}, "tokens"),
        ({"updated_at": dt.datetime(2026, 11, 23)}, "updated_at"),
    ],
)
def test_a_bad_bucket_is_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        TokenBucket(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


@pytest.mark.parametrize(("n", "now"), [(0, T0), (81, T0), (1.5, T0), (1, dt.datetime(2026, 1, 1))])
def test_a_bad_take_is_refused(n: object, now: dt.datetime) -> None:
    with pytest.raises(ValidationError):
        TokenBucket().take(now, n)  # type: ignore[arg-type]


# --- properties -------------------------------------------------------------------------------

rates = st.floats(0.01, MAX_RATE, allow_nan=False)
steps = st.lists(
    st.tuples(
        st.integers(0, 3_000_000).map(lambda us: dt.timedelta(microseconds=us)), st.integers(1, 5)
    ),
    min_size=1,
    max_size=60,
)


@st.composite
def buckets(draw: st.DrawFn) -> TokenBucket:
    rate = draw(rates)
    capacity = draw(st.floats(max(rate, 5.0), max(rate, 5.0) * 4))
    return TokenBucket(rate=rate, capacity=capacity)


@given(buckets(), steps)
def test_tokens_granted_by_any_time_never_exceed_the_burst_plus_the_rate(
    bucket: TokenBucket, sequence: list[tuple[dt.timedelta, int]]
) -> None:
    now = T0
    grants: list[tuple[dt.datetime, int]] = []  # (when the caller may send, how many)
    for gap, n in sequence:
        now += gap
        bucket, wait = bucket.take(now, n)
        assert wait >= ZERO
        grants.append((now + wait, n))
    for instant, _ in grants:
        sent = sum(n for when, n in grants if when <= instant)
        allowance = bucket.capacity + bucket.rate * (instant - T0).total_seconds()
        assert sent <= allowance * (1 + 1e-9) + 1e-9


@given(buckets(), steps)
def test_the_wait_is_zero_exactly_when_the_tokens_are_there(
    bucket: TokenBucket, sequence: list[tuple[dt.timedelta, int]]
) -> None:
    now = T0
    for gap, n in sequence:
        now += gap
        balance = bucket.available(now)
        bucket, wait = bucket.take(now, n)
        assert (wait == ZERO) == (balance >= n)
        assert bucket.tokens <= bucket.capacity


@given(buckets(), steps)
def test_a_bucket_is_never_changed_by_taking_from_it(
    bucket: TokenBucket, sequence: list[tuple[dt.timedelta, int]]
) -> None:
    now = T0
    for gap, n in sequence:
        now += gap
        snapshot = attrs.evolve(bucket)
        first = bucket.take(now, n)
        assert bucket == snapshot
        assert bucket.take(now, n) == first  # same bucket, same answer
        bucket = first[0]
