"""Deliveries for a verified principal: list, read, plan a morning, retry a failed send.

Ownership is enforced here (``projectone.domain.access``): an advisor sees only their own
deliveries (another advisor's is *not found*, naming another advisor in a filter too) and
may retry only their own; planning a morning is for staff (403 for an advisor). The number a
delivery goes to is masked for compliance officers, as on the advisor's profile.

Planning is :meth:`MorningService.plan_morning`: idempotent, so scheduling a date twice plans
nothing new. A retry (:meth:`Delivery.requeue`) queues a failed or expired WhatsApp delivery
again, due at once, when a send can still make sense: before the SMS cutoff of its morning
(from then on the worker hands WhatsApp messages to SMS), with no SMS backup already carrying
it, to an advisor still opted in, with a pack that is still what was approved, and not when
the earlier attempt's outcome is unknown (it may have reached the advisor). Deliveries are not
audited elsewhere (the worker's transitions are not either), so neither is a retry: the
delivery itself keeps its attempts and last error.
"""

from __future__ import annotations

import datetime as dt
import uuid

import attrs

from projectone.domain.access import Principal, ensure_visible, require_role
from projectone.domain.advisor import mask_phone
from projectone.domain.audit import Role
from projectone.domain.content import ContentStatus
from projectone.domain.delivery import Channel, Delivery, DeliveryStatus, SlaOutcome, Variant
from projectone.domain.errors import InvalidTransitionError, ValidationError
from projectone.domain.retry import RetryPolicy
from projectone.domain.send_policy import OUTCOME_UNKNOWN
from projectone.domain.timezone import IST
from projectone.ports.clock import Clock
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from projectone.services.advisor_api import sees_personal_data
from projectone.services.morning import MorningService, PlanResult
from projectone.services.paging import Page, check_window

__all__ = ["MAX_PLAN_AHEAD_DAYS", "DeliveryApi", "DeliveryView"]

#: How far ahead a morning may be planned (planning fixes each advisor's number, language and
#: send time as they are now).
MAX_PLAN_AHEAD_DAYS = 7
_STAFF = (Role.ADMIN, Role.COMPLIANCE_OFFICER)
# What the worker still sends: what was approved, before or after its first delivery.
_SENDABLE = (ContentStatus.APPROVED, ContentStatus.SCHEDULED, ContentStatus.DELIVERED)


@attrs.frozen(kw_only=True)
class DeliveryView:
    """A delivery as one principal may see it: ``to`` is masked for compliance officers;
    ``sla`` is its SLA outcome as of now."""

    delivery: Delivery
    to: str
    sla: SlaOutcome
    masked: bool


@attrs.define
class DeliveryApi:
    uow_factory: UnitOfWorkFactory
    morning: MorningService
    clock: Clock
    #: The worker's retry policy: its SMS cutoff ends the time a retry can go by WhatsApp.
    retry_policy: RetryPolicy = attrs.field(factory=RetryPolicy)

    def _view(self, principal: Principal, delivery: Delivery, now: dt.datetime) -> DeliveryView:
        full = sees_personal_data(principal)
        return DeliveryView(
            delivery=delivery,
            to=delivery.to if full else mask_phone(delivery.to),
            sla=delivery.sla_outcome(now),
            masked=not full,
        )

    # -- reading ------------------------------------------------------------------------------

    async def get(self, principal: Principal, delivery_id: uuid.UUID) -> DeliveryView:
        async with self.uow_factory() as uow:
            delivery = await uow.deliveries.get(delivery_id)
        ensure_visible(principal, "delivery", delivery_id, delivery.advisor_id)
        return self._view(principal, delivery, self.clock.now())

    async def list_deliveries(
        self,
        principal: Principal,
        *,
        advisor_id: uuid.UUID | None = None,
        date: dt.date | None = None,
        status: DeliveryStatus | None = None,
        channel: Channel | None = None,
        variant: Variant | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[DeliveryView]:
        """Deliveries matching every filter given, latest scheduled first; an advisor sees
        only their own (naming another advisor is not found)."""
        check_window(limit, offset)
        if principal.is_advisor:
            if advisor_id is not None:
                ensure_visible(principal, "advisor", advisor_id, advisor_id)
            advisor_id = principal.advisor_id
        async with self.uow_factory() as uow:
            items, total = await uow.deliveries.page(
                advisor_id=advisor_id,
                date=date,
                status=status,
                channel=channel,
                variant=variant,
                limit=limit,
                offset=offset,
            )
        now = self.clock.now()
        return Page(
            items=[self._view(principal, d, now) for d in items],
            total=total,
            limit=limit,
            offset=offset,
        )

    # -- planning and retrying ----------------------------------------------------------------

    async def schedule(self, principal: Principal, date: dt.date) -> PlanResult:
        """Plan ``date``'s deliveries now (staff only): today (India) up to
        :data:`MAX_PLAN_AHEAD_DAYS` ahead. Planning again plans only what is missing."""
        require_role(principal, "plan deliveries", *_STAFF)
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise ValidationError("date", date, "must be a date")
        today = self.clock.now().astimezone(IST).date()
        if not today <= date <= today + dt.timedelta(days=MAX_PLAN_AHEAD_DAYS):
            raise ValidationError(
                "date",
                date.isoformat(),
                f"must be from today ({today.isoformat()}, India) up to "
                f"{MAX_PLAN_AHEAD_DAYS} days ahead",
            )
        return await self.morning.plan_morning(date)

    async def retry(self, principal: Principal, delivery_id: uuid.UUID) -> DeliveryView:
        """Queue a failed or expired WhatsApp delivery again, due now (staff, or the advisor
        it is for); ``InvalidTransitionError`` (409) when a retry cannot help, with why."""
        async with self.uow_factory() as uow:
            delivery = await uow.deliveries.get(delivery_id, lock=True)
            ensure_visible(principal, "delivery", delivery_id, delivery.advisor_id)
            now = self.clock.now()
            cutoff = self.retry_policy.sms_cutoff(delivery.sla_target)
            # Its own state first (the wrong channel or status says more than the rest).
            problem = delivery.requeue_refusal(now, cutoff=cutoff)
            if problem is not None:
                raise InvalidTransitionError("delivery", delivery.status.value, "retry", problem)
            await self._check_resendable(uow, delivery)
            advisor = await uow.advisors.get(delivery.advisor_id)
            _, backups = await uow.deliveries.page(
                advisor_id=delivery.advisor_id,
                date=delivery.date,
                channel=Channel.SMS,
                variant=delivery.variant,
                limit=1,
            )
            again = delivery.requeue(
                now, cutoff=cutoff, has_backup=backups > 0, reachable=advisor.receives_whatsapp
            )
            await uow.deliveries.update(again)
            await uow.commit()
        return self._view(principal, again, now)

    @staticmethod
    async def _check_resendable(uow: UnitOfWork, delivery: Delivery) -> None:
        """Refusals that depend on more than the delivery's own state."""

        def refuse(reason: str) -> InvalidTransitionError:
            return InvalidTransitionError("delivery", delivery.status.value, "retry", reason)

        if delivery.error_code == OUTCOME_UNKNOWN:
            raise refuse("the last attempt's outcome is unknown: it may have reached the advisor")
        pack = await uow.content.get(delivery.pack_id)
        if pack.status not in _SENDABLE or not (
            pack.approved_hash == pack.content_hash == delivery.content_hash
        ):
            raise refuse("its pack changed or was withdrawn after planning")
