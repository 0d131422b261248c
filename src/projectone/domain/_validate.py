"""Small helpers turning bad values into ``ValidationError`` naming the field."""

from __future__ import annotations

import enum
from typing import TypeVar

from projectone.domain.errors import ValidationError

E = TypeVar("E", bound=enum.Enum)


def to_enum(enum_type: type[E], field: str, value: object) -> E:
    """Coerce ``value`` (a member or its value) into ``enum_type``, or name ``field``."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum_type)
        raise ValidationError(field, value, f"must be one of {allowed}") from None
