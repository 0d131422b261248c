"""Garbage-collector settings for the long-running commands, ``worker`` and ``serve``.

Such a process builds its container once (SQLAlchemy's tables and compiled statements, aiohttp,
the rulebook, the OpenAPI document: ~180,000 objects the collector tracks once ``serve`` is
set up) and then allocates short-lived objects at thousands of messages or requests a second.
CPython's defaults collect the young generation every 700 allocations and now and then scan
every object ever kept, the startup ones included, again and again: 10–15% of the worker's
and the API's CPU in the benchmarks, and the full collections land in the API's latency tail
(docs/benchmarks.md).

:func:`tune_for_service` moves everything alive once the process is set up into the permanent
generation, which collections skip (``gc.freeze``), and lets the young generation grow to
:data:`YOUNG_THRESHOLD` objects before it is collected. Cycles are still collected, a little
later. The library never calls it: a collector setting is the whole process's, so it is the
embedding program's choice, and these two commands are such programs.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["YOUNG_THRESHOLD", "tune_for_service"]

#: Allocations (net of frees) between two collections of the young generation.
YOUNG_THRESHOLD: Final = 10_000


def tune_for_service() -> None:
    """Freeze what the process holds now and collect the young generation less often.

    Call it once the process is set up and before its steady work starts; calling it again
    freezes what was created in between.
    """
    gc.collect()
    gc.freeze()
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, oldest)
