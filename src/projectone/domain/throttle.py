"""Sender throttling: a token bucket per sending phone number (DESIGN.md §3.4).

Meta caps each business number's throughput (80 messages/s by default, up to 1,000/s) and
answers 130429 beyond it. Pacing ourselves below the cap is cheaper than being refused: a
refused message costs a retry and eats into the five-minute SLA.

The bucket *reserves*: :meth:`TokenBucket.take` always hands out the tokens asked for and says
how long the caller must wait before using them, letting the balance go negative meanwhile.
A dispatcher can therefore plan a whole batch in one pass (send each message at ``now + wait``)
and the sum of what was promised never outruns the rate. A caller that reserves and then does
not send only makes the bucket more cautious, never less.

The bucket is an immutable value: every call returns a new one, so it can be stored, compared
and replayed in tests without a clock.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, TypeGuard

import attrs

from projectone.domain._validate import optional_aware, require_whole_number
from projectone.domain.errors import ValidationError

__all__ = ["DEFAULT_RATE", "MAX_RATE", "TokenBucket"]

DEFAULT_RATE = 80.0
MAX_RATE = 1000.0
_MICROSECOND = dt.timedelta(microseconds=1)


def _number(value: object) -> TypeGuard[float]:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _rate(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not _number(value) or not 0 < value <= MAX_RATE:
        raise ValidationError(
            attribute.name, value, f"must be a number of messages/s above 0, up to {MAX_RATE:g}"
        )


def _capacity(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    # At least one token, or a single message could never be sent at a rate below 1/s.
    if not _number(value) or value < 1:
        raise ValidationError(attribute.name, value, "must be a number >= 1")


def _tokens(instance: TokenBucket, attribute: attrs.Attribute[Any], value: object) -> None:
    # Negative means reserved ahead of time; above capacity would be a burst never earned.
    if not _number(value) or value > instance.capacity:
        raise ValidationError(attribute.name, value, "must be a number no larger than capacity")


@attrs.frozen(kw_only=True)
class TokenBucket:
    """The sending allowance of one phone number.

    ``rate`` tokens (messages) accrue per second up to ``capacity`` (the burst; by default one
    second's worth, and never under one message). ``tokens`` is the balance at ``updated_at``;
    ``None`` there means the bucket was never used, so it is as full as ``tokens`` says
    whenever it is first asked.
    """

    rate: float = attrs.field(default=DEFAULT_RATE, validator=_rate)
    capacity: float = attrs.field(validator=_capacity)
    tokens: float = attrs.field(validator=_tokens)
    updated_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)

    @capacity.default
    def _full_second(self) -> float:
        return max(float(self.rate), 1.0) if _number(self.rate) else self.rate

    @tokens.default
    def _full(self) -> float:
        return self.capacity

    def available(self, now: dt.datetime) -> float:
        """The balance at ``now`` (negative while earlier reservations are still being paid)."""
        return self._refilled(now)[1]

    def take(self, now: dt.datetime, n: int = 1) -> tuple[TokenBucket, dt.timedelta]:
        """Reserve ``n`` tokens at ``now``: the new bucket and how long to wait before sending.

        The wait is zero when the tokens are there; otherwise it is the time the rate needs to
        earn the shortfall, rounded up to the microsecond so a caller never sends early. A
        ``now`` before ``updated_at`` counts as ``updated_at``.
        """
        require_whole_number("n", n, 1)
        if n > self.capacity:
            # Never grantable at once: the bucket never holds more than its capacity.
            raise ValidationError("n", n, f"must not exceed the capacity ({self.capacity:g})")
        at, balance = self._refilled(now)
        balance -= n
        wait = dt.timedelta(0)
        if balance < 0:
            wait = _MICROSECOND * math.ceil(-balance / self.rate * 1_000_000)
        return attrs.evolve(self, tokens=balance, updated_at=at), wait

    def _refilled(self, now: dt.datetime) -> tuple[dt.datetime, float]:
        if not isinstance(now, dt.datetime) or now.tzinfo is None:
            raise ValidationError("now", now, "must be a timezone-aware datetime")
        if self.updated_at is None:
            return now, self.tokens
        # A clock that steps back (or a peer's clock behind ours) neither mints tokens nor
        # stalls sending: the bucket simply sees no time pass.
        at = max(now, self.updated_at)
        elapsed = (at - self.updated_at).total_seconds()
        return at, min(self.capacity, self.tokens + elapsed * self.rate)
