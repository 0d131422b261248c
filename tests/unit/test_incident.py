from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain import (
    ContentPack,
    ContentVariant,
    InvalidTransitionError,
    Language,
    PermissionDeniedError,
    ValidationError,
)
from projectone.domain import incident as inc
from projectone.domain.approval import ComplianceOutcome
from projectone.domain.audit import (
    GENESIS_HASH,
    Actor,
    ActorType,
    AuditEvent,
    Role,
    verify_chain,
)
from projectone.domain.incident import (
    Incident,
    IncidentChange,
    IncidentSeverity,
    IncidentStatus,
    IncidentType,
    incident_for_outcome,
    open_incident,
)

St = IncidentStatus
T0 = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(hours=2)
OFFICER = Actor(type=ActorType.USER, id="co-1", role=Role.COMPLIANCE_OFFICER)
ADMIN = Actor(type=ActorType.USER, id="admin-1", role=Role.ADMIN)
ADVISOR = Actor(type=ActorType.USER, id="adv-1", role=Role.ADVISOR)
SYSTEM = Actor.system()
PACK = ContentPack(
    id=uuid.UUID(int=77),
    advisor_id=uuid.UUID(int=42),
    topic="market_update",
    variants={Language.EN: ContentVariant(title="Nifty", body="Guaranteed 20% returns!")},
    created_at=T0,
    version=3,
)


def opened(**changes: Any) -> Incident:
    fields: dict[str, Any] = {
        "incident_id": uuid.UUID(int=1),
        "type": IncidentType.ADMIN_REPORT,
        "severity": IncidentSeverity.HIGH,
        "title": "Advisor forwarded an unapproved message",
        "description": "Reported by the admin console",
        "actor": ADMIN,
        "now": T0,
        "event_id": uuid.UUID(int=100),
    }
    return open_incident(**{**fields, **changes}).incident


def move(incident: Incident, to: IncidentStatus, actor: Actor = OFFICER) -> IncidentChange:
    eid = uuid.uuid4()
    steps: dict[IncidentStatus, Callable[[], IncidentChange]] = {
        St.INVESTIGATING: lambda: inc.investigate(incident, actor, LATER, eid),
        St.ESCALATED: lambda: inc.escalate(incident, actor, LATER, eid, "Regulator may ask"),
        St.RESOLVED: lambda: inc.resolve(incident, actor, LATER, eid, ["Message withdrawn"]),
        St.CLOSED: lambda: inc.close(incident, actor, LATER, eid),
    }
    return steps[to]()


def in_status(status: IncidentStatus) -> Incident:
    path = {
        St.OPEN: [],
        St.INVESTIGATING: [St.INVESTIGATING],
        St.ESCALATED: [St.ESCALATED],
        St.RESOLVED: [St.RESOLVED],
        St.CLOSED: [St.RESOLVED, St.CLOSED],
    }[status]
    incident = opened()
    for step in path:
        incident = move(incident, step).incident
    return incident


def test_opening_an_incident_records_who_what_and_when() -> None:
    change = open_incident(
        incident_id=uuid.UUID(int=5),
        type=IncidentType.DATA_BREACH,
        severity=IncidentSeverity.CRITICAL,
        title="Laptop lost",
        description="Unencrypted export on it",
        actor=SYSTEM,
        now=T0,
        event_id=uuid.UUID(int=6),
        advisor_id=uuid.UUID(int=42),
        assignee_id="co-1",
    )
    i = change.incident
    assert (i.type, i.severity, i.status) == (
        IncidentType.DATA_BREACH,
        IncidentSeverity.CRITICAL,
        St.OPEN,
    )
    assert (i.opened_at, i.updated_at, i.resolved_at, i.closed_at) == (T0, T0, None, None)
    e = change.event
    assert (e.id, e.action, e.entity_type, e.entity_id) == (
        uuid.UUID(int=6),
        "open",
        "incident",
        str(i.id),
    )
    assert e.old_values is None
    assert e.new_values == {
        "type": "data_breach",
        "severity": "critical",
        "status": "open",
        "title": "Laptop lost",
        "advisor_id": str(uuid.UUID(int=42)),
        "assignee_id": "co-1",
    }


def test_an_incident_goes_open_investigating_escalated_resolved_closed() -> None:
    incident = opened()
    changes = [move(incident, St.INVESTIGATING)]
    for to in (St.ESCALATED, St.RESOLVED, St.CLOSED):
        changes.append(move(changes[-1].incident, to))
    final = changes[-1].incident
    assert final.status is St.CLOSED
    assert final.resolution_actions == ("Message withdrawn",)
    assert (final.resolved_at, final.closed_at, final.updated_at) == (LATER, LATER, LATER)
    assert [c.event.action for c in changes] == ["investigate", "escalate", "resolve", "close"]
    assert changes[1].event.reason == "Regulator may ask"
    assert changes[2].event.changed_fields == ("resolution_actions", "resolved_at", "status")
    events: list[AuditEvent] = []
    for n, change in enumerate(changes, start=1):
        events.append(change.event.chain(events[-1].hash if events else GENESIS_HASH, n))
    assert verify_chain(events).ok


LEGAL = {
    "investigate": {St.OPEN},
    "escalate": {St.OPEN, St.INVESTIGATING},
    "resolve": {St.OPEN, St.INVESTIGATING, St.ESCALATED},
    "close": {St.RESOLVED},
    "assign": {St.OPEN, St.INVESTIGATING, St.ESCALATED},
}


@given(st.sampled_from(IncidentStatus), st.sampled_from(sorted(LEGAL)))
def test_each_move_is_allowed_exactly_from_its_states(status: IncidentStatus, action: str) -> None:
    incident = in_status(status)
    eid = uuid.UUID(int=9)
    attempt: dict[str, Callable[[], IncidentChange]] = {
        "investigate": lambda: inc.investigate(incident, OFFICER, LATER, eid),
        "escalate": lambda: inc.escalate(incident, OFFICER, LATER, eid),
        "resolve": lambda: inc.resolve(incident, OFFICER, LATER, eid, ["Fixed"]),
        "close": lambda: inc.close(incident, OFFICER, LATER, eid),
        "assign": lambda: inc.assign(incident, OFFICER, LATER, eid, "co-2"),
    }
    if status in LEGAL[action]:
        assert attempt[action]().incident.updated_at == LATER
    else:
        with pytest.raises(InvalidTransitionError) as caught:
            attempt[action]()
        assert (caught.value.entity, caught.value.state, caught.value.action) == (
            "incident",
            status.value,
            action,
        )


@pytest.mark.parametrize("actions", [[], ["", "  "], "Fixed"])
def test_resolving_says_what_was_done(actions: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        inc.resolve(opened(), OFFICER, LATER, uuid.uuid4(), actions)
    assert caught.value.field == "actions"


def test_blank_actions_are_dropped_and_the_rest_trimmed() -> None:
    change = inc.resolve(opened(), ADMIN, LATER, uuid.uuid4(), [" Withdrawn ", "", "Trained"])
    assert change.incident.resolution_actions == ("Withdrawn", "Trained")


def test_only_staff_and_the_system_handle_incidents() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        opened(actor=ADVISOR)
    assert caught.value.action == "open"
    incident = opened()
    attempts: list[Callable[[], IncidentChange]] = [
        lambda: inc.investigate(incident, ADVISOR, LATER, uuid.uuid4()),
        lambda: inc.assign(incident, ADVISOR, LATER, uuid.uuid4(), "adv-1"),
        lambda: inc.resolve(incident, ADVISOR, LATER, uuid.uuid4(), ["x"]),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError):
            attempt()
    assert (
        inc.investigate(incident, SYSTEM, LATER, uuid.uuid4()).incident.status is St.INVESTIGATING
    )


def test_assigning_records_the_assignee_and_refuses_a_no_op() -> None:
    change = inc.assign(opened(), OFFICER, LATER, uuid.uuid4(), "co-2")
    assert change.incident.assignee_id == "co-2"
    assert change.event.old_values == {"status": "open", "assignee_id": None}
    assert change.event.new_values == {"status": "open", "assignee_id": "co-2"}
    with pytest.raises(InvalidTransitionError):
        inc.assign(change.incident, OFFICER, LATER, uuid.uuid4(), "co-2")
    with pytest.raises(ValidationError):
        inc.assign(opened(), OFFICER, LATER, uuid.uuid4(), " ")


def test_an_incident_is_validated() -> None:
    with pytest.raises(ValidationError) as caught:
        opened(title=" ")
    assert caught.value.field == "title"
    with pytest.raises(ValidationError) as caught:
        opened(severity="urgent")
    assert caught.value.field == "severity"
    with pytest.raises(ValidationError) as caught:
        opened(now=dt.datetime(2026, 11, 23))
    assert caught.value.field == "now"
    with pytest.raises(ValidationError):
        Incident(
            id=uuid.uuid4(),
            type="admin_report",
            severity="low",
            status="resolved",
            title="t",
            opened_at=T0,
            updated_at=T0,
        )


def outcome(critical: bool) -> ComplianceOutcome:
    return ComplianceOutcome(
        verdict="block",
        risk_score=97,
        rulebook_version="2026.11",
        findings=("R1",),
        reasons=("Promises guaranteed returns",),
        requires_human=True,
        critical=critical,
    )


def test_a_critical_finding_opens_a_critical_incident_about_the_pack() -> None:
    change = incident_for_outcome(
        PACK, outcome(True), SYSTEM, T0, uuid.UUID(int=3), uuid.UUID(int=4)
    )
    assert change is not None
    i = change.incident
    assert (i.type, i.severity, i.status) == (
        IncidentType.CRITICAL_FINDING,
        IncidentSeverity.CRITICAL,
        St.OPEN,
    )
    assert (i.id, i.pack_id, i.advisor_id) == (uuid.UUID(int=3), PACK.id, PACK.advisor_id)
    assert "R1" in i.description
    assert "Promises guaranteed returns" in i.description
    assert "2026.11" in i.description
    assert change.event.id == uuid.UUID(int=4)


def test_no_incident_without_a_critical_finding() -> None:
    assert (
        incident_for_outcome(PACK, outcome(False), SYSTEM, T0, uuid.uuid4(), uuid.uuid4()) is None
    )
