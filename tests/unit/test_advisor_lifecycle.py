"""An advisor account's status changes and what the audit trail keeps of them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.advisor_lifecycle import (
    change_preferences,
    change_status,
    change_whatsapp,
    registration_event,
)
from projectone.domain.audit import Actor, ActorType, Role
from projectone.domain.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from projectone.domain.language import Language
from projectone.testing.strategies import advisors, languages

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


# -- preferences and the WhatsApp integration ----------------------------------------------------


def own(advisor: Advisor) -> Actor:
    return Actor(type=ActorType.USER, id=f"advisor:{advisor.id}", role=Role.ADVISOR)


OFFICER = Actor(type=ActorType.USER, id="compliance_officer:ravi", role=Role.COMPLIANCE_OFFICER)
LATER = NOW + dt.timedelta(days=1)


@given(
    advisors().filter(lambda a: a.status is not AdvisorStatus.CANCELLED),
    st.none() | languages(),
    st.none() | st.times(),
)
def test_preferences_change_what_is_given_and_record_exactly_what_changed(
    advisor: Advisor, langs: tuple[Language, ...] | None, send_time: dt.time | None
) -> None:
    if langs is None and send_time is None:
        with pytest.raises(ValidationError):
            change_preferences(advisor, own(advisor), NOW, uuid.uuid4())
        return
    change = change_preferences(
        advisor, own(advisor), NOW, uuid.uuid4(), languages=langs, send_time=send_time
    )
    expected = attrs.evolve(
        advisor,
        languages=advisor.languages if langs is None else langs,
        send_time=advisor.send_time if send_time is None else send_time,
    )
    if expected == advisor:
        assert change is None  # nothing changed, nothing to record
        return
    assert change is not None
    assert change.advisor == expected
    event = change.event
    assert (event.action, event.entity_type, event.entity_id) == (
        "change_preferences",
        "advisor",
        str(advisor.id),
    )
    changed = {n for n in ("languages", "send_time") if getattr(expected, n) != getattr(advisor, n)}
    assert set(event.changed_fields) == changed
    assert event.new_values is not None
    assert set(event.new_values) == changed | {"status"}


@given(advisors(), st.from_regex(r"\+91[6-9][0-9]{9}", fullmatch=True), st.booleans())
def test_the_whatsapp_integration_stamps_consent_and_never_records_the_number(
    advisor: Advisor, number: str, opted_in: bool
) -> None:
    cancelled = advisor.status is AdvisorStatus.CANCELLED
    new_number = number != advisor.whatsapp_number
    if cancelled and (opted_in or new_number):
        with pytest.raises(InvalidTransitionError):
            change_whatsapp(advisor, ADMIN, LATER, uuid.uuid4(), number=number, opted_in=opted_in)
        return
    change = change_whatsapp(advisor, ADMIN, LATER, uuid.uuid4(), number=number, opted_in=opted_in)
    was_in = advisor.whatsapp_opt_in_at is not None
    if not new_number and opted_in == was_in:
        assert change is None
        return
    assert change is not None
    after = change.advisor
    assert after.whatsapp_number == number
    if not opted_in:
        assert after.whatsapp_opt_in_at is None
        assert not after.receives_whatsapp  # the planner stops planning for them
    elif was_in and not new_number:
        assert after.whatsapp_opt_in_at == advisor.whatsapp_opt_in_at
    else:
        # A first consent, or consent for a number it was not given for.
        assert after.whatsapp_opt_in_at == LATER
    event = change.event
    assert event.action == "change_whatsapp"
    assert ("whatsapp_number" in event.changed_fields) is new_number
    recorded = f"{event.old_values}{event.new_values}"
    assert number not in recorded
    assert advisor.whatsapp_number not in recorded
    assert ("whatsapp_opt_in" in event.changed_fields) is (opted_in != was_in)


@given(advisors())
def test_only_the_advisor_themselves_an_admin_or_the_system_change_settings(
    advisor: Advisor,
) -> None:
    advisor = attrs.evolve(advisor, status=AdvisorStatus.ACTIVE)
    stranger = Actor(type=ActorType.USER, id=f"advisor:{uuid.uuid4()}", role=Role.ADVISOR)
    for actor in (OFFICER, stranger):
        with pytest.raises(PermissionDeniedError):
            change_preferences(advisor, actor, NOW, uuid.uuid4(), send_time=dt.time(7, 0))
        with pytest.raises(PermissionDeniedError):
            change_whatsapp(
                advisor, actor, NOW, uuid.uuid4(), number=advisor.whatsapp_number, opted_in=False
            )
    for actor in (own(advisor), ADMIN, Actor.system()):
        change_preferences(advisor, actor, NOW, uuid.uuid4(), languages=advisor.languages)


def test_a_cancelled_account_can_still_withdraw_consent_but_change_nothing_else() -> None:
    advisor = attrs.evolve(_one_advisor(), status=AdvisorStatus.CANCELLED, whatsapp_opt_in_at=NOW)
    with pytest.raises(InvalidTransitionError):
        change_preferences(advisor, ADMIN, LATER, uuid.uuid4(), send_time=dt.time(7, 0))
    change = change_whatsapp(
        advisor, own(advisor), LATER, uuid.uuid4(), number=advisor.whatsapp_number, opted_in=False
    )
    assert change is not None
    assert change.advisor.whatsapp_opt_in_at is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"number": "98765 43210", "opted_in": True}, "number"),
        ({"number": "+919876543210", "opted_in": "yes"}, "opted_in"),
    ],
)
def test_a_bad_number_or_opt_in_names_its_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        change_whatsapp(_one_advisor(), ADMIN, NOW, uuid.uuid4(), **kwargs)
    assert caught.value.field == field


def test_bad_preferences_name_their_field() -> None:
    advisor = _one_advisor()
    for langs in ((), ("en", "en"), ("fr",)):
        with pytest.raises(ValidationError) as caught:
            change_preferences(advisor, ADMIN, NOW, uuid.uuid4(), languages=langs)
        assert caught.value.field == "languages"


def _one_advisor() -> Advisor:
    return Advisor(
        id=uuid.UUID(int=7),
        name="Priya Sharma",
        type="MFD",
        registration_no="ARN-12345",
        email="priya@example.in",
        whatsapp_number="+919876543210",
        languages=["en"],
        created_at=NOW,
    )
