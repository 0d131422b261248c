"""Advisors: SEBI-registered investment advisers (RIA) and AMFI-registered distributors (MFD)."""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Iterable
from typing import Any

import attrs

from projectone.domain._validate import optional_aware, to_enum
from projectone.domain.errors import ValidationError
from projectone.domain.language import Language
from projectone.domain.timezone import DEFAULT_SEND_TIME

__all__ = [
    "MASK",
    "Advisor",
    "AdvisorStatus",
    "AdvisorType",
    "Tier",
    "mask_email",
    "mask_phone",
    "parse_send_time",
    "validate_email",
    "validate_phone",
    "validate_registration",
]


class AdvisorType(enum.StrEnum):
    RIA = "RIA"
    MFD = "MFD"


class Tier(enum.StrEnum):
    BASIC = "basic"
    STANDARD = "standard"
    PRO = "pro"


class AdvisorStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


_REGISTRATION = {
    # SEBI RIA registration: "INA" followed by nine digits.
    AdvisorType.RIA: (re.compile(r"INA[0-9]{9}"), "INA followed by 9 digits"),
    # AMFI Registration Number of a distributor: "ARN-" followed by 1 to 7 digits.
    AdvisorType.MFD: (re.compile(r"ARN-[0-9]{1,7}"), "ARN- followed by 1 to 7 digits"),
}
# Deliberately simple: one @, no spaces, a dotted domain with an alphabetic TLD. Mail servers
# are the real judge; this only stops typos from being stored.
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def validate_registration(advisor_type: AdvisorType, value: str) -> str:
    pattern, shape = _REGISTRATION[advisor_type]
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ValidationError(
            "registration_no", value, f"a {advisor_type.value} registration number is {shape}"
        )
    return value


def validate_email(value: str) -> str:
    if not isinstance(value, str) or len(value) > 254 or _EMAIL.fullmatch(value) is None:
        raise ValidationError("email", value, "not a valid email address")
    return value


def validate_phone(value: str, field: str = "whatsapp_number") -> str:
    if not isinstance(value, str) or _E164.fullmatch(value) is None:
        raise ValidationError(field, value, "must be an E.164 number such as +919876543210")
    return value


#: What stands for each hidden character of masked personal data.
MASK = "\u2022"
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def mask_phone(value: str) -> str:
    """A phone number with all but its first three characters (``+91``, the country code for
    India) and last four digits hidden: ``+919876543210`` → ``+91••••••3210``."""
    if len(value) <= 7:
        return MASK * len(value)
    return value[:3] + MASK * (len(value) - 7) + value[-4:]


def mask_email(value: str) -> str:
    """An email address with its local part hidden but for the first character; the length is
    not given away: ``asha.d@example.in`` → ``a•••@example.in``."""
    local, at, domain = value.rpartition("@")
    if not at:
        return MASK * 3
    return f"{local[:1]}{MASK * 3}@{domain}"


def parse_send_time(value: object) -> dt.time:
    """``"HH:MM"`` (24-hour, Asia/Kolkata) as a send time; ``ValidationError`` otherwise."""
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError("send_time", value, "must be HH:MM, 24-hour, in Asia/Kolkata")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _languages(value: Iterable[Any]) -> tuple[Language, ...]:
    if isinstance(value, str):
        raise ValidationError("languages", value, "must be a list of language codes")
    langs = tuple(to_enum(Language, "languages", v) for v in value)
    if not langs:
        raise ValidationError("languages", value, "at least one language is required")
    if len(set(langs)) != len(langs):
        raise ValidationError("languages", value, "languages must not repeat")
    return langs


def _name(value: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValidationError("name", value, "must be 1 to 200 characters")
    return value.strip()


def _send_time(value: dt.time) -> dt.time:
    if not isinstance(value, dt.time) or value.tzinfo is not None:
        raise ValidationError("send_time", value, "must be a naive local time (Asia/Kolkata)")
    return value


def _type(value: object) -> AdvisorType:
    return to_enum(AdvisorType, "type", value)


def _tier(value: object) -> Tier:
    return to_enum(Tier, "tier", value)


def _status(value: object) -> AdvisorStatus:
    return to_enum(AdvisorStatus, "status", value)


@attrs.frozen(kw_only=True)
class Advisor:
    """An advisor who receives a content pack every morning.

    Validation happens on construction and on ``attrs.evolve``: an ``Advisor`` that exists is
    valid. The registration number is checked against the advisor type.
    """

    id: uuid.UUID
    name: str = attrs.field(converter=_name)
    type: AdvisorType = attrs.field(converter=_type)
    registration_no: str
    email: str = attrs.field(converter=validate_email)
    whatsapp_number: str = attrs.field(converter=validate_phone)
    languages: tuple[Language, ...] = attrs.field(converter=_languages)
    send_time: dt.time = attrs.field(default=DEFAULT_SEND_TIME, converter=_send_time)
    tier: Tier = attrs.field(default=Tier.BASIC, converter=_tier)
    status: AdvisorStatus = attrs.field(default=AdvisorStatus.ACTIVE, converter=_status)
    whatsapp_opt_in_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    #: When the advisor withdrew consent to processing (DPDP): the account may not be used
    #: until they give it again. ``None`` while consent holds (it is given at registration).
    processing_withdrawn_at: dt.datetime | None = attrs.field(
        default=None, validator=optional_aware
    )
    created_at: dt.datetime = attrs.field(validator=optional_aware)

    def __attrs_post_init__(self) -> None:
        validate_registration(self.type, self.registration_no)

    @property
    def usable(self) -> bool:
        """Whether the account may be used: active, with consent to processing."""
        return self.status is AdvisorStatus.ACTIVE and self.processing_withdrawn_at is None

    @property
    def receives_whatsapp(self) -> bool:
        """Whether the morning run may message this advisor (usable and opted in)."""
        return self.usable and self.whatsapp_opt_in_at is not None
