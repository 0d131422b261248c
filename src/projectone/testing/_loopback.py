"""Real HTTP servers on loopback for the simulators and the tests that talk to them.

:class:`LoopbackServer` runs an aiohttp application on ``host:port`` (port 0 picks a free one)
with the lifecycle every simulator shares: ``start``/``stop`` (both idempotent), ``base_url``
while running, and ``async with``. :class:`LoopbackSimulator` adds what a provider simulator
injects: seeded latency, scripted or random failures, and a count of requests. ``serve`` and
``closed_port`` are the two small servers-that-are-not-simulators the integration tests need.

Latency is either a ``(low, high)`` range drawn uniformly or any ``(random.Random) -> seconds``
callable; :func:`lognormal_latency` builds the callable real networks look like (a median and
a long tail up to a given 99th percentile).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import socket
import statistics
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import ClassVar, Final, Self, TypeAlias

from aiohttp import web

__all__ = [
    "Latency",
    "LatencySampler",
    "LoopbackServer",
    "LoopbackSimulator",
    "closed_port",
    "lognormal_latency",
    "serve",
]

#: Draws one latency, in seconds, from the simulator's seeded latency stream.
LatencySampler: TypeAlias = Callable[[random.Random], float]
#: A ``(low, high)`` uniform range in seconds, or a :data:`LatencySampler`.
Latency: TypeAlias = tuple[float, float] | LatencySampler

# The standard normal quantile of 0.99: how many sigmas the 99th percentile is above the median.
_Z99: Final = statistics.NormalDist().inv_cdf(0.99)


def lognormal_latency(median: float, p99: float) -> LatencySampler:
    """A latency sampler whose draws are log-normal with this ``median`` and 99th percentile.

    Network and queueing times are skewed: most answers come near the median, a few take many
    times longer. ``ln(latency)`` is normal with ``mu = ln(median)`` and
    ``sigma = ln(p99 / median) / z(0.99)``; ``p99 == median`` gives a constant latency. Both
    are seconds with ``0 < median <= p99``. The sampler draws from the generator it is given,
    so a seeded simulator stays reproducible.
    """
    if not (math.isfinite(median) and math.isfinite(p99) and 0.0 < median <= p99):
        raise ValueError(
            f"lognormal latency needs finite seconds with 0 < median <= p99, "
            f"got median={median}, p99={p99}"
        )
    mu = math.log(median)
    sigma = math.log(p99 / median) / _Z99

    def sample(rng: random.Random) -> float:
        return rng.lognormvariate(mu, sigma)

    sample.__qualname__ = f"lognormal_latency(median={median}, p99={p99})"
    return sample


def _check_latency(latency: Latency) -> None:
    if callable(latency):
        return
    try:
        low, high = latency
        valid = bool(0.0 <= low <= high)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"latency must be (low, high) with 0 <= low <= high, or a callable taking a "
            f"random.Random and returning seconds; got {latency!r}"
        )


class LoopbackServer:
    """An aiohttp application on ``host:port``; subclasses add their routes in ``add_routes``."""

    #: How errors name the server ("the … is not running").
    name: ClassVar[str] = "loopback server"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Route the requests this server answers."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (pass it to the client as base URL)."""
        if self._base_url is None:
            raise RuntimeError(f"the {self.name} is not running; call start() first")
        return self._base_url

    async def start(self) -> None:
        """Listen on ``host:port``; idempotent."""
        if self._runner is not None:
            return
        app = web.Application()
        self.add_routes(app.router)
        # handler_cancellation: a client that gave up (timeout) must not keep a slow handler
        # alive, or stop() would wait for it; a short shutdown keeps test teardown quick.
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        bound_host, bound_port = runner.addresses[0][:2]
        self.port = int(bound_port)
        host = f"[{bound_host}]" if ":" in str(bound_host) else str(bound_host)
        self._base_url = f"http://{host}:{self.port}"
        self._runner = runner

    async def stop(self) -> None:
        """Stop listening; idempotent. What the server recorded stays readable."""
        runner, self._runner = self._runner, None
        self._base_url = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class LoopbackSimulator(LoopbackServer):
    """A provider simulator: a :class:`LoopbackServer` that can be slow and can fail.

    ``latency`` is the ``(low, high)`` range, in seconds, each request waits before it is
    handled, or a callable drawing that wait from the seeded generator it is given (see
    :func:`lognormal_latency`); ``failures`` maps a key (a recipient, in the simulators) to
    the error code to answer with, and ``failure_rate`` fails the other keys at random with
    ``failure_code``. Latency and failures draw from separate streams seeded by ``seed``, so
    adding latency does not change which requests fail. ``requests`` counts the requests that
    reached the handler calling :meth:`arrive`, accepted or not.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: Latency = (0.0, 0.0),
        failures: Mapping[str, int] | None = None,
        failure_rate: float = 0.0,
        failure_code: int,
        seed: int = 0,
    ) -> None:
        _check_latency(latency)
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be within [0, 1], got {failure_rate}")
        super().__init__(host=host, port=port)
        self.latency: Latency = latency
        self.failures: dict[str, int] = dict(failures or {})
        self.failure_rate = failure_rate
        self.failure_code = failure_code
        self.requests = 0
        self._latency_rng = random.Random(f"{seed}:latency")
        self._failure_rng = random.Random(f"{seed}:failure")
        self._serial = itertools.count(1)

    async def arrive(self) -> None:
        """Count a request and wait out its latency.

        Latency comes first, as network and queueing time would, so a client timeout cancels
        the request before it is accepted.
        """
        self.requests += 1
        delay = self.draw_latency()
        if delay > 0:
            await asyncio.sleep(delay)

    def draw_latency(self) -> float:
        """The seconds the next request waits: a draw from ``latency`` (0.0 when there is none).

        A sampler answering a negative or non-finite number is a bug in the test and raises
        ``ValueError`` rather than being silently clamped.
        """
        latency = self.latency
        if callable(latency):
            delay = float(latency(self._latency_rng))
            if not (math.isfinite(delay) and delay >= 0.0):
                raise ValueError(f"the latency sampler returned {delay!r}, not seconds >= 0")
            return delay
        low, high = latency
        # A zero range draws nothing, so the stream is not consumed by simulators without latency.
        return self._latency_rng.uniform(low, high) if high > 0 else 0.0

    def failure_for(self, key: str) -> int | None:
        """The error code to fail ``key`` with: its scripted one, else a random draw."""
        code = self.failures.get(key)
        # Only keys without a scripted failure draw from the stream, so scripting one key
        # does not reshuffle which of the others fail.
        if code is None and self._failure_rng.random() < self.failure_rate:
            code = self.failure_code
        return code


class _OneHandler(LoopbackServer):
    def __init__(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        super().__init__()
        self._handler = handler

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/{tail:.*}", self._handler)


def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> LoopbackServer:
    """A tiny real server on loopback answering every POST with ``handler``.

    Use it as ``async with serve(handler) as server:`` and point the client at
    ``server.base_url``.
    """
    return _OneHandler(handler)


def closed_port() -> int:
    """A loopback port nobody listens on: bind an ephemeral port, then release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
