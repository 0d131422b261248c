"""Clocks and id generators for the real world and for simulations."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable

__all__ = ["SimulatedClock", "SystemClock", "UuidGenerator"]


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class SimulatedClock:
    """A clock that starts at ``start`` and runs at real speed, and can jump forward.

    ``projectone demo`` uses it to live through a morning without waiting for 06:00: time
    between two send slots is skipped, time spent working still counts, so SLA figures measure
    the real speed of the run.
    """

    def __init__(
        self, start: dt.datetime, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._monotonic = monotonic
        self._origin = monotonic()
        self._start = start.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=self._monotonic() - self._origin)

    def jump_to(self, instant: dt.datetime) -> None:
        """Skip ahead to ``instant``; a jump into the past is ignored (time never runs back)."""
        if instant > self.now():
            self._start = instant.astimezone(dt.UTC)
            self._origin = self._monotonic()


class UuidGenerator:
    """Random (version 4) UUIDs."""

    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()
