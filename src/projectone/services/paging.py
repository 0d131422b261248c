"""Pages of results for the API: a window (limit, offset) and the total that matched."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import attrs

from projectone.domain.errors import ValidationError

__all__ = ["MAX_OFFSET", "MAX_PAGE", "Page", "check_window"]

T = TypeVar("T")
#: The largest page a caller may ask for.
MAX_PAGE = 200
#: Deep offsets are refused: past a million rows a caller wants a filter, not a page.
MAX_OFFSET = 1_000_000


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int


def check_window(limit: int, offset: int) -> None:
    """``ValidationError`` naming ``limit`` or ``offset`` when the window is out of bounds."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", limit, f"must be 1 to {MAX_PAGE}")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationError("offset", offset, f"must be 0 to {MAX_OFFSET}")
