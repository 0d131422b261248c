"""The WhatsApp opt-in is a consent: changing it through the advisor API keeps the consent
history in step, and a withdrawn consent to processing closes the change feed too."""

from __future__ import annotations

import datetime as dt

import pytest

from projectone.domain.access import Principal
from projectone.domain.audit import Role
from projectone.domain.consent import ConsentEnd, ConsentPurpose, holds
from projectone.domain.errors import PermissionDeniedError
from projectone.services import CatalogService
from projectone.services.advisor_api import AdvisorApi
from projectone.services.change_feed import ChangeFeed
from projectone.services.privacy import PrivacyService
from projectone.testing.demo_data import demo_advisors
from projectone.testing.fakes import InMemoryUnitOfWorkFactory, ManualClock, SequentialIds

NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
async def world() -> tuple[InMemoryUnitOfWorkFactory, AdvisorApi, Principal, ManualClock]:
    uow, clock, ids = InMemoryUnitOfWorkFactory(), ManualClock(NOW), SequentialIds()
    (advisor,) = demo_advisors(1, ids=ids, now=NOW)
    await CatalogService(uow, clock, ids).register([advisor])
    api = AdvisorApi(uow, clock, ids)
    me = Principal(subject="u1", role=Role.ADVISOR, advisor_id=advisor.id)
    return uow, api, me, clock


async def _whatsapp_history(
    uow: InMemoryUnitOfWorkFactory, principal: Principal
) -> list[tuple[bool, ConsentEnd | None]]:
    assert principal.advisor_id is not None
    async with uow() as tx:
        records = await tx.consents.for_advisor(principal.advisor_id)
    return [(r.active, r.end_reason) for r in records if r.purpose is ConsentPurpose.WHATSAPP_OPTIN]


async def test_opting_out_and_in_through_the_api_writes_the_consent_records(
    world: tuple[InMemoryUnitOfWorkFactory, AdvisorApi, Principal, ManualClock],
) -> None:
    uow, api, me, clock = world
    assert me.advisor_id is not None
    profile = await api.get(me, me.advisor_id)
    number = profile.whatsapp_number
    assert await _whatsapp_history(uow, me) == [(True, None)]  # given at registration

    clock.advance(dt.timedelta(minutes=1))
    await api.set_whatsapp(me, me.advisor_id, number=number, opted_in=False)
    assert await _whatsapp_history(uow, me) == [(False, ConsentEnd.WITHDRAWN)]

    clock.advance(dt.timedelta(minutes=1))
    await api.set_whatsapp(me, me.advisor_id, number=number, opted_in=True)
    clock.advance(dt.timedelta(minutes=1))
    # A new number while opted in: consent is given again, for the new number.
    await api.set_whatsapp(me, me.advisor_id, number="+919811112222", opted_in=True)
    assert await _whatsapp_history(uow, me) == [
        (False, ConsentEnd.WITHDRAWN),
        (False, ConsentEnd.WITHDRAWN),
        (True, None),
    ]
    async with uow() as tx:
        actions = [e.action for e in await tx.audit.for_entity("advisor", str(me.advisor_id))]
        records = await tx.consents.for_advisor(me.advisor_id)
    assert actions.count("consent.withdraw") == 2
    assert actions.count("consent.give") == 2
    assert holds(records, ConsentPurpose.WHATSAPP_OPTIN)


async def test_the_same_opt_in_again_records_nothing(
    world: tuple[InMemoryUnitOfWorkFactory, AdvisorApi, Principal, ManualClock],
) -> None:
    uow, api, me, _ = world
    assert me.advisor_id is not None
    number = (await api.get(me, me.advisor_id)).whatsapp_number
    await api.set_whatsapp(me, me.advisor_id, number=number, opted_in=True)
    assert await _whatsapp_history(uow, me) == [(True, None)]


async def test_an_advisor_who_withdrew_processing_consent_follows_no_changes(
    world: tuple[InMemoryUnitOfWorkFactory, AdvisorApi, Principal, ManualClock],
) -> None:
    uow, _, me, clock = world
    assert me.advisor_id is not None
    privacy = PrivacyService(uow, clock, SequentialIds(start=10_000), policy_version="2026-11")
    await privacy.withdraw_consent(me.advisor_id, "processing", actor=me.actor)
    with pytest.raises(PermissionDeniedError, match="consent"):
        await ChangeFeed(uow_factory=uow, clock=clock).scope(me)
