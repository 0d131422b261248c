"""Authentication and rate limiting around every non-public endpoint.

A bearer token is verified by the container's ``TokenVerifier`` (fail closed: no key
configured, no access); the principal is kept on the request for the handler and the
services. Each request then counts against the principal's sliding-window limit for the
endpoint's rate class: an advisor's by their tier, staff's by the staff limit, a route class's
own limit when it is lower. The decision is kept on the request so that every answer, errors
included, carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import time
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aiohttp import web

from projectone.container import Container, resolve
from projectone.domain.access import Principal
from projectone.domain.advisor import AdvisorStatus, Tier
from projectone.domain.errors import NotFoundError, PermissionDeniedError, UnauthenticatedError
from projectone.entrypoints.http.endpoints import Endpoint, Handler, HttpError
from projectone.ports.auth import RateDecision
from projectone.services.reading import reader_of
from projectone.settings import RateLimitSettings, parse_route_limits

__all__ = [
    "PRINCIPAL",
    "RATE",
    "AccountCache",
    "guarded",
    "prepare_provided",
    "principal_of",
    "provided",
    "rate_headers",
]

PRINCIPAL = web.RequestKey("principal", Principal)
RATE = web.RequestKey("rate", RateDecision)
_WINDOW = dt.timedelta(hours=1)
# An advisor's tier is read from the database once a minute at most, per process.
_TIER_TTL = 60.0
_CLOSED = frozenset({AdvisorStatus.SUSPENDED, AdvisorStatus.CANCELLED})


# What the handlers use from the container, resolved once per application: resolving a
# provider costs ~80 µs, three times a request (measured by bench/http_api.py's breakdown).
_PROVIDED = web.AppKey("provided", dict)


async def provided(request: web.Request, key: web.AppKey[Container], name: str) -> Any:
    """The container's ``name`` (a service or adapter without per-request state), resolved on
    first use and kept for the life of the application."""
    cache: dict[str, Any] | None = request.app.get(_PROVIDED)
    if cache is None:
        return await resolve(getattr(request.app[key], name))
    if name not in cache:
        cache[name] = await resolve(getattr(request.app[key], name))
    return cache[name]


def prepare_provided(app: web.Application) -> None:
    """Give ``app`` its cache of resolved providers (before it starts)."""
    app[_PROVIDED] = {}


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def rate_headers(decision: RateDecision) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(math.ceil(decision.reset_at.timestamp())),
    }
    if decision.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
    return headers


class AccountCache:
    """Advisor accounts' tier, status and consent to processing, cached briefly, one cache per
    application: a change made through this application is seen by its next request (a
    successful write about an advisor forgets them), one made elsewhere (another process,
    the CLI) reaches the limits, and a suspension or a withdrawn consent the API, within a
    minute."""

    def __init__(self) -> None:
        self._cache: dict[uuid.UUID, tuple[float, Tier, AdvisorStatus, bool]] = {}

    async def tier(
        self, container: Container, advisor_id: uuid.UUID, *, consent_required: bool = True
    ) -> Tier:
        hit = self._cache.get(advisor_id)
        if hit is None or time.monotonic() - hit[0] >= _TIER_TTL:
            uow_factory = await resolve(container.uow_factory)
            reader = reader_of(uow_factory)
            try:
                async with reader() as uow:
                    advisor = await uow.advisors.get(advisor_id)
            except NotFoundError:
                # A token for an advisor account that does not exist proves nothing useful.
                raise UnauthenticatedError("bearer token", "the advisor does not exist") from None
            if len(self._cache) > 100_000:
                self._cache.clear()
            withdrawn = advisor.processing_withdrawn_at is not None
            hit = (time.monotonic(), advisor.tier, advisor.status, withdrawn)
            self._cache[advisor_id] = hit
        if hit[2] in _CLOSED:
            raise PermissionDeniedError("use the API", f"the advisor account is {hit[2].value}")
        if hit[3] and consent_required:
            # DPDP: without consent to processing the account is not used until it is given
            # (the routes a person needs to give it back, or to see their data, stay open).
            raise PermissionDeniedError(
                "use the API", "the advisor withdrew consent to processing their data"
            )
        return hit[1]

    def forget(self, advisor_id: uuid.UUID) -> None:
        self._cache.pop(advisor_id, None)


@functools.lru_cache(maxsize=16)
def _route_limits(text: str) -> Mapping[str, int]:
    # Parsed once per distinct setting, not on every request.
    return MappingProxyType(parse_route_limits(text))


def _limit(settings: RateLimitSettings, tier: Tier | None, rate_class: str) -> int:
    by_tier = {
        Tier.BASIC: settings.advisor_basic,
        Tier.STANDARD: settings.advisor_standard,
        Tier.PRO: settings.advisor_pro,
    }
    limit = settings.staff if tier is None else by_tier[tier]
    routes = _route_limits(settings.routes)
    return min(limit, routes.get(rate_class, limit))


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def guarded(
    endpoint: Endpoint, key: web.AppKey[Container], accounts: AccountCache | None = None
) -> Handler:
    """``endpoint.handler`` behind authentication and the rate limit (public ones as is).
    Give every endpoint of an application the same ``accounts``."""
    if endpoint.public:
        return endpoint.handler
    accounts = accounts or AccountCache()

    async def handler(request: web.Request) -> web.StreamResponse:
        container = request.app[key]
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError("bearer token", "send Authorization: Bearer <JWT>")
        verifier = await provided(request, key, "token_verifier")
        principal = verifier.verify(token.strip())
        tier = None
        if principal.advisor_id is not None:
            tier = await accounts.tier(
                container,
                principal.advisor_id,
                consent_required=not endpoint.without_processing_consent,
            )
        settings = container.settings().rate_limit
        limiter = await provided(request, key, "rate_limiter")
        who = f"advisor:{principal.advisor_id}" if principal.advisor_id else principal.subject
        clock = container.clock()
        decision = await limiter.hit(
            f"{who}|{endpoint.rate_class}",
            limit=_limit(settings, tier, endpoint.rate_class),
            window=_WINDOW,
            now=clock.now(),
        )
        request[RATE] = decision
        if not decision.allowed:
            raise HttpError(
                429,
                "rate_limited",
                f"rate limit of {decision.limit} requests an hour reached",
                details={"retry_after": max(1, math.ceil(decision.retry_after or 1))},
            )
        request[PRINCIPAL] = principal
        response = await endpoint.handler(request)
        if request.method not in _READS and response.status < 400:
            # It may have changed the account (a consent withdrawn, an opt-out): the next
            # request about this advisor reads it again instead of trusting the cache.
            for advisor_id in (principal.advisor_id, request.match_info.get("advisor_id")):
                if advisor_id is not None:
                    with contextlib.suppress(ValueError):
                        accounts.forget(uuid.UUID(str(advisor_id)))
        return response

    handler.__name__ = getattr(endpoint.handler, "__name__", "handler")
    return handler
