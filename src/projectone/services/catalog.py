"""Registering advisors (each with its audit event), changing their status, storing packs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import attrs

from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.advisor_lifecycle import change_status, registration_event
from projectone.domain.audit import Actor
from projectone.domain.consent import DEFAULT_POLICY_VERSION, registration_consents
from projectone.domain.content import ContentPack
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["CatalogService"]


@attrs.define
class CatalogService:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    #: The privacy policy version registration consents are given to.
    policy_version: str = DEFAULT_POLICY_VERSION

    async def register(
        self,
        advisors: Iterable[Advisor],
        packs: Iterable[ContentPack] = (),
        *,
        actor: Actor | None = None,
        request_id: str | None = None,
    ) -> tuple[int, int]:
        """Store ``advisors`` (one ``register`` audit event each, and the consents that
        registering gives: processing, and WhatsApp for those opted in) and ``packs``
        atomically: all of them or, on any error, none. Returns the numbers stored.

        Packs stored this way bypass the workflow; use it for imports of content that was
        already reviewed elsewhere (the schema still insists on a review record for approved
        packs).
        """
        advisors, packs = list(advisors), list(packs)
        by = actor or Actor.system()
        now = self.clock.now()
        events = [
            attrs.evolve(registration_event(a, by, now, self.ids.new_id()), request_id=request_id)
            for a in advisors
        ]
        consents = [
            record
            for a in advisors
            for record in registration_consents(
                advisor_id=a.id,
                policy_version=self.policy_version,
                channel="registration",
                now=now,
                ids=iter(self.ids.new_id, None),
                whatsapp_opt_in=a.whatsapp_opt_in_at is not None,
            )
        ]
        async with self.uow_factory() as uow:
            await uow.advisors.add_many(advisors)
            await uow.consents.add_many(consents)
            await uow.content.add_many(packs)
            await uow.audit.append(events)
            await uow.commit()
        return len(advisors), len(packs)

    async def set_status(
        self,
        advisor_id: uuid.UUID,
        status: AdvisorStatus,
        actor: Actor,
        *,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> Advisor:
        """Activate, suspend or cancel an account, with its audit event."""
        async with self.uow_factory() as uow:
            advisor = await uow.advisors.get(advisor_id)
            change = change_status(
                advisor, status, actor, self.clock.now(), self.ids.new_id(), reason
            )
            await uow.advisors.update(change.advisor)
            await uow.audit.append([attrs.evolve(change.event, request_id=request_id)])
            await uow.commit()
        return change.advisor

    async def advisor_count(self) -> int:
        async with self.uow_factory() as uow:
            return await uow.advisors.count()
