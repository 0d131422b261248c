"""When to try WhatsApp again, and when to hand a message to the SMS backup (DESIGN.md §3.4).

The morning SLA is five minutes, so retrying is bounded twice: by a number of attempts and by
time. A retry is only worth scheduling if it leaves the SMS backup enough time to carry the
message before the deadline should WhatsApp fail again; past that point (``sms_margin`` before
the deadline) the message goes to SMS at once. Backoff is exponential so a rate-limited sender
eases off, with jitter so thousands of messages refused in the same second do not all come back
in the same second.

Everything here is a pure function of its arguments: the caller passes the clock reading and
the random draw, so a decision can be replayed and tested exactly.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any

import attrs

from projectone.domain._validate import (
    nonblank,
    optional_aware,
    require_whole_number,
    to_enum,
    whole_number,
)
from projectone.domain.errors import ValidationError
from projectone.domain.failure import Classification

__all__ = [
    "Action",
    "Decision",
    "RetryPolicy",
    "backoff_delay",
    "decide",
    "needs_sms_now",
]


class Action(enum.StrEnum):
    RETRY = "retry"
    SMS = "sms"
    GIVE_UP = "give_up"


_MICROSECOND = dt.timedelta(microseconds=1)
# Bounds on the policy's durations: a morning's SLA is minutes long, so anything beyond an hour
# is a configuration mistake (and would overflow date arithmetic long before it made sense).
_LONGEST = dt.timedelta(hours=1)


def _positive_duration(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or not dt.timedelta(0) < value <= _LONGEST:
        raise ValidationError(attribute.name, value, "must be a duration above 0, up to 1 hour")


def _non_negative_duration(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or not dt.timedelta(0) <= value <= _LONGEST:
        raise ValidationError(attribute.name, value, "must be a duration from 0 up to 1 hour")


def _max_delay(instance: RetryPolicy, attribute: attrs.Attribute[Any], value: object) -> None:
    _positive_duration(instance, attribute, value)
    if isinstance(value, dt.timedelta) and value < instance.base_delay:
        raise ValidationError(attribute.name, value, "must be at least base_delay")


def _jitter(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    # Below 1 so a jittered delay is never zero: an immediate retry into a rate limit is futile.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value < 1
    ):
        raise ValidationError(attribute.name, value, "must be a fraction from 0 up to (not) 1")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How hard to retry WhatsApp within one morning's SLA window.

    ``max_attempts`` counts every attempt, the first included. The ``n``-th retry waits
    ``min(max_delay, base_delay * 2**(n-1))`` give or take ``jitter`` of it, so with jitter a
    delay may exceed ``max_delay`` by up to that fraction.
    """

    max_attempts: int = attrs.field(default=3, validator=whole_number(1, 10))
    base_delay: dt.timedelta = attrs.field(
        default=dt.timedelta(seconds=5), validator=_positive_duration
    )
    max_delay: dt.timedelta = attrs.field(default=dt.timedelta(seconds=60), validator=_max_delay)
    jitter: float = attrs.field(default=0.5, validator=_jitter)
    sms_margin: dt.timedelta = attrs.field(
        default=dt.timedelta(seconds=60), validator=_non_negative_duration
    )

    def sms_cutoff(self, sla_deadline: dt.datetime) -> dt.datetime:
        """The instant from which a message not yet sent goes to SMS rather than WhatsApp."""
        return sla_deadline - self.sms_margin


def _action(value: object) -> Action:
    return to_enum(Action, "action", value)


@attrs.frozen(kw_only=True)
class Decision:
    """What to do with a message WhatsApp did not take: ``at`` is set for a retry only."""

    action: Action = attrs.field(converter=_action)
    at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    reason: str = attrs.field(validator=nonblank)

    def __attrs_post_init__(self) -> None:
        if (self.action is Action.RETRY) != (self.at is not None):
            raise ValidationError("at", self.at, "a retry needs a time, and only a retry has one")


def _check_rand(rand: object) -> float:
    if (
        isinstance(rand, bool)
        or not isinstance(rand, int | float)
        or not math.isfinite(rand)
        or not 0 <= rand < 1
    ):
        raise ValidationError("rand", rand, "must be a number from 0 up to (not) 1")
    return float(rand)


def _check_aware(field: str, value: object) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError(field, value, "must be a timezone-aware datetime")


def backoff_delay(policy: RetryPolicy, *, attempts_made: int, rand: float) -> dt.timedelta:
    """How long to wait after ``attempts_made`` failed attempts before the next one.

    ``rand`` in [0, 1) places the delay in ``[d * (1 - jitter), d * (1 + jitter))`` around the
    capped exponential delay ``d``, linearly, so the same draw gives the same relative spot.
    """
    require_whole_number("attempts_made", attempts_made, 1)
    draw = _check_rand(rand)
    # Whole microseconds keep the doubling exact (no float drift, no timedelta overflow); past
    # 100 doublings any base exceeds any representable max_delay, so the shift stops there.
    base = policy.base_delay // _MICROSECOND
    cap = policy.max_delay // _MICROSECOND
    capped = _MICROSECOND * min(cap, base << min(attempts_made - 1, 100))
    # At least a microsecond: a retry is always strictly later than the failure it follows.
    return max(_MICROSECOND, capped * (1 + policy.jitter * (2 * draw - 1)))


def _fallback(classification: Classification, why: str) -> Decision:
    if classification.sms_fallback:
        return Decision(action=Action.SMS, reason=f"{why}; sending by SMS")
    return Decision(action=Action.GIVE_UP, reason=f"{why}; SMS not allowed for this failure")


def decide(
    policy: RetryPolicy,
    *,
    classification: Classification,
    attempts_made: int,
    now: dt.datetime,
    sla_deadline: dt.datetime,
    rand: float,
) -> Decision:
    """What to do after WhatsApp failed the ``attempts_made``-th attempt (counting from 1).

    Retry when the failure is retryable, an attempt is left and the retry would happen before
    :meth:`RetryPolicy.sms_cutoff`; otherwise hand the message to SMS when the classification
    allows it, and give up when it does not.
    """
    if not isinstance(classification, Classification):
        raise ValidationError("classification", classification, "must be a Classification")
    require_whole_number("attempts_made", attempts_made, 1)
    _check_aware("now", now)
    _check_aware("sla_deadline", sla_deadline)
    delay = backoff_delay(policy, attempts_made=attempts_made, rand=rand)
    label = classification.title
    if not classification.retryable:
        return _fallback(classification, f"{label}: not retryable")
    if attempts_made >= policy.max_attempts:
        return _fallback(classification, f"{label}: all {policy.max_attempts} attempts used")
    at = now + delay
    cutoff = policy.sms_cutoff(sla_deadline)
    if at >= cutoff:
        return _fallback(classification, f"{label}: no time left to retry before the SLA")
    return Decision(
        action=Action.RETRY,
        at=at,
        reason=f"{label}: attempt {attempts_made + 1} of {policy.max_attempts}",
    )


def needs_sms_now(now: dt.datetime, sla_deadline: dt.datetime, policy: RetryPolicy) -> bool:
    """Whether a message still unsent at ``now`` should leave WhatsApp's queue for SMS.

    True from :meth:`RetryPolicy.sms_cutoff` on, the same instant before which
    :func:`decide` schedules retries: a message waiting for a retry (or stuck behind the
    sender's throttle) is never left to WhatsApp after the SMS backup's last safe moment.
    """
    _check_aware("now", now)
    _check_aware("sla_deadline", sla_deadline)
    return now >= policy.sms_cutoff(sla_deadline)
