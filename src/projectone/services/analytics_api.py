"""The advisor dashboard: content, approval, delivery and SLA figures for a date range.

Days are Asia/Kolkata days. Content figures count the packs *created* in the range (drafts,
submissions, reviews); delivery and SLA figures count the deliveries *dated* in the range
(their mornings), summarised exactly as the SLA report does (``projectone.domain.sla``). An
advisor sees only their own dashboard (another advisor's is not found); staff see any
advisor's, or everyone's over at most a month.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from projectone.domain.access import Principal, ensure_visible
from projectone.domain.content import ContentPack, ContentStatus
from projectone.domain.delivery import Channel, Delivery, DeliveryStatus
from projectone.domain.errors import ValidationError
from projectone.domain.sla import SlaSummary, summarize
from projectone.domain.timezone import IST
from projectone.ports.clock import Clock
from projectone.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["MAX_DAYS_ALL", "MAX_DAYS_ONE", "AnalyticsApi", "Dashboard"]

#: The longest range for one advisor's dashboard.
MAX_DAYS_ONE = 92
#: The longest range over every advisor (thousands of deliveries a day).
MAX_DAYS_ALL = 31
_APPROVED = frozenset({ContentStatus.APPROVED, ContentStatus.SCHEDULED, ContentStatus.DELIVERED})


@attrs.frozen(kw_only=True)
class Dashboard:
    advisor_id: uuid.UUID | None
    since: dt.date
    until: dt.date
    packs: Sequence[ContentPack]
    deliveries: Sequence[Delivery]
    sla: SlaSummary

    def as_dict(self) -> dict[str, Any]:
        statuses = Counter(p.status for p in self.packs)
        reviewed = [p for p in self.packs if p.reviewed_at is not None]
        waits = [
            (p.reviewed_at - p.submitted_at).total_seconds() / 3600
            for p in reviewed
            if p.reviewed_at is not None and p.submitted_at is not None
        ]
        approved = sum(statuses[s] for s in _APPROVED)
        decided = approved + statuses[ContentStatus.REJECTED]
        by_status = Counter(d.status for d in self.deliveries)
        by_channel = Counter(d.channel for d in self.deliveries)
        return {
            "advisor_id": None if self.advisor_id is None else str(self.advisor_id),
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "content": {
                "created": len(self.packs),
                "by_status": {s.value: statuses[s] for s in ContentStatus},
            },
            "approval": {
                "submitted": sum(1 for p in self.packs if p.submitted_at is not None),
                "approved": approved,
                "rejected": statuses[ContentStatus.REJECTED],
                "pending_review": statuses[ContentStatus.PENDING_REVIEW],
                "approval_ratio": None if not decided else round(approved / decided, 6),
                "median_hours_to_review": None if not waits else round(statistics.median(waits), 3),
            },
            "deliveries": {
                "total": len(self.deliveries),
                "by_status": {s.value: by_status[s] for s in DeliveryStatus},
                "by_channel": {c.value: by_channel[c] for c in Channel},
                "fallbacks": sum(1 for d in self.deliveries if d.fallback),
            },
            "sla": self.sla.as_dict(),
        }


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=IST)


@attrs.define
class AnalyticsApi:
    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def dashboard(
        self,
        principal: Principal,
        *,
        advisor_id: uuid.UUID | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> Dashboard:
        """The figures for ``advisor_id`` (an advisor: themselves) from ``since`` to ``until``
        inclusive (default: the last 30 days up to today, in India)."""
        today = self.clock.now().astimezone(IST).date()
        until = until or today
        since = since or until - dt.timedelta(days=29)
        if since > until:
            raise ValidationError("since", since.isoformat(), "must not be after until")
        if principal.is_advisor:
            if advisor_id is not None:
                ensure_visible(principal, "advisor", advisor_id, advisor_id)
            advisor_id = principal.advisor_id
        longest = MAX_DAYS_ONE if advisor_id is not None else MAX_DAYS_ALL
        if (until - since).days + 1 > longest:
            raise ValidationError(
                "until", until.isoformat(), f"the range may cover at most {longest} days"
            )
        async with self.uow_factory() as uow:
            if advisor_id is not None:
                await uow.advisors.get(advisor_id)  # NotFoundError for an unknown advisor
            packs = await uow.content.created_between(
                advisor_id, _day_start(since), _day_start(until + dt.timedelta(days=1))
            )
            deliveries = await uow.deliveries.between(advisor_id, since, until)
        return Dashboard(
            advisor_id=advisor_id,
            since=since,
            until=until,
            packs=packs,
            deliveries=deliveries,
            sla=summarize(deliveries, self.clock.now()),
        )
