"""Authentication and rate limiting: the ports the HTTP layer needs from the outside."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import attrs

from projectone.domain.access import Principal

__all__ = ["RateDecision", "RateLimiter", "TokenVerifier"]


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Principal:
        """The principal a bearer token proves, or ``UnauthenticatedError`` (missing, expired,
        not yet valid, wrong issuer or audience, bad signature, a refused algorithm, claims
        that do not make a principal). Never trusts anything in an unverified token."""
        ...


@attrs.frozen(kw_only=True)
class RateDecision:
    """One request counted against a limit: allowed or not, and what the caller is told
    (``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``; ``Retry-After`` when refused)."""

    allowed: bool
    limit: int
    remaining: int
    #: When the window has room again for a full limit (UTC).
    reset_at: dt.datetime
    #: Seconds to wait before trying again; ``None`` when allowed.
    retry_after: float | None = None


class RateLimiter(Protocol):
    async def hit(
        self, key: str, *, limit: int, window: dt.timedelta, now: dt.datetime
    ) -> RateDecision:
        """Count one request for ``key`` (a principal and a route class) in a sliding window of
        ``window`` and decide it. Refused requests are not counted. Raises
        ``UnavailableError`` when the shared store cannot be reached (the caller decides
        whether to fail open or closed)."""
        ...
