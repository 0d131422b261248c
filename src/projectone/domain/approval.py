"""The approval state machine of content packs (DESIGN.md §3.3).

Each transition is a pure function: given the pack, who acts (``actor``), when (``now``) and
the id of the audit event to record (``event_id``), it returns a :class:`Transition` (the new
pack and the :class:`~projectone.domain.audit.AuditDraft` describing the change) or raises:

- ``InvalidTransitionError("content_pack", state, action, reason)`` when the pack's state (or
  its compliance record) does not allow the action;
- ``PermissionDeniedError(action, reason)`` when the actor's role or authorship does not;
- ``ValidationError`` for a bad argument (a blank note, a naive ``now``).

Arguments are checked first, then the state, then the actor: asking to approve a draft says
"not pending review" whoever asks. Nothing reaches ``delivered`` without ``approved``: only
``approve`` and ``auto_approve`` produce an approved pack, ``schedule`` and ``mark_delivered``
start from one, and ``mark_delivered`` refuses content whose hash differs from the hash that
was approved.
Approved and scheduled packs are never edited: ``edit`` makes a new draft version instead.
An approved or scheduled pack that the rulebook in force now blocks is ``pull``ed: its approval
is withdrawn (it becomes rejected, without an approved hash) and it can only come back as a
revised new version that passes review again.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from projectone.domain._validate import (
    flag,
    nonblank,
    require_nonblank,
    require_whole_number,
    whole_number,
)
from projectone.domain.audit import (
    Actor,
    AuditDraft,
    Role,
    change_event,
    check_event_args,
    snapshot,
)
from projectone.domain.content import ContentPack, ContentStatus, ContentVariant
from projectone.domain.errors import (
    InvalidTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from projectone.domain.language import Language
from projectone.domain.timezone import IST

__all__ = [
    "SUBMIT_BLOCKED",
    "Action",
    "ComplianceOutcome",
    "Transition",
    "approve",
    "archive",
    "auto_approve",
    "check_submit",
    "create",
    "edit",
    "escalate",
    "mark_delivered",
    "pull",
    "reject",
    "review_order",
    "revise",
    "schedule",
    "submit",
    "unschedule",
]

_ENTITY = "content_pack"
_S = ContentStatus
_VERDICTS = ("pass", "review", "block")
_REVIEWERS = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER})


class Action(enum.StrEnum):
    SUBMIT = "submit"
    AUTO_APPROVE = "auto_approve"
    APPROVE = "approve"
    REJECT = "reject"
    ESCALATE = "escalate"
    REVISE = "revise"
    EDIT = "edit"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    MARK_DELIVERED = "mark_delivered"
    PULL = "pull"
    ARCHIVE = "archive"


# The audit action of a submission the compliance check blocked: recorded, not refused.
SUBMIT_BLOCKED = "submit_blocked"


def _verdict(value: object) -> str:
    if not isinstance(value, str) or str(value) not in _VERDICTS:
        raise ValidationError("verdict", value, "must be pass, review or block")
    return str(value)


def _texts(value: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("findings", value, "must be a list of text")
    items = tuple(value)
    for item in items:
        require_nonblank("findings", item)
    return items


def _reasons(value: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("reasons", value, "must be a list of text")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise ValidationError("reasons", item, "must be text")
    return items


@attrs.frozen(kw_only=True)
class ComplianceOutcome:
    """What the approval workflow needs from a compliance check.

    The service derives it from the rule engine's result; the state machine only reads these
    fields, so it does not depend on the engine (nor on any rulebook being loaded).
    ``findings`` are rule ids, ``reasons`` their messages for people; ``critical`` is true when
    any finding is of critical severity (it opens an incident).
    """

    verdict: str = attrs.field(converter=_verdict)
    risk_score: int = attrs.field(validator=whole_number(0, 100))
    rulebook_version: str = attrs.field(validator=nonblank)
    findings: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    reasons: tuple[str, ...] = attrs.field(default=(), converter=_reasons)
    requires_human: bool = attrs.field(default=False, validator=flag)
    critical: bool = attrs.field(default=False, validator=flag)


@attrs.frozen(kw_only=True)
class Transition:
    """The pack after an action, and the audit draft that records the action."""

    pack: ContentPack
    event: AuditDraft


# What an audit event of a pack records: the workflow's fields. ``content_hash`` is derived,
# but recording it shows exactly which content an edit or an approval was about.
_TRACKED = (
    "status",
    "version",
    "parent_id",
    "advisor_id",
    "author_id",
    "scheduled_date",
    "content_hash",
    "submitted_at",
    "risk_score",
    "compliance_verdict",
    "rulebook_version",
    "findings",
    "requires_human",
    "escalated",
    "reviewer_id",
    "reviewed_at",
    "review_note",
    "approved_hash",
)

# A new version, and an edited draft, start with no compliance or review record.
_CLEARED: dict[str, Any] = {
    "submitted_at": None,
    "risk_score": None,
    "compliance_verdict": None,
    "rulebook_version": None,
    "findings": (),
    "requires_human": False,
    "escalated": False,
    "reviewer_id": None,
    "reviewed_at": None,
    "review_note": None,
    "approved_hash": None,
}


def _record(
    action: str,
    before: ContentPack,
    after: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str | None = None,
) -> Transition:
    """``after`` replaces ``before`` (same id): record the fields that changed, status always."""
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
    return Transition(pack=after, event=event)


def _record_new(
    action: str, created: ContentPack, actor: Actor, now: dt.datetime, event_id: uuid.UUID
) -> Transition:
    """``created`` is a new pack (a new version): there are no old values."""
    new = {k: v for k, v in snapshot(created, _TRACKED).items() if v is not None}
    event = change_event(
        action=action,
        entity_type=_ENTITY,
        entity_id=str(created.id),
        old=None,
        new=new,
        actor=actor,
        now=now,
        event_id=event_id,
    )
    return Transition(pack=created, event=event)


def _check_call(pack: ContentPack, actor: Actor, now: dt.datetime, event_id: uuid.UUID) -> None:
    if not isinstance(pack, ContentPack):
        raise ValidationError("pack", pack, "must be a ContentPack")
    check_event_args(actor, now, event_id)


def _require_state(pack: ContentPack, action: Action, *allowed: ContentStatus) -> None:
    if pack.status not in allowed:
        names = " or ".join(s.value for s in allowed)
        raise InvalidTransitionError(
            _ENTITY, pack.status.value, action.value, f"only a pack in {names} can {action.value}"
        )


def _is_author(pack: ContentPack, actor: Actor) -> bool:
    return pack.author_id is not None and actor.id == pack.author_id


def _require_author_or_admin(pack: ContentPack, actor: Actor, action: Action) -> None:
    if not (_is_author(pack, actor) or actor.role is Role.ADMIN):
        raise PermissionDeniedError(action.value, "only the pack's author or an admin may")


def _require_reviewer(pack: ContentPack, actor: Actor, action: Action) -> None:
    if actor.role not in _REVIEWERS:
        raise PermissionDeniedError(
            action.value, "only an admin or a compliance officer reviews packs"
        )
    if _is_author(pack, actor):
        raise PermissionDeniedError(action.value, "reviewers cannot approve their own pack")
    if pack.escalated and actor.role is not Role.COMPLIANCE_OFFICER:
        raise PermissionDeniedError(
            action.value, "an escalated pack is reviewed by a compliance officer"
        )


def _note(field: str, value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    return require_nonblank(field, value).strip()


def create(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
) -> Transition:
    """Record a new draft: the first event of a pack's story (there are no old values).

    The pack must be a fresh draft with no compliance or review record. An advisor creates packs
    they author; admins, compliance officers and the system (the AI writer, the fallback
    library) may create any.
    """
    _check_call(pack, actor, now, event_id)
    if pack.status is not _S.DRAFT:
        raise ValidationError("status", pack.status.value, "a new pack starts as a draft")
    leftovers = sorted(k for k, v in _CLEARED.items() if getattr(pack, k) != v)
    if leftovers:
        raise ValidationError(leftovers[0], getattr(pack, leftovers[0]), "a new pack has none")
    if actor.role is Role.ADVISOR and not _is_author(pack, actor):
        raise PermissionDeniedError("create", "an advisor creates only packs they author")
    return _record_new("create", pack, actor, now, event_id)


def check_submit(pack: ContentPack, actor: Actor) -> None:
    """Raise what :func:`submit` would raise for ``pack`` and ``actor`` whatever the outcome,
    so a service can refuse before spending a compliance check on the pack."""
    if not isinstance(pack, ContentPack):
        raise ValidationError("pack", pack, "must be a ContentPack")
    if not isinstance(actor, Actor):
        raise ValidationError("actor", actor, "must be an Actor")
    _require_state(pack, Action.SUBMIT, _S.DRAFT)
    if not (_is_author(pack, actor) or actor.role in _REVIEWERS):
        raise PermissionDeniedError(
            Action.SUBMIT.value, "only the pack's author, an admin or a compliance officer may"
        )


def submit(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    outcome: ComplianceOutcome,
) -> Transition:
    """draft → pending_review with the compliance ``outcome`` recorded on the pack.

    A ``block`` verdict is an outcome, not an error: the pack stays a draft carrying the score,
    verdict and findings, and the event (action ``submit_blocked``) carries the reasons. An
    advisor submits their own packs; admins and compliance officers may submit any.
    """
    _check_call(pack, actor, now, event_id)
    if not isinstance(outcome, ComplianceOutcome):
        raise ValidationError("outcome", outcome, "must be a ComplianceOutcome")
    check_submit(pack, actor)
    checked = attrs.evolve(
        pack,
        risk_score=outcome.risk_score,
        compliance_verdict=outcome.verdict,
        rulebook_version=outcome.rulebook_version,
        findings=outcome.findings,
        requires_human=outcome.requires_human,
    )
    if outcome.verdict == "block":
        reason = "; ".join(r for r in outcome.reasons if r.strip()) or "blocked by compliance"
        return _record(SUBMIT_BLOCKED, pack, checked, actor, now, event_id, reason)
    submitted = attrs.evolve(checked, status=_S.PENDING_REVIEW, submitted_at=now)
    return _record(Action.SUBMIT.value, pack, submitted, actor, now, event_id)


def auto_approve(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    threshold: int,
) -> Transition:
    """pending_review → approved without a person, by the system actor, when the check passed
    with a risk score at most ``threshold`` (the advisor tier's), nothing demands a human and
    the pack is not escalated. Otherwise ``InvalidTransitionError`` says which condition failed.
    """
    _check_call(pack, actor, now, event_id)
    require_whole_number("threshold", threshold, 0, 100)
    action = Action.AUTO_APPROVE
    _require_state(pack, action, _S.PENDING_REVIEW)
    if actor.role is not Role.SYSTEM:
        raise PermissionDeniedError(action.value, "only the system auto-approves")

    def refuse(reason: str) -> InvalidTransitionError:
        return InvalidTransitionError(_ENTITY, pack.status.value, action.value, reason)

    if pack.compliance_verdict != "pass":
        raise refuse(f"the compliance verdict is {pack.compliance_verdict}, not pass")
    if pack.risk_score is None or pack.risk_score > threshold:
        raise refuse(f"risk score {pack.risk_score} is above the threshold {threshold}")
    if pack.requires_human:
        raise refuse("a rule requires a human review")
    if pack.escalated:
        raise refuse("the pack is escalated to a compliance officer")
    approved = attrs.evolve(
        pack,
        status=_S.APPROVED,
        reviewer_id=actor.id,
        reviewed_at=now,
        approved_hash=pack.content_hash,
    )
    return _record(action.value, pack, approved, actor, now, event_id)


def approve(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    note: str | None = None,
) -> Transition:
    """pending_review → approved by an admin or compliance officer who is not the author (a
    compliance officer when escalated). The approved content hash is recorded for delivery."""
    _check_call(pack, actor, now, event_id)
    text = _note("note", note, required=False)
    _require_state(pack, Action.APPROVE, _S.PENDING_REVIEW)
    _require_reviewer(pack, actor, Action.APPROVE)
    approved = attrs.evolve(
        pack,
        status=_S.APPROVED,
        reviewer_id=actor.id,
        reviewed_at=now,
        review_note=text,
        approved_hash=pack.content_hash,
    )
    return _record(Action.APPROVE.value, pack, approved, actor, now, event_id, text)


def reject(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    note: str,
) -> Transition:
    """pending_review → rejected, with the same reviewer rules as ``approve``; the note telling
    the author what to change is required."""
    _check_call(pack, actor, now, event_id)
    text = _note("note", note, required=True)
    _require_state(pack, Action.REJECT, _S.PENDING_REVIEW)
    _require_reviewer(pack, actor, Action.REJECT)
    rejected = attrs.evolve(
        pack, status=_S.REJECTED, reviewer_id=actor.id, reviewed_at=now, review_note=text
    )
    return _record(Action.REJECT.value, pack, rejected, actor, now, event_id, text)


def escalate(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str,
) -> Transition:
    """Flag a pending pack for a compliance officer (it stays pending_review); by an admin, a
    compliance officer or the system (e.g. after a critical finding)."""
    _check_call(pack, actor, now, event_id)
    text = _note("reason", reason, required=True)
    action = Action.ESCALATE
    _require_state(pack, action, _S.PENDING_REVIEW)
    if actor.role not in (Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.SYSTEM):
        raise PermissionDeniedError(
            action.value, "only an admin, a compliance officer or the system escalates"
        )
    if pack.escalated:
        raise InvalidTransitionError(_ENTITY, pack.status.value, action.value, "already escalated")
    escalated = attrs.evolve(pack, escalated=True)
    return _record(action.value, pack, escalated, actor, now, event_id, text)


def pull(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    outcome: ComplianceOutcome,
) -> Transition:
    """approved or scheduled → rejected, because a re-check under the rulebook in force now
    blocks the pack (``outcome.verdict`` must be ``block``).

    The approval is withdrawn: ``approved_hash`` is cleared, so nothing can send the pack any
    more, and the new compliance outcome replaces the one recorded at submission. The actor
    becomes the reviewer of record and the reasons are the review note and the event's reason;
    the author fixes the content with ``revise`` (a new version, checked and reviewed again).
    By the system (the morning planner), an admin or a compliance officer, never the author.
    """
    _check_call(pack, actor, now, event_id)
    if not isinstance(outcome, ComplianceOutcome):
        raise ValidationError("outcome", outcome, "must be a ComplianceOutcome")
    action = Action.PULL
    _require_state(pack, action, _S.APPROVED, _S.SCHEDULED)
    if outcome.verdict != "block":
        raise InvalidTransitionError(
            _ENTITY,
            pack.status.value,
            action.value,
            f"the re-check's verdict is {outcome.verdict}, only a block pulls a pack",
        )
    if actor.role not in (Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.SYSTEM):
        raise PermissionDeniedError(
            action.value, "only an admin, a compliance officer or the system pulls a pack"
        )
    if _is_author(pack, actor):
        raise PermissionDeniedError(action.value, "the author cannot pull their own pack")
    reasons = [r.strip() for r in outcome.reasons if r.strip()]
    note = "; ".join(reasons) or f"blocked by rulebook {outcome.rulebook_version}"
    pulled = attrs.evolve(
        pack,
        status=_S.REJECTED,
        risk_score=outcome.risk_score,
        compliance_verdict=outcome.verdict,
        rulebook_version=outcome.rulebook_version,
        findings=outcome.findings,
        requires_human=outcome.requires_human,
        reviewer_id=actor.id,
        reviewed_at=now,
        review_note=note,
        approved_hash=None,
    )
    return _record(action.value, pack, pulled, actor, now, event_id, note)


def _new_version(
    pack: ContentPack,
    new_id: uuid.UUID,
    now: dt.datetime,
    variants: Mapping[Language, ContentVariant] | None,
) -> ContentPack:
    if not isinstance(new_id, uuid.UUID):
        raise ValidationError("new_id", new_id, "must be a UUID")
    if new_id == pack.id:
        raise ValidationError("new_id", new_id, "a new version needs a new id")
    return attrs.evolve(
        pack,
        id=new_id,
        version=pack.version + 1,
        parent_id=pack.id,
        status=_S.DRAFT,
        created_at=now,
        variants=pack.variants if variants is None else variants,
        **_CLEARED,
    )


def revise(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    new_id: uuid.UUID,
    variants: Mapping[Language, ContentVariant] | None = None,
) -> Transition:
    """A rejected pack → a new draft version (``new_id``, version + 1, ``parent_id`` the
    rejected pack), with ``variants`` or the old content; the rejected pack is left as it is.
    The event is about the new pack. By the author or an admin."""
    _check_call(pack, actor, now, event_id)
    _require_state(pack, Action.REVISE, _S.REJECTED)
    _require_author_or_admin(pack, actor, Action.REVISE)
    draft = _new_version(pack, new_id, now, variants)
    return _record_new(Action.REVISE.value, draft, actor, now, event_id)


def edit(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    variants: Mapping[Language, ContentVariant],
    new_id: uuid.UUID,
) -> Transition:
    """New content for a pack, by its author or an admin.

    A draft is edited in place (same id and version; any earlier compliance result is cleared,
    it was about other content). An approved or scheduled pack is immutable: the edit becomes a
    new draft version with id ``new_id``, and the approved pack stays as it was. Any other
    state refuses: a pending pack is being reviewed, a rejected one is revised.
    """
    _check_call(pack, actor, now, event_id)
    _require_state(pack, Action.EDIT, _S.DRAFT, _S.APPROVED, _S.SCHEDULED)
    _require_author_or_admin(pack, actor, Action.EDIT)
    if pack.status is _S.DRAFT:
        edited = attrs.evolve(pack, variants=variants, **_CLEARED)
        return _record(Action.EDIT.value, pack, edited, actor, now, event_id)
    draft = _new_version(pack, new_id, now, variants)
    return _record_new(Action.EDIT.value, draft, actor, now, event_id)


def _require_scheduler(pack: ContentPack, actor: Actor, action: Action) -> None:
    if not (_is_author(pack, actor) or actor.role is not Role.ADVISOR):
        raise PermissionDeniedError(action.value, "an advisor schedules only their own packs")


def schedule(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    date: dt.date,
) -> Transition:
    """approved → scheduled for ``date`` (not before today in India); by the author, an admin,
    a compliance officer or the system (the morning planner)."""
    _check_call(pack, actor, now, event_id)
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ValidationError("date", date, "must be a date")
    today = now.astimezone(IST).date()
    if date < today:
        raise ValidationError("date", date, f"is before today ({today.isoformat()}, India)")
    _require_state(pack, Action.SCHEDULE, _S.APPROVED)
    _require_scheduler(pack, actor, Action.SCHEDULE)
    scheduled = attrs.evolve(pack, status=_S.SCHEDULED, scheduled_date=date)
    return _record(Action.SCHEDULE.value, pack, scheduled, actor, now, event_id)


def unschedule(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
) -> Transition:
    """scheduled → approved; the date is cleared so the morning run no longer picks it."""
    _check_call(pack, actor, now, event_id)
    _require_state(pack, Action.UNSCHEDULE, _S.SCHEDULED)
    _require_scheduler(pack, actor, Action.UNSCHEDULE)
    approved = attrs.evolve(pack, status=_S.APPROVED, scheduled_date=None)
    return _record(Action.UNSCHEDULE.value, pack, approved, actor, now, event_id)


def mark_delivered(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
) -> Transition:
    """scheduled (or approved) → delivered, by the delivery service only (role system), and only
    when the content is byte for byte what was approved."""
    _check_call(pack, actor, now, event_id)
    action = Action.MARK_DELIVERED
    _require_state(pack, action, _S.SCHEDULED, _S.APPROVED)
    if actor.role is not Role.SYSTEM:
        raise PermissionDeniedError(action.value, "only the delivery service marks delivery")
    if pack.approved_hash is None:
        raise InvalidTransitionError(
            _ENTITY, pack.status.value, action.value, "no approved content hash was recorded"
        )
    if pack.content_hash != pack.approved_hash:
        raise InvalidTransitionError(
            _ENTITY, pack.status.value, action.value, "content changed since approval"
        )
    delivered = attrs.evolve(pack, status=_S.DELIVERED)
    return _record(action.value, pack, delivered, actor, now, event_id)


def archive(
    pack: ContentPack,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str | None = None,
) -> Transition:
    """Any state but pending_review (finish the review first) → archived; by an admin or the
    author."""
    _check_call(pack, actor, now, event_id)
    text = _note("reason", reason, required=False)
    action = Action.ARCHIVE
    if pack.status in (_S.PENDING_REVIEW, _S.ARCHIVED):
        why = "already archived" if pack.status is _S.ARCHIVED else "the pack is under review"
        raise InvalidTransitionError(_ENTITY, pack.status.value, action.value, why)
    _require_author_or_admin(pack, actor, action)
    archived = attrs.evolve(pack, status=_S.ARCHIVED)
    return _record(action.value, pack, archived, actor, now, event_id, text)


_OLDEST = dt.datetime.min.replace(tzinfo=dt.UTC)


def review_order(packs: Iterable[ContentPack]) -> list[ContentPack]:
    """The review queue: pending packs, riskiest first (an unscored pack counts as riskiest),
    then the longest waiting, then by id so the order is total."""

    def key(pack: ContentPack) -> tuple[int, dt.datetime, uuid.UUID]:
        risk = 101 if pack.risk_score is None else pack.risk_score
        return (-risk, pack.submitted_at or _OLDEST, pack.id)

    return sorted((p for p in packs if p.status is _S.PENDING_REVIEW), key=key)
