"""A delivery queue filled in one go: advisors, approved packs and deliveries already due.

For tests and benchmarks of the delivery workers, which need thousands of due deliveries
without living through planning first.
"""

from __future__ import annotations

import datetime as dt

from projectone.domain.content import message_hash
from projectone.domain.delivery import Delivery
from projectone.ports.clock import IdGenerator
from projectone.ports.unit_of_work import UnitOfWorkFactory
from projectone.testing.demo_data import demo_advisors, demo_packs

__all__ = ["seed_due_deliveries"]


async def seed_due_deliveries(
    uow_factory: UnitOfWorkFactory,
    count: int,
    *,
    date: dt.date,
    now: dt.datetime,
    ids: IdGenerator,
    overdue: dt.timedelta = dt.timedelta(seconds=10),
) -> list[Delivery]:
    """``count`` advisors, each with an approved pack for ``date`` and one WhatsApp delivery of
    it scheduled ``overdue`` before ``now``, written in one unit of work."""
    created = now - dt.timedelta(hours=1)
    advisors = demo_advisors(count, ids=ids, now=created)
    packs = demo_packs(advisors, date, ids=ids, now=created)
    deliveries = []
    for advisor, pack in zip(advisors, packs, strict=True):
        language, _ = pack.variant_for(advisor.languages)
        deliveries.append(
            Delivery(
                id=ids.new_id(),
                advisor_id=advisor.id,
                pack_id=pack.id,
                date=date,
                language=language,
                to=advisor.whatsapp_number,
                content_hash=pack.content_hash,
                message_hash=message_hash(pack.variants[language].render()),
                scheduled_for=now - overdue,
                queued_at=created,
            )
        )
    async with uow_factory() as uow:
        await uow.advisors.add_many(advisors)
        await uow.content.add_many(packs)
        await uow.deliveries.add_many(deliveries)
        await uow.commit()
    return deliveries
