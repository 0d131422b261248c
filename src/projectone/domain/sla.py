"""The SLA summary of a morning: what was planned, sent and on time."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import attrs

from projectone.domain.delivery import Delivery, DeliveryStatus, SlaOutcome

__all__ = ["SlaSummary", "summarize"]

_SENT = frozenset({DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ})


@attrs.frozen(kw_only=True)
class SlaSummary:
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

    @property
    def sla_met_ratio(self) -> float:
        """Share of planned messages accepted by the provider within the SLA (1.0 if none)."""
        return self.sla_met / self.planned if self.planned else 1.0

    def as_dict(self) -> dict[str, int | float | None]:
        doc: dict[str, int | float | None] = attrs.asdict(self)
        doc["sla_met_ratio"] = round(self.sla_met_ratio, 6)
        return doc


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    # Nearest rank: the smallest value with at least q of the sample at or below it.
    rank = math.ceil(round(q * len(sorted_values), 9))
    return sorted_values[max(rank, 1) - 1]


def summarize(deliveries: Iterable[Delivery], now: dt.datetime) -> SlaSummary:
    """Summarise ``deliveries`` as seen at ``now``."""
    planned = sent = failed = pending = met = missed = delivered = read = 0
    delays: list[float] = []
    for d in deliveries:
        planned += 1
        if d.status in _SENT:
            sent += 1
        elif d.status in (DeliveryStatus.FAILED, DeliveryStatus.EXPIRED):
            failed += 1
        else:
            pending += 1
        delivered += d.delivered_at is not None
        read += d.read_at is not None
        outcome = d.sla_outcome(now)
        met += outcome is SlaOutcome.MET
        missed += outcome is SlaOutcome.MISSED
        if d.sent_at is not None:
            delays.append(max(0.0, (d.sent_at - d.scheduled_for).total_seconds()))
    delays.sort()
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
    )
