"""The dashboard's figures over in-memory ports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from projectone.domain.access import Principal
from projectone.domain.advisor import Advisor, AdvisorType
from projectone.domain.audit import Role
from projectone.domain.content import ContentPack, ContentStatus, ContentVariant
from projectone.domain.delivery import Variant
from projectone.domain.errors import NotFoundError, ValidationError
from projectone.domain.language import Language
from projectone.domain.timezone import local_to_utc
from projectone.services.analytics_api import AnalyticsApi
from projectone.testing.builders import planned_delivery, reviewed
from projectone.testing.fakes import InMemoryUnitOfWorkFactory, ManualClock

DAY = dt.date(2026, 11, 23)
ME = Advisor(
    id=uuid.UUID(int=1),
    name="Asha Rao",
    type=AdvisorType.MFD,
    registration_no="ARN-12345",
    email="asha@example.in",
    whatsapp_number="+919800000001",
    languages=(Language.EN,),
    created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
)
ADVISOR = Principal(subject="asha", role=Role.ADVISOR, advisor_id=ME.id)
ADMIN = Principal(subject="root", role=Role.ADMIN)


async def _api() -> AnalyticsApi:
    uow_factory = InMemoryUnitOfWorkFactory()
    six = local_to_utc(DAY, dt.time(6, 0))
    pack = reviewed(
        ContentPack(
            id=uuid.UUID(int=9),
            advisor_id=ME.id,
            topic="sip",
            variants={Language.EN: ContentVariant(title="SIP", body="A habit.")},
            status=ContentStatus.APPROVED,
            created_at=six - dt.timedelta(days=50),
        )
    )
    mine: dict[str, Any] = {"advisor_id": ME.id, "pack_id": pack.id}
    on_time = planned_delivery(date=DAY, **mine)
    on_time = on_time.start_sending(six).mark_sent("wamid.1", six + dt.timedelta(seconds=40))
    late = planned_delivery(date=DAY, fallback=True, variant=Variant.STATUS, **mine)
    late = late.start_sending(six).mark_sent("wamid.2", six + dt.timedelta(minutes=9))
    refused = planned_delivery(date=DAY - dt.timedelta(days=40), **mine)
    async with uow_factory() as uow:
        await uow.advisors.add(ME)
        await uow.content.add(pack)
        await uow.deliveries.add_many([on_time, late, refused])
        await uow.commit()
    return AnalyticsApi(uow_factory, ManualClock(six + dt.timedelta(hours=3)))


async def test_the_dashboard_summarises_the_deliveries_of_the_range_like_the_sla_report() -> None:
    api = await _api()
    doc = (await api.dashboard(ADVISOR, since=DAY, until=DAY)).as_dict()
    assert doc["deliveries"]["total"] == 2
    assert doc["deliveries"]["by_status"]["sent"] == 2
    assert doc["deliveries"]["fallbacks"] == 1
    assert (doc["sla"]["sla_met"], doc["sla"]["sla_missed"]) == (1, 1)
    assert doc["approval"]["approval_ratio"] is None
    # The default range is the last 30 days, which leaves out the delivery of 40 days ago.
    assert (await api.dashboard(ADVISOR)).as_dict()["deliveries"]["total"] == 2


async def test_the_dashboard_refuses_bad_ranges_and_other_advisors() -> None:
    api = await _api()
    with pytest.raises(ValidationError):
        await api.dashboard(ADVISOR, since=DAY, until=DAY - dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        await api.dashboard(ADMIN, since=DAY - dt.timedelta(days=40), until=DAY)
    with pytest.raises(NotFoundError):
        await api.dashboard(ADVISOR, advisor_id=uuid.UUID(int=2))
    with pytest.raises(NotFoundError):
        await api.dashboard(ADMIN, advisor_id=uuid.UUID(int=2))
    wide = await api.dashboard(ADMIN, advisor_id=ME.id, since=DAY - dt.timedelta(days=60))
    assert wide.as_dict()["deliveries"]["total"] == 3
