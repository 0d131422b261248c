"""Sliding-window rate limiting: the pure arithmetic (properties) and the in-memory adapter.

The same behavioural cases run against both adapters, Redis included, in
tests/integration/test_rate_limit_redis.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.adapters.rate_limit_memory import InMemoryRateLimiter
from projectone.domain import rate_limit
from projectone.domain.errors import ValidationError
from projectone.domain.rate_limit import RateVerdict, WindowState, hit
from projectone.ports.auth import RateDecision, RateLimiter

# Not on a window boundary, and with microseconds, to exercise the rounding to milliseconds.
T0 = dt.datetime(2026, 11, 23, 6, 7, 8, 123_456, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def ms(n: int) -> dt.timedelta:
    return n * MS


def run(
    hits: list[tuple[dt.datetime, int]], window: dt.timedelta, state: WindowState | None = None
) -> tuple[WindowState | None, list[RateVerdict]]:
    verdicts = []
    for now, limit in hits:
        after, verdict = hit(state, limit=limit, window=window, now=now)
        if verdict.allowed:
            state = after
        verdicts.append(verdict)
    return state, verdicts


# -- the arithmetic, by example ----------------------------------------------------------------


def test_a_fresh_key_gets_the_limit_then_is_refused_with_a_retry_after() -> None:
    _, verdicts = run([(T0, 3)] * 4, MINUTE)
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert all(v.limit == 3 for v in verdicts)
    assert [v.retry_after is None for v in verdicts] == [True, True, True, False]
    refused = verdicts[-1]
    assert refused.retry_after is not None
    assert refused.retry_after > 0
    # The three weigh 3 × (60 s − e) / 60 s in the next fixed window: 2 (room for one more)
    # from e = 20 s on. Counted from the request's time rounded down to the millisecond.
    window_start = T0.replace(second=0, microsecond=0)
    room_again = window_start + MINUTE + dt.timedelta(seconds=20)
    assert refused.retry_after == (room_again - T0.replace(microsecond=123_000)).total_seconds()
    # A full limit again once nothing counted is left in the window that slides.
    assert refused.reset_at == window_start + 2 * MINUTE


def test_the_previous_window_counts_in_proportion_to_its_overlap() -> None:
    start = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
    state, _ = run([(start, 100)] * 40, MINUTE)  # 40 in the window 06:00–06:01
    # At 06:01:15 a quarter of the new window has passed: 40 × 3/4 = 30 still count.
    _, verdict = hit(state, limit=100, window=MINUTE, now=start + MINUTE + dt.timedelta(seconds=15))
    assert verdict.allowed
    assert verdict.remaining == 100 - 30 - 1
    # Two windows on, nothing counts any more.
    _, verdict = hit(state, limit=100, window=MINUTE, now=start + 2 * MINUTE)
    assert verdict.remaining == 99


def test_the_boundary_effect_is_at_most_one_window_worth() -> None:
    # Five at the very end of one fixed window, then as many as fit right before the end of
    # the next: 9 (= 2 × limit − 1) inside one interval of 10 s, the documented worst case.
    window = dt.timedelta(seconds=10)
    start = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
    first = start + ms(9_998)
    second = start + ms(19_997)
    _, verdicts = run([(first, 5)] * 5 + [(second, 5)] * 6, window)
    allowed = [v.allowed for v in verdicts]
    assert allowed == [True] * 9 + [False] * 2
    assert second - first < window


def test_a_refused_request_is_not_counted() -> None:
    state, _ = run([(T0, 2)] * 2, MINUTE)
    assert state is not None
    after, verdict = hit(state, limit=2, window=MINUTE, now=T0)
    assert not verdict.allowed
    assert after == state


def test_a_lower_limit_refuses_until_the_counts_fall_under_it() -> None:
    state, _ = run([(T0, 10)] * 8, MINUTE)
    _, refused = hit(state, limit=3, window=MINUTE, now=T0)
    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.retry_after is not None
    later = T0 + dt.timedelta(seconds=refused.retry_after)
    _, verdict = hit(state, limit=3, window=MINUTE, now=later)
    assert verdict.allowed
    _, verdict = hit(state, limit=3, window=MINUTE, now=later - MS)
    assert not verdict.allowed


def test_a_clock_stepping_back_frees_no_capacity() -> None:
    state, _ = run([(T0, 2)] * 2, MINUTE)
    _, verdict = hit(state, limit=2, window=MINUTE, now=T0 - HOUR)
    assert not verdict.allowed
    assert verdict.retry_after is not None
    # The wait is counted from the caller's own (earlier) time.
    assert verdict.retry_after > HOUR.total_seconds()
    assert verdict.reset_at > T0


def test_a_state_kept_for_another_window_length_starts_afresh() -> None:
    state, _ = run([(T0, 2)] * 2, MINUTE)
    _, verdict = hit(state, limit=2, window=HOUR, now=T0)
    assert verdict.allowed
    assert verdict.remaining == 1


@pytest.mark.parametrize(
    ("limit", "window", "now"),
    [
        (0, MINUTE, T0),
        (-1, MINUTE, T0),
        (True, MINUTE, T0),
        (1.5, MINUTE, T0),
        (1, dt.timedelta(0), T0),
        (1, -MINUTE, T0),
        (1, dt.timedelta(microseconds=1500), T0),
        (1, MINUTE, T0.replace(tzinfo=None)),
        (2**40, HOUR, T0),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(
    limit: int, window: dt.timedelta, now: dt.datetime
) -> None:
    with pytest.raises(ValidationError):
        hit(None, limit=limit, window=window, now=now)


def test_the_largest_limit_the_settings_allow_fits_an_hour() -> None:
    assert rate_limit.check_limit(10_000_000, HOUR) == 3_600_000
    assert rate_limit.check_limit(1_200_000_000, HOUR) == 3_600_000


# -- properties --------------------------------------------------------------------------------

WINDOWS_MS = st.one_of(st.sampled_from([1, 2, 7, 1000, 60_000, 3_600_000]), st.integers(1, 10**5))


@st.composite
def schedules(draw: st.DrawFn, max_size: int = 120) -> tuple[int, int, list[int]]:
    """A limit, a window (ms) and non-decreasing request times (µs after T0)."""
    limit = draw(st.integers(1, 12))
    window_ms = draw(WINDOWS_MS)
    w_us = window_ms * 1000
    steps = draw(
        st.lists(
            st.one_of(
                st.just(0),
                st.integers(0, max(1, w_us // (2 * limit))),
                st.integers(0, 3 * w_us),
            ),
            max_size=max_size,
        )
    )
    times, at = [], 0
    for step in steps:
        at += step
        times.append(at)
    return limit, window_ms, times


@given(schedules())
def test_no_fixed_window_allows_more_than_the_limit_nor_any_sliding_one_twice_it(
    schedule: tuple[int, int, list[int]],
) -> None:
    limit, window_ms, times = schedule
    window = ms(window_ms)
    nows = [T0 + dt.timedelta(microseconds=us) for us in times]
    _, verdicts = run([(now, limit) for now in nows], window)
    allowed = [rate_limit.epoch_ms(now) for now, v in zip(nows, verdicts, strict=True) if v.allowed]
    per_window: dict[int, int] = {}
    for t in allowed:
        per_window[t // window_ms] = per_window.get(t // window_ms, 0) + 1
    assert max(per_window.values(), default=0) <= limit
    for i, t in enumerate(allowed):  # the interval (t − window, t] ending at each request
        inside = sum(1 for u in allowed[: i + 1] if u > t - window_ms)
        assert inside <= 2 * limit - 1


@given(schedules(max_size=40))
def test_every_answer_is_well_formed(schedule: tuple[int, int, list[int]]) -> None:
    limit, window_ms, times = schedule
    state: WindowState | None = None
    for us in times:
        now = T0 + dt.timedelta(microseconds=us)
        after, verdict = hit(state, limit=limit, window=ms(window_ms), now=now)
        assert 0 <= verdict.remaining < limit
        assert verdict.limit == limit
        assert verdict.reset_at >= now
        assert verdict.reset_at.tzinfo is not None
        assert verdict.reset_at.utcoffset() == dt.timedelta(0)
        if verdict.allowed:
            assert verdict.retry_after is None
            state = after
        else:
            assert verdict.remaining == 0
            assert verdict.retry_after is not None
            assert verdict.retry_after > 0


@given(schedules(max_size=60), st.integers(0, 999))
def test_remaining_is_exact_and_falls_by_one_per_request_at_one_instant(
    schedule: tuple[int, int, list[int]], extra_us: int
) -> None:
    limit, window_ms, times = schedule
    state, _ = run([(T0 + dt.timedelta(microseconds=us), limit) for us in times], ms(window_ms))
    now = T0 + dt.timedelta(microseconds=(times[-1] if times else 0) + extra_us)
    after, first = hit(state, limit=limit, window=ms(window_ms), now=now)
    if not first.allowed:
        return
    # ``remaining`` more requests now are allowed, each one fewer left, and not one more.
    expected = first.remaining
    state = after
    for _ in range(first.remaining):
        state, verdict = hit(state, limit=limit, window=ms(window_ms), now=now)
        assert verdict.allowed
        expected -= 1
        assert verdict.remaining == expected
    _, verdict = hit(state, limit=limit, window=ms(window_ms), now=now)
    assert not verdict.allowed
    assert verdict.remaining == 0


@given(schedules(max_size=60), st.integers(0, 10**7), st.integers(0, 10**7))
def test_capacity_only_comes_back_as_time_passes(
    schedule: tuple[int, int, list[int]], later_us: int, more_us: int
) -> None:
    limit, window_ms, times = schedule
    state, _ = run([(T0 + dt.timedelta(microseconds=us), limit) for us in times], ms(window_ms))
    start = T0 + dt.timedelta(microseconds=(times[-1] if times else 0) + later_us)
    _, sooner = hit(state, limit=limit, window=ms(window_ms), now=start)
    _, later = hit(
        state, limit=limit, window=ms(window_ms), now=start + dt.timedelta(microseconds=more_us)
    )
    assert later.allowed >= sooner.allowed
    assert later.remaining >= sooner.remaining


@given(schedules(max_size=60), st.integers(1, 12))
def test_waiting_retry_after_is_enough_and_one_millisecond_less_is_not(
    schedule: tuple[int, int, list[int]], limit: int
) -> None:
    base_limit, window_ms, times = schedule
    window = ms(window_ms)
    state, _ = run([(T0 + dt.timedelta(microseconds=us), base_limit) for us in times], window)
    now = T0 + dt.timedelta(microseconds=times[-1] if times else 0)
    # Fill up whatever is left, at the same instant (with a limit that may have changed).
    for _ in range(2 * max(limit, base_limit) + 2):
        after, verdict = hit(state, limit=limit, window=window, now=now)
        if not verdict.allowed:
            break
        state = after
    assert not verdict.allowed
    assert verdict.retry_after is not None
    honoured = now + dt.timedelta(seconds=verdict.retry_after)
    _, retried = hit(state, limit=limit, window=window, now=honoured)
    assert retried.allowed
    _, early = hit(state, limit=limit, window=window, now=honoured - MS)
    assert not early.allowed


@given(schedules(max_size=40))
def test_at_reset_at_a_full_limit_is_available_again(
    schedule: tuple[int, int, list[int]],
) -> None:
    limit, window_ms, times = schedule
    state, verdicts = run(
        [(T0 + dt.timedelta(microseconds=us), limit) for us in times], ms(window_ms)
    )
    if not verdicts:
        return
    _, verdict = hit(state, limit=limit, window=ms(window_ms), now=verdicts[-1].reset_at)
    assert verdict.allowed
    assert verdict.remaining == limit - 1


# -- the in-memory adapter ---------------------------------------------------------------------


def test_the_in_memory_limiter_is_a_rate_limiter() -> None:
    limiter: RateLimiter = InMemoryRateLimiter()
    assert limiter is not None


async def test_the_in_memory_limiter_counts_and_refuses() -> None:
    limiter = InMemoryRateLimiter()
    decisions = [await limiter.hit("u1:content", limit=2, window=MINUTE, now=T0) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert all(isinstance(d, RateDecision) for d in decisions)
    assert decisions[-1].retry_after is not None
    later = T0 + dt.timedelta(seconds=decisions[-1].retry_after)
    assert (await limiter.hit("u1:content", limit=2, window=MINUTE, now=later)).allowed


@st.composite
def interleavings(draw: st.DrawFn) -> list[tuple[str, int]]:
    """Requests on a few keys: (key, ms since T0), non-decreasing times."""
    steps = draw(
        st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 700)), min_size=1, max_size=80)
    )
    out, at = [], 0
    for key, step in steps:
        at += step
        out.append((key, at))
    return out


@given(interleavings())
def test_keys_are_independent(requests: list[tuple[str, int]]) -> None:
    async def decide(limiter: InMemoryRateLimiter, items: list[tuple[str, int]]) -> list[object]:
        return [await limiter.hit(k, limit=3, window=ms(1000), now=T0 + ms(t)) for k, t in items]

    async def main() -> None:
        together = await decide(InMemoryRateLimiter(), requests)
        for key in "abc":
            alone = await decide(InMemoryRateLimiter(), [r for r in requests if r[0] == key])
            assert alone == [d for d, r in zip(together, requests, strict=True) if r[0] == key]

    asyncio.run(main())


async def test_keys_are_dropped_once_their_counts_cannot_matter() -> None:
    limiter = InMemoryRateLimiter()
    for n in range(50):
        await limiter.hit(f"user{n}", limit=5, window=MINUTE, now=T0)
    await limiter.hit("long", limit=5, window=HOUR, now=T0)
    assert len(limiter) == 51
    # Two minute-windows on, only the hour-long key still matters.
    await limiter.hit("other", limit=5, window=MINUTE, now=T0 + 2 * MINUTE)
    assert len(limiter) == 2
    await limiter.hit("other", limit=5, window=MINUTE, now=T0 + 3 * HOUR)
    assert len(limiter) == 1


async def test_beyond_max_keys_the_least_recently_counted_key_is_dropped() -> None:
    limiter = InMemoryRateLimiter(max_keys=3)
    for key in ("a", "b", "c"):
        await limiter.hit(key, limit=1, window=HOUR, now=T0)
    assert not (await limiter.hit("a", limit=1, window=HOUR, now=T0)).allowed
    await limiter.hit("d", limit=1, window=HOUR, now=T0)  # "a" was counted least recently
    assert len(limiter) == 3
    assert (await limiter.hit("a", limit=1, window=HOUR, now=T0)).allowed  # forgotten: afresh
    assert not (await limiter.hit("d", limit=1, window=HOUR, now=T0)).allowed


async def test_memory_stays_bounded_under_a_flood_of_keys() -> None:
    limiter = InMemoryRateLimiter(max_keys=100)
    for n in range(5000):
        await limiter.hit(f"k{n}", limit=1, window=HOUR, now=T0 + ms(n))
        assert len(limiter) <= 100
        assert len(limiter._expiries) <= 2 * 100 + 64 + 1


def test_max_keys_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        InMemoryRateLimiter(max_keys=0)


# -- the Redis adapter without the redis package -----------------------------------------------


def test_the_core_and_the_redis_adapter_import_without_the_redis_package() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["redis"] = None  # as if the extra were not installed
        import projectone
        import projectone.adapters.rate_limit_memory
        import projectone.adapters.rate_limit_redis as adapter
        from projectone.domain.errors import ConfigurationError
        try:
            adapter.RedisRateLimiter()
        except ConfigurationError as exc:
            print("refused:", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout
    assert "projectone[redis]" in done.stdout
