"""What to do about a send whose outcome is unknown (DESIGN.md §3.4).

A worker can die, or an answer can be lost, after a request reached the provider and before
the result was committed. The delivery is then left ``sending`` with an expired lease (or with
a timeout on record), and nobody knows whether the advisor got the message. Two policies:

* ``at_most_once`` (the default): never send the same WhatsApp message twice. Wait a while for
  the provider's status webhook, which carries our delivery id as callback data and settles
  the question; if none comes by the end of the wait (or by the SMS cutoff, whichever is
  first), hand the message to the SMS backup. The advisor may then receive the post on both
  channels, but never twice on WhatsApp.
* ``at_least_once``: send again at once (while attempts and time are left), accepting an
  occasional duplicate, which the provider's counts and our webhooks make visible.

Everything here is pure: the caller passes the clock reading.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from projectone.domain._validate import nonblank, optional_aware, to_enum
from projectone.domain.delivery import Channel, Delivery, DeliveryStatus
from projectone.domain.errors import ValidationError
from projectone.domain.retry import RetryPolicy

__all__ = [
    "AWAITING_RECEIPT",
    "OUTCOME_UNKNOWN",
    "Recovery",
    "RecoveryDecision",
    "SendPolicy",
    "recover",
]

#: The lease owner of a delivery parked while a receipt is awaited: no worker holds it, and it
#: comes back to the recovery step when the wait ends.
AWAITING_RECEIPT = "awaiting-receipt"
#: The error code recorded on a delivery given up on because its outcome stayed unknown.
OUTCOME_UNKNOWN = "outcome_unknown"


class SendPolicy(enum.StrEnum):
    AT_MOST_ONCE = "at_most_once"
    AT_LEAST_ONCE = "at_least_once"


class Recovery(enum.StrEnum):
    #: Park it until ``until`` and let a status webhook settle it.
    WAIT = "wait"
    #: Queue it again now (at-least-once).
    RESEND = "resend"
    #: Give up on WhatsApp; the SMS backup carries the message.
    SMS = "sms"
    #: Give up (an SMS whose own outcome is unknown has no further backup).
    GIVE_UP = "give_up"


def _recovery(value: object) -> Recovery:
    return to_enum(Recovery, "action", value)


@attrs.frozen(kw_only=True)
class RecoveryDecision:
    action: Recovery = attrs.field(converter=_recovery)
    until: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    reason: str = attrs.field(validator=nonblank)

    def __attrs_post_init__(self) -> None:
        if (self.action is Recovery.WAIT) != (self.until is not None):
            raise ValidationError("until", self.until, "a wait needs an end, and only a wait has")


def recover(
    delivery: Delivery,
    *,
    policy: SendPolicy,
    retry: RetryPolicy,
    receipt_wait: dt.timedelta,
    now: dt.datetime,
) -> RecoveryDecision:
    """What to do with ``delivery``, ``sending`` with an expired lease or a lost answer."""
    if delivery.status is not DeliveryStatus.SENDING:
        raise ValidationError("status", delivery.status.value, "only a sending delivery")
    if now.tzinfo is None:
        raise ValidationError("now", now, "must be a timezone-aware datetime")
    give_up = Recovery.SMS if delivery.channel is Channel.WHATSAPP else Recovery.GIVE_UP
    cutoff = retry.sms_cutoff(delivery.sla_target)
    if delivery.lease_owner == AWAITING_RECEIPT:
        return RecoveryDecision(action=give_up, reason="no receipt arrived while waiting")
    if now >= cutoff and delivery.channel is Channel.WHATSAPP:
        return RecoveryDecision(action=give_up, reason="outcome unknown at the SMS cutoff")
    if policy is SendPolicy.AT_LEAST_ONCE:
        if delivery.attempts >= retry.max_attempts:
            return RecoveryDecision(
                action=give_up, reason=f"outcome unknown after {delivery.attempts} attempts"
            )
        return RecoveryDecision(action=Recovery.RESEND, reason="outcome unknown: sending again")
    until = now + receipt_wait
    if delivery.channel is Channel.WHATSAPP:
        until = min(until, cutoff)
    return RecoveryDecision(
        action=Recovery.WAIT, until=until, reason="outcome unknown: waiting for a receipt"
    )
