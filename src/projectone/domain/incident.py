"""Compliance incidents: something went wrong that a compliance officer must see through.

An incident opens on a critical compliance finding (automatically, see
:func:`incident_for_outcome`), on an admin's report, on a delivery whose content did not match
what was approved, or on a data breach. It moves open → investigating → escalated → resolved →
closed (steps may be skipped forward, never taken back), and every move is recorded in the
audit trail. Only staff (admins, compliance officers) and the system handle incidents.

Like the approval functions, each function here is pure: it returns the incident and the
:class:`~projectone.domain.audit.AuditDraft` of the change (an :class:`IncidentChange`), or
raises ``InvalidTransitionError``, ``PermissionDeniedError`` or ``ValidationError``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from projectone.domain._validate import (
    aware,
    is_uuid,
    nonblank,
    optional_aware,
    optional_uuid,
    require_nonblank,
    to_enum,
)
from projectone.domain.approval import ComplianceOutcome
from projectone.domain.audit import (
    Actor,
    AuditDraft,
    Role,
    change_event,
    check_event_args,
    snapshot,
)
from projectone.domain.content import ContentPack
from projectone.domain.errors import (
    InvalidTransitionError,
    PermissionDeniedError,
    ValidationError,
)

__all__ = [
    "Incident",
    "IncidentChange",
    "IncidentSeverity",
    "IncidentStatus",
    "IncidentType",
    "assign",
    "close",
    "escalate",
    "incident_for_outcome",
    "investigate",
    "open_incident",
    "resolve",
]

_ENTITY = "incident"
_HANDLERS = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.SYSTEM})


class IncidentType(enum.StrEnum):
    CRITICAL_FINDING = "critical_finding"
    ADMIN_REPORT = "admin_report"
    DELIVERY_INTEGRITY = "delivery_integrity"
    DATA_BREACH = "data_breach"


class IncidentSeverity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


_I = IncidentStatus


def _type(value: object) -> IncidentType:
    return to_enum(IncidentType, "type", value)


def _severity(value: object) -> IncidentSeverity:
    return to_enum(IncidentSeverity, "severity", value)


def _status(value: object) -> IncidentStatus:
    return to_enum(IncidentStatus, "status", value)


def _text(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError(attribute.name, value, "must be text")


def _actions(value: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("resolution_actions", value, "must be a list of actions taken")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError("resolution_actions", item, "an action must be non-empty text")
    return items


@attrs.frozen(kw_only=True)
class Incident:
    """A compliance incident. A resolved (or closed) incident says when and what was done."""

    id: uuid.UUID = attrs.field(validator=is_uuid)
    type: IncidentType = attrs.field(converter=_type)
    severity: IncidentSeverity = attrs.field(converter=_severity)
    status: IncidentStatus = attrs.field(default=IncidentStatus.OPEN, converter=_status)
    title: str = attrs.field(validator=nonblank)
    description: str = attrs.field(default="", validator=_text)
    pack_id: uuid.UUID | None = attrs.field(default=None, validator=optional_uuid)
    advisor_id: uuid.UUID | None = attrs.field(default=None, validator=optional_uuid)
    assignee_id: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(nonblank)
    )
    resolution_actions: tuple[str, ...] = attrs.field(default=(), converter=_actions)
    opened_at: dt.datetime = attrs.field(validator=aware)
    updated_at: dt.datetime = attrs.field(validator=aware)
    resolved_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    closed_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)

    def __attrs_post_init__(self) -> None:
        done = self.status in (_I.RESOLVED, _I.CLOSED)
        if done and (self.resolved_at is None or not self.resolution_actions):
            raise ValidationError(
                "resolved_at", self.resolved_at, "a resolved incident records when and what"
            )
        if self.status is _I.CLOSED and self.closed_at is None:
            raise ValidationError("closed_at", None, "a closed incident records when")


@attrs.frozen(kw_only=True)
class IncidentChange:
    """The incident after an action, and the audit draft that records the action."""

    incident: Incident
    event: AuditDraft


_TRACKED = (
    "type",
    "severity",
    "status",
    "title",
    "pack_id",
    "advisor_id",
    "assignee_id",
    "resolution_actions",
    "resolved_at",
    "closed_at",
)


def _require_handler(actor: Actor, action: str) -> None:
    if actor.role not in _HANDLERS:
        raise PermissionDeniedError(
            action, "only an admin, a compliance officer or the system handles incidents"
        )


def _change(
    action: str,
    before: Incident,
    after: Incident,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str | None = None,
) -> IncidentChange:
    event = change_event(
        action=action,
        entity_type=_ENTITY,
        entity_id=str(after.id),
        old=snapshot(before, _TRACKED),
        new=snapshot(after, _TRACKED),
        actor=actor,
        now=now,
        event_id=event_id,
        reason=reason,
    )
    return IncidentChange(incident=after, event=event)


def _require(incident: Incident, action: str, *allowed: IncidentStatus) -> None:
    if not isinstance(incident, Incident):
        raise ValidationError("incident", incident, "must be an Incident")
    if incident.status not in allowed:
        names = " or ".join(s.value for s in allowed)
        raise InvalidTransitionError(
            _ENTITY, incident.status.value, action, f"only an incident {names} can {action}"
        )


def open_incident(
    *,
    incident_id: uuid.UUID,
    type: IncidentType,
    severity: IncidentSeverity,
    title: str,
    description: str,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    pack_id: uuid.UUID | None = None,
    advisor_id: uuid.UUID | None = None,
    assignee_id: str | None = None,
) -> IncidentChange:
    """A new open incident (keywords only: the many ids are too easy to swap by position)."""
    check_event_args(actor, now, event_id)
    _require_handler(actor, "open")
    incident = Incident(
        id=incident_id,
        type=type,
        severity=severity,
        title=title,
        description=description,
        pack_id=pack_id,
        advisor_id=advisor_id,
        assignee_id=assignee_id,
        opened_at=now,
        updated_at=now,
    )
    new = {k: v for k, v in snapshot(incident, _TRACKED).items() if v is not None and v != []}
    event = change_event(
        action="open",
        entity_type=_ENTITY,
        entity_id=str(incident.id),
        old=None,
        new=new,
        actor=actor,
        now=now,
        event_id=event_id,
    )
    return IncidentChange(incident=incident, event=event)


def assign(
    incident: Incident,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    assignee_id: str,
) -> IncidentChange:
    """Give an unresolved incident to ``assignee_id`` (reassigning is allowed)."""
    check_event_args(actor, now, event_id)
    _require(incident, "assign", _I.OPEN, _I.INVESTIGATING, _I.ESCALATED)
    _require_handler(actor, "assign")
    require_nonblank("assignee_id", assignee_id)
    if assignee_id == incident.assignee_id:
        raise InvalidTransitionError(
            _ENTITY, incident.status.value, "assign", f"already assigned to {assignee_id}"
        )
    after = attrs.evolve(incident, assignee_id=assignee_id, updated_at=now)
    return _change("assign", incident, after, actor, now, event_id)


def investigate(
    incident: Incident, actor: Actor, now: dt.datetime, event_id: uuid.UUID
) -> IncidentChange:
    """open → investigating."""
    check_event_args(actor, now, event_id)
    _require(incident, "investigate", _I.OPEN)
    _require_handler(actor, "investigate")
    after = attrs.evolve(incident, status=_I.INVESTIGATING, updated_at=now)
    return _change("investigate", incident, after, actor, now, event_id)


def escalate(
    incident: Incident,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str | None = None,
) -> IncidentChange:
    """open or investigating → escalated (to senior compliance staff or the regulator)."""
    check_event_args(actor, now, event_id)
    _require(incident, "escalate", _I.OPEN, _I.INVESTIGATING)
    _require_handler(actor, "escalate")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise ValidationError("reason", reason, "must be non-empty text or None")
    after = attrs.evolve(incident, status=_I.ESCALATED, updated_at=now)
    return _change("escalate", incident, after, actor, now, event_id, reason)


def resolve(
    incident: Incident,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    actions: Sequence[str],
) -> IncidentChange:
    """open, investigating or escalated → resolved, saying what was done: at least one
    non-blank action (blank entries are dropped, surrounding spaces trimmed)."""
    check_event_args(actor, now, event_id)
    _require(incident, "resolve", _I.OPEN, _I.INVESTIGATING, _I.ESCALATED)
    _require_handler(actor, "resolve")
    if isinstance(actions, str) or not isinstance(actions, Sequence):
        raise ValidationError("actions", actions, "must be a list of actions taken")
    if any(not isinstance(a, str) for a in actions):
        raise ValidationError("actions", actions, "every action must be text")
    taken = tuple(a.strip() for a in actions if a.strip())
    if not taken:
        raise ValidationError("actions", actions, "say what was done to resolve the incident")
    after = attrs.evolve(
        incident, status=_I.RESOLVED, resolution_actions=taken, resolved_at=now, updated_at=now
    )
    return _change("resolve", incident, after, actor, now, event_id)


def close(
    incident: Incident, actor: Actor, now: dt.datetime, event_id: uuid.UUID
) -> IncidentChange:
    """resolved → closed: nothing further to do."""
    check_event_args(actor, now, event_id)
    _require(incident, "close", _I.RESOLVED)
    _require_handler(actor, "close")
    after = attrs.evolve(incident, status=_I.CLOSED, closed_at=now, updated_at=now)
    return _change("close", incident, after, actor, now, event_id)


def incident_for_outcome(
    pack: ContentPack,
    outcome: ComplianceOutcome,
    actor: Actor,
    now: dt.datetime,
    incident_id: uuid.UUID,
    event_id: uuid.UUID,
) -> IncidentChange | None:
    """A critical-severity ``critical_finding`` incident about ``pack`` when the compliance
    ``outcome`` has a critical finding; ``None`` otherwise."""
    if not outcome.critical:
        return None
    reasons = [r.strip() for r in outcome.reasons if r.strip()]
    findings = ", ".join(outcome.findings) or "unnamed rules"
    description = "\n".join(
        [
            f"Rulebook {outcome.rulebook_version}: critical finding(s) {findings} "
            f"(risk score {outcome.risk_score}, verdict {outcome.verdict}).",
            *reasons,
        ]
    )
    return open_incident(
        incident_id=incident_id,
        type=IncidentType.CRITICAL_FINDING,
        severity=IncidentSeverity.CRITICAL,
        title=f"Critical compliance finding in content pack {pack.id} (v{pack.version})",
        description=description,
        actor=actor,
        now=now,
        event_id=event_id,
        pack_id=pack.id,
        advisor_id=pack.advisor_id,
    )
