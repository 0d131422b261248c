"""A rate limiter counting in this process (``PROJECTONE_RATE_LIMIT_BACKEND=memory``).

Fine for one API process; with several, each counts on its own (use the Redis adapter). The
decisions are those of :mod:`projectone.domain.rate_limit`, the very same as the Redis
adapter's for the same sequence of requests.

Memory is bounded: a key whose counts no longer matter (two windows after it last counted,
by the times passed in) is dropped, and beyond ``max_keys`` keys the one counted least
recently is dropped too (it then starts afresh: under such a flood of keys the limiter fails
open for the oldest of them rather than grow without end).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools

from projectone.domain import rate_limit
from projectone.domain._validate import require_whole_number
from projectone.ports.auth import RateDecision

__all__ = ["DEFAULT_MAX_KEYS", "InMemoryRateLimiter"]

DEFAULT_MAX_KEYS = 100_000


class InMemoryRateLimiter:
    """``RateLimiter`` for one process: sliding-window counters in a dict.

    Safe on one event loop without locking: :meth:`hit` never awaits in the middle of a
    decision.
    """

    def __init__(self, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        require_whole_number("max_keys", max_keys, 1)
        self._max_keys = max_keys
        # Ordered by last count, least recent first (a key is moved to the end on each count).
        self._states: dict[str, rate_limit.WindowState] = {}
        # (expires_ms, tie-breaker, key); an entry whose key has since moved on is stale.
        self._expiries: list[tuple[int, int, str]] = []
        self._sequence = itertools.count()

    def __len__(self) -> int:
        """How many keys are held right now."""
        return len(self._states)

    async def hit(
        self, key: str, *, limit: int, window: dt.timedelta, now: dt.datetime
    ) -> RateDecision:
        window_ms = rate_limit.check_limit(limit, window)
        now_ms = rate_limit.epoch_ms(now)
        self._expire(now_ms)
        state, outcome = rate_limit.decide(
            self._states.get(key), limit=limit, window_ms=window_ms, now_ms=now_ms
        )
        if outcome.allowed:
            self._store(key, state)
        decided = rate_limit.verdict(outcome)
        return RateDecision(
            allowed=decided.allowed,
            limit=decided.limit,
            remaining=decided.remaining,
            reset_at=decided.reset_at,
            retry_after=decided.retry_after,
        )

    def _store(self, key: str, state: rate_limit.WindowState) -> None:
        before = self._states.pop(key, None)
        self._states[key] = state
        if before is None or before.expires_ms != state.expires_ms:
            heapq.heappush(self._expiries, (state.expires_ms, next(self._sequence), key))
        while len(self._states) > self._max_keys:
            del self._states[next(iter(self._states))]
        if len(self._expiries) > 2 * len(self._states) + 64:
            # Stale entries (keys evicted or moved on) pile up under a flood: rebuild.
            self._expiries = [
                (s.expires_ms, next(self._sequence), k) for k, s in self._states.items()
            ]
            heapq.heapify(self._expiries)

    def _expire(self, now_ms: int) -> None:
        while self._expiries and self._expiries[0][0] <= now_ms:
            expires_ms, _, key = heapq.heappop(self._expiries)
            state = self._states.get(key)
            if state is not None and state.expires_ms == expires_ms:
                del self._states[key]
