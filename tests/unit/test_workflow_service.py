"""The content workflow use cases, the audit service and delivery integrity, on the fakes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import pytest

from projectone.adapters.rulebook_files import default_rulebook
from projectone.domain import (
    Advisor,
    AdvisorStatus,
    ContentStatus,
    DeliveryStatus,
    Language,
    Tier,
)
from projectone.domain.audit import Actor, ActorType, Role, verify_chain
from projectone.domain.content import ContentPack, ContentVariant
from projectone.domain.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from projectone.domain.incident import IncidentStatus, IncidentType
from projectone.ports.ai import ReviewResult
from projectone.services import CatalogService, MorningService
from projectone.services.audit import AuditService
from projectone.services.compliance import ComplianceService
from projectone.services.dispatch import CONTENT_INTEGRITY, DispatchWorker
from projectone.services.incidents import IncidentService
from projectone.services.workflow import ReviewDecision, WorkflowService
from projectone.testing.demo_data import demo_advisors
from projectone.testing.fakes import (
    FakeWhatsAppSender,
    InMemoryUnitOfWorkFactory,
    ManualClock,
    SequentialIds,
)

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 23)

ADMIN = Actor(type=ActorType.USER, id="admin:asha", role=Role.ADMIN)
OFFICER = Actor(type=ActorType.USER, id="co:ravi", role=Role.COMPLIANCE_OFFICER)

RIA_DISCLAIMER = (
    "Investment in securities market are subject to market risks. Read all the related "
    "documents carefully before investing. Registration granted by SEBI, membership of BASL and "
    "certification from NISM in no way guarantee performance of the intermediary or provide any "
    "assurance of returns to investors. SEBI Reg. No. INA000012345"
)
CLEAN = ContentVariant(
    title="Small steps, steady habit",
    body="A Systematic Investment Plan invests a fixed amount every month.",
    cta="Reply SIP to review your plan with me.",
    disclaimer=RIA_DISCLAIMER,
)
PROMISE = attrs.evolve(CLEAN, body="Invest now for guaranteed returns of 12% a year!")
BEST = attrs.evolve(CLEAN, body="Our SIP plan is the best way to save every month.")


@attrs.define
class World:
    uow: InMemoryUnitOfWorkFactory
    clock: ManualClock
    ids: SequentialIds
    workflow: WorkflowService
    audit: AuditService
    advisor: Advisor

    def author(self) -> Actor:
        return Actor(type=ActorType.USER, id=f"advisor:{self.advisor.id}", role=Role.ADVISOR)

    async def draft(self, variant: ContentVariant = CLEAN, **changes: Any) -> ContentPack:
        return await self.workflow.create_draft(
            changes.pop("actor", self.author()),
            advisor_id=self.advisor.id,
            topic="sip_basics",
            variants={Language.EN: variant},
            scheduled_date=DAY,
            **changes,
        )

    def store_snapshot(self) -> tuple[dict[uuid.UUID, ContentPack], int, int]:
        store = self.uow.store
        return dict(store.packs), len(store.audit), len(store.incidents)


async def make_world(tier: Tier = Tier.BASIC, reviewer: Any = None) -> World:
    uow = InMemoryUnitOfWorkFactory()
    clock = ManualClock(NOW)
    ids = SequentialIds()
    (advisor,) = demo_advisors(1, ids=ids, now=NOW)
    advisor = attrs.evolve(advisor, type="RIA", registration_no="INA000012345", tier=tier)
    await CatalogService(uow_factory=uow, clock=clock, ids=ids).register([advisor])
    workflow = WorkflowService(
        uow_factory=uow,
        compliance=ComplianceService(default_rulebook(), reviewer),
        clock=clock,
        ids=ids,
    )
    return World(uow, clock, ids, workflow, AuditService(uow_factory=uow), advisor)


@pytest.fixture
async def world() -> World:
    return await make_world()


async def test_a_new_draft_is_recorded_in_the_audit_trail(world: World) -> None:
    pack = await world.draft(request_id="req-1")
    (event,) = await world.workflow.history(pack.id)
    assert (event.action, event.entity_id, event.request_id) == ("create", str(pack.id), "req-1")
    assert event.actor == world.author()
    assert (await world.audit.verify()).ok


async def test_a_clean_pack_goes_to_review_and_a_reviewer_approves_it(world: World) -> None:
    pack = await world.draft(BEST)  # a superlative: risk 12, above the basic tier's 0
    result = await world.workflow.submit(pack.id, world.author())
    assert result.pack.status is ContentStatus.PENDING_REVIEW
    assert not result.auto_approved
    assert result.pack.risk_score == result.compliance.risk_score > 0
    approved = await world.workflow.approve(pack.id, ADMIN, "fine")
    assert approved.status is ContentStatus.APPROVED
    assert approved.approved_hash == approved.content_hash
    assert approved.reviewer_id == ADMIN.id
    actions = [e.action for e in await world.workflow.history(pack.id)]
    assert actions == ["create", "submit", "approve"]


async def test_a_clean_pack_is_auto_approved_when_the_tier_allows() -> None:
    world = await make_world(Tier.PRO)
    pack = await world.draft()
    result = await world.workflow.submit(pack.id, world.author())
    assert result.auto_approved
    assert result.pack.status is ContentStatus.APPROVED
    assert result.pack.reviewer_id == Actor.system().id
    assert [e.action for e in result.events] == ["submit", "auto_approve"]


async def test_a_blocked_submission_stays_a_draft_with_its_reasons_and_opens_one_incident(
    world: World,
) -> None:
    pack = await world.draft(PROMISE)
    first = await world.workflow.submit(pack.id, world.author())
    second = await world.workflow.submit(pack.id, world.author())
    assert first.blocked
    assert first.pack.status is ContentStatus.DRAFT
    assert "PROMISE-GUARANTEED-RETURNS" in first.pack.findings
    assert first.incident_id is not None
    assert second.incident_id == first.incident_id  # still open: not opened twice
    blocked = [e for e in await world.workflow.history(pack.id) if e.action == "submit_blocked"]
    assert len(blocked) == 2
    assert "PROMISE-GUARANTEED-RETURNS" in (blocked[0].reason or "")
    (incident,) = world.uow.store.incidents.values()
    assert incident.type is IncidentType.CRITICAL_FINDING
    assert (incident.pack_id, incident.advisor_id) == (pack.id, world.advisor.id)


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("approve_own", PermissionDeniedError),
        ("reject_without_note", ValidationError),
        ("approve_draft", InvalidTransitionError),
        ("unknown_pack", NotFoundError),
    ],
)
async def test_a_refused_action_writes_nothing(world: World, action: str, error: type) -> None:
    author = ADMIN if action == "approve_own" else world.author()
    pack = await world.draft(BEST, actor=author)
    if action != "approve_draft":
        await world.workflow.submit(pack.id, author)
    before = world.store_snapshot()
    if action == "reject_without_note":
        attempt = world.workflow.reject(pack.id, ADMIN, "  ")
    else:
        attempt = world.workflow.approve(
            uuid.uuid4() if action == "unknown_pack" else pack.id, ADMIN
        )
    with pytest.raises(error):
        await attempt
    assert world.store_snapshot() == before


async def test_bulk_review_reports_each_decision_on_its_own(world: World) -> None:
    packs = [await world.draft(BEST) for _ in range(3)]
    for pack in packs[:2]:
        await world.workflow.submit(pack.id, world.author())
    decisions = [
        ReviewDecision(pack_id=packs[0].id, approve=True),
        ReviewDecision(pack_id=packs[2].id, approve=True),  # still a draft: refused
        ReviewDecision(pack_id=packs[1].id, approve=False, note="too salesy"),
    ]
    results = await world.workflow.bulk_review(decisions, ADMIN)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_code == "invalid_transition"
    assert results[0].pack is not None
    assert results[0].pack.status is ContentStatus.APPROVED
    assert results[2].pack is not None
    assert results[2].pack.review_note == "too salesy"
    stored = world.uow.store.packs
    assert stored[packs[2].id].status is ContentStatus.DRAFT


async def test_the_review_queue_puts_high_risk_first_then_the_oldest(world: World) -> None:
    low, high, low_later = (
        await world.draft(BEST),
        await world.draft(attrs.evolve(BEST, body="The best, No. 1 and top SIP plan.")),
        await world.draft(BEST),
    )
    for pack in (low, high, low_later):
        await world.workflow.submit(pack.id, world.author())
        world.clock.advance(dt.timedelta(minutes=1))
    queue = await world.workflow.review_queue()
    assert [p.id for p in queue] == [high.id, low.id, low_later.id]
    assert (queue[0].risk_score or 0) > (queue[1].risk_score or 0)


async def test_editing_an_approved_pack_makes_a_new_draft_version(world: World) -> None:
    pack = await world.draft(BEST)
    await world.workflow.submit(pack.id, world.author())
    approved = await world.workflow.approve(pack.id, ADMIN)
    new = await world.workflow.edit(pack.id, world.author(), {"en": CLEAN})
    assert (new.status, new.version, new.parent_id) == (ContentStatus.DRAFT, 2, pack.id)
    assert world.uow.store.packs[pack.id] == approved  # the approved pack is untouched


async def test_a_pack_that_changes_while_it_is_checked_is_not_recorded(world: World) -> None:
    pack = await world.draft()

    class EditingReviewer:
        """A reviewer slow enough for someone to edit the pack meanwhile."""

        async def review(self, variant: ContentVariant, language: Language, _: Advisor) -> Any:
            await world.workflow.edit(pack.id, world.author(), {"en": BEST})
            return ReviewResult(reviewer="slow", findings=())

    world.workflow.compliance.reviewer = EditingReviewer()
    with pytest.raises(ConflictError, match="changed while it was checked"):
        await world.workflow.submit(pack.id, world.author())
    assert world.uow.store.packs[pack.id].status is ContentStatus.DRAFT


async def test_the_audit_chain_verifies_and_a_digest_summarises_the_day(world: World) -> None:
    pack = await world.draft(BEST)
    await world.workflow.submit(pack.id, world.author())
    await world.workflow.approve(pack.id, ADMIN)
    report = await world.audit.verify()
    assert report.ok
    assert report.count == 4  # register (the advisor), create, submit, approve
    digest = await world.audit.digest(NOW.date())
    assert (digest.count, digest.last_sequence, digest.head_hash) == (4, 4, report.head_hash)
    assert (await world.audit.verify_with_digests([digest])).ok
    assert verify_chain(world.uow.store.audit).ok


async def test_verification_names_the_first_altered_event(world: World) -> None:
    world.workflow.auto_approve = {}
    pack = await world.draft(BEST)
    await world.workflow.submit(pack.id, world.author())
    await world.workflow.approve(pack.id, ADMIN)
    chain = world.uow.store.audit
    chain[1] = attrs.evolve(chain[1], reason="rewritten")
    report = await AuditService(uow_factory=world.uow, page_size=2).verify()
    assert not report.ok
    assert report.first_bad_id == chain[1].id
    assert report.count == 1


async def test_an_altered_approved_pack_is_not_sent_and_an_incident_says_why(world: World) -> None:
    world.workflow.auto_approve = {}
    pack = await world.draft(BEST)
    await world.workflow.submit(pack.id, world.author())
    await world.workflow.approve(pack.id, ADMIN)
    sender = FakeWhatsAppSender()
    morning = MorningService(
        uow_factory=world.uow, clock=world.clock, ids=world.ids, rulebook=default_rulebook()
    )
    await morning.plan_morning(DAY)
    # Someone with database access rewrites the approved text.
    store = world.uow.store
    store.packs[pack.id] = attrs.evolve(store.packs[pack.id], variants={Language.EN: PROMISE})
    world.clock.set(dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC))
    worker = DispatchWorker(
        uow_factory=world.uow, whatsapp=sender, clock=world.clock, ids=world.ids
    )
    result = await worker.run(drain=dt.timedelta(seconds=-1))
    assert (result.sent, result.failed) == (0, 1)
    assert sender.sent == []
    (delivery,) = store.deliveries.values()
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error_code == CONTENT_INTEGRITY
    (incident,) = [i for i in store.incidents.values() if i.pack_id == pack.id]
    assert incident.type is IncidentType.DELIVERY_INTEGRITY
    assert store.audit[-1].entity_id == str(incident.id)
    assert (await world.audit.verify()).ok


async def test_registering_and_suspending_an_advisor_is_audited_without_personal_data(
    world: World,
) -> None:
    catalog = CatalogService(uow_factory=world.uow, clock=world.clock, ids=world.ids)
    suspended = await catalog.set_status(
        world.advisor.id, AdvisorStatus.SUSPENDED, ADMIN, reason="licence lapsed"
    )
    assert suspended.status is AdvisorStatus.SUSPENDED
    events = [e for e in world.uow.store.audit if e.entity_id == str(world.advisor.id)]
    assert [e.action for e in events] == ["register", "change_status"]
    assert events[1].old_values == {"status": "active"}
    assert events[1].new_values == {"status": "suspended"}
    assert events[1].reason == "licence lapsed"
    recorded = repr([e.new_values for e in events])
    for personal in (world.advisor.name, world.advisor.email, world.advisor.whatsapp_number):
        assert personal not in recorded
    with pytest.raises(PermissionDeniedError):
        await catalog.set_status(world.advisor.id, AdvisorStatus.ACTIVE, world.author())


async def test_an_admin_reports_an_incident_and_works_it_to_closure(world: World) -> None:
    incidents = IncidentService(uow_factory=world.uow, clock=world.clock, ids=world.ids)
    pack = await world.draft()
    opened = await incidents.report(
        ADMIN, title="Client complaint", pack_id=pack.id, advisor_id=world.advisor.id
    )
    await incidents.assign(opened.id, ADMIN, OFFICER.id)
    await incidents.investigate(opened.id, OFFICER)
    before = world.store_snapshot()
    with pytest.raises(ValidationError):
        await incidents.resolve(opened.id, OFFICER, [" "])  # actions are required
    assert world.store_snapshot() == before
    await incidents.resolve(opened.id, OFFICER, ["post withdrawn", "advisor briefed"])
    closed = await incidents.close(opened.id, ADMIN)
    assert closed.status is IncidentStatus.CLOSED
    actions = [e.action for e in world.uow.store.audit if e.entity_id == str(opened.id)]
    assert actions == ["open", "assign", "investigate", "resolve", "close"]
    assert (await world.audit.verify()).ok
    with pytest.raises(NotFoundError):
        await incidents.report(ADMIN, title="x", pack_id=uuid.uuid4())
