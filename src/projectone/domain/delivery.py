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

from projectone.domain._validate import optional_aware, optional_hex64, to_enum
from projectone.domain.errors import InvalidTransitionError, ValidationError
from projectone.domain.language import Language
from projectone.domain.timezone import local_to_utc

__all__ = [
    "SLA_WINDOW",
    "STATE_FIELDS",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "SlaOutcome",
    "Variant",
    "can_advance",
]

SLA_WINDOW = dt.timedelta(minutes=5)
#: What a delivery's transitions change. The rest (advisor, pack, date, language, channel,
#: variant, number, content and message hashes, schedule, backup link) is its plan, fixed
#: when it is planned, so a batch of outcomes writes these fields only.
STATE_FIELDS = (
    "status",
    "attempts",
    "provider_message_id",
    "error_code",
    "error_message",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "next_attempt_at",
    "failure_class",
    "lease_owner",
    "lease_expires_at",
    "duplicate_message_ids",
)


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
# What a person may queue again: a WhatsApp message the worker gave up on.
_REQUEUEABLE = frozenset({_S.FAILED, _S.EXPIRED})


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


def _message_ids(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise ValidationError("duplicate_message_ids", value, "must be a list of message ids")
    return tuple(str(v) for v in value)


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
    #: SHA-256 of the WhatsApp text planned (``projectone.domain.content.message_hash``): the
    #: worker sends only text that still hashes to it. ``None`` on an SMS backup (its text is
    #: a DLT template) and on deliveries planned before it existed; those are checked against
    #: the whole pack instead.
    message_hash: str | None = attrs.field(default=None, validator=optional_hex64)
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
    #: When a worker may next pick it up: the send time, then each retry's backoff.
    next_attempt_at: dt.datetime = attrs.field(
        default=attrs.Factory(lambda self: self.scheduled_for, takes_self=True),
        validator=optional_aware,
    )
    #: The failure class (``projectone.domain.failure``) of the last provider error.
    failure_class: str | None = None
    #: For an SMS backup: the WhatsApp delivery it stands in for.
    backup_of: uuid.UUID | None = None
    #: Whether the pack came from the fallback library (the selection is stored apart).
    fallback: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    #: The worker holding it while ``sending``, and until when (``None`` when nobody does).
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    #: Provider message ids of further sends of this same delivery (a resend after an unknown
    #: outcome that had in fact gone out): each one is a duplicate the advisor received.
    duplicate_message_ids: tuple[str, ...] = attrs.field(default=(), converter=_message_ids)

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
        fallback: bool = False,
        message_hash: str | None = None,
    ) -> Delivery:
        """A queued delivery at ``send_time`` (Asia/Kolkata) on ``date``."""
        return cls(
            fallback=fallback,
            id=id,
            advisor_id=advisor_id,
            pack_id=pack_id,
            date=date,
            language=language,
            to=to,
            content_hash=content_hash,
            message_hash=message_hash,
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
        return self.status is DeliveryStatus.QUEUED and self.next_attempt_at <= now

    def lease_expired(self, now: dt.datetime) -> bool:
        """Whether a ``sending`` delivery's worker is presumed dead (or never leased it)."""
        return self.status is DeliveryStatus.SENDING and (
            self.lease_expires_at is None or self.lease_expires_at <= now
        )

    def holds(self, owner: str) -> bool:
        """Whether ``owner`` still holds the lease: nobody took the delivery over meanwhile."""
        return self.status is DeliveryStatus.SENDING and self.lease_owner == owner

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

    def start_sending(
        self, at: dt.datetime, *, owner: str | None = None, until: dt.datetime | None = None
    ) -> Delivery:
        """Claim it for one attempt, leased to ``owner`` until ``until`` when given."""
        if (owner is None) != (until is None):
            raise ValidationError("lease", owner, "a lease needs both an owner and an expiry")
        return self.advance(
            DeliveryStatus.SENDING,
            at,
            attempts=self.attempts + 1,
            lease_owner=owner,
            lease_expires_at=until,
        )

    def relet(self, owner: str, until: dt.datetime) -> Delivery:
        """Take over (or extend) the lease of a ``sending`` delivery."""
        if self.status is not DeliveryStatus.SENDING:
            raise InvalidTransitionError("delivery", self.status.value, "lease")
        return attrs.evolve(self, lease_owner=owner, lease_expires_at=until)

    def mark_sent(self, provider_message_id: str, at: dt.datetime) -> Delivery:
        return self.advance(
            DeliveryStatus.SENT,
            at,
            provider_message_id=provider_message_id,
            lease_owner=None,
            lease_expires_at=None,
        )

    def mark_failed(
        self, code: str, message: str, at: dt.datetime, *, failure_class: str | None = None
    ) -> Delivery:
        return self.advance(
            DeliveryStatus.FAILED,
            at,
            error_code=code,
            error_message=message,
            failure_class=failure_class or self.failure_class,
            lease_owner=None,
            lease_expires_at=None,
        )

    def schedule_retry(
        self,
        at: dt.datetime,
        *,
        error_code: str,
        error_message: str,
        failure_class: str | None = None,
    ) -> Delivery:
        """Back to the queue after a failed attempt, due again at ``at``; the error stays on
        record until a later attempt succeeds. The only way back from ``sending``."""
        if self.status is not DeliveryStatus.SENDING:
            raise InvalidTransitionError("delivery", self.status.value, "schedule a retry")
        if not error_code:
            raise ValidationError("error_code", error_code, "a retry needs the error it follows")
        if at.tzinfo is None:
            raise ValidationError("at", at, "must be a timezone-aware datetime")
        return attrs.evolve(
            self,
            status=DeliveryStatus.QUEUED,
            next_attempt_at=at,
            error_code=error_code,
            error_message=error_message,
            failure_class=failure_class,
            lease_owner=None,
            lease_expires_at=None,
        )

    def expire(self, at: dt.datetime, *, code: str, message: str) -> Delivery:
        """Give up on WhatsApp before anything was sent (the SMS backup takes over)."""
        return self.advance(
            DeliveryStatus.EXPIRED,
            at,
            error_code=code,
            error_message=message,
            lease_owner=None,
            lease_expires_at=None,
        )

    def sms_backup(self, *, id: uuid.UUID, now: dt.datetime) -> Delivery:
        """The SMS delivery standing in for this WhatsApp one, due at once. There is at most
        one per advisor, date and variant (the planning key), so a backup is never doubled."""
        if self.channel is not Channel.WHATSAPP:
            raise ValidationError("channel", self.channel.value, "only WhatsApp has an SMS backup")
        return Delivery(
            id=id,
            advisor_id=self.advisor_id,
            pack_id=self.pack_id,
            date=self.date,
            language=self.language,
            channel=Channel.SMS,
            variant=self.variant,
            to=self.to,
            content_hash=self.content_hash,
            scheduled_for=self.scheduled_for,
            queued_at=now,
            next_attempt_at=now,
            backup_of=self.id,
            fallback=self.fallback,
        )

    def requeue_refusal(
        self,
        at: dt.datetime,
        *,
        cutoff: dt.datetime,
        has_backup: bool = False,
        reachable: bool = True,
    ) -> str | None:
        """Why :meth:`requeue` would refuse at ``at``, or ``None`` when it would not."""
        for name, value in (("at", at), ("cutoff", cutoff)):
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                raise ValidationError(name, value, "must be a timezone-aware datetime")
        if self.channel is not Channel.WHATSAPP:
            return "only a WhatsApp delivery is retried (an SMS backup is not)"
        if self.status not in _REQUEUEABLE:
            return "only a failed or expired delivery is retried"
        if has_backup:
            return "an SMS backup already carries it: retrying would send the post twice"
        if not reachable:
            return "the advisor no longer receives WhatsApp messages (opted out or inactive)"
        if at >= cutoff:
            return (
                f"too late for WhatsApp: from {cutoff.astimezone(dt.UTC).isoformat()} this "
                "morning's messages go by SMS"
            )
        return None

    def requeue(
        self,
        at: dt.datetime,
        *,
        cutoff: dt.datetime,
        has_backup: bool = False,
        reachable: bool = True,
    ) -> Delivery:
        """A person's retry of a WhatsApp delivery that failed or expired: queued again, due at
        ``at``, as a fresh attempt (no message id, no stamps of the attempt given up on; the
        last error stays on record until an attempt succeeds, attempts keep counting).

        Refused (``InvalidTransitionError``) for an SMS delivery, for any other status, when
        the SMS backup already carries the message (``has_backup``), when the advisor is no
        longer ``reachable`` on WhatsApp (opted out, or not active), and from ``cutoff`` on:
        the instant from which the worker hands a WhatsApp message to SMS instead of sending
        it (``RetryPolicy.sms_cutoff`` of the SLA target)."""
        problem = self.requeue_refusal(
            at, cutoff=cutoff, has_backup=has_backup, reachable=reachable
        )
        if problem is not None:
            raise InvalidTransitionError("delivery", self.status.value, "retry", problem)
        return attrs.evolve(
            self,
            status=DeliveryStatus.QUEUED,
            next_attempt_at=at,
            provider_message_id=None,
            sent_at=None,
            delivered_at=None,
            read_at=None,
            failed_at=None,
            lease_owner=None,
            lease_expires_at=None,
        )

    def note_message(self, message_id: str) -> Delivery:
        """Record that the provider reported ``message_id`` for this delivery: a duplicate when
        it differs from the message id on record. Idempotent."""
        if self.provider_message_id in (None, message_id) or message_id in (
            self.duplicate_message_ids
        ):
            return self
        return attrs.evolve(self, duplicate_message_ids=(*self.duplicate_message_ids, message_id))

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
        if self.status is _S.SENDING:
            # The provider took it: whoever held the lease has nothing left to decide.
            return self.advance(status, at, lease_owner=None, lease_expires_at=None)
        return self.advance(status, at)
