"""The content workflow: drafts, submission with the compliance check, review, scheduling.

Every use case loads what it needs in one unit of work, calls the pure state machine of
:mod:`projectone.domain.approval`, and writes the new pack together with its audit event (and
an incident where one is due) in that same unit of work: a refused action raises before
anything is written, so it leaves no trace. The compliance check of ``submit`` runs between
two units of work, so no transaction stays open while rules (or a remote AI reviewer) work; the
second one refuses to record a check of content that changed meanwhile.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from projectone.domain import approval
from projectone.domain.advisor import Tier
from projectone.domain.approval import ComplianceOutcome, Transition
from projectone.domain.audit import Actor, AuditDraft, AuditEvent
from projectone.domain.compliance import Severity
from projectone.domain.content import ContentPack, ContentStatus, ContentType, variants_of
from projectone.domain.errors import ConflictError, ProjectOneError, ValidationError
from projectone.domain.incident import IncidentChange, IncidentStatus, incident_for_outcome
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from projectone.services.compliance import ComplianceResult, ComplianceService

__all__ = [
    "DEFAULT_AUTO_APPROVE",
    "BulkItem",
    "ReviewDecision",
    "SubmitResult",
    "WorkflowService",
    "outcome_of",
]

#: Highest risk score auto-approved per advisor tier (a clean post scores 0). Configuration
#: overrides these; ``-1`` switches auto-approval off for a tier.
DEFAULT_AUTO_APPROVE: Mapping[Tier, int] = {Tier.BASIC: 0, Tier.STANDARD: 10, Tier.PRO: 20}

_SYSTEM = Actor.system()

# A transition of the state machine with everything but pack, time and event id bound.
_Step = Callable[[ContentPack, dt.datetime, uuid.UUID], Transition]
# Language (or code) → ContentVariant (or its fields); checked by variants_of.
_Variants = Mapping[Any, Any]


def outcome_of(result: ComplianceResult) -> ComplianceOutcome:
    """What the approval state machine needs from a compliance result."""
    return ComplianceOutcome(
        verdict=result.verdict.value,
        risk_score=result.risk_score,
        rulebook_version=result.rulebook_version,
        findings=tuple(dict.fromkeys(v.rule_id for v in result.violations)),
        reasons=tuple(dict.fromkeys(f"{v.rule_id}: {v.message}" for v in result.violations)),
        requires_human=result.requires_human,
        critical=any(v.severity is Severity.CRITICAL for v in result.violations),
    )


@attrs.frozen(kw_only=True)
class SubmitResult:
    """What a submission did: the pack as stored, the check, and what followed from it."""

    pack: ContentPack
    compliance: ComplianceResult
    auto_approved: bool
    incident_id: uuid.UUID | None
    events: tuple[AuditEvent, ...]

    @property
    def blocked(self) -> bool:
        return self.pack.status is ContentStatus.DRAFT


@attrs.frozen(kw_only=True)
class ReviewDecision:
    """One item of a bulk review: approve (note optional) or reject (note required)."""

    pack_id: uuid.UUID
    approve: bool
    note: str | None = None


@attrs.frozen(kw_only=True)
class BulkItem:
    """The result of one decision of a bulk review, on its own."""

    pack_id: uuid.UUID
    ok: bool
    pack: ContentPack | None = None
    error_code: str | None = None
    error: str | None = None


@attrs.define
class WorkflowService:
    uow_factory: UnitOfWorkFactory
    compliance: ComplianceService
    clock: Clock
    ids: IdGenerator
    auto_approve: Mapping[Tier, int] = attrs.field(factory=lambda: dict(DEFAULT_AUTO_APPROVE))

    # -- creating and editing --------------------------------------------------------------

    async def create_draft(
        self,
        actor: Actor,
        *,
        advisor_id: uuid.UUID | None,
        topic: str,
        variants: _Variants,
        type: ContentType | str = ContentType.DAILY_POST,
        scheduled_date: dt.date | None = None,
        request_id: str | None = None,
    ) -> ContentPack:
        """A new draft written by ``actor`` (an advisor for their own account, or an admin)."""
        now = self.clock.now()
        pack = ContentPack(
            id=self.ids.new_id(),
            advisor_id=advisor_id,
            topic=topic,
            type=type,
            variants=variants,
            scheduled_date=scheduled_date,
            created_at=now,
            author_id=actor.id,
        )
        transition = approval.create(pack, actor, now, self.ids.new_id())
        async with self.uow_factory() as uow:
            if advisor_id is not None:
                await uow.advisors.get(advisor_id)  # NotFoundError before anything is written
            await uow.content.add(transition.pack)
            await self._record(uow, [transition.event], request_id)
            await uow.commit()
        return transition.pack

    async def edit(
        self,
        pack_id: uuid.UUID,
        actor: Actor,
        variants: _Variants,
        *,
        request_id: str | None = None,
    ) -> ContentPack:
        """Change a draft in place, or start a new draft version of an approved pack."""
        new_variants = variants_of(variants)
        return await self._apply(
            pack_id,
            request_id,
            lambda pack, now, event_id: approval.edit(
                pack, actor, now, event_id, new_variants, self.ids.new_id()
            ),
        )

    async def revise(
        self,
        pack_id: uuid.UUID,
        actor: Actor,
        variants: _Variants | None = None,
        *,
        request_id: str | None = None,
    ) -> ContentPack:
        """A new draft version of a rejected pack (with new content, or the same to edit)."""
        new_variants = None if variants is None else variants_of(variants)
        return await self._apply(
            pack_id,
            request_id,
            lambda pack, now, event_id: approval.revise(
                pack, actor, now, event_id, self.ids.new_id(), new_variants
            ),
        )

    # -- submission --------------------------------------------------------------------------

    async def submit(
        self, pack_id: uuid.UUID, actor: Actor, *, request_id: str | None = None
    ) -> SubmitResult:
        """Check the draft against the rulebook and send it to review.

        A ``block`` verdict keeps it a draft with its reasons (recorded, not an error). A clean
        enough pack is approved at once when the advisor's tier allows it; a critical finding
        opens a compliance incident (one open incident per pack at a time).
        """
        async with self.uow_factory() as uow:
            pack = await uow.content.get(pack_id)
            advisor = None if pack.advisor_id is None else await uow.advisors.get(pack.advisor_id)
        # Refuse early what the state machine would refuse, before spending a check on it.
        approval.check_submit(pack, actor)
        result = await self.compliance.check_content(pack, advisor)
        outcome = outcome_of(result)
        now = self.clock.now()
        async with self.uow_factory() as uow:
            current = await uow.content.get(pack_id)
            if current != pack:
                raise ConflictError("content_pack", pack_id, "it changed while it was checked")
            transition = approval.submit(current, actor, now, self.ids.new_id(), outcome)
            drafts: list[AuditDraft] = [transition.event]
            stored = transition.pack
            auto_approved = False
            threshold = self.auto_approve.get(advisor.tier, -1) if advisor else -1
            if stored.status is ContentStatus.PENDING_REVIEW and threshold >= 0:
                try:
                    auto = approval.auto_approve(stored, _SYSTEM, now, self.ids.new_id(), threshold)
                except ProjectOneError:
                    pass  # not eligible: it waits for a reviewer
                else:
                    stored, auto_approved = auto.pack, True
                    drafts.append(auto.event)
            incident_id = await self._incident_for(uow, stored, outcome, now, drafts)
            await uow.content.update(stored)
            events = await self._record(uow, drafts, request_id)
            await uow.commit()
        return SubmitResult(
            pack=stored,
            compliance=result,
            auto_approved=auto_approved,
            incident_id=incident_id,
            events=tuple(events),
        )

    async def _incident_for(
        self,
        uow: UnitOfWork,
        pack: ContentPack,
        outcome: ComplianceOutcome,
        now: dt.datetime,
        drafts: list[AuditDraft],
    ) -> uuid.UUID | None:
        if not outcome.critical:
            return None
        open_ones = [
            i
            for i in await uow.incidents.list(pack_id=pack.id)
            if i.status not in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
        ]
        if open_ones:
            return open_ones[0].id
        change: IncidentChange | None = incident_for_outcome(
            pack, outcome, _SYSTEM, now, self.ids.new_id(), self.ids.new_id()
        )
        if change is None:  # pragma: no cover - outcome.critical guarantees one
            return None
        incident = attrs.evolve(change.incident, advisor_id=pack.advisor_id)
        await uow.incidents.add(incident)
        drafts.append(change.event)
        return incident.id

    # -- review --------------------------------------------------------------------------------

    async def approve(
        self,
        pack_id: uuid.UUID,
        actor: Actor,
        note: str | None = None,
        *,
        request_id: str | None = None,
    ) -> ContentPack:
        return await self._apply(
            pack_id,
            request_id,
            lambda pack, now, event_id: approval.approve(pack, actor, now, event_id, note),
        )

    async def reject(
        self, pack_id: uuid.UUID, actor: Actor, note: str, *, request_id: str | None = None
    ) -> ContentPack:
        return await self._apply(
            pack_id,
            request_id,
            lambda pack, now, event_id: approval.reject(pack, actor, now, event_id, note),
        )

    async def escalate(
        self, pack_id: uuid.UUID, actor: Actor, reason: str, *, request_id: str | None = None
    ) -> ContentPack:
        return await self._apply(
            pack_id,
            request_id,
            lambda pack, now, event_id: approval.escalate(pack, actor, now, event_id, reason),
        )

    async def bulk_review(
        self,
        decisions: Sequence[ReviewDecision],
        actor: Actor,
        *,
        request_id: str | None = None,
    ) -> list[BulkItem]:
        """Apply each decision in its own unit of work: one failing (with its error) neither
        rolls back nor hides the others."""
        results: list[BulkItem] = []
        for decision in decisions:
            try:
                if decision.approve:
                    pack = await self.approve(
                        decision.pack_id, actor, decision.note, request_id=request_id
                    )
                else:
                    pack = await self.reject(
                        decision.pack_id, actor, decision.note or "", request_id=request_id
                    )
            except ProjectOneError as exc:
                results.append(
                    BulkItem(
                        pack_id=decision.pack_id,
                        ok=False,
                        error_code=getattr(exc, "code", "error"),
                        error=str(exc),
                    )
                )
            else:
                results.append(BulkItem(pack_id=decision.pack_id, ok=True, pack=pack))
        return results

    async def review_queue(self, limit: int = 100) -> list[ContentPack]:
        """Packs waiting for a reviewer: highest risk first, then oldest submission first."""
        if limit < 1:
            raise ValidationError("limit", limit, "must be at least 1")
        async with self.uow_factory() as uow:
            pending = await uow.content.with_status(ContentStatus.PENDING_REVIEW, limit=100_000)
        return approval.review_order(pending)[:limit]

    # -- scheduling and the end of the line -------------------------------------------------

    async def schedule(
        self, pack_id: uuid.UUID, actor: Actor, date: dt.date, *, request_id: str | None = None
    ) -> ContentPack:
        return await self._apply(
            pack_id,
            request_id,
            lambda pack, now, event_id: approval.schedule(pack, actor, now, event_id, date),
        )

    async def unschedule(
        self, pack_id: uuid.UUID, actor: Actor, *, request_id: str | None = None
    ) -> ContentPack:
        return await self._apply(
            pack_id,
            request_id,
            lambda pack, now, event_id: approval.unschedule(pack, actor, now, event_id),
        )

    async def archive(
        self,
        pack_id: uuid.UUID,
        actor: Actor,
        reason: str | None = None,
        *,
        request_id: str | None = None,
    ) -> ContentPack:
        return await self._apply(
            pack_id,
            request_id,
            lambda pack, now, event_id: approval.archive(pack, actor, now, event_id, reason),
        )

    async def history(self, pack_id: uuid.UUID) -> Sequence[AuditEvent]:
        """The audit events about one pack, oldest first."""
        async with self.uow_factory() as uow:
            await uow.content.get(pack_id)
            return await uow.audit.for_entity("content_pack", str(pack_id))

    # -- plumbing ------------------------------------------------------------------------------

    async def _apply(
        self,
        pack_id: uuid.UUID,
        request_id: str | None,
        step: _Step,
    ) -> ContentPack:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            pack = await uow.content.get(pack_id)
            transition = step(pack, now, self.ids.new_id())
            if transition.pack.id == pack.id:
                await uow.content.update(transition.pack)
            else:  # a new version: the old pack stays as it was
                await uow.content.add(transition.pack)
            await self._record(uow, [transition.event], request_id)
            await uow.commit()
        return transition.pack

    async def _record(
        self, uow: UnitOfWork, drafts: Sequence[AuditDraft], request_id: str | None
    ) -> list[AuditEvent]:
        if request_id is not None:
            drafts = [attrs.evolve(d, request_id=request_id) for d in drafts]
        return await uow.audit.append(drafts)
