"""Sliding-window rate limiting: the arithmetic, pure and deterministic (time is passed in).

The window is the *sliding-window counter* (two fixed windows, the previous one weighted): time
is cut into fixed windows of ``window`` length; a key keeps only the number of requests it was
allowed in the current fixed window and in the one before. At a moment ``e`` into the current
window the requests of the last ``window`` are estimated as::

    previous × (window − e) / window + current

and a request is allowed when that estimate, with the request, stays within ``limit``.

Why this and not a sliding log (one timestamp per request, exact): a key costs O(1) memory,
whatever the limit (the settings allow millions of requests an hour, a log would keep each
one), and one request is a handful of integer operations, so the Redis adapter decides in a
short Lua script without sorted sets. The price is that it is an approximation, and bounded:

* within one fixed window, at most ``limit`` requests are allowed (``current`` never passes it);
* within *any* interval of length ``window``, at most ``2 × limit − 1`` are: the estimate
  assumes the previous window's requests were spread evenly, so a burst at the very end of one
  fixed window followed by another at the start of the next may both pass (the boundary
  effect, at most one window's worth). On steady traffic the estimate is close to exact.
* it can also refuse a little early, when the previous window's requests came early in it.

Exactness: everything is integer arithmetic on milliseconds since the Unix epoch, scaled by the
window length instead of divided, so that the Redis adapter's Lua script (whose numbers are
IEEE doubles, exact for integers up to 2**53) computes the very same decisions as this module.
:func:`check_limit` refuses a ``limit`` and ``window`` whose products could leave that range.

Rules:

* a refused request is not counted;
* ``retry_after`` (refused requests only) is the exact time, rounded up to the millisecond,
  after which one more request is allowed if nothing else is counted meanwhile; waiting it out
  is enough, waiting one millisecond less is not;
* ``remaining`` is how many more requests would be allowed at this instant (never negative);
* ``reset_at`` is when the estimate is back to zero (a full ``limit`` available): the end of the
  next fixed window once anything was counted in the current one;
* a state kept for another window length is ignored (counting starts afresh);
* a ``now`` earlier than the window a key last counted in (clocks of several API processes
  differ a little) is taken as the start of that window: a clock stepping back never frees
  capacity.
"""

from __future__ import annotations

import datetime as dt

import attrs

from projectone.domain._validate import require_whole_number
from projectone.domain.errors import ValidationError

__all__ = [
    "EPOCH",
    "MAX_EXACT",
    "RateVerdict",
    "WindowOutcome",
    "WindowState",
    "check_limit",
    "decide",
    "epoch_ms",
    "from_epoch_ms",
    "hit",
    "verdict",
]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
#: Integers up to here are exact as IEEE doubles (Lua numbers in Redis).
MAX_EXACT = 2**53


@attrs.frozen(kw_only=True)
class WindowState:
    """What one key keeps: the fixed window ``index`` (``now_ms // window_ms``) it last counted
    in, the requests allowed in it (``current``) and in the window before (``previous``)."""

    window_ms: int
    index: int
    current: int
    previous: int

    @property
    def expires_ms(self) -> int:
        """From this instant (ms since the epoch) the state counts for nothing any more."""
        return (self.index + 2) * self.window_ms


@attrs.frozen(kw_only=True)
class WindowOutcome:
    """One decision in integers: what the adapters store and what the Lua script returns.

    ``reset_ms`` is absolute (ms since the epoch); ``retry_ms`` is relative to the request's
    own time (floored to the millisecond), ``None`` when allowed.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int
    retry_ms: int | None


@attrs.frozen(kw_only=True)
class RateVerdict:
    """A decision as the HTTP layer reports it (the fields of ``ports.auth.RateDecision``)."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: dt.datetime
    retry_after: float | None = None


def epoch_ms(now: dt.datetime) -> int:
    """``now`` as whole milliseconds since the Unix epoch, rounded down."""
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise ValidationError("now", now, "must be a timezone-aware datetime")
    return (now - EPOCH) // _MS


def from_epoch_ms(ms: int) -> dt.datetime:
    """The UTC instant ``ms`` milliseconds after the Unix epoch."""
    return EPOCH + ms * _MS


def check_limit(limit: int, window: dt.timedelta) -> int:
    """Validate ``limit`` and ``window``; the window in whole milliseconds.

    The window must be a whole number of milliseconds, at least one; ``(2 × limit + 2) ×
    window`` must stay within 2**53 milliseconds so that every intermediate value is exact in
    the Redis script too (e.g. up to about 1.2 billion requests an hour).
    """
    require_whole_number("limit", limit, 1)
    if not isinstance(window, dt.timedelta) or window < _MS or window % _MS:
        raise ValidationError("window", window, "must be a whole number of milliseconds, >= 1 ms")
    window_ms = window // _MS
    if (2 * limit + 2) * window_ms > MAX_EXACT:
        raise ValidationError(
            "limit",
            limit,
            f"is too large for a window of {window}: (2 × limit + 2) × window ms "
            "must not exceed 2**53",
        )
    return window_ms


def decide(
    state: WindowState | None, *, limit: int, window_ms: int, now_ms: int
) -> tuple[WindowState, WindowOutcome]:
    """Count one request at ``now_ms`` against ``state``: the state to keep and the decision.

    Integers in, integers out; the Redis adapter's Lua script is a line-by-line copy. The
    returned state is the rolled-forward one, with the request counted only when allowed
    (adapters need store it only then). Arguments are assumed valid (see :func:`check_limit`).
    """
    w = window_ms
    t = now_ms
    k = t // w
    if state is None or state.window_ms != w:
        previous = current = 0
    else:
        if k < state.index:  # a clock behind the one that counted last: no capacity freed
            k = state.index
            t = k * w
        if k == state.index:
            previous, current = state.previous, state.current
        elif k == state.index + 1:
            previous, current = state.current, 0
        else:
            previous = current = 0
    e = t - k * w
    capacity = limit * w
    used = previous * (w - e) + current * w
    allowed = used + w <= capacity
    retry_ms: int | None = None
    if allowed:
        current += 1
        used += w
    else:
        retry_ms = (t - now_ms) + _wait(limit, w, e, previous, current)
    remaining = max(0, (capacity - used) // w)
    if current > 0:
        reset_ms = (k + 2) * w
    elif previous > 0:
        reset_ms = (k + 1) * w
    else:
        reset_ms = t
    new_state = WindowState(window_ms=w, index=k, current=current, previous=previous)
    outcome = WindowOutcome(
        allowed=allowed, limit=limit, remaining=remaining, reset_ms=reset_ms, retry_ms=retry_ms
    )
    return new_state, outcome


def _wait(limit: int, w: int, e: int, previous: int, current: int) -> int:
    """Milliseconds from ``e`` into the window until one more request fits (it does not now)."""
    room = limit - current - 1  # whole requests the previous window's weighted part may use
    if room >= 0 and previous > 0:
        # Still in this window: previous × (w − e − d) ≤ room × w.
        wait = w - e - (room * w) // previous
        if wait < w - e:
            return wait
    # In the next window (previous there = current here, nothing current):
    # current × (w − e2) + w ≤ limit × w; e2 == w means the start of the window after it.
    e2 = 0 if current <= limit - 1 else w - ((limit - 1) * w) // current
    return (w - e) + e2


def verdict(outcome: WindowOutcome) -> RateVerdict:
    """The integer decision as datetimes and seconds (both adapters convert through here)."""
    return RateVerdict(
        allowed=outcome.allowed,
        limit=outcome.limit,
        remaining=outcome.remaining,
        reset_at=from_epoch_ms(outcome.reset_ms),
        retry_after=None if outcome.retry_ms is None else outcome.retry_ms / 1000,
    )


def hit(
    state: WindowState | None, *, limit: int, window: dt.timedelta, now: dt.datetime
) -> tuple[WindowState, RateVerdict]:
    """Validate, then :func:`decide` one request at ``now``: the state to keep and the verdict."""
    window_ms = check_limit(limit, window)
    new_state, outcome = decide(state, limit=limit, window_ms=window_ms, now_ms=epoch_ms(now))
    return new_state, verdict(outcome)
