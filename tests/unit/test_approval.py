from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from projectone.domain import (
    ContentPack,
    ContentStatus,
    ContentVariant,
    InvalidTransitionError,
    Language,
    PermissionDeniedError,
    ValidationError,
)
from projectone.domain import approval as wf
from projectone.domain.approval import ComplianceOutcome, Transition, review_order
from projectone.domain.audit import (
    GENESIS_HASH,
    Actor,
    ActorType,
    AuditEvent,
    Role,
    changed_fields,
    verify_chain,
)

S = ContentStatus
NOW = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)  # 09:30 in India
TODAY = dt.date(2026, 11, 23)

AUTHOR = Actor(type=ActorType.USER, id="adv-1", role=Role.ADVISOR)
OTHER_ADVISOR = Actor(type=ActorType.USER, id="adv-2", role=Role.ADVISOR)
ADMIN = Actor(type=ActorType.USER, id="admin-1", role=Role.ADMIN)
OFFICER = Actor(type=ActorType.USER, id="co-1", role=Role.COMPLIANCE_OFFICER)
AUTO = Actor.system("auto")
DELIVERY = Actor(type=ActorType.SERVICE, id="delivery", role=Role.SYSTEM)

_ids = itertools.count(1)


def new_id() -> uuid.UUID:
    return uuid.UUID(int=next(_ids))


def variants(text: str = "Start an SIP") -> dict[Language, ContentVariant]:
    return {
        Language.EN: ContentVariant(
            title=text, body="Invest regularly.", disclaimer="Subject to market risks."
        )
    }


def make_pack(**changes: Any) -> ContentPack:
    fields: dict[str, Any] = {
        "id": uuid.UUID(int=10**6),
        "advisor_id": uuid.UUID(int=42),
        "topic": "sip_basics",
        "variants": variants(),
        "created_at": NOW - dt.timedelta(days=1),
        "author_id": AUTHOR.id,
    }
    return ContentPack(**{**fields, **changes})


def outcome(verdict: str = "pass", risk: int = 10, **changes: Any) -> ComplianceOutcome:
    fields: dict[str, Any] = {
        "verdict": verdict,
        "risk_score": risk,
        "rulebook_version": "2026.11",
        "findings": (),
        "reasons": (),
    }
    return ComplianceOutcome(**{**fields, **changes})


def pending(pack: ContentPack | None = None, **check: Any) -> ContentPack:
    return wf.submit(pack or make_pack(), AUTHOR, NOW, new_id(), outcome(**check)).pack


def approved(pack: ContentPack | None = None) -> ContentPack:
    return wf.approve(pending(pack), ADMIN, NOW, new_id()).pack


def scheduled(pack: ContentPack | None = None) -> ContentPack:
    return wf.schedule(approved(pack), AUTHOR, NOW, new_id(), TODAY).pack


def rejected(pack: ContentPack | None = None) -> ContentPack:
    return wf.reject(pending(pack), ADMIN, NOW, new_id(), "Add the risk disclaimer").pack


def in_state(status: ContentStatus) -> ContentPack:
    build: dict[ContentStatus, Callable[[], ContentPack]] = {
        S.DRAFT: make_pack,
        S.PENDING_REVIEW: pending,
        S.APPROVED: approved,
        S.REJECTED: rejected,
        S.SCHEDULED: scheduled,
        S.DELIVERED: lambda: wf.mark_delivered(scheduled(), DELIVERY, NOW, new_id()).pack,
        S.ARCHIVED: lambda: wf.archive(make_pack(), AUTHOR, NOW, new_id()).pack,
    }
    pack = build[status]()
    assert pack.status is status
    return pack


# Create ----------------------------------------------------------------------------------------


def test_creating_a_draft_records_its_first_event() -> None:
    pack = make_pack()
    t = wf.create(pack, AUTHOR, NOW, new_id())
    assert t.pack == pack
    assert (t.event.action, t.event.entity_id, t.event.old_values) == (
        "create",
        str(pack.id),
        None,
    )
    assert t.event.new_values is not None
    assert t.event.new_values["status"] == "draft"
    assert t.event.new_values["author_id"] == AUTHOR.id
    assert t.event.new_values["content_hash"] == pack.content_hash


def test_an_advisor_creates_only_packs_they_author_and_staff_any() -> None:
    with pytest.raises(PermissionDeniedError):
        wf.create(make_pack(), OTHER_ADVISOR, NOW, new_id())
    for actor in (ADMIN, OFFICER, AUTO):
        assert wf.create(make_pack(), actor, NOW, new_id()).pack.status is S.DRAFT


def test_a_created_pack_is_a_fresh_draft() -> None:
    with pytest.raises(ValidationError) as caught:
        wf.create(make_pack(status=S.APPROVED), ADMIN, NOW, new_id())
    assert caught.value.field == "status"
    with pytest.raises(ValidationError) as caught:
        wf.create(make_pack(risk_score=10), ADMIN, NOW, new_id())
    assert caught.value.field == "risk_score"


def test_submission_can_be_refused_before_the_compliance_check_is_run() -> None:
    wf.check_submit(make_pack(), AUTHOR)
    with pytest.raises(PermissionDeniedError):
        wf.check_submit(make_pack(), OTHER_ADVISOR)
    with pytest.raises(InvalidTransitionError):
        wf.check_submit(pending(), AUTHOR)


# Submit ----------------------------------------------------------------------------------------


def test_submitting_a_draft_sends_it_to_review_with_the_compliance_record() -> None:
    pack = make_pack()
    event_id = new_id()
    check = outcome("review", 55, findings=("R12",), reasons=("Past returns",), requires_human=True)
    t = wf.submit(pack, AUTHOR, NOW, event_id, check)
    assert t.pack.status is S.PENDING_REVIEW
    assert t.pack.submitted_at == NOW
    assert (t.pack.risk_score, t.pack.compliance_verdict, t.pack.findings) == (
        55,
        "review",
        ("R12",),
    )
    assert t.pack.rulebook_version == "2026.11"
    assert t.pack.requires_human
    assert t.event.id == event_id
    assert t.event.action == "submit"
    assert (t.event.entity_type, t.event.entity_id) == ("content_pack", str(pack.id))
    assert t.event.occurred_at == NOW
    assert t.event.actor == AUTHOR
    assert t.event.old_values is not None
    assert t.event.new_values is not None
    assert t.event.old_values["status"] == "draft"
    assert t.event.new_values["status"] == "pending_review"
    assert t.event.new_values["risk_score"] == 55
    assert set(t.event.changed_fields) == {
        "status",
        "submitted_at",
        "risk_score",
        "compliance_verdict",
        "rulebook_version",
        "findings",
        "requires_human",
    }
    assert t.event.changed_fields == changed_fields(t.event.old_values, t.event.new_values)
    assert pack.status is S.DRAFT  # the input is untouched


def test_a_blocked_submission_stays_a_draft_and_records_why() -> None:
    check = outcome("block", 95, findings=("R1",), reasons=("Promises guaranteed returns",))
    t = wf.submit(make_pack(), AUTHOR, NOW, new_id(), check)
    assert t.pack.status is S.DRAFT
    assert (t.pack.risk_score, t.pack.compliance_verdict, t.pack.findings) == (95, "block", ("R1",))
    assert t.pack.submitted_at is None
    assert t.event.action == "submit_blocked" == wf.SUBMIT_BLOCKED
    assert t.event.reason == "Promises guaranteed returns"
    assert "status" not in t.event.changed_fields


def test_only_the_author_or_staff_may_submit() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        wf.submit(make_pack(), OTHER_ADVISOR, NOW, new_id(), outcome())
    assert caught.value.action == "submit"
    with pytest.raises(PermissionDeniedError):
        wf.submit(make_pack(), AUTO, NOW, new_id(), outcome())
    for staff in (ADMIN, OFFICER):
        assert (
            wf.submit(make_pack(), staff, NOW, new_id(), outcome()).pack.status is S.PENDING_REVIEW
        )


def test_a_pack_without_an_author_is_submitted_by_staff_only() -> None:
    library = make_pack(author_id=None)
    with pytest.raises(PermissionDeniedError):
        wf.submit(library, AUTHOR, NOW, new_id(), outcome())
    assert wf.submit(library, ADMIN, NOW, new_id(), outcome()).pack.status is S.PENDING_REVIEW


@pytest.mark.parametrize("status", [s for s in S if s is not S.DRAFT])
def test_only_a_draft_can_be_submitted(status: ContentStatus) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        wf.submit(in_state(status), ADMIN, NOW, new_id(), outcome())
    assert (caught.value.entity, caught.value.state, caught.value.action) == (
        "content_pack",
        status.value,
        "submit",
    )


# Auto-approval ---------------------------------------------------------------------------------


def test_a_clean_low_risk_pack_is_auto_approved_by_the_system() -> None:
    pack = pending(risk=20)
    t = wf.auto_approve(pack, AUTO, NOW, new_id(), threshold=30)
    assert t.pack.status is S.APPROVED
    assert (t.pack.reviewer_id, t.pack.reviewed_at) == ("auto", NOW)
    assert t.pack.approved_hash == pack.content_hash
    assert t.event.action == "auto_approve"


@pytest.mark.parametrize(
    ("pack", "why"),
    [
        (lambda: pending(verdict="review", risk=5), "verdict is review"),
        (lambda: pending(risk=31), "risk score 31 is above the threshold 30"),
        (lambda: pending(risk=5, requires_human=True), "requires a human"),
        (
            lambda: wf.escalate(pending(risk=5), OFFICER, NOW, new_id(), "odd claim").pack,
            "escalated",
        ),
        (lambda: pending(make_pack(), risk=0), None),
    ],
)
def test_auto_approval_needs_a_pass_a_low_score_no_human_rule_and_no_escalation(
    pack: Callable[[], ContentPack], why: str | None
) -> None:
    subject = pack()
    if why is None:
        assert wf.auto_approve(subject, AUTO, NOW, new_id(), 30).pack.status is S.APPROVED
        return
    with pytest.raises(InvalidTransitionError) as caught:
        wf.auto_approve(subject, AUTO, NOW, new_id(), 30)
    assert why in caught.value.reason


def test_people_do_not_auto_approve() -> None:
    for person in (ADMIN, OFFICER, AUTHOR):
        with pytest.raises(PermissionDeniedError):
            wf.auto_approve(pending(), person, NOW, new_id(), 30)
    assert wf.auto_approve(pending(), DELIVERY, NOW, new_id(), 30).pack.status is S.APPROVED


def test_the_auto_approval_threshold_is_a_score() -> None:
    with pytest.raises(ValidationError) as caught:
        wf.auto_approve(pending(), AUTO, NOW, new_id(), 101)
    assert caught.value.field == "threshold"


# Approve and reject ----------------------------------------------------------------------------


def test_an_admin_approves_a_pending_pack_and_its_content_hash_is_recorded() -> None:
    pack = pending()
    t = wf.approve(pack, ADMIN, NOW, new_id(), note="Fine")
    assert t.pack.status is S.APPROVED
    assert (t.pack.reviewer_id, t.pack.reviewed_at, t.pack.review_note) == ("admin-1", NOW, "Fine")
    assert t.pack.approved_hash == pack.content_hash
    assert t.event.reason == "Fine"
    assert t.event.old_values == {
        "status": "pending_review",
        "reviewer_id": None,
        "reviewed_at": None,
        "review_note": None,
        "approved_hash": None,
    }


def test_a_reviewer_cannot_approve_their_own_pack() -> None:
    own = wf.submit(make_pack(author_id=ADMIN.id), ADMIN, NOW, new_id(), outcome()).pack
    with pytest.raises(PermissionDeniedError) as caught:
        wf.approve(own, ADMIN, NOW, new_id())
    assert caught.value.reason == "reviewers cannot approve their own pack"
    with pytest.raises(PermissionDeniedError):
        wf.reject(own, ADMIN, NOW, new_id(), "no")
    assert wf.approve(own, OFFICER, NOW, new_id()).pack.status is S.APPROVED


@pytest.mark.parametrize("actor", [AUTHOR, OTHER_ADVISOR, AUTO])
def test_only_admins_and_compliance_officers_review(actor: Actor) -> None:
    with pytest.raises(PermissionDeniedError):
        wf.approve(pending(), actor, NOW, new_id())
    with pytest.raises(PermissionDeniedError):
        wf.reject(pending(), actor, NOW, new_id(), "no")


def test_an_escalated_pack_is_reviewed_by_a_compliance_officer_only() -> None:
    pack = wf.escalate(pending(), ADMIN, NOW, new_id(), "Mentions a specific stock").pack
    with pytest.raises(PermissionDeniedError) as caught:
        wf.approve(pack, ADMIN, NOW, new_id())
    assert "compliance officer" in caught.value.reason
    with pytest.raises(PermissionDeniedError):
        wf.reject(pack, ADMIN, NOW, new_id(), "no")
    assert wf.approve(pack, OFFICER, NOW, new_id()).pack.status is S.APPROVED


@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_rejection_needs_a_note(note: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        wf.reject(pending(), ADMIN, NOW, new_id(), note)
    assert caught.value.field == "note"


def test_a_rejection_records_the_note_and_the_reviewer() -> None:
    t = wf.reject(pending(), OFFICER, NOW, new_id(), "  Add the SEBI disclaimer ")
    assert t.pack.status is S.REJECTED
    assert (t.pack.reviewer_id, t.pack.review_note) == ("co-1", "Add the SEBI disclaimer")
    assert t.event.reason == "Add the SEBI disclaimer"
    assert t.pack.approved_hash is None


def test_an_approval_note_when_given_is_not_blank() -> None:
    with pytest.raises(ValidationError):
        wf.approve(pending(), ADMIN, NOW, new_id(), note=" ")


@pytest.mark.parametrize("status", [s for s in S if s is not S.PENDING_REVIEW])
def test_only_a_pending_pack_is_approved_rejected_or_escalated(status: ContentStatus) -> None:
    pack = in_state(status)
    attempts: list[Callable[[], Transition]] = [
        lambda: wf.approve(pack, OFFICER, NOW, new_id()),
        lambda: wf.reject(pack, OFFICER, NOW, new_id(), "no"),
        lambda: wf.escalate(pack, OFFICER, NOW, new_id(), "why"),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidTransitionError) as caught:
            attempt()
        assert caught.value.state == status.value


# Escalate --------------------------------------------------------------------------------------


def test_escalating_keeps_the_pack_pending_and_flags_it() -> None:
    t = wf.escalate(pending(), AUTO, NOW, new_id(), "Critical finding R1")
    assert t.pack.status is S.PENDING_REVIEW
    assert t.pack.escalated
    assert t.event.changed_fields == ("escalated",)
    assert t.event.old_values == {"status": "pending_review", "escalated": False}
    assert t.event.reason == "Critical finding R1"


def test_escalation_is_for_staff_and_the_system_needs_a_reason_and_happens_once() -> None:
    with pytest.raises(PermissionDeniedError):
        wf.escalate(pending(), AUTHOR, NOW, new_id(), "please look")
    with pytest.raises(ValidationError):
        wf.escalate(pending(), ADMIN, NOW, new_id(), " ")
    once = wf.escalate(pending(), ADMIN, NOW, new_id(), "look").pack
    with pytest.raises(InvalidTransitionError) as caught:
        wf.escalate(once, OFFICER, NOW, new_id(), "look again")
    assert caught.value.reason == "already escalated"


# Revise and edit -------------------------------------------------------------------------------


def test_revising_a_rejected_pack_makes_a_new_draft_version() -> None:
    old = rejected()
    version_id = new_id()
    t = wf.revise(old, AUTHOR, NOW, new_id(), version_id, variants=variants("Better title"))
    new = t.pack
    assert (new.id, new.version, new.parent_id, new.status) == (version_id, 2, old.id, S.DRAFT)
    assert new.author_id == old.author_id
    assert new.advisor_id == old.advisor_id
    assert new.created_at == NOW
    assert new.variants[Language.EN].title == "Better title"
    assert (new.reviewer_id, new.review_note, new.risk_score, new.compliance_verdict) == (
        None,
        None,
        None,
        None,
    )
    assert (new.findings, new.submitted_at, new.approved_hash) == ((), None, None)
    assert old.status is S.REJECTED
    assert t.event.entity_id == str(version_id)
    assert t.event.old_values is None
    assert t.event.new_values is not None
    assert t.event.new_values["parent_id"] == str(old.id)
    assert t.event.new_values["version"] == 2
    assert "parent_id" in t.event.changed_fields


def test_a_revision_keeps_the_content_unless_new_content_is_given() -> None:
    old = rejected()
    assert wf.revise(old, ADMIN, NOW, new_id(), new_id()).pack.variants == old.variants


def test_only_a_rejected_pack_is_revised_by_its_author_or_an_admin() -> None:
    with pytest.raises(InvalidTransitionError):
        wf.revise(approved(), AUTHOR, NOW, new_id(), new_id())
    for actor in (OTHER_ADVISOR, OFFICER, AUTO):
        with pytest.raises(PermissionDeniedError):
            wf.revise(rejected(), actor, NOW, new_id(), new_id())
    old = rejected()
    with pytest.raises(ValidationError) as caught:
        wf.revise(old, AUTHOR, NOW, new_id(), old.id)
    assert caught.value.field == "new_id"


def test_editing_a_draft_changes_it_in_place_and_forgets_the_old_check() -> None:
    blocked = wf.submit(make_pack(), AUTHOR, NOW, new_id(), outcome("block", 90)).pack
    t = wf.edit(blocked, AUTHOR, NOW, new_id(), variants("Fixed"), new_id())
    assert (t.pack.id, t.pack.version, t.pack.status) == (blocked.id, 1, S.DRAFT)
    assert t.pack.variants[Language.EN].title == "Fixed"
    assert (t.pack.risk_score, t.pack.compliance_verdict) == (None, None)
    assert "content_hash" in t.event.changed_fields
    assert t.event.entity_id == str(blocked.id)


@pytest.mark.parametrize("status", [S.APPROVED, S.SCHEDULED])
def test_editing_approved_content_makes_a_new_draft_and_leaves_the_approved_one(
    status: ContentStatus,
) -> None:
    old = in_state(status)
    version_id = new_id()
    t = wf.edit(old, ADMIN, NOW, new_id(), variants("Changed"), version_id)
    assert (t.pack.id, t.pack.version, t.pack.parent_id) == (version_id, old.version + 1, old.id)
    assert t.pack.status is S.DRAFT
    assert t.pack.approved_hash is None
    assert old.status is status
    assert old.content_hash == old.approved_hash
    assert t.event.old_values is None
    assert t.event.entity_id == str(version_id)


@pytest.mark.parametrize("status", [S.PENDING_REVIEW, S.REJECTED, S.DELIVERED, S.ARCHIVED])
def test_packs_under_review_rejected_delivered_or_archived_are_not_edited(
    status: ContentStatus,
) -> None:
    with pytest.raises(InvalidTransitionError):
        wf.edit(in_state(status), AUTHOR, NOW, new_id(), variants("x"), new_id())


def test_only_the_author_or_an_admin_edits() -> None:
    for actor in (OTHER_ADVISOR, OFFICER, AUTO):
        with pytest.raises(PermissionDeniedError):
            wf.edit(make_pack(), actor, NOW, new_id(), variants("x"), new_id())


def test_an_edit_with_bad_content_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        wf.edit(make_pack(), AUTHOR, NOW, new_id(), {}, new_id())


# Schedule, deliver, archive --------------------------------------------------------------------


def test_scheduling_an_approved_pack_sets_its_date_and_unscheduling_clears_it() -> None:
    pack = approved()
    day = TODAY + dt.timedelta(days=2)
    on = wf.schedule(pack, AUTHOR, NOW, new_id(), day)
    assert (on.pack.status, on.pack.scheduled_date) == (S.SCHEDULED, day)
    assert on.event.new_values == {"status": "scheduled", "scheduled_date": day.isoformat()}
    off = wf.unschedule(on.pack, ADMIN, NOW, new_id())
    assert (off.pack.status, off.pack.scheduled_date) == (S.APPROVED, None)
    assert off.pack.approved_hash == pack.approved_hash


def test_a_pack_is_not_scheduled_before_today_in_india() -> None:
    late_evening = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)  # 24 Nov, 01:30 in India
    with pytest.raises(ValidationError) as caught:
        wf.schedule(approved(), AUTHOR, late_evening, new_id(), TODAY)
    assert caught.value.field == "date"
    with pytest.raises(ValidationError):
        wf.schedule(approved(), AUTHOR, NOW, new_id(), NOW)  # a datetime is not a date here


def test_only_approved_packs_are_scheduled_and_only_scheduled_ones_unscheduled() -> None:
    with pytest.raises(InvalidTransitionError):
        wf.schedule(pending(), ADMIN, NOW, new_id(), TODAY)
    with pytest.raises(InvalidTransitionError):
        wf.unschedule(approved(), ADMIN, NOW, new_id())


def test_another_advisor_cannot_schedule_someone_elses_pack() -> None:
    with pytest.raises(PermissionDeniedError):
        wf.schedule(approved(), OTHER_ADVISOR, NOW, new_id(), TODAY)
    with pytest.raises(PermissionDeniedError):
        wf.unschedule(scheduled(), OTHER_ADVISOR, NOW, new_id())
    assert wf.schedule(approved(), AUTO, NOW, new_id(), TODAY).pack.status is S.SCHEDULED


@pytest.mark.parametrize("status", [S.SCHEDULED, S.APPROVED])
def test_the_delivery_service_marks_approved_content_delivered(status: ContentStatus) -> None:
    t = wf.mark_delivered(in_state(status), DELIVERY, NOW, new_id())
    assert t.pack.status is S.DELIVERED
    assert t.event.old_values == {"status": status.value}


def test_nobody_but_the_delivery_service_marks_delivery() -> None:
    for actor in (ADMIN, OFFICER, AUTHOR):
        with pytest.raises(PermissionDeniedError):
            wf.mark_delivered(scheduled(), actor, NOW, new_id())


@pytest.mark.parametrize("status", [S.DRAFT, S.PENDING_REVIEW, S.REJECTED, S.ARCHIVED])
def test_nothing_unapproved_is_marked_delivered(status: ContentStatus) -> None:
    with pytest.raises(InvalidTransitionError):
        wf.mark_delivered(in_state(status), DELIVERY, NOW, new_id())


def test_content_changed_since_approval_is_never_marked_delivered() -> None:
    pack = scheduled()
    tampered = attrs.evolve(pack, variants=variants("Guaranteed 20% returns"))
    with pytest.raises(InvalidTransitionError) as caught:
        wf.mark_delivered(tampered, DELIVERY, NOW, new_id())
    assert caught.value.reason == "content changed since approval"
    unrecorded = attrs.evolve(pack, approved_hash=None)
    with pytest.raises(InvalidTransitionError):
        wf.mark_delivered(unrecorded, DELIVERY, NOW, new_id())


BLOCKED_NOW = outcome(
    "block",
    85,
    rulebook_version="2027.01",
    findings=("PROMISE-RETURNS",),
    reasons=("PROMISE-RETURNS: promises returns", " "),
    critical=True,
)


@pytest.mark.parametrize("status", [S.APPROVED, S.SCHEDULED])
def test_a_pack_the_current_rulebook_blocks_is_pulled_back_to_rejected_with_the_reasons(
    status: ContentStatus,
) -> None:
    before = in_state(status)
    t = wf.pull(before, AUTO, NOW, new_id(), BLOCKED_NOW)
    pack = t.pack
    assert pack.status is S.REJECTED
    assert not pack.sendable
    assert pack.approved_hash is None
    assert (pack.compliance_verdict, pack.risk_score) == ("block", 85)
    assert pack.rulebook_version == "2027.01"
    assert pack.findings == ("PROMISE-RETURNS",)
    assert (pack.reviewer_id, pack.reviewed_at) == (AUTO.id, NOW)
    assert pack.review_note == "PROMISE-RETURNS: promises returns"
    assert t.event.action == "pull"
    assert t.event.reason == "PROMISE-RETURNS: promises returns"
    assert t.event.old_values is not None
    assert t.event.old_values["status"] == status.value
    assert t.event.old_values["approved_hash"] == before.content_hash
    assert t.event.new_values is not None
    assert t.event.new_values["status"] == "rejected"
    # The author fixes it as for any rejection: a new version that goes through review again.
    revised = wf.revise(pack, AUTHOR, NOW, new_id(), new_id()).pack
    assert (revised.status, revised.parent_id) == (S.DRAFT, pack.id)


def test_only_a_blocking_re_check_pulls_a_pack() -> None:
    for verdict in ("pass", "review"):
        with pytest.raises(InvalidTransitionError) as caught:
            wf.pull(approved(), AUTO, NOW, new_id(), outcome(verdict))
        assert caught.value.action == "pull"


@pytest.mark.parametrize("status", [S.DRAFT, S.PENDING_REVIEW, S.REJECTED, S.DELIVERED, S.ARCHIVED])
def test_only_approved_or_scheduled_packs_are_pulled(status: ContentStatus) -> None:
    with pytest.raises(InvalidTransitionError):
        wf.pull(in_state(status), AUTO, NOW, new_id(), BLOCKED_NOW)


def test_the_system_an_admin_or_a_compliance_officer_pulls_but_never_the_author() -> None:
    for actor in (AUTO, ADMIN, OFFICER):
        assert wf.pull(approved(), actor, NOW, new_id(), BLOCKED_NOW).pack.status is S.REJECTED
    with pytest.raises(PermissionDeniedError):
        wf.pull(approved(), AUTHOR, NOW, new_id(), BLOCKED_NOW)
    written = wf.submit(make_pack(author_id=OFFICER.id), OFFICER, NOW, new_id(), outcome()).pack
    own = wf.approve(written, ADMIN, NOW, new_id()).pack
    with pytest.raises(PermissionDeniedError):
        wf.pull(own, OFFICER, NOW, new_id(), BLOCKED_NOW)


@pytest.mark.parametrize("status", [S.DRAFT, S.APPROVED, S.REJECTED, S.SCHEDULED, S.DELIVERED])
def test_the_author_or_an_admin_archives_a_pack_that_is_not_under_review(
    status: ContentStatus,
) -> None:
    t = wf.archive(in_state(status), AUTHOR, NOW, new_id(), reason="Old campaign")
    assert t.pack.status is S.ARCHIVED
    assert t.event.reason == "Old campaign"
    assert wf.archive(in_state(status), ADMIN, NOW, new_id()).pack.status is S.ARCHIVED


def test_a_pack_under_review_or_already_archived_is_not_archived() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        wf.archive(pending(), ADMIN, NOW, new_id())
    assert caught.value.reason == "the pack is under review"
    with pytest.raises(InvalidTransitionError) as caught:
        wf.archive(in_state(S.ARCHIVED), ADMIN, NOW, new_id())
    assert caught.value.reason == "already archived"


def test_another_advisor_or_a_compliance_officer_does_not_archive() -> None:
    for actor in (OTHER_ADVISOR, OFFICER, AUTO):
        with pytest.raises(PermissionDeniedError):
            wf.archive(make_pack(), actor, NOW, new_id())


# Arguments, the audit trail, the review queue --------------------------------------------------


def test_time_must_be_aware_and_ids_must_be_uuids() -> None:
    with pytest.raises(ValidationError) as caught:
        wf.submit(make_pack(), AUTHOR, NOW.replace(tzinfo=None), new_id(), outcome())
    assert caught.value.field == "now"
    with pytest.raises(ValidationError) as caught:
        wf.submit(make_pack(), AUTHOR, NOW, "e-1", outcome())  # type: ignore[arg-type]
    assert caught.value.field == "event_id"


def test_a_compliance_outcome_is_validated() -> None:
    with pytest.raises(ValidationError) as caught:
        outcome("maybe")
    assert caught.value.field == "verdict"
    with pytest.raises(ValidationError) as caught:
        outcome(risk=101)
    assert caught.value.field == "risk_score"
    with pytest.raises(ValidationError):
        outcome(rulebook_version=" ")
    with pytest.raises(ValidationError):
        outcome(findings="R1")


def test_the_new_pack_fields_are_validated() -> None:
    for field, bad in [
        ("risk_score", 101),
        ("risk_score", True),
        ("compliance_verdict", "ok"),
        ("approved_hash", "abc"),
        ("submitted_at", dt.datetime(2026, 1, 1)),
        ("reviewer_id", " "),
        ("findings", "R1"),
        ("escalated", "yes"),
    ]:
        with pytest.raises(ValidationError) as caught:
            make_pack(**{field: bad})
        assert caught.value.field == field


def test_a_whole_workflow_leaves_a_verifiable_trail() -> None:
    steps: list[Transition] = []
    pack = make_pack()
    steps.append(wf.submit(pack, AUTHOR, NOW, new_id(), outcome("block", 90)))
    steps.append(wf.edit(steps[-1].pack, AUTHOR, NOW, new_id(), variants("Fixed"), new_id()))
    steps.append(wf.submit(steps[-1].pack, AUTHOR, NOW, new_id(), outcome("review", 40)))
    steps.append(wf.reject(steps[-1].pack, ADMIN, NOW, new_id(), "Tone it down"))
    steps.append(wf.revise(steps[-1].pack, AUTHOR, NOW, new_id(), new_id()))
    steps.append(wf.submit(steps[-1].pack, AUTHOR, NOW, new_id(), outcome("pass", 5)))
    steps.append(wf.auto_approve(steps[-1].pack, AUTO, NOW, new_id(), 30))
    steps.append(wf.schedule(steps[-1].pack, AUTO, NOW, new_id(), TODAY))
    steps.append(wf.mark_delivered(steps[-1].pack, DELIVERY, NOW, new_id()))
    events: list[AuditEvent] = []
    for sequence, step in enumerate(steps, start=1):
        events.append(step.event.chain(events[-1].hash if events else GENESIS_HASH, sequence))
        assert step.event.entity_id == str(step.pack.id)
    assert verify_chain(events).ok
    assert [e.action for e in events] == [
        "submit_blocked",
        "edit",
        "submit",
        "reject",
        "revise",
        "submit",
        "auto_approve",
        "schedule",
        "mark_delivered",
    ]
    assert steps[-1].pack.version == 2


def test_the_review_queue_puts_the_riskiest_and_longest_waiting_first() -> None:
    def queued(n: int, risk: int | None, minutes: int | None) -> ContentPack:
        return make_pack(
            id=uuid.UUID(int=n),
            status=S.PENDING_REVIEW,
            risk_score=risk,
            submitted_at=None if minutes is None else NOW + dt.timedelta(minutes=minutes),
        )

    a = queued(1, 40, 10)
    b = queued(2, 80, 30)
    c = queued(3, 80, 5)
    d = queued(4, None, 50)
    e = queued(5, 40, 10)
    f = queued(6, 10, None)
    not_pending = make_pack(id=uuid.UUID(int=7), risk_score=99)
    assert review_order([a, b, c, d, e, f, not_pending]) == [d, c, b, a, e, f]
    assert review_order([]) == []
