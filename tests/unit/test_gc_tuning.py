"""The collector settings ``worker`` and ``serve`` run with."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from projectone.entrypoints.gc_tuning import YOUNG_THRESHOLD, tune_for_service


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector settings, put back afterwards."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_tuning_freezes_what_is_alive_and_collects_the_young_generation_less_often() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    kept = [object() for _ in range(10)]
    tune_for_service()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)


@pytest.mark.usefixtures("collector")
def test_tuning_never_lowers_a_threshold_the_embedder_raised() -> None:
    gc.set_threshold(50_000, 20, 30)
    tune_for_service()
    assert gc.get_threshold() == (50_000, 20, 30)


@pytest.mark.usefixtures("collector")
def test_cycles_are_still_collected_without_being_asked_after_tuning() -> None:
    tune_for_service()
    assert gc.isenabled()

    class Node:
        partner: object = None

    node = Node()
    node.partner = node
    gone = weakref.ref(node)
    del node
    # Container allocations past the young threshold start a collection of their own.
    kept: list[list[int]] = [[] for _ in range(3 * YOUNG_THRESHOLD)]
    assert gone() is None
    assert len(kept) == 3 * YOUNG_THRESHOLD
