"""Languages a content pack can be written in."""

from __future__ import annotations

import enum

__all__ = ["Language"]


class Language(enum.StrEnum):
    """ISO 639-1 codes of the supported languages."""

    EN = "en"
    HI = "hi"
    MR = "mr"
