"""An advisor account's status changes and what the audit trail keeps of them."""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.advisor_lifecycle import change_status, registration_event
from projectone.domain.audit import Actor, ActorType, Role
from projectone.domain.errors import InvalidTransitionError, PermissionDeniedError
from projectone.testing.strategies import advisors

NOW = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
ADMIN = Actor(type=ActorType.USER, id="admin:asha", role=Role.ADMIN)
ALLOWED = {
    (AdvisorStatus.PENDING, AdvisorStatus.ACTIVE),
    (AdvisorStatus.PENDING, AdvisorStatus.CANCELLED),
    (AdvisorStatus.ACTIVE, AdvisorStatus.SUSPENDED),
    (AdvisorStatus.ACTIVE, AdvisorStatus.CANCELLED),
    (AdvisorStatus.SUSPENDED, AdvisorStatus.ACTIVE),
    (AdvisorStatus.SUSPENDED, AdvisorStatus.CANCELLED),
}


@given(advisors(), st.sampled_from(AdvisorStatus), st.sampled_from(AdvisorStatus))
def test_only_the_permitted_status_changes_happen(
    advisor: Advisor, start: AdvisorStatus, target: AdvisorStatus
) -> None:
    advisor = attrs.evolve(advisor, status=start)
    if (start, target) in ALLOWED:
        change = change_status(advisor, target, ADMIN, NOW, uuid.uuid4())
        assert change.advisor.status is target
        assert change.event.old_values == {"status": start.value}
        assert change.event.new_values == {"status": target.value}
    else:
        with pytest.raises(InvalidTransitionError):
            change_status(advisor, target, ADMIN, NOW, uuid.uuid4())


@given(advisors())
def test_registration_records_the_account_but_no_personal_data(advisor: Advisor) -> None:
    event = registration_event(advisor, Actor.system(), NOW, uuid.uuid4())
    assert event.old_values is None
    assert event.new_values is not None
    assert event.new_values["registration_no"] == advisor.registration_no
    assert {"name", "email", "whatsapp_number"}.isdisjoint(event.new_values)
    assert event.retention_until == dt.date(2033, 11, 23)


@given(advisors())
def test_an_advisor_cannot_change_an_account_status(advisor: Advisor) -> None:
    actor = Actor(type=ActorType.USER, id=f"advisor:{advisor.id}", role=Role.ADVISOR)
    with pytest.raises(PermissionDeniedError):
        change_status(advisor, AdvisorStatus.CANCELLED, actor, NOW, uuid.uuid4())
