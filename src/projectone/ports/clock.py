"""Time and identity come from outside the core, so the core stays deterministic."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

__all__ = ["Clock", "IdGenerator"]


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> uuid.UUID:
        """A fresh, unique identifier."""
        ...
