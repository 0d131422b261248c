"""Small helpers turning bad values into ``ValidationError`` naming the field.

``require_*`` check a value given with its field name. The others are attrs validators (called
with the instance, the attribute and the value) and name the attribute; an ``optional_`` one
also lets ``None`` through.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

import attrs

from projectone.domain.errors import ValidationError

E = TypeVar("E", bound=enum.Enum)
Validator: TypeAlias = Callable[[Any, "attrs.Attribute[Any]", Any], None]

HEX64 = re.compile(r"[0-9a-f]{64}")


def to_enum(enum_type: type[E], field: str, value: object) -> E:
    """Coerce ``value`` (a member or its value) into ``enum_type``, or name ``field``."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum_type)
        raise ValidationError(field, value, f"must be one of {allowed}") from None


def require_nonblank(field: str, value: object) -> str:
    """``value`` if it is text with something in it besides whitespace."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, value, "must be non-empty text")
    return value


def require_hex64(field: str, value: object) -> None:
    """A SHA-256 digest as 64 lowercase hex digits."""
    if not isinstance(value, str) or HEX64.fullmatch(value) is None:
        raise ValidationError(field, value, "must be 64 lowercase hex digits")


def require_whole_number(
    field: str, value: object, minimum: int, maximum: int | None = None
) -> None:
    """An ``int`` (a ``bool`` is not one here) from ``minimum`` up to ``maximum`` if given."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ValidationError(field, value, f"must be a whole number {bounds}")


def whole_number(minimum: int, maximum: int | None = None) -> Validator:
    """The attrs validator of :func:`require_whole_number` with these bounds."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        require_whole_number(attribute.name, value, minimum, maximum)

    return check


def nonblank(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    require_nonblank(attribute.name, value)


def optional_nonblank(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(attribute.name, value, "must be non-empty text or None")


def optional_text(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Any text, blank included, or ``None``."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(attribute.name, value, "must be text or None")


def aware(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError(attribute.name, value, "must be a timezone-aware datetime")


def optional_aware(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        aware(instance, attribute, value)


def is_uuid(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, uuid.UUID):
        raise ValidationError(attribute.name, value, "must be a UUID")


def optional_uuid(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, uuid.UUID):
        raise ValidationError(attribute.name, value, "must be a UUID or None")


def flag(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(attribute.name, value, "must be true or false")


def hex64(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    require_hex64(attribute.name, value)


def optional_hex64(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        require_hex64(attribute.name, value)
