"""The approval state machine under random use: any actor tries any action on any pack.

Whatever the sequence, nothing is delivered without having been approved, every reviewed pack
names its reviewer, approved content never changes under its id, a pulled pack is never
sendable again, the audit trail verifies, and a refused action changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from functools import partial

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from projectone.domain import (
    ContentPack,
    ContentStatus,
    ContentVariant,
    Language,
    ProjectOneError,
)
from projectone.domain import approval as wf
from projectone.domain.approval import Action, ComplianceOutcome, Transition
from projectone.domain.audit import (
    GENESIS_HASH,
    Actor,
    ActorType,
    AuditEvent,
    Role,
    changed_fields,
    verify_chain,
)
from projectone.domain.timezone import IST
from projectone.testing.strategies import content_variants

S = ContentStatus
T0 = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)

ADVISOR = Actor(type=ActorType.USER, id="adv-1", role=Role.ADVISOR)
OTHER_ADVISOR = Actor(type=ActorType.USER, id="adv-2", role=Role.ADVISOR)
ADMIN = Actor(type=ActorType.USER, id="admin-1", role=Role.ADMIN)
OFFICER = Actor(type=ActorType.USER, id="co-1", role=Role.COMPLIANCE_OFFICER)
SYSTEM = Actor.system("auto")
DELIVERY = Actor(type=ActorType.SERVICE, id="delivery", role=Role.SYSTEM)
ACTORS = [ADVISOR, OTHER_ADVISOR, ADMIN, OFFICER, SYSTEM, DELIVERY]
# A pack is written by an advisor or by an admin (who then must not review it).
AUTHORS = [ADVISOR, ADMIN]

REVIEWED = frozenset({S.APPROVED, S.REJECTED, S.SCHEDULED, S.DELIVERED})
APPROVED_CONTENT = frozenset({S.APPROVED, S.SCHEDULED, S.DELIVERED})

actors = st.sampled_from(ACTORS)

# The actions a pack in each state can take, drawn three times in four so that runs get
# through review, scheduling and delivery; otherwise any action is drawn. Archiving is left
# out: it ends a pack's story and needs no help to be drawn.
LIKELY: dict[ContentStatus, list[Action]] = {
    S.DRAFT: [Action.SUBMIT, Action.SUBMIT, Action.EDIT],
    S.PENDING_REVIEW: [Action.AUTO_APPROVE, Action.APPROVE, Action.REJECT, Action.ESCALATE],
    S.APPROVED: [Action.SCHEDULE, Action.MARK_DELIVERED, Action.EDIT, Action.PULL],
    S.REJECTED: [Action.REVISE],
    S.SCHEDULED: [Action.MARK_DELIVERED, Action.UNSCHEDULE, Action.EDIT, Action.PULL],
    S.DELIVERED: [],
    S.ARCHIVED: [],
}
# The actors who may take each action, drawn half of the time (``mostly``).
LIKELY_ACTORS: dict[Action, tuple[Actor, ...]] = {
    Action.SUBMIT: (ADVISOR, ADMIN),
    Action.AUTO_APPROVE: (SYSTEM, DELIVERY),
    Action.APPROVE: (ADMIN, OFFICER),
    Action.REJECT: (ADMIN, OFFICER),
    Action.ESCALATE: (OFFICER, SYSTEM),
    Action.REVISE: (ADVISOR, ADMIN),
    Action.EDIT: (ADVISOR, ADMIN),
    Action.SCHEDULE: (ADVISOR, SYSTEM),
    Action.UNSCHEDULE: (ADVISOR, ADMIN),
    Action.MARK_DELIVERED: (DELIVERY, SYSTEM),
    Action.PULL: (SYSTEM, OFFICER),
    Action.ARCHIVE: (ADVISOR, ADMIN),
}


def mostly(*likely: Actor) -> st.SearchStrategy[Actor]:
    """Any actor, but half of the time one who may act: with six actors drawn uniformly, a run
    would seldom get a pack through review, scheduling and delivery."""
    return st.one_of(st.sampled_from(likely), actors)


variant_maps: st.SearchStrategy[Mapping[Language, ContentVariant]] = st.dictionaries(
    st.sampled_from(Language), content_variants(), min_size=1, max_size=2
)
outcomes = st.builds(
    ComplianceOutcome,
    verdict=st.sampled_from(["pass", "pass", "review", "block"]),
    risk_score=st.integers(0, 100),
    rulebook_version=st.sampled_from(["2026.10", "2026.11"]),
    findings=st.lists(st.sampled_from(["R1", "R7", "R12"]), max_size=2, unique=True),
    reasons=st.lists(st.sampled_from(["Promises returns", "No disclaimer", " "]), max_size=2),
    requires_human=st.booleans(),
    critical=st.booleans(),
)
notes = st.sampled_from(["Looks fine", "Add the SEBI disclaimer", "Tone it down", "", "   "])


class ApprovalWorkflow(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.packs: dict[uuid.UUID, ContentPack] = {}
        self.history: dict[uuid.UUID, list[ContentStatus]] = {}
        self.hash_at_approval: dict[uuid.UUID, str] = {}
        self.pulled: set[uuid.UUID] = set()
        self.events: list[AuditEvent] = []
        self.now = T0
        self.next_id = 1

    # Helpers -----------------------------------------------------------------------------------

    def fresh_id(self) -> uuid.UUID:
        self.next_id += 1
        return uuid.UUID(int=self.next_id)

    def add(self, author: Actor, variants: Mapping[Language, ContentVariant]) -> None:
        pack = ContentPack(
            id=self.fresh_id(),
            advisor_id=uuid.UUID(int=42),
            topic="sip_basics",
            variants=variants,
            created_at=self.now,
            author_id=author.id,
        )
        self.packs[pack.id] = pack
        self.history[pack.id] = [pack.status]

    def attempt(self, pack: ContentPack, action: Callable[[], Transition]) -> None:
        """Run ``action``; a refusal must leave everything as it was."""
        copy = attrs.evolve(pack)
        packs, events = dict(self.packs), list(self.events)
        try:
            transition = action()
        except ProjectOneError:
            assert pack == copy
            assert self.packs == packs
            assert self.events == events
            return
        self.apply(pack, transition)

    def apply(self, before: ContentPack, t: Transition) -> None:
        after, draft = t.pack, t.event
        assert draft.entity_type == "content_pack"
        assert draft.entity_id == str(after.id)
        assert draft.occurred_at == self.now
        assert draft.changed_fields == changed_fields(draft.old_values, draft.new_values)
        if after.id == before.id:
            assert draft.old_values is not None
            assert draft.new_values is not None
            assert draft.old_values["status"] == before.status.value
            assert draft.new_values["status"] == after.status.value
            self.history[after.id].append(after.status)
        else:
            # A new version: the old pack is left exactly as it was.
            assert after.id not in self.packs
            assert (after.parent_id, after.version, after.status) == (
                before.id,
                before.version + 1,
                S.DRAFT,
            )
            assert draft.old_values is None
            self.history[after.id] = [after.status]
        self.packs[after.id] = after
        if draft.action == Action.PULL.value:
            assert before.status in (S.APPROVED, S.SCHEDULED)
            assert after.status is S.REJECTED
            assert draft.reason
            self.pulled.add(after.id)
        if after.status is S.APPROVED:
            self.hash_at_approval.setdefault(after.id, after.content_hash)
        prev = self.events[-1].hash if self.events else GENESIS_HASH
        self.events.append(draft.chain(prev, len(self.events) + 1))

    # Rules -------------------------------------------------------------------------------------

    @initialize(author=st.sampled_from(AUTHORS), variants=variant_maps)
    def first_pack(self, author: Actor, variants: Mapping[Language, ContentVariant]) -> None:
        self.add(author, variants)

    @precondition(lambda self: len(self.packs) < 3)
    @rule(author=st.sampled_from(AUTHORS), variants=variant_maps)
    def another_pack(self, author: Actor, variants: Mapping[Language, ContentVariant]) -> None:
        self.add(author, variants)

    # One rule draws the action: Hypothesis's swarm testing switches whole rules off for a run,
    # and a run without ``submit`` or ``approve`` would never get past review.
    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        pack = self.packs[data.draw(st.sampled_from(sorted(self.packs)), label="pack")]
        fitting = LIKELY[pack.status]
        action = data.draw(
            st.one_of(st.sampled_from(fitting), st.sampled_from(Action))
            if fitting
            else st.sampled_from(Action),
            label="action",
        )
        actor = data.draw(mostly(*LIKELY_ACTORS[action]), label="actor")
        self.now += dt.timedelta(minutes=1)
        now = self.now
        attempt: Callable[[], Transition]
        if action is Action.SUBMIT:
            check = data.draw(outcomes, label="outcome")
            attempt = partial(wf.submit, pack, actor, now, self.fresh_id(), check)
        elif action is Action.AUTO_APPROVE:
            threshold = data.draw(st.integers(0, 100), label="threshold")
            attempt = partial(wf.auto_approve, pack, actor, now, self.fresh_id(), threshold)
        elif action is Action.APPROVE:
            note = data.draw(st.none() | notes, label="note")
            attempt = partial(wf.approve, pack, actor, now, self.fresh_id(), note)
        elif action is Action.REJECT:
            text = data.draw(notes, label="note")
            attempt = partial(wf.reject, pack, actor, now, self.fresh_id(), text)
        elif action is Action.ESCALATE:
            why = data.draw(notes, label="reason")
            attempt = partial(wf.escalate, pack, actor, now, self.fresh_id(), why)
        elif action is Action.REVISE:
            content = data.draw(st.none() | variant_maps, label="variants")
            attempt = partial(
                wf.revise, pack, actor, now, self.fresh_id(), self.fresh_id(), content
            )
        elif action is Action.EDIT:
            edited = data.draw(variant_maps, label="variants")
            attempt = partial(wf.edit, pack, actor, now, self.fresh_id(), edited, self.fresh_id())
        elif action is Action.SCHEDULE:
            # The clock starts at 05:30 in India and moves a minute a step: no midnight in a run.
            days = data.draw(st.integers(-1, 5), label="days from today")
            day = now.astimezone(IST).date() + dt.timedelta(days=days)
            attempt = partial(wf.schedule, pack, actor, now, self.fresh_id(), day)
        elif action is Action.UNSCHEDULE:
            attempt = partial(wf.unschedule, pack, actor, now, self.fresh_id())
        elif action is Action.MARK_DELIVERED:
            attempt = partial(wf.mark_delivered, pack, actor, now, self.fresh_id())
        elif action is Action.PULL:
            recheck = data.draw(outcomes, label="re-check")
            attempt = partial(wf.pull, pack, actor, now, self.fresh_id(), recheck)
        else:
            assert action is Action.ARCHIVE
            reason = data.draw(st.none() | notes, label="reason")
            attempt = partial(wf.archive, pack, actor, now, self.fresh_id(), reason)
        self.attempt(pack, attempt)

    # Invariants --------------------------------------------------------------------------------

    @invariant()
    def nothing_is_delivered_without_having_been_approved(self) -> None:
        for pack_id, pack in self.packs.items():
            if pack.status is S.DELIVERED:
                statuses = self.history[pack_id]
                assert S.APPROVED in statuses[: statuses.index(S.DELIVERED)]

    @invariant()
    def every_reviewed_pack_names_a_reviewer_who_is_not_its_author(self) -> None:
        for pack in self.packs.values():
            if pack.status in REVIEWED:
                assert pack.reviewer_id is not None
                assert pack.reviewer_id != pack.author_id

    @invariant()
    def approved_content_never_changes_under_its_id(self) -> None:
        for pack_id, content_hash in self.hash_at_approval.items():
            pack = self.packs[pack_id]
            assert pack.content_hash == content_hash
            if pack.status in APPROVED_CONTENT:
                assert pack.approved_hash == content_hash

    @invariant()
    def a_pulled_pack_is_never_sendable_again_under_its_id(self) -> None:
        for pack_id in self.pulled:
            pack = self.packs[pack_id]
            assert pack.status in (S.REJECTED, S.ARCHIVED)
            assert pack.approved_hash is None
            assert not pack.sendable

    @invariant()
    def the_audit_trail_verifies(self) -> None:
        report = verify_chain(self.events)
        assert report.ok, report.reason
        assert report.count == len(self.events)


ApprovalWorkflow.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestTheApprovalWorkflowKeepsItsInvariantsUnderAnySequenceOfActions = ApprovalWorkflow.TestCase
