"""The rate limiters against each other: the same cases on ``InMemoryRateLimiter`` and on
``RedisRateLimiter`` with the real server, and the proof that both decide alike.

Redis is at ``PROJECTONE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). Without a
server (or without the ``redis`` package) the Redis tests skip locally; with ``CI`` set they
fail instead, as the PostgreSQL tests do (tests/conftest.py). Each test uses its own random key
prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projectone.adapters.rate_limit_memory import InMemoryRateLimiter
from projectone.adapters.rate_limit_redis import RedisRateLimiter, redis_target
from projectone.domain.errors import ConfigurationError, UnavailableError
from projectone.ports.auth import RateDecision, RateLimiter

REDIS_URL_ENV = "PROJECTONE_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

T0 = dt.datetime(2026, 11, 23, 6, 7, 8, 123_456, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _cannot_test(message: str) -> None:
    if _in_ci():
        pytest.fail(message + " (CI is set: the Redis tests must run)")
    pytest.skip(message)


def _require_redis_package() -> None:
    try:
        import redis  # noqa: F401
    except ImportError:
        _cannot_test("the redis package is not installed: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def redis_url() -> str:
    """The URL of a reachable Redis server."""
    _require_redis_package()
    import redis

    url = os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        reason = " ".join(str(exc).split())
        _cannot_test(f"{redis_target(url)} is not reachable ({reason}); set {REDIS_URL_ENV}")
    finally:
        client.close()
    return url


def _new_prefix() -> str:
    return f"projectone-test:{uuid.uuid4().hex}:"


def _delete_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    chosen = _new_prefix()
    try:
        yield chosen
    finally:
        _delete_keys(redis_url, chosen)


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    """Each behavioural case runs on both adapters."""
    if request.param == "memory":
        yield InMemoryRateLimiter()
        return
    chosen: str = request.getfixturevalue("prefix")
    async with RedisRateLimiter(request.getfixturevalue("redis_url"), key_prefix=chosen) as made:
        yield made


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- the same behaviour on both adapters -------------------------------------------------------


async def test_the_limit_is_allowed_then_refused(limiter: RateLimiter) -> None:
    decisions = [await limiter.hit("u1:content", limit=3, window=MINUTE, now=T0) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert [d.retry_after is None for d in decisions] == [True, True, True, False]
    assert all(isinstance(d, RateDecision) and d.limit == 3 for d in decisions)
    assert all(d.reset_at >= T0 for d in decisions)
    refused = decisions[-1]
    assert refused.retry_after is not None
    assert refused.retry_after > 0


async def test_honouring_retry_after_is_allowed_and_refusals_are_not_counted(
    limiter: RateLimiter,
) -> None:
    now = T0
    for _ in range(5):
        decision = await limiter.hit("u1:review", limit=5, window=HOUR, now=now)
    assert decision.allowed
    for _ in range(3):  # refused again and again: none of these count
        refused = await limiter.hit("u1:review", limit=5, window=HOUR, now=now)
        assert not refused.allowed
        assert refused.remaining == 0
    assert refused.retry_after is not None
    now += dt.timedelta(seconds=refused.retry_after)
    early = await limiter.hit("u1:review", limit=5, window=HOUR, now=now - MS)
    assert not early.allowed
    again = await limiter.hit("u1:review", limit=5, window=HOUR, now=now)
    assert again.allowed
    assert again.retry_after is None


async def test_keys_do_not_share_counts(limiter: RateLimiter) -> None:
    assert (await limiter.hit("advisor-1", limit=1, window=MINUTE, now=T0)).allowed
    assert not (await limiter.hit("advisor-1", limit=1, window=MINUTE, now=T0)).allowed
    assert (await limiter.hit("advisor-2", limit=1, window=MINUTE, now=T0)).allowed


async def test_the_window_slides(limiter: RateLimiter) -> None:
    start = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
    for _ in range(40):
        await limiter.hit("k", limit=100, window=MINUTE, now=start)
    # A quarter into the next fixed window, three quarters of the previous 40 still count.
    decision = await limiter.hit("k", limit=100, window=MINUTE, now=start + MINUTE * 1.25)
    assert decision.remaining == 100 - 30 - 1
    decision = await limiter.hit("k", limit=100, window=MINUTE, now=start + 3 * MINUTE)
    assert decision.remaining == 99


async def test_a_clock_stepping_back_frees_no_capacity(limiter: RateLimiter) -> None:
    await limiter.hit("k", limit=1, window=MINUTE, now=T0)
    decision = await limiter.hit("k", limit=1, window=MINUTE, now=T0 - HOUR)
    assert not decision.allowed
    assert decision.retry_after is not None
    assert decision.retry_after > HOUR.total_seconds()


async def test_a_lower_limit_takes_effect_at_once(limiter: RateLimiter) -> None:
    for _ in range(8):
        await limiter.hit("k", limit=10, window=MINUTE, now=T0)
    decision = await limiter.hit("k", limit=3, window=MINUTE, now=T0)
    assert not decision.allowed
    assert decision.retry_after is not None
    assert (
        await limiter.hit(
            "k", limit=3, window=MINUTE, now=T0 + dt.timedelta(seconds=decision.retry_after)
        )
    ).allowed


async def test_times_far_from_the_servers_clock_work(limiter: RateLimiter) -> None:
    for year in (1999, 2100):
        now = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        decisions = [await limiter.hit(f"y{year}", limit=1, window=MINUTE, now=now)]
        decisions.append(await limiter.hit(f"y{year}", limit=1, window=MINUTE, now=now))
        assert [d.allowed for d in decisions] == [True, False]
        assert decisions[1].reset_at == now + 2 * MINUTE


# -- both adapters decide alike ----------------------------------------------------------------

Request = tuple[str, int, int, int]  # key, limit, window ms, µs since the previous request


@st.composite
def request_sequences(draw: st.DrawFn) -> list[Request]:
    window_ms = draw(st.sampled_from([1, 3, 250, 1000, 60_000, 3_600_000]))
    limit = draw(st.integers(1, 8))
    w_us = window_ms * 1000
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(["a", "b"]),
                # Now and then a changed limit or window (a configuration change).
                st.one_of(st.just(limit), st.integers(1, 8)),
                st.one_of(st.just(window_ms), st.just(window_ms), st.sampled_from([1, 1000])),
                st.one_of(st.just(0), st.integers(0, max(1, w_us // 4)), st.integers(0, 3 * w_us)),
            ),
            min_size=1,
            max_size=60,
        )
    )


async def _decide_all(limiter: RateLimiter, requests: list[Request]) -> list[RateDecision]:
    decisions, now = [], T0
    for key, limit, window_ms, step_us in requests:
        now += dt.timedelta(microseconds=step_us)
        decisions.append(await limiter.hit(key, limit=limit, window=window_ms * MS, now=now))
    return decisions


async def _compare(url: str, requests: list[Request]) -> None:
    chosen = _new_prefix()
    try:
        async with RedisRateLimiter(url, key_prefix=chosen) as on_redis:
            expected = await _decide_all(InMemoryRateLimiter(), requests)
            assert await _decide_all(on_redis, requests) == expected
    finally:
        _delete_keys(url, chosen)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(requests=request_sequences())
def test_redis_and_memory_decide_exactly_alike(redis_url: str, requests: list[Request]) -> None:
    asyncio.run(_compare(redis_url, requests))


def test_redis_and_memory_decide_alike_over_a_long_busy_run(redis_url: str) -> None:
    rng = random.Random(20261123)
    requests: list[Request] = []
    for _ in range(3000):
        window_ms = rng.choice([1, 7, 1000, 60_000, 3_600_000])
        key = rng.choice("abcd") + str(window_ms)
        requests.append((key, rng.choice([1, 2, 5, 50]), window_ms, rng.randrange(0, 5000)))
    asyncio.run(_compare(redis_url, requests))


# -- Redis specifics ---------------------------------------------------------------------------


async def test_concurrent_processes_never_share_out_more_than_the_limit(
    redis_url: str, prefix: str
) -> None:
    # Two limiters with their own connection pools stand for two API processes.
    async with (
        RedisRateLimiter(redis_url, key_prefix=prefix) as one,
        RedisRateLimiter(redis_url, key_prefix=prefix) as two,
    ):
        decisions = await asyncio.gather(
            *(
                limiter.hit("shared", limit=10, window=MINUTE, now=T0)
                for _ in range(40)
                for limiter in (one, two)
            )
        )
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))


async def test_keys_carry_the_prefix_and_expire_on_their_own(redis_url: str, prefix: str) -> None:
    import redis.asyncio

    async with RedisRateLimiter(redis_url, key_prefix=prefix) as limiter:
        await limiter.hit("advisor-7:content", limit=5, window=MINUTE, now=T0)
        await limiter.hit("refused-only", limit=1, window=MINUTE, now=T0)
        await limiter.hit("refused-only", limit=1, window=MINUTE, now=T0)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        keys = sorted([key async for key in client.scan_iter(match=prefix + "*")])
        assert keys == [f"{prefix}advisor-7:content".encode(), f"{prefix}refused-only".encode()]
        for key in keys:
            ttl = await client.pttl(key)
            # Two windows at most from the request, plus a second of slack.
            assert 0 < ttl <= 2 * 60_000 + 1000
    finally:
        await client.aclose()


async def test_the_script_takes_one_round_trip_once_loaded(redis_url: str, prefix: str) -> None:
    async with RedisRateLimiter(redis_url, key_prefix=prefix) as limiter:
        await limiter.hit("k", limit=5, window=MINUTE, now=T0)  # loads the script if need be
        sent: list[tuple[Any, ...]] = []
        client: Any = limiter._client
        original: Callable[..., Any] = client.execute_command

        async def spy(*args: Any, **options: Any) -> Any:
            sent.append(args)
            return await original(*args, **options)

        client.execute_command = spy
        await limiter.hit("k", limit=5, window=MINUTE, now=T0)
    assert [args[0] for args in sent] == ["EVALSHA"]


async def test_an_unreachable_redis_is_unavailable_named_without_its_password() -> None:
    _require_redis_package()
    port = _closed_port()
    url = f"redis://admin:s3cr%21t-pw@127.0.0.1:{port}/0"
    async with RedisRateLimiter(url, timeout_seconds=2) as limiter:
        with pytest.raises(UnavailableError) as caught:
            await limiter.hit("k", limit=1, window=MINUTE, now=T0)
    error = caught.value
    assert error.target == f"redis at 127.0.0.1:{port}"
    assert error.outcome_unknown is False  # refused: the request never reached Redis
    for text in (str(error), error.target, error.reason, repr(error)):
        assert "s3cr" not in text
        assert "admin" not in text


async def test_a_redis_that_never_answers_times_out_as_unavailable() -> None:
    _require_redis_package()
    connections: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # accept, read nothing, answer nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with RedisRateLimiter(
            f"redis://:pw-123456@127.0.0.1:{port}/0", timeout_seconds=0.2
        ) as limiter:
            with pytest.raises(UnavailableError) as caught:
                await asyncio.wait_for(limiter.hit("k", limit=1, window=MINUTE, now=T0), timeout=10)
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
    assert caught.value.target == f"redis at 127.0.0.1:{port}"
    assert caught.value.outcome_unknown is True  # it may have been counted
    assert "pw-123456" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis at 127.0.0.1:6379"),
        ("redis://:secret@cache.internal/2", "redis at cache.internal:6379"),
        ("rediss://user:secret@cache.internal:6380", "redis at cache.internal:6380"),
        ("redis://[::1]:7000/0", "redis at [::1]:7000"),
        ("unix:///run/redis.sock?db=0", "redis at /run/redis.sock"),
    ],
)
def test_the_server_is_named_by_host_and_port_only(url: str, shown: str) -> None:
    assert redis_target(url) == shown


def test_a_url_that_is_not_redis_is_a_configuration_error_without_its_password() -> None:
    _require_redis_package()
    with pytest.raises(ConfigurationError) as caught:
        RedisRateLimiter("http://user:hunter2@cache.internal:6379/0")
    assert "hunter2" not in str(caught.value)
