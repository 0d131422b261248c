"""Changes of an advisor's account, each with its audit event (DESIGN.md §3.5).

Audit events about advisors record what the account *is* (type, registration number, tier,
status, languages, send time, WhatsApp opt-in) and only the *names* of personal fields that
changed (name, email, WhatsApp number), never their values: the trail is kept for seven years
and must not become a second copy of personal data that the DPDP Act lets a person erase.
"""

from __future__ import annotations

import datetime as dt
import uuid

import attrs

from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.audit import JSON, Actor, AuditDraft, Role, change_event, to_json_value
from projectone.domain.errors import InvalidTransitionError, PermissionDeniedError

__all__ = ["AdvisorChange", "change_status", "registration_event"]

_ENTITY = "advisor"
_RECORDED = ("type", "registration_no", "tier", "status", "languages", "send_time")

# Which status may follow which: cancelled is final.
_NEXT: dict[AdvisorStatus, frozenset[AdvisorStatus]] = {
    AdvisorStatus.PENDING: frozenset({AdvisorStatus.ACTIVE, AdvisorStatus.CANCELLED}),
    AdvisorStatus.ACTIVE: frozenset({AdvisorStatus.SUSPENDED, AdvisorStatus.CANCELLED}),
    AdvisorStatus.SUSPENDED: frozenset({AdvisorStatus.ACTIVE, AdvisorStatus.CANCELLED}),
    AdvisorStatus.CANCELLED: frozenset(),
}
_ADMINS = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.SYSTEM})


@attrs.frozen(kw_only=True)
class AdvisorChange:
    advisor: Advisor
    event: AuditDraft


def _snapshot(advisor: Advisor) -> dict[str, JSON]:
    values = {name: to_json_value(getattr(advisor, name), name) for name in _RECORDED}
    values["whatsapp_opt_in"] = advisor.whatsapp_opt_in_at is not None
    return values


def registration_event(
    advisor: Advisor, actor: Actor, now: dt.datetime, event_id: uuid.UUID
) -> AuditDraft:
    """The event recording that ``advisor`` was registered."""
    return change_event(
        action="register",
        entity_type=_ENTITY,
        entity_id=str(advisor.id),
        old=None,
        new=_snapshot(advisor),
        actor=actor,
        now=now,
        event_id=event_id,
    )


def change_status(
    advisor: Advisor,
    status: AdvisorStatus,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str | None = None,
) -> AdvisorChange:
    """Activate, suspend or cancel an account (admins, compliance officers, the system)."""
    status = AdvisorStatus(status)
    if actor.role not in _ADMINS:
        raise PermissionDeniedError(
            "change_status", "only an admin, a compliance officer or the system may"
        )
    if status not in _NEXT[advisor.status]:
        raise InvalidTransitionError(
            _ENTITY, advisor.status.value, f"set status {status.value}", "not a permitted change"
        )
    changed = attrs.evolve(advisor, status=status)
    event = change_event(
        action="change_status",
        entity_type=_ENTITY,
        entity_id=str(advisor.id),
        old=_snapshot(advisor),
        new=_snapshot(changed),
        actor=actor,
        now=now,
        event_id=event_id,
        reason=reason,
    )
    return AdvisorChange(advisor=changed, event=event)
