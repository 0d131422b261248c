"""Data-subject rights and retention (DPDP Act 2023; DESIGN.md §3.5): export, rectification,
erasure, consent, and the retention purge.

Erasure is crypto-shredding plus clean-up: the person's data key is destroyed, their personal
fields and the numbers on their deliveries are nulled, their queued deliveries expire, their
inbound messages are deleted and their consents end. What SEBI requires is kept in pseudonymous
form: content packs (approval records) stay with every review field and hash, their text with
the person's name, email and number replaced by ``[erased]``; deliveries stay (reports count
them) without a number; the audit trail stays whole (it never held personal values) and gains
one event saying the erasure happened and what it removed.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar, cast

import attrs

from projectone.domain.advisor import Advisor
from projectone.domain.advisor_lifecycle import rectify
from projectone.domain.audit import JSON, Actor, AuditDraft, Role, change_event
from projectone.domain.consent import (
    ConsentPurpose,
    ConsentRecord,
    end_all,
    give_consent,
    withdraw_consent,
)
from projectone.domain.content import ContentPack, ContentVariant
from projectone.domain.delivery import Delivery, DeliveryStatus
from projectone.domain.errors import NotFoundError, PermissionDeniedError, SubjectErasedError
from projectone.domain.pii import redact
from projectone.domain.retention import PurgeCounts, RetentionPolicy, cutoffs
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.privacy import ErasureCounts, SubjectProfile
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = ["EXPORT_FORMAT", "ErasureReport", "PrivacyService", "PurgeReport", "expire_queued"]

#: Names the shape of an export document, for whoever reads one years later.
EXPORT_FORMAT = "projectone.subject-export/1"
_PAGE = 500
_T = TypeVar("_T")
_ALL = 10**9
_ADMINS = frozenset({Role.ADMIN, Role.SYSTEM})
_STAFF_READERS = frozenset({Role.ADMIN, Role.SYSTEM, Role.COMPLIANCE_OFFICER})


@attrs.frozen(kw_only=True)
class ErasureReport:
    advisor_id: uuid.UUID
    erased_at: dt.datetime
    counts: ErasureCounts

    def as_dict(self) -> dict[str, JSON]:
        return {
            "advisor_id": str(self.advisor_id),
            "erased_at": self.erased_at.isoformat(),
            **self.counts.as_dict(),
        }


@attrs.frozen(kw_only=True)
class PurgeReport:
    ran_at: dt.datetime
    dry_run: bool
    counts: PurgeCounts
    #: Cancelled accounts past their six months, erased by this run (or that would be).
    erased: tuple[uuid.UUID, ...]

    def as_dict(self) -> dict[str, JSON]:
        return {
            "ran_at": self.ran_at.isoformat(),
            "dry_run": self.dry_run,
            "removed": dict(self.counts.as_dict()),
            "erased_advisors": [str(a) for a in self.erased],
        }


def _may_exercise(
    advisor_id: uuid.UUID, actor: Actor, action: str, *, readers: frozenset[Role] = _ADMINS
) -> None:
    """The person themself, or a staff role in ``readers`` (an admin or the system unless
    said otherwise). Another advisor's data is not found, as everywhere: whether it exists
    is not theirs to learn."""
    if actor.role in readers:
        return
    if actor.role is Role.ADVISOR:
        if actor.id == f"advisor:{advisor_id}":
            return
        raise NotFoundError("advisor", advisor_id)
    raise PermissionDeniedError(action, "only the advisor themself, an admin or the system may")


def _plain(value: Any) -> JSON:
    """Any value of an export as JSON data."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


def _redacted(pack: ContentPack, identifiers: Sequence[str]) -> ContentPack | None:
    """``pack`` with the person's identifiers taken out of its text; ``None`` if none occur."""
    variants: dict[Any, ContentVariant] = {}
    changed = False
    for language, variant in pack.variants.items():
        fields = {
            f.name: getattr(variant, f.name)
            for f in attrs.fields(type(variant))
            if isinstance(getattr(variant, f.name), str)
        }
        clean = {name: redact(text, identifiers) for name, text in fields.items()}
        if clean != fields:
            changed = True
            variants[language] = attrs.evolve(variant, **clean)
        else:
            variants[language] = variant
    return attrs.evolve(pack, variants=variants) if changed else None


class PrivacyService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        *,
        policy_version: str,
        retention: RetentionPolicy | None = None,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._ids = ids
        self.policy_version = policy_version
        self.retention = retention or RetentionPolicy()

    # --- access -------------------------------------------------------------------------

    async def export_subject_data(self, advisor_id: uuid.UUID, *, actor: Actor) -> dict[str, JSON]:
        """Everything held about the person, as one JSON document (DPDP right of access):
        profile, consents, content, deliveries, inbound messages, AI jobs and the audit events
        about them and their content. After erasure it still answers, without personal data."""
        _may_exercise(advisor_id, actor, "export subject data")
        async with self._uow() as uow:
            profile = await uow.subjects.profile(advisor_id)
            consents = await uow.consents.for_advisor(advisor_id)
            packs = await _all_packs(uow, advisor_id)
            deliveries = await _all_deliveries(uow, advisor_id)
            inbound = await uow.inbound.for_advisor(advisor_id)
            jobs = await uow.ai_jobs.for_advisor(advisor_id, limit=_ALL)
            events = list(await uow.audit.for_entity("advisor", str(advisor_id)))
            for pack in packs:
                events.extend(await uow.audit.for_entity("content_pack", str(pack.id)))
        events.sort(key=lambda e: e.sequence)
        return {
            "format": EXPORT_FORMAT,
            "generated_at": self._clock.now().isoformat(),
            "subject": {"advisor_id": str(advisor_id), "erased": profile.erased_at is not None},
            "profile": _plain(profile),
            "consents": [_plain(c) for c in consents],
            "content": [_pack_export(p) for p in packs],
            "deliveries": [_delivery_export(d) for d in deliveries],
            "inbound_messages": [_plain(m) for m in inbound],
            "ai_jobs": [_plain(j) for j in jobs],
            "audit_events": [_plain(e) for e in events],
        }

    async def profile(self, advisor_id: uuid.UUID, *, actor: Actor) -> SubjectProfile:
        _may_exercise(advisor_id, actor, "read subject data")
        async with self._uow() as uow:
            return await uow.subjects.profile(advisor_id)

    # --- rectification ------------------------------------------------------------------

    async def rectify(
        self,
        advisor_id: uuid.UUID,
        *,
        actor: Actor,
        name: str | None = None,
        email: str | None = None,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> Advisor:
        """Correct the person's name or email (the WhatsApp number changes through the
        WhatsApp integration, which also records the consent it implies). The audit event
        names the fields, never their values; ``ConflictError`` if the email is another's."""
        async with self._uow() as uow:
            advisor = await uow.advisors.get(advisor_id)
            change = rectify(
                advisor,
                actor,
                self._clock.now(),
                self._ids.new_id(),
                name=name,
                email=email,
                reason=reason,
            )
            if change is None:
                return advisor
            await uow.advisors.update(change.advisor)
            await uow.audit.append([attrs.evolve(change.event, request_id=request_id)])
            await uow.commit()
            return change.advisor

    # --- consent ------------------------------------------------------------------------

    async def consents(self, advisor_id: uuid.UUID, *, actor: Actor) -> Sequence[ConsentRecord]:
        """The advisor's consent history, oldest first (also for a compliance officer: it
        holds no personal data, and whether consent was held is theirs to check)."""
        _may_exercise(advisor_id, actor, "read consents", readers=_STAFF_READERS)
        async with self._uow() as uow:
            await uow.subjects.profile(advisor_id)  # NotFoundError for an unknown advisor
            return await uow.consents.for_advisor(advisor_id)

    async def give_consent(
        self,
        advisor_id: uuid.UUID,
        purpose: ConsentPurpose | str,
        *,
        actor: Actor,
        channel: str,
        policy_version: str | None = None,
        request_id: str | None = None,
    ) -> ConsentRecord | None:
        """Record consent to ``purpose`` under the current (or given) policy version; ``None``
        if it is already held under that version. Consent to processing lifts the block on
        the account; WhatsApp opt-in lets the next plan include the advisor."""
        _may_exercise(advisor_id, actor, "give consent")
        now = self._clock.now()
        async with self._uow() as uow:
            advisor = await uow.advisors.get(advisor_id)
            change = give_consent(
                await uow.consents.for_advisor(advisor_id),
                advisor_id=advisor_id,
                purpose=purpose,
                policy_version=policy_version or self.policy_version,
                channel=channel,
                actor=actor,
                now=now,
                record_id=self._ids.new_id(),
                event_id=self._ids.new_id(),
            )
            if change is None:
                return None
            new = [r for r in change.records if r.active]
            ended = [r for r in change.records if not r.active]
            await uow.consents.end_many(ended)
            await uow.consents.add_many(new)
            await self._apply(uow, advisor, change.records[-1], now)
            await uow.audit.append([attrs.evolve(change.event, request_id=request_id)])
            await uow.commit()
            return new[-1]

    async def withdraw_consent(
        self,
        advisor_id: uuid.UUID,
        purpose: ConsentPurpose | str,
        *,
        actor: Actor,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> ConsentRecord | None:
        """End the consent to ``purpose``; ``None`` if none was held. Withdrawing WhatsApp
        opt-in stops planning for the advisor from the next plan on; withdrawing consent to
        processing blocks use of the account until it is given again."""
        _may_exercise(advisor_id, actor, "withdraw consent")
        now = self._clock.now()
        async with self._uow() as uow:
            advisor = await uow.advisors.get(advisor_id)
            change = withdraw_consent(
                await uow.consents.for_advisor(advisor_id),
                advisor_id=advisor_id,
                purpose=purpose,
                actor=actor,
                now=now,
                event_id=self._ids.new_id(),
                reason=reason,
            )
            if change is None:
                return None
            await uow.consents.end_many(change.records)
            await self._apply(uow, advisor, change.records[0], now)
            await uow.audit.append([attrs.evolve(change.event, request_id=request_id)])
            await uow.commit()
            return change.records[0]

    async def _apply(
        self, uow: UnitOfWork, advisor: Advisor, record: ConsentRecord, now: dt.datetime
    ) -> None:
        """What a consent change means for the account itself: the opt-in stamp or the
        processing block, and on withdrawal of either, the messages already queued for the
        advisor are not sent (they expire with ``consent_withdrawn``)."""
        if record.purpose is ConsentPurpose.WHATSAPP_OPTIN:
            stamp = record.given_at if record.active else None
            if advisor.whatsapp_opt_in_at != stamp:
                await uow.advisors.update(attrs.evolve(advisor, whatsapp_opt_in_at=stamp))
        elif record.purpose is ConsentPurpose.PROCESSING:
            withdrawn = None if record.active else now
            if advisor.processing_withdrawn_at != withdrawn:
                await uow.advisors.update(attrs.evolve(advisor, processing_withdrawn_at=withdrawn))
        else:
            return
        if not record.active:
            await expire_queued(uow, advisor.id, now, f"{record.purpose} withdrawn")

    # --- erasure ------------------------------------------------------------------------

    async def erase_subject(
        self,
        advisor_id: uuid.UUID,
        *,
        actor: Actor,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> ErasureReport:
        """Erase the person (see the module documentation); all of it or, on any error,
        nothing. ``NotFoundError`` for an unknown advisor, ``SubjectErasedError`` for one
        already erased."""
        _may_exercise(advisor_id, actor, "erase subject")
        now = self._clock.now()
        async with self._uow() as uow:
            report = await self._erase(uow, advisor_id, actor, now, reason, request_id)
            await uow.commit()
        return report

    async def _erase(
        self,
        uow: UnitOfWork,
        advisor_id: uuid.UUID,
        actor: Actor,
        now: dt.datetime,
        reason: str | None,
        request_id: str | None,
    ) -> ErasureReport:
        profile = await uow.subjects.profile(advisor_id)
        if profile.erased_at is not None:
            raise SubjectErasedError(advisor_id, profile.erased_at)
        identifiers = [v for v in (profile.name, profile.email, profile.whatsapp_number) if v]
        redacted = [
            clean
            for pack in await _all_packs(uow, advisor_id)
            if (clean := _redacted(pack, identifiers)) is not None
        ]
        if redacted:
            await uow.content.update_many(redacted)
        ended = end_all(await uow.consents.for_advisor(advisor_id), now=now)
        await uow.consents.end_many(ended)
        counts = await uow.subjects.erase(advisor_id, now)
        counts = attrs.evolve(
            counts, consents_ended=len(ended), content_packs_redacted=len(redacted)
        )
        event: AuditDraft = change_event(
            action="privacy.erase",
            entity_type="advisor",
            entity_id=str(advisor_id),
            old=None,
            new={"erased": True, **counts.as_dict()},
            actor=actor,
            now=now,
            event_id=self._ids.new_id(),
            reason=reason,
        )
        await uow.audit.append([attrs.evolve(event, request_id=request_id)])
        return ErasureReport(advisor_id=advisor_id, erased_at=now, counts=counts)

    # --- retention ----------------------------------------------------------------------

    async def purge(self, *, dry_run: bool, actor: Actor | None = None) -> PurgeReport:
        """Apply the retention rules: erase accounts cancelled more than the grace period
        ago, delete what is past retention, and record the run as one audit event (also a
        dry run, which changes nothing else and says what would go)."""
        actor = actor or Actor.system("privacy-purge")
        if actor.role not in _ADMINS:
            raise PermissionDeniedError("purge", "only an admin or the system may")
        now = self._clock.now()
        limits = cutoffs(self.retention, now)
        async with self._uow() as uow:
            lapsed = tuple(await uow.subjects.cancelled_before(limits.personal_data_ended_before))
            if not dry_run:
                for advisor_id in lapsed:
                    await self._erase(uow, advisor_id, actor, now, "retention: purpose ended", None)
            counts, anchor = await uow.subjects.purge(limits, now, dry_run=dry_run)
            counts = attrs.evolve(counts, erased_advisors=len(lapsed))
            new: dict[str, JSON] = {"dry_run": dry_run, **counts.as_dict()}
            if anchor is not None and not dry_run:
                # What remains of the audit chain links to this event's record of the last one
                # deleted, so it still verifies (services/audit.py).
                new["audit_anchor"] = {"sequence": anchor.sequence, "hash": anchor.hash}
            await uow.audit.append(
                [
                    change_event(
                        action="privacy.purge",
                        entity_type="retention",
                        entity_id="purge",
                        old=None,
                        new=new,
                        actor=actor,
                        now=now,
                        event_id=self._ids.new_id(),
                    )
                ]
            )
            await uow.commit()
        return PurgeReport(ran_at=now, dry_run=dry_run, counts=counts, erased=lapsed)


async def expire_queued(uow: UnitOfWork, advisor_id: uuid.UUID, now: dt.datetime, why: str) -> int:
    """Expire the advisor's queued deliveries (code ``consent_withdrawn``): a withdrawn
    consent stops what is already planned, not only the next plan. Returns how many."""
    queued = await _all_deliveries(uow, advisor_id, DeliveryStatus.QUEUED)
    await uow.deliveries.update_many(
        d.expire(now, code="consent_withdrawn", message=why) for d in queued
    )
    return len(queued)


async def _every(fetch: Callable[[int], Awaitable[tuple[Sequence[_T], int]]]) -> list[_T]:
    """Every item of a paged repository read: ``fetch(offset)`` gives a page and the total."""
    found: list[_T] = []
    while True:
        page, total = await fetch(len(found))
        found.extend(page)
        if not page or len(found) >= total:
            return found


async def _all_packs(uow: UnitOfWork, advisor_id: uuid.UUID) -> list[ContentPack]:
    return await _every(
        lambda offset: uow.content.page(advisor_id=advisor_id, limit=_PAGE, offset=offset)
    )


async def _all_deliveries(
    uow: UnitOfWork, advisor_id: uuid.UUID, status: DeliveryStatus | None = None
) -> list[Delivery]:
    return await _every(
        lambda offset: uow.deliveries.page(
            advisor_id=advisor_id, status=status, limit=_PAGE, offset=offset
        )
    )


def _pack_export(pack: ContentPack) -> JSON:
    document = cast(dict[str, JSON], _plain(pack))
    document["content_hash"] = pack.content_hash
    return document


def _delivery_export(delivery: Delivery) -> JSON:
    document = cast(dict[str, JSON], _plain(delivery))
    # An erased person's deliveries keep no number.
    document["to"] = delivery.to or None
    # Worker bookkeeping, not about the person.
    for name in ("lease_owner", "lease_expires_at", "next_attempt_at"):
        document.pop(name, None)
    return document
