"""A rate limiter shared by every API process through Redis
(``PROJECTONE_RATE_LIMIT_BACKEND=redis``; install ``projectone[redis]``).

Each request is one ``EVALSHA`` of a Lua script (loaded on first use): the script reads the
key's counters, decides and counts atomically, so concurrent API processes never both take
the last request. The decision is :func:`projectone.domain.rate_limit.decide` rewritten in Lua,
integer for integer, on the time the caller passes in (never Redis's clock), so it is the
same as the in-memory adapter's. A key is a small hash (``w`` window ms, ``i`` window index,
``c`` current, ``p`` previous) under ``key_prefix``, and expires on its own once its counts can
no longer matter (two windows after it last counted, plus a second of slack).

The ``redis`` package is imported when a limiter is made, not when this module is imported:
the core package works without the extra, and asking for this adapter without it raises
``ConfigurationError`` saying what to install.

Redis that cannot be reached, times out or answers with an error raises ``UnavailableError``
naming it as ``redis at host:port`` only (never the URL: it may hold a password); the caller
decides whether to fail open or closed. There is one immediate retry after a dropped
connection (a pooled connection the server closed) and none after a timeout, which may have
counted the request already.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from projectone.domain import rate_limit
from projectone.domain.errors import ConfigurationError, UnavailableError
from projectone.ports.auth import RateDecision

if TYPE_CHECKING:  # the extra may be absent at run time: imported in __init__
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["DEFAULT_KEY_PREFIX", "SLIDING_WINDOW_LUA", "RedisRateLimiter", "redis_target"]

DEFAULT_KEY_PREFIX = "projectone:ratelimit:"
_SLACK_MS = 1000

#: KEYS[1] the counter; ARGV: limit, window_ms, now_ms, slack_ms (decimal integers).
#: Returns {allowed (0/1), remaining, reset_ms, retry_ms (-1 when allowed)}.
#: Lua numbers are doubles: every value stays below 2**53 (``rate_limit.check_limit``), and
#: divisions go through idiv, exact where ``math.floor(a / b)`` may round up.
SLIDING_WINDOW_LUA = """
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end

local limit = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local t = now
local k = idiv(t, w)
local previous, current = 0, 0

local stored = redis.call('HMGET', KEYS[1], 'w', 'i', 'c', 'p')
if stored[1] and tonumber(stored[1]) == w then
  local index = tonumber(stored[2])
  if k < index then
    k = index
    t = k * w
  end
  if k == index then
    previous, current = tonumber(stored[4]), tonumber(stored[3])
  elseif k == index + 1 then
    previous, current = tonumber(stored[3]), 0
  end
end

local e = t - k * w
local capacity = limit * w
local used = previous * (w - e) + current * w
local allowed = used + w <= capacity
local retry = -1
if allowed then
  current = current + 1
  used = used + w
  redis.call('HSET', KEYS[1], 'w', w, 'i', k, 'c', current, 'p', previous)
  redis.call('PEXPIRE', KEYS[1], (k + 2) * w - t + slack)
else
  local wait = -1
  local room = limit - current - 1
  if room >= 0 and previous > 0 then
    wait = w - e - idiv(room * w, previous)
    if wait >= w - e then wait = -1 end
  end
  if wait < 0 then
    local e2 = 0
    if current > limit - 1 then e2 = w - idiv((limit - 1) * w, current) end
    wait = (w - e) + e2
  end
  retry = (t - now) + wait
end

local remaining = idiv(capacity - used, w)
if remaining < 0 then remaining = 0 end
local reset = t
if current > 0 then reset = (k + 2) * w elseif previous > 0 then reset = (k + 1) * w end
return {allowed and 1 or 0, remaining, reset, retry}
"""


def redis_target(url: str) -> str:
    """How errors name the server of ``url``: ``redis at host:port`` (or the socket path),
    never the user name or password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"redis at {parts.path}"
    try:
        port = parts.port or 6379
    except ValueError:
        port = 6379
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"redis at {host}:{port}"


def _refused(exc: BaseException) -> bool:
    """Whether the connection was refused (so the request certainly never reached Redis):
    redis-py raises its own ``ConnectionError`` with the ``OSError`` as the context."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class RedisRateLimiter:
    """``RateLimiter`` on a Redis server shared by every API process.

    ``url`` is a redis-py URL (``redis://[[user]:password@]host:port/db``, ``rediss://`` for
    TLS, ``unix://``); ``key_prefix`` is put in front of every key; ``timeout_seconds`` bounds
    connecting and each answer. Close it with :meth:`aclose` (or ``async with``).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        timeout_seconds: float = 1.0,
    ) -> None:
        try:
            import redis.asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError, RedisError
        except ImportError:
            raise ConfigurationError(
                "rate_limit.backend",
                "redis needs the redis package: pip install 'projectone[redis]'",
            ) from None
        if not timeout_seconds > 0:
            raise ConfigurationError("timeout_seconds", f"must be positive, got {timeout_seconds}")
        self.target = redis_target(url)
        self.key_prefix = key_prefix
        self._password = unquote(urlsplit(url).password or "")
        try:
            self._client: Redis = redis.asyncio.Redis.from_url(
                url,
                socket_timeout=timeout_seconds,
                socket_connect_timeout=timeout_seconds,
                retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
            )
        except ValueError as exc:
            raise ConfigurationError("redis_url", self._scrub(str(exc))) from None
        self._script: AsyncScript = self._client.register_script(SLIDING_WINDOW_LUA)
        self._redis_error: type[Exception] = RedisError

    async def hit(
        self, key: str, *, limit: int, window: dt.timedelta, now: dt.datetime
    ) -> RateDecision:
        window_ms = rate_limit.check_limit(limit, window)
        now_ms = rate_limit.epoch_ms(now)
        try:
            answer: Any = await self._script(
                keys=[self.key_prefix + key], args=[limit, window_ms, now_ms, _SLACK_MS]
            )
        except (self._redis_error, OSError) as exc:
            raise UnavailableError(
                self.target, self._reason(exc), outcome_unknown=not _refused(exc)
            ) from None
        allowed, remaining, reset_ms, retry_ms = (int(value) for value in answer)
        decided = rate_limit.verdict(
            rate_limit.WindowOutcome(
                allowed=bool(allowed),
                limit=limit,
                remaining=remaining,
                reset_ms=reset_ms,
                retry_ms=None if allowed else retry_ms,
            )
        )
        return RateDecision(
            allowed=decided.allowed,
            limit=decided.limit,
            remaining=decided.remaining,
            reset_at=decided.reset_at,
            retry_after=decided.retry_after,
        )

    async def aclose(self) -> None:
        """Close the connections to Redis."""
        await self._client.aclose()

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def _reason(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or "no answer"
        return self._scrub(f"{type(exc).__name__}: {text}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text
