"""Deliveries: one message to one advisor on one morning, and its SLA.

Statuses only move forward (DESIGN.md §3.4): provider webhooks arrive late, twice and out of
order, so ``advance`` refuses a backward move and ``apply_report`` ignores one.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import attrs

from projectone.domain._validate import optional_aware, to_enum
from projectone.domain.errors import InvalidTransitionError, ValidationError
from projectone.domain.language import Language
from projectone.domain.timezone import local_to_utc

__all__ = [
    "SLA_WINDOW",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "SlaOutcome",
    "Variant",
    "can_advance",
]

SLA_WINDOW = dt.timedelta(minutes=5)


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    EXPIRED = "expired"


class Channel(enum.StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"


class Variant(enum.StrEnum):
    """What kind of message a delivery carries to the advisor."""

    POST = "post"
    STATUS = "status"


class SlaOutcome(enum.StrEnum):
    PENDING = "pending"
    MET = "met"
    MISSED = "missed"


_S = DeliveryStatus
# The forward path; a later rung may be reached directly (a "read" receipt implies delivery).
_LADDER = (_S.QUEUED, _S.SENDING, _S.SENT, _S.DELIVERED, _S.READ)
_RANK = {status: rank for rank, status in enumerate(_LADDER)}
# Failure is possible until the provider confirms delivery; expiry only before anything was sent.
_FAILABLE = frozenset({_S.QUEUED, _S.SENDING, _S.SENT})
_EXPIRABLE = frozenset({_S.QUEUED, _S.SENDING})
TERMINAL = frozenset({_S.READ, _S.FAILED, _S.EXPIRED})


def can_advance(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    """Whether ``current -> new`` moves forward: never backwards, never out of a terminal
    status, and never past ``sending`` without passing through it."""
    if new is _S.FAILED:
        return current in _FAILABLE
    if new is _S.EXPIRED:
        return current in _EXPIRABLE
    if current in (_S.FAILED, _S.EXPIRED):
        return False
    if current is _S.QUEUED:
        # Nothing reaches the provider without being claimed first.
        return new is _S.SENDING
    return _RANK[new] > _RANK[current]


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if not isinstance(value, int) or value < 0:
        raise ValidationError(attribute.name, value, "must be a whole number >= 0")


_STAMP = {
    _S.SENT: "sent_at",
    _S.DELIVERED: "delivered_at",
    _S.READ: "read_at",
    _S.FAILED: "failed_at",
}


def _language(value: object) -> Language:
    return to_enum(Language, "language", value)


def _channel(value: object) -> Channel:
    return to_enum(Channel, "channel", value)


def _variant(value: object) -> Variant:
    return to_enum(Variant, "variant", value)


def _status(value: object) -> DeliveryStatus:
    return to_enum(DeliveryStatus, "status", value)


@attrs.frozen(kw_only=True)
class Delivery:
    """A planned message. ``scheduled_for`` and every timestamp are timezone-aware."""

    id: uuid.UUID
    advisor_id: uuid.UUID
    pack_id: uuid.UUID
    date: dt.date
    language: Language = attrs.field(converter=_language)
    channel: Channel = attrs.field(default=Channel.WHATSAPP, converter=_channel)
    variant: Variant = attrs.field(default=Variant.POST, converter=_variant)
    to: str
    content_hash: str
    scheduled_for: dt.datetime = attrs.field(validator=optional_aware)
    status: DeliveryStatus = attrs.field(default=DeliveryStatus.QUEUED, converter=_status)
    attempts: int = attrs.field(default=0, validator=_non_negative)
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    queued_at: dt.datetime = attrs.field(validator=optional_aware)
    sent_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    delivered_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    read_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    failed_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)

    @classmethod
    def plan(
        cls,
        *,
        id: uuid.UUID,
        advisor_id: uuid.UUID,
        pack_id: uuid.UUID,
        date: dt.date,
        send_time: dt.time,
        language: Language,
        to: str,
        content_hash: str,
        now: dt.datetime,
    ) -> Delivery:
        """A queued delivery at ``send_time`` (Asia/Kolkata) on ``date``."""
        return cls(
            id=id,
            advisor_id=advisor_id,
            pack_id=pack_id,
            date=date,
            language=language,
            to=to,
            content_hash=content_hash,
            scheduled_for=local_to_utc(date, send_time),
            queued_at=now,
        )

    @property
    def sla_target(self) -> dt.datetime:
        """The instant by which the provider must have accepted the message."""
        return self.scheduled_for + SLA_WINDOW

    def sla_outcome(self, now: dt.datetime) -> SlaOutcome:
        """Met when accepted by the target; missed once the target passed without that."""
        if self.sent_at is not None:
            return SlaOutcome.MET if self.sent_at <= self.sla_target else SlaOutcome.MISSED
        return SlaOutcome.MISSED if now > self.sla_target else SlaOutcome.PENDING

    def is_due(self, now: dt.datetime) -> bool:
        return self.status is DeliveryStatus.QUEUED and self.scheduled_for <= now

    def advance(self, status: DeliveryStatus, at: dt.datetime, **changes: Any) -> Delivery:
        """Move to ``status`` at ``at``; raise ``InvalidTransitionError`` on a backward move."""
        if not can_advance(self.status, status):
            raise InvalidTransitionError("delivery", self.status.value, f"move to {status.value}")
        if status is _S.FAILED and not (changes.get("error_code") or self.error_code):
            raise ValidationError("error_code", None, "a failed delivery needs an error code")
        stamps: dict[str, Any] = {}
        # Stamp every rung reached, the implied ones too ("read" before "delivered" means it
        # was delivered). Provider clocks and ours disagree and receipts arrive out of order,
        # so a stamp is never earlier than the one before it: sent <= delivered <= read.
        floor: dt.datetime | None = None
        rungs = _LADDER[_RANK[_S.SENT] : _RANK[status] + 1] if status in _RANK else (status,)
        for rung in rungs:
            name = _STAMP.get(rung)
            if name is None:
                continue
            current = getattr(self, name)
            if current is None:
                current = at if floor is None else max(at, floor)
                stamps[name] = current
            floor = current
        return attrs.evolve(self, status=status, **stamps, **changes)

    def start_sending(self, at: dt.datetime) -> Delivery:
        return self.advance(DeliveryStatus.SENDING, at, attempts=self.attempts + 1)

    def mark_sent(self, provider_message_id: str, at: dt.datetime) -> Delivery:
        return self.advance(DeliveryStatus.SENT, at, provider_message_id=provider_message_id)

    def mark_failed(self, code: str, message: str, at: dt.datetime) -> Delivery:
        return self.advance(DeliveryStatus.FAILED, at, error_code=code, error_message=message)

    def apply_report(
        self,
        status: DeliveryStatus,
        at: dt.datetime,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> Delivery:
        """A provider receipt: move forward if it is news, otherwise keep the delivery as is.

        A ``failed`` receipt records ``error_code`` (``"unknown"`` when the provider gave none).
        """
        if status is self.status or not can_advance(self.status, status):
            return self
        if status is _S.FAILED:
            return self.mark_failed(error_code or "unknown", error_message or "", at)
        return self.advance(status, at)
