"""Changes of an advisor's account, each with its audit event (DESIGN.md §3.5).

Audit events about advisors record what the account *is* (type, registration number, tier,
status, languages, send time, WhatsApp opt-in) and only the *names* of personal fields that
changed (name, email, WhatsApp number), never their values: the trail is kept for seven years
and must not become a second copy of personal data that the DPDP Act lets a person erase.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import attrs

from projectone.domain.advisor import Advisor, AdvisorStatus, validate_phone
from projectone.domain.audit import (
    JSON,
    Actor,
    AuditDraft,
    Role,
    change_event,
    check_event_args,
    to_json_value,
)
from projectone.domain.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from projectone.domain.language import Language

__all__ = [
    "AdvisorChange",
    "change_preferences",
    "change_status",
    "change_whatsapp",
    "rectify",
    "registration_event",
]

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


# Personal fields: an event names them when they change, never records their values.
_PERSONAL = ("name", "email", "whatsapp_number")
# Who may change an account's own settings: the advisor (their own account only), an admin,
# or the system. A compliance officer oversees accounts but does not run them.
_SETTERS = frozenset({Role.ADVISOR, Role.ADMIN, Role.SYSTEM})


def _may_set(advisor: Advisor, actor: Actor, action: str) -> None:
    if actor.role not in _SETTERS:
        raise PermissionDeniedError(action, "only the advisor, an admin or the system may")
    # An advisor acts as ``advisor:<id>`` (projectone.domain.access.Principal.actor).
    if actor.role is Role.ADVISOR and actor.id != f"advisor:{advisor.id}":
        raise PermissionDeniedError(action, "an advisor changes only their own account")


def _settings_change(
    action: str,
    old: Advisor,
    new: Advisor,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str | None,
    extra: tuple[str, ...] = (),
) -> AdvisorChange | None:
    """The change from ``old`` to ``new`` with its event, or ``None`` when nothing changed.
    ``extra``: non-personal fields recorded for this action beyond the account snapshot."""
    before = {**_snapshot(old), **{n: to_json_value(getattr(old, n), n) for n in extra}}
    after = {**_snapshot(new), **{n: to_json_value(getattr(new, n), n) for n in extra}}
    personal = [n for n in _PERSONAL if getattr(old, n) != getattr(new, n)]
    event = change_event(
        action=action,
        entity_type=_ENTITY,
        entity_id=str(old.id),
        old=before,
        new=after,
        actor=actor,
        now=now,
        event_id=event_id,
        reason=reason,
    )
    if not event.changed_fields and not personal:
        return None
    if personal:
        names = tuple(sorted({*event.changed_fields, *personal}))
        event = attrs.evolve(event, changed_fields=names)
    return AdvisorChange(advisor=new, event=event)


def _not_cancelled(advisor: Advisor, action: str) -> None:
    if advisor.status is AdvisorStatus.CANCELLED:
        raise InvalidTransitionError(
            _ENTITY, advisor.status.value, action, "a cancelled account is closed for good"
        )


def _edited(
    advisor: Advisor,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    action: str,
    field: str,
    **given: Any,
) -> Advisor:
    """``advisor`` with the ``given`` fields that are not ``None`` changed, after the checks
    every edit of an account's own settings shares (who, at least one field, not cancelled)."""
    check_event_args(actor, now, event_id)
    _may_set(advisor, actor, action)
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise ValidationError(field, None, f"name at least one of {', '.join(given)}")
    _not_cancelled(advisor, action)
    return attrs.evolve(advisor, **changes)  # validated like any Advisor


def change_preferences(
    advisor: Advisor,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    *,
    languages: Iterable[Language | str] | None = None,
    send_time: dt.time | None = None,
    reason: str | None = None,
) -> AdvisorChange | None:
    """Change what the advisor receives and when: ``languages`` (most preferred first; the
    morning pack comes in the first one it is written in) and ``send_time`` (Asia/Kolkata).
    Omitted ones stay as they are. ``None`` when nothing would change (nothing to record).

    By the advisor themselves, an admin or the system; not on a cancelled account."""
    changed = _edited(
        advisor,
        actor,
        now,
        event_id,
        "change preferences",
        "preferences",
        languages=languages,
        send_time=send_time,
    )
    return _settings_change("change_preferences", advisor, changed, actor, now, event_id, reason)


def change_whatsapp(
    advisor: Advisor,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    *,
    number: str,
    opted_in: bool,
    reason: str | None = None,
) -> AdvisorChange | None:
    """Set the advisor's WhatsApp number (E.164) and whether they opted in to the morning
    messages. Opting in stamps ``whatsapp_opt_in_at`` with ``now``, and so does a new number
    while opted in (the consent on record was given for the old one); staying opted in on the
    same number keeps the original stamp. Opting out clears it, so the planner plans nothing
    more for them. ``None`` when nothing would change.

    The event names ``whatsapp_number`` when the number changes, never the number itself. By
    the advisor themselves, an admin or the system; on a cancelled account only opting out."""
    check_event_args(actor, now, event_id)
    _may_set(advisor, actor, "change the WhatsApp integration")
    number = validate_phone(number, "number")
    if not isinstance(opted_in, bool):
        raise ValidationError("opted_in", opted_in, "must be true or false")
    new_number = number != advisor.whatsapp_number
    if opted_in or new_number:
        _not_cancelled(advisor, "change the WhatsApp integration")
    stamp = None
    if opted_in:
        stamp = advisor.whatsapp_opt_in_at
        if stamp is None or new_number:
            stamp = now
    changed = attrs.evolve(advisor, whatsapp_number=number, whatsapp_opt_in_at=stamp)
    return _settings_change(
        "change_whatsapp",
        advisor,
        changed,
        actor,
        now,
        event_id,
        reason,
        extra=("whatsapp_opt_in_at",),
    )


def rectify(
    advisor: Advisor,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    *,
    name: str | None = None,
    email: str | None = None,
    reason: str | None = None,
) -> AdvisorChange | None:
    """Correct the advisor's name or email (DPDP right to correction). The event names the
    fields that changed, never their values. ``None`` when nothing would change.

    By the advisor themselves, an admin or the system; not on a cancelled account."""
    changed = _edited(
        advisor, actor, now, event_id, "rectify personal data", "rectify", name=name, email=email
    )
    return _settings_change("rectify", advisor, changed, actor, now, event_id, reason)
