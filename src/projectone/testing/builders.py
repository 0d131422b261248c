"""Builders for domain objects in a consistent state, for tests and demo data.

A pack stored as approved (or scheduled, or delivered) carries the hash that was approved and
its reviewer, and a rejected one its reviewer: the schema insists, and so does the in-memory
store. :func:`reviewed` fills those in for a pack built directly in a given status, as if the
workflow had taken it there.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs

from projectone.domain.content import ContentPack, ContentStatus
from projectone.domain.delivery import Delivery
from projectone.domain.language import Language

__all__ = ["REVIEWED_STATES", "planned_delivery", "reviewed"]

#: Statuses a pack only reaches through a reviewer.
REVIEWED_STATES = frozenset(
    {
        ContentStatus.APPROVED,
        ContentStatus.REJECTED,
        ContentStatus.SCHEDULED,
        ContentStatus.DELIVERED,
    }
)


def reviewed(
    pack: ContentPack,
    *,
    reviewer_id: str = "admin:reviewer",
    reviewed_at: dt.datetime | None = None,
) -> ContentPack:
    """``pack`` with the review record its status implies (unchanged if it implies none).

    An approved, scheduled or delivered pack gets ``approved_hash`` = its content hash.
    """
    if pack.status not in REVIEWED_STATES:
        return pack
    sendable = pack.status is not ContentStatus.REJECTED
    return attrs.evolve(
        pack,
        reviewer_id=pack.reviewer_id or reviewer_id,
        reviewed_at=pack.reviewed_at or reviewed_at or pack.created_at,
        approved_hash=(pack.approved_hash or pack.content_hash) if sendable else None,
        compliance_verdict=pack.compliance_verdict or "pass",
        risk_score=pack.risk_score if pack.risk_score is not None else 0,
    )


def planned_delivery(
    *,
    date: dt.date = dt.date(2026, 11, 23),
    send_time: dt.time = dt.time(6, 0),
    **changes: Any,
) -> Delivery:
    """A queued WhatsApp delivery for ``date`` at ``send_time`` (IST), with fresh ids, planned
    an hour before; ``changes`` are applied on top (``attrs.evolve``)."""
    delivery = Delivery.plan(
        id=uuid.uuid4(),
        advisor_id=uuid.uuid4(),
        pack_id=uuid.uuid4(),
        date=date,
        send_time=send_time,
        language=Language.EN,
        to="+919800000001",
        content_hash="a" * 64,
        now=dt.datetime.combine(date, send_time, dt.UTC) - dt.timedelta(hours=6),
    )
    return attrs.evolve(delivery, **changes) if changes else delivery
