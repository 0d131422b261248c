"""The SLA summary of a morning: what was planned, sent and on time (DESIGN.md §3.4).

The summary is computed from the deliveries alone, as they are at ``now``, so the same
morning reported twice gives the same figures unless a delivery moved in between. WhatsApp
deliveries are the plan; SMS deliveries are the backups standing in for some of them, counted
apart (``sms_backups``) so that a morning never looks bigger than its list of advisors.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from projectone.domain.delivery import Channel, Delivery, DeliveryStatus, SlaOutcome
from projectone.domain.failure import FailureClass, classify

__all__ = ["OWN_CODE_CLASSES", "SlaSummary", "failure_class_of", "summarize"]

_SENT = frozenset({DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ})
_FAILED = frozenset({DeliveryStatus.FAILED, DeliveryStatus.EXPIRED})

#: The class of each error code projectone itself writes on a failed delivery, next to the
#: provider's numeric codes. ``FailureClass`` has no class for "our own check refused it", so
#: each code goes where the operator's next step is the same:
#:
#: - ``content_changed`` (the pack changed or was withdrawn after planning) and
#:   ``content_integrity`` (the pack no longer hashes to what was approved) →
#:   ``content_violation``: the content is why the message did not go, and sending it again
#:   will not help until someone looks at the pack (an integrity failure also opens an
#:   incident, which carries the detail).
#: - ``number_unavailable`` (no number to send to: the advisor was erased, or their data key
#:   is missing) → ``invalid_number``: nothing can go out until the number is there again.
#: - ``provider_unavailable`` (no answer from the provider) → ``system_error``, as
#:   :func:`projectone.domain.failure.classify` classes a request that got no answer.
#: - ``outcome_unknown`` (no answer and no receipt: handed to SMS under at-most-once),
#:   ``sla_cutoff`` (still unsent at the SMS cutoff) and ``stale`` (found due hours after its
#:   morning, not sent at all) → ``system_error``: the pipeline, not the message, failed.
#: - ``sms_not_configured`` and ``sms_invalid`` (an SMS backup that could not be built)
#:   → ``template_error``: fix the SMS gateway settings or the DLT templates.
#: - ``unknown`` (a provider receipt that said "failed" without a code) → ``unknown``.
#:
#: Any other non-numeric code, and an expired delivery without a code, follow the rules in
#: :func:`failure_class_of`.
OWN_CODE_CLASSES: Mapping[str, FailureClass] = MappingProxyType(
    {
        "content_changed": FailureClass.CONTENT_VIOLATION,
        "content_integrity": FailureClass.CONTENT_VIOLATION,
        "number_unavailable": FailureClass.INVALID_NUMBER,
        "provider_unavailable": FailureClass.SYSTEM_ERROR,
        "outcome_unknown": FailureClass.SYSTEM_ERROR,
        "sla_cutoff": FailureClass.SYSTEM_ERROR,
        "stale": FailureClass.SYSTEM_ERROR,
        "sms_not_configured": FailureClass.TEMPLATE_ERROR,
        "sms_invalid": FailureClass.TEMPLATE_ERROR,
        "unknown": FailureClass.UNKNOWN,
    }
)

# Meta's codes are small non-negative integers; anything longer is not one of theirs (and
# int() of a huge string is refused by Python anyway).
_NUMERIC_CODE = re.compile(r"[0-9]{1,18}")


def failure_class_of(delivery: Delivery) -> FailureClass:
    """The failure class a failed or expired ``delivery`` is reported under.

    A numeric ``error_code`` (Meta's ``error.code``) is classed by
    :func:`~projectone.domain.failure.classify`; one of our own codes by
    :data:`OWN_CODE_CLASSES`. An expired delivery without a code was never handed to the
    provider in time, which is our pipeline's failing: ``system_error``. Any other code is
    ``unknown`` rather than a guess, so a new code shows up in the report instead of hiding in
    a plausible class.
    """
    code = delivery.error_code
    if code is None:
        if delivery.status is DeliveryStatus.EXPIRED:
            return FailureClass.SYSTEM_ERROR
        return FailureClass.UNKNOWN
    if _NUMERIC_CODE.fullmatch(code):
        return classify(int(code)).failure_class
    return OWN_CODE_CLASSES.get(code, FailureClass.UNKNOWN)


def _failure_counts(value: Mapping[FailureClass, int]) -> Mapping[FailureClass, int]:
    # Every class, in the enum's order, zeros included: a report's columns do not depend on
    # which failures happened that morning.
    return MappingProxyType({c: value.get(c, 0) for c in FailureClass})


def _minutes(value: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted(value))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@attrs.frozen(kw_only=True)
class SlaSummary:
    """The figures of one morning.

    ``delivered``/``read`` count messages with a delivery/read receipt; their ratios are of
    the messages ``sent`` and ``None`` when nothing was sent (no receipts can be expected, and
    "100 %" of nothing would read as good news). ``delivered_by_target`` counts receipts that
    arrived by the SLA target (DESIGN.md §3.4). ``sends_by_minute`` pairs a minute offset from
    ``window_start`` (the earliest scheduled time) with the number of messages the provider
    accepted in that minute; only minutes with sends appear, in order.

    ``fallbacks_used`` counts planned deliveries of a fallback-library pack, ``sms_backups``
    the SMS deliveries standing in for WhatsApp ones (``sms_sent`` of them accepted by the
    gateway), and ``duplicates`` the extra provider messages receipts revealed for a delivery
    already sent (possible under the at-least-once policy).
    """

    planned: int
    sent: int
    failed: int
    pending: int
    sla_met: int
    sla_missed: int
    delivered: int
    read: int
    p50_delay_seconds: float | None
    p95_delay_seconds: float | None
    max_delay_seconds: float | None
    delivered_by_target: int = 0
    failures_by_class: Mapping[FailureClass, int] = attrs.field(
        factory=dict, converter=_failure_counts
    )
    window_start: dt.datetime | None = None
    sends_by_minute: tuple[tuple[int, int], ...] = attrs.field(default=(), converter=_minutes)
    fallbacks_used: int = 0
    sms_backups: int = 0
    sms_sent: int = 0
    duplicates: int = 0

    @property
    def sla_met_ratio(self) -> float:
        """Share of planned messages accepted by the provider within the SLA (1.0 if none)."""
        return self.sla_met / self.planned if self.planned else 1.0

    @property
    def delivered_ratio(self) -> float | None:
        """Share of sent messages with a delivery receipt (``None`` if nothing was sent)."""
        return _ratio(self.delivered, self.sent)

    @property
    def read_ratio(self) -> float | None:
        """Share of sent messages with a read receipt (``None`` if nothing was sent)."""
        return _ratio(self.read, self.sent)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values: ratios rounded, classes and times as strings."""

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        return {
            "planned": self.planned,
            "sent": self.sent,
            "failed": self.failed,
            "pending": self.pending,
            "sla_met": self.sla_met,
            "sla_missed": self.sla_missed,
            "delivered": self.delivered,
            "read": self.read,
            "p50_delay_seconds": self.p50_delay_seconds,
            "p95_delay_seconds": self.p95_delay_seconds,
            "max_delay_seconds": self.max_delay_seconds,
            "sla_met_ratio": round(self.sla_met_ratio, 6),
            "delivered_ratio": rounded(self.delivered_ratio),
            "read_ratio": rounded(self.read_ratio),
            "delivered_by_target": self.delivered_by_target,
            "failures_by_class": {c.value: n for c, n in self.failures_by_class.items()},
            "window_start": None if self.window_start is None else self.window_start.isoformat(),
            "sends_by_minute": [[minute, n] for minute, n in self.sends_by_minute],
            "fallbacks_used": self.fallbacks_used,
            "sms_backups": self.sms_backups,
            "sms_sent": self.sms_sent,
            "duplicates": self.duplicates,
        }


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    # Nearest rank: the smallest value with at least q of the sample at or below it.
    rank = math.ceil(round(q * len(sorted_values), 9))
    return sorted_values[max(rank, 1) - 1]


def summarize(deliveries: Iterable[Delivery], now: dt.datetime) -> SlaSummary:
    """Summarise ``deliveries`` (WhatsApp ones and their SMS backups) as seen at ``now``."""
    fallbacks_used = sms_backups = sms_sent = duplicates = 0
    planned = sent = failed = pending = met = missed = delivered = read = on_time = 0
    delays: list[float] = []
    sent_times: list[dt.datetime] = []
    failures: Counter[FailureClass] = Counter()
    window_start: dt.datetime | None = None
    for d in deliveries:
        duplicates += len(d.duplicate_message_ids)
        if d.channel is not Channel.WHATSAPP:
            sms_backups += 1
            sms_sent += d.status in _SENT
            continue
        planned += 1
        fallbacks_used += d.fallback
        if d.status in _SENT:
            sent += 1
        elif d.status in _FAILED:
            failed += 1
            failures[failure_class_of(d)] += 1
        else:
            pending += 1
        delivered += d.delivered_at is not None
        read += d.read_at is not None
        on_time += d.delivered_at is not None and d.delivered_at <= d.sla_target
        outcome = d.sla_outcome(now)
        met += outcome is SlaOutcome.MET
        missed += outcome is SlaOutcome.MISSED
        if window_start is None or d.scheduled_for < window_start:
            window_start = d.scheduled_for
        if d.sent_at is not None:
            delays.append(max(0.0, (d.sent_at - d.scheduled_for).total_seconds()))
            sent_times.append(d.sent_at)
    delays.sort()
    by_minute: Counter[int] = Counter()
    if window_start is not None:
        for at in sent_times:
            # Floor division: a send stamped before the window (a skewed clock) lands in a
            # negative minute rather than being folded into minute 0.
            by_minute[(at - window_start) // dt.timedelta(minutes=1)] += 1
    return SlaSummary(
        planned=planned,
        sent=sent,
        failed=failed,
        pending=pending,
        sla_met=met,
        sla_missed=missed,
        delivered=delivered,
        read=read,
        p50_delay_seconds=_percentile(delays, 0.50),
        p95_delay_seconds=_percentile(delays, 0.95),
        max_delay_seconds=delays[-1] if delays else None,
        delivered_by_target=on_time,
        failures_by_class=failures,
        window_start=window_start,
        sends_by_minute=by_minute.items(),
        fallbacks_used=fallbacks_used,
        sms_backups=sms_backups,
        sms_sent=sms_sent,
        duplicates=duplicates,
    )
