"""Advisor accounts for a verified principal: profile, preferences and WhatsApp integration.

Ownership is enforced here (``projectone.domain.access``): an advisor sees and changes only
their own account (any other is *not found*), staff see every account. Changing settings is
for the advisor and admins (a compliance officer gets 403). Personal data (email, WhatsApp
number) is shown in full to the advisor themselves and to admins, masked for compliance
officers, who oversee content rather than contact people. Every change is one unit of work
holding the new account and its audit event (``projectone.domain.advisor_lifecycle``), which
names changed personal fields without recording their values; a change that changes nothing
writes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import attrs

from projectone.domain.access import Principal, ensure_visible, require_role
from projectone.domain.advisor import (
    Advisor,
    AdvisorStatus,
    AdvisorType,
    Tier,
    mask_email,
    mask_phone,
)
from projectone.domain.advisor_lifecycle import (
    AdvisorChange,
    change_preferences,
    change_whatsapp,
)
from projectone.domain.audit import Role
from projectone.domain.consent import DEFAULT_POLICY_VERSION, follow_whatsapp_opt_in
from projectone.domain.errors import ConflictError
from projectone.domain.language import Language
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from projectone.services.privacy import expire_queued
from projectone.services.reading import reader_of

__all__ = ["AdvisorApi", "AdvisorProfile", "WhatsAppIntegration", "sees_personal_data"]

_SETTERS = (Role.ADVISOR, Role.ADMIN)


def sees_personal_data(principal: Principal) -> bool:
    """Whether ``principal`` is shown advisors' email and phone in full: the advisor (who only
    ever sees their own) and admins; a compliance officer sees them masked."""
    return principal.is_advisor or principal.role is Role.ADMIN


@attrs.frozen(kw_only=True)
class AdvisorProfile:
    """An advisor account as one principal may see it (``masked``: email and number hidden)."""

    id: uuid.UUID
    name: str
    type: AdvisorType
    registration_no: str
    email: str
    whatsapp_number: str
    languages: tuple[Language, ...]
    send_time: dt.time
    tier: Tier
    status: AdvisorStatus
    whatsapp_opt_in_at: dt.datetime | None
    receives_whatsapp: bool
    created_at: dt.datetime
    masked: bool

    @classmethod
    def of(cls, advisor: Advisor, principal: Principal) -> AdvisorProfile:
        full = sees_personal_data(principal)
        return cls(
            id=advisor.id,
            name=advisor.name,
            type=advisor.type,
            registration_no=advisor.registration_no,
            email=advisor.email if full else mask_email(advisor.email),
            whatsapp_number=(
                advisor.whatsapp_number if full else mask_phone(advisor.whatsapp_number)
            ),
            languages=advisor.languages,
            send_time=advisor.send_time,
            tier=advisor.tier,
            status=advisor.status,
            whatsapp_opt_in_at=advisor.whatsapp_opt_in_at,
            receives_whatsapp=advisor.receives_whatsapp,
            created_at=advisor.created_at,
            masked=not full,
        )


@attrs.frozen(kw_only=True)
class WhatsAppIntegration:
    """An advisor's WhatsApp settings: the number their morning messages go to, whether (and
    since when) they opted in, and whether the planner will plan for them (``receives``:
    opted in and the account active)."""

    advisor_id: uuid.UUID
    number: str
    opted_in: bool
    opted_in_at: dt.datetime | None
    receives: bool
    masked: bool

    @classmethod
    def of(cls, advisor: Advisor, principal: Principal) -> WhatsAppIntegration:
        full = sees_personal_data(principal)
        return cls(
            advisor_id=advisor.id,
            number=advisor.whatsapp_number if full else mask_phone(advisor.whatsapp_number),
            opted_in=advisor.whatsapp_opt_in_at is not None,
            opted_in_at=advisor.whatsapp_opt_in_at,
            receives=advisor.receives_whatsapp,
            masked=not full,
        )


@attrs.define
class AdvisorApi:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    #: The privacy policy version a WhatsApp opt-in through the API is given under.
    policy_version: str = DEFAULT_POLICY_VERSION
    #: Units of work for the reads here: read-only ones when ``uow_factory`` offers them.
    reader: UnitOfWorkFactory = attrs.field(
        default=attrs.Factory(lambda self: reader_of(self.uow_factory), takes_self=True)
    )

    async def _load(self, principal: Principal, advisor_id: uuid.UUID) -> Advisor:
        ensure_visible(principal, "advisor", advisor_id, advisor_id)
        async with self.reader() as uow:
            return await uow.advisors.get(advisor_id)

    async def _save(
        self, uow: UnitOfWork, change: AdvisorChange | None, request_id: str | None
    ) -> None:
        if change is None:
            return
        await uow.advisors.update(change.advisor)
        await uow.audit.append([attrs.evolve(change.event, request_id=request_id)])
        await uow.commit()

    # -- reading ------------------------------------------------------------------------------

    async def get(self, principal: Principal, advisor_id: uuid.UUID) -> AdvisorProfile:
        """The account (an advisor: their own only; staff: any)."""
        return AdvisorProfile.of(await self._load(principal, advisor_id), principal)

    async def whatsapp(self, principal: Principal, advisor_id: uuid.UUID) -> WhatsAppIntegration:
        return WhatsAppIntegration.of(await self._load(principal, advisor_id), principal)

    # -- changing -----------------------------------------------------------------------------

    async def update_preferences(
        self,
        principal: Principal,
        advisor_id: uuid.UUID,
        *,
        languages: Iterable[Language | str] | None = None,
        send_time: dt.time | None = None,
        request_id: str | None = None,
    ) -> AdvisorProfile:
        """Change the languages (most preferred first) and/or the send time (Asia/Kolkata);
        what is not given stays. Audited; nothing is written when nothing changes."""
        ensure_visible(principal, "advisor", advisor_id, advisor_id)
        require_role(principal, "change preferences", *_SETTERS)
        async with self.uow_factory() as uow:
            advisor = await uow.advisors.get(advisor_id)
            change = change_preferences(
                advisor,
                principal.actor,
                self.clock.now(),
                self.ids.new_id(),
                languages=None if languages is None else tuple(languages),
                send_time=send_time,
            )
            await self._save(uow, change, request_id)
        return AdvisorProfile.of(advisor if change is None else change.advisor, principal)

    async def set_whatsapp(
        self,
        principal: Principal,
        advisor_id: uuid.UUID,
        *,
        number: str,
        opted_in: bool,
        request_id: str | None = None,
    ) -> WhatsAppIntegration:
        """Set the WhatsApp number and opt-in (see ``change_whatsapp``). A number another
        advisor has is a ``ConflictError``. Audited; nothing is written when nothing changes."""
        ensure_visible(principal, "advisor", advisor_id, advisor_id)
        require_role(principal, "change the WhatsApp integration", *_SETTERS)
        async with self.uow_factory() as uow:
            advisor = await uow.advisors.get(advisor_id)
            change = change_whatsapp(
                advisor,
                principal.actor,
                self.clock.now(),
                self.ids.new_id(),
                number=number,
                opted_in=opted_in,
            )
            if change is not None and change.advisor.whatsapp_number != advisor.whatsapp_number:
                # Checked first for a clear answer; the unique constraint is the backstop.
                holders = await uow.advisors.ids_by_whatsapp([change.advisor.whatsapp_number])
                if set(holders.values()) - {advisor_id}:
                    raise ConflictError(
                        "advisor", "whatsapp_number", "another advisor has this WhatsApp number"
                    )
            if change is not None:
                # The opt-in is a consent (DPDP): its record follows the account's stamp.
                follows = follow_whatsapp_opt_in(
                    await uow.consents.for_advisor(advisor_id),
                    advisor_id=advisor_id,
                    was=advisor.whatsapp_opt_in_at,
                    now_opted_in=change.advisor.whatsapp_opt_in_at,
                    policy_version=self.policy_version,
                    channel="api",
                    actor=principal.actor,
                    now=change.event.occurred_at,
                    ids=iter(self.ids.new_id, None),
                )
                for follow in follows:
                    await uow.consents.end_many(r for r in follow.records if not r.active)
                    await uow.consents.add_many(r for r in follow.records if r.active)
                await uow.audit.append(
                    [attrs.evolve(f.event, request_id=request_id) for f in follows]
                )
                if change.advisor.whatsapp_opt_in_at is None:
                    await expire_queued(
                        uow, advisor_id, change.event.occurred_at, "whatsapp_optin withdrawn"
                    )
            await self._save(uow, change, request_id)
        return WhatsAppIntegration.of(advisor if change is None else change.advisor, principal)
