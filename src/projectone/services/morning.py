"""The morning run: plan one delivery per reachable advisor, then send what is due."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence

import attrs

from projectone.domain.audit import Actor
from projectone.domain.content import ContentPack
from projectone.domain.delivery import Channel, Delivery, Variant
from projectone.domain.errors import (
    ConflictError,
    ProviderError,
    UnavailableError,
    ValidationError,
)
from projectone.domain.incident import IncidentSeverity, IncidentType, open_incident
from projectone.domain.sla import SlaSummary, summarize
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.messaging import OutboundText, WhatsAppSender
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = ["DispatchResult", "MorningService", "PlanResult", "SendOutcome"]

# Error codes projectone itself records on a delivery, next to the provider's numeric codes.
CONTENT_CHANGED = "content_changed"
#: The pack's content no longer hashes to what was approved: altered behind the workflow.
CONTENT_INTEGRITY = "content_integrity"
PROVIDER_UNAVAILABLE = "provider_unavailable"

# Planning runs in one transaction; a concurrent planner that committed first makes ours
# conflict, and a fresh attempt then sees its deliveries and adds only what is missing.
_PLAN_ATTEMPTS = 3


@attrs.frozen(kw_only=True)
class PlanResult:
    date: dt.date
    planned: int
    already_planned: int
    without_content: tuple[uuid.UUID, ...]

    @property
    def total(self) -> int:
        return self.planned + self.already_planned


@attrs.frozen(kw_only=True)
class SendOutcome:
    delivery_id: uuid.UUID
    ok: bool
    at: dt.datetime
    message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@attrs.frozen(kw_only=True)
class DispatchResult:
    attempted: int
    sent: int
    failed: int


ProgressCallback = Callable[[SendOutcome], None]


@attrs.define
class MorningService:
    """Use cases of the morning run over the ports they need."""

    uow_factory: UnitOfWorkFactory
    sender: WhatsAppSender
    clock: Clock
    ids: IdGenerator
    batch_size: int = 100
    concurrency: int = 32

    async def plan_morning(self, date: dt.date) -> PlanResult:
        """Queue one WhatsApp post for ``date`` per active, opted-in advisor with approved
        content for that date. Running it again creates nothing new."""
        for attempt in range(_PLAN_ATTEMPTS):
            try:
                return await self._plan_once(date)
            except ConflictError:
                if attempt == _PLAN_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _plan_once(self, date: dt.date) -> PlanResult:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            advisors = await uow.advisors.list_reachable()
            existing = await uow.deliveries.keys_for_date(date)
            packs = await uow.content.sendable_for([a.id for a in advisors], date)
            already = 0
            missing: list[uuid.UUID] = []
            new: list[Delivery] = []
            for advisor in advisors:
                if (advisor.id, Channel.WHATSAPP, Variant.POST) in existing:
                    already += 1
                    continue
                pack = packs.get(advisor.id)
                if pack is None:
                    missing.append(advisor.id)
                    continue
                try:
                    language, _ = pack.variant_for(advisor.languages)
                except ValidationError:
                    missing.append(advisor.id)
                    continue
                new.append(
                    Delivery.plan(
                        id=self.ids.new_id(),
                        advisor_id=advisor.id,
                        pack_id=pack.id,
                        date=date,
                        send_time=advisor.send_time,
                        language=language,
                        to=advisor.whatsapp_number,
                        content_hash=pack.content_hash,
                        now=now,
                    )
                )
            await uow.deliveries.add_many(new)
            await uow.commit()
        return PlanResult(
            date=date, planned=len(new), already_planned=already, without_content=tuple(missing)
        )

    async def dispatch_due(
        self, now: dt.datetime, *, on_outcome: ProgressCallback | None = None
    ) -> DispatchResult:
        """Send every delivery due at ``now`` and record each outcome.

        Work is claimed in batches (queued → sending, committed) before any provider call, so
        a crash mid-batch never sends a delivery twice: what stays in ``sending`` is an
        unknown outcome, never silently retried.
        """
        attempted = sent = failed = 0
        while True:
            claimed = await self._claim(now)
            if not claimed:
                break
            outcomes = await self._send_all(claimed, on_outcome)
            await self._record(outcomes)
            attempted += len(outcomes)
            sent += sum(o.ok for o in outcomes)
            failed += sum(not o.ok for o in outcomes)
        return DispatchResult(attempted=attempted, sent=sent, failed=failed)

    async def _claim(self, now: dt.datetime) -> list[tuple[Delivery, ContentPack]]:
        at = self.clock.now()
        async with self.uow_factory() as uow:
            due = await uow.deliveries.due(now, self.batch_size)
            packs = await uow.content.get_many(d.pack_id for d in due)
            sending = [d.start_sending(at) for d in due]
            await uow.deliveries.update_many(sending)
            await uow.commit()
        return [(d, packs[d.pack_id]) for d in sending]

    async def _send_all(
        self, claimed: Sequence[tuple[Delivery, ContentPack]], on_outcome: ProgressCallback | None
    ) -> list[SendOutcome]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(delivery: Delivery, pack: ContentPack) -> SendOutcome:
            async with gate:
                outcome = await self._send(delivery, pack)
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        return list(await asyncio.gather(*(one(d, p) for d, p in claimed)))

    async def _send(self, delivery: Delivery, pack: ContentPack) -> SendOutcome:
        def failure(code: str, message: str) -> SendOutcome:
            return SendOutcome(
                delivery_id=delivery.id,
                ok=False,
                at=self.clock.now(),
                error_code=code,
                error_message=message,
            )

        # What is sent must be byte-for-byte what was approved and planned.
        if pack.approved_hash is None or pack.content_hash != pack.approved_hash:
            return failure(
                CONTENT_INTEGRITY,
                f"pack {pack.id} no longer matches what was approved: its content hashes to "
                f"{pack.content_hash}, the approved hash is {pack.approved_hash or 'missing'}",
            )
        if pack.content_hash != delivery.content_hash or not pack.sendable:
            return failure(CONTENT_CHANGED, "the pack changed or was withdrawn after planning")
        message = OutboundText(
            to=delivery.to,
            body=pack.variants[delivery.language].render(),
            callback_data=str(delivery.id),
        )
        try:
            receipt = await self.sender.send_text(message)
        except ProviderError as exc:
            code = "unknown" if exc.provider_code is None else str(exc.provider_code)
            return failure(code, exc.message)
        except UnavailableError as exc:
            return failure(PROVIDER_UNAVAILABLE, str(exc))
        return SendOutcome(
            delivery_id=delivery.id, ok=True, at=self.clock.now(), message_id=receipt.message_id
        )

    async def _record(self, outcomes: Sequence[SendOutcome]) -> None:
        async with self.uow_factory() as uow:
            current = await uow.deliveries.get_many(o.delivery_id for o in outcomes)
            await self._report_integrity(uow, outcomes, current)
            recorded = []
            for outcome in outcomes:
                delivery = current[outcome.delivery_id]
                if outcome.message_id is not None:
                    delivery = delivery.mark_sent(outcome.message_id, outcome.at)
                else:
                    delivery = delivery.mark_failed(
                        outcome.error_code or "unknown", outcome.error_message or "", outcome.at
                    )
                recorded.append(delivery)
            await uow.deliveries.update_many(recorded)
            await uow.commit()

    async def _report_integrity(
        self,
        uow: UnitOfWork,
        outcomes: Sequence[SendOutcome],
        deliveries: Mapping[uuid.UUID, Delivery],
    ) -> None:
        """Open one delivery-integrity incident per altered pack (with its audit event)."""
        by_pack: dict[uuid.UUID, SendOutcome] = {}
        for outcome in outcomes:
            if outcome.error_code == CONTENT_INTEGRITY:
                by_pack.setdefault(deliveries[outcome.delivery_id].pack_id, outcome)
        for pack_id, outcome in by_pack.items():
            already = await uow.incidents.list(pack_id=pack_id)
            if any(i.type is IncidentType.DELIVERY_INTEGRITY for i in already):
                continue
            delivery = deliveries[outcome.delivery_id]
            change = open_incident(
                incident_id=self.ids.new_id(),
                type=IncidentType.DELIVERY_INTEGRITY,
                severity=IncidentSeverity.CRITICAL,
                title=f"Content pack {pack_id} changed after approval; sending refused",
                description=outcome.error_message or "",
                actor=Actor.system(),
                now=outcome.at,
                event_id=self.ids.new_id(),
                pack_id=pack_id,
                advisor_id=delivery.advisor_id,
            )
            await uow.incidents.add(change.incident)
            await uow.audit.append([change.event])

    async def sla_summary(self, date: dt.date) -> SlaSummary:
        """The SLA figures of ``date`` as of now."""
        async with self.uow_factory() as uow:
            deliveries = await uow.deliveries.for_date(date)
        return summarize(deliveries, self.clock.now())
