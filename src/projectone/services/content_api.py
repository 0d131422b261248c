"""Content and review for a verified principal: what the HTTP API calls.

Ownership is enforced here, not in the routes: every operation on a pack first checks that
the principal may see it (``projectone.domain.access``), so another advisor's pack is *not
found* for an advisor whatever the route; review operations need a reviewer's role; the
state machine (``projectone.domain.approval``) then applies its own rules as for every
other caller. Changes go through :class:`WorkflowService`, so each is audited with the
request's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from projectone.domain.access import Principal, ensure_visible, require_role
from projectone.domain.advisor import Advisor
from projectone.domain.audit import AuditEvent, Role
from projectone.domain.content import ContentPack, ContentStatus, ContentType, variants_of
from projectone.domain.errors import ValidationError
from projectone.ports.unit_of_work import UnitOfWorkFactory
from projectone.services.compliance import ComplianceResult, ComplianceService, subject_for
from projectone.services.paging import MAX_PAGE, Page, check_window
from projectone.services.reading import reader_of
from projectone.services.workflow import BulkItem, ReviewDecision, SubmitResult, WorkflowService

__all__ = ["ContentApi"]

_REVIEWERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)


@attrs.define
class ContentApi:
    uow_factory: UnitOfWorkFactory
    workflow: WorkflowService
    compliance: ComplianceService
    #: Units of work for the reads here: read-only ones when ``uow_factory`` offers them.
    reader: UnitOfWorkFactory = attrs.field(
        default=attrs.Factory(lambda self: reader_of(self.uow_factory), takes_self=True)
    )

    async def _visible(self, principal: Principal, pack_id: uuid.UUID) -> ContentPack:
        async with self.reader() as uow:
            pack = await uow.content.get(pack_id)
        ensure_visible(principal, "content_pack", pack_id, pack.advisor_id)
        return pack

    async def _advisor(self, principal: Principal, advisor_id: uuid.UUID | None) -> Advisor:
        """The advisor ``principal`` writes for: their own, or (staff) the one named."""
        wanted = advisor_id if advisor_id is not None else principal.advisor_id
        if wanted is None:
            raise ValidationError("advisor_id", None, "staff name the advisor a pack is for")
        ensure_visible(principal, "advisor", wanted, wanted)
        async with self.reader() as uow:
            return await uow.advisors.get(wanted)

    # -- reading ------------------------------------------------------------------------------

    async def get(self, principal: Principal, pack_id: uuid.UUID) -> ContentPack:
        return await self._visible(principal, pack_id)

    async def list_packs(
        self,
        principal: Principal,
        *,
        advisor_id: uuid.UUID | None = None,
        status: ContentStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ContentPack]:
        """Packs newest first; an advisor sees only their own (naming another is not found)."""
        check_window(limit, offset)
        if principal.is_advisor:
            if advisor_id is not None:
                ensure_visible(principal, "advisor", advisor_id, advisor_id)
            advisor_id = principal.advisor_id
        async with self.reader() as uow:
            items, total = await uow.content.page(
                advisor_id=advisor_id, status=status, limit=limit, offset=offset
            )
        return Page(items=items, total=total, limit=limit, offset=offset)

    async def history(self, principal: Principal, pack_id: uuid.UUID) -> Sequence[AuditEvent]:
        await self._visible(principal, pack_id)
        return await self.workflow.history(pack_id)

    # -- writing ------------------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        *,
        topic: str,
        variants: Mapping[Any, Any],
        advisor_id: uuid.UUID | None = None,
        type: ContentType | str = ContentType.DAILY_POST,
        request_id: str | None = None,
    ) -> ContentPack:
        """A new draft for the principal's advisor (an advisor) or the one named (staff)."""
        advisor = await self._advisor(principal, advisor_id)
        return await self.workflow.create_draft(
            principal.actor,
            advisor_id=advisor.id,
            topic=topic,
            variants=variants,
            type=type,
            request_id=request_id,
        )

    async def update_draft(
        self,
        principal: Principal,
        pack_id: uuid.UUID,
        variants: Mapping[Any, Any],
        *,
        request_id: str | None = None,
    ) -> ContentPack:
        await self._visible(principal, pack_id)
        return await self.workflow.edit(pack_id, principal.actor, variants, request_id=request_id)

    async def submit(
        self, principal: Principal, pack_id: uuid.UUID, *, request_id: str | None = None
    ) -> SubmitResult:
        await self._visible(principal, pack_id)
        return await self.workflow.submit(pack_id, principal.actor, request_id=request_id)

    async def check(
        self,
        principal: Principal,
        variants: Mapping[Any, Any],
        *,
        advisor_id: uuid.UUID | None = None,
    ) -> ComplianceResult:
        """Check content without saving anything, as the advisor it is for would post it."""
        advisor = await self._advisor(principal, advisor_id)
        checked = variants_of(variants)
        subjects = {
            language: subject_for(variant, language, advisor)
            for language, variant in checked.items()
        }
        return await self.compliance.check_subjects(subjects, advisor)

    # -- review ---------------------------------------------------------------------------------

    async def review_queue(self, principal: Principal, limit: int = 50) -> Sequence[ContentPack]:
        require_role(principal, "review", *_REVIEWERS)
        check_window(limit, 0)
        return await self.workflow.review_queue(limit)

    async def approve(
        self,
        principal: Principal,
        pack_id: uuid.UUID,
        note: str | None = None,
        *,
        request_id: str | None = None,
    ) -> ContentPack:
        await self._visible(principal, pack_id)
        require_role(principal, "approve", *_REVIEWERS)
        return await self.workflow.approve(pack_id, principal.actor, note, request_id=request_id)

    async def reject(
        self,
        principal: Principal,
        pack_id: uuid.UUID,
        note: str,
        *,
        request_id: str | None = None,
    ) -> ContentPack:
        await self._visible(principal, pack_id)
        require_role(principal, "reject", *_REVIEWERS)
        return await self.workflow.reject(pack_id, principal.actor, note, request_id=request_id)

    async def bulk_review(
        self,
        principal: Principal,
        decisions: Sequence[ReviewDecision],
        *,
        request_id: str | None = None,
    ) -> list[BulkItem]:
        require_role(principal, "review", *_REVIEWERS)
        if not 1 <= len(decisions) <= MAX_PAGE:
            raise ValidationError("decisions", len(decisions), f"must hold 1 to {MAX_PAGE}")
        return await self.workflow.bulk_review(decisions, principal.actor, request_id=request_id)
