"""The morning run: plan one delivery per reachable advisor, then send what is due.

Planning (DESIGN.md §3.4, docs/library.md) re-checks each advisor's approved or scheduled pack
for the date against the rulebook in force; a pack that the rulebook now blocks is pulled (an
audited transition back to rejected). Advisors left with nothing to send get a fallback pack
chosen from the shared library by :func:`projectone.domain.fallback.select_fallback`, stored
with its explanation; those for whom no library pack qualifies are reported.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping, Sequence

import attrs

from projectone.domain import approval
from projectone.domain.advisor import Advisor
from projectone.domain.approval import Transition
from projectone.domain.audit import Actor
from projectone.domain.compliance.rulebook import Rulebook
from projectone.domain.content import ContentPack, message_hash
from projectone.domain.delivery import Channel, Delivery, Variant
from projectone.domain.errors import (
    ConflictError,
    ValidationError,
)
from projectone.domain.fallback import (
    AdvisorContext,
    FallbackCandidate,
    LibraryEntry,
    SelectionRecord,
    TriggerReason,
    select_fallback,
)
from projectone.domain.language import Language
from projectone.domain.sla import SlaSummary, summarize
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from projectone.services.fallback import recheck

__all__ = ["PLANNER", "MorningService", "PlanResult"]

_log = logging.getLogger(__name__)

# Planning runs in one transaction; a concurrent planner that committed first makes ours
# conflict, and a fresh attempt then sees its deliveries and adds only what is missing.
_PLAN_ATTEMPTS = 3

#: Who the planner is in the audit trail (it pulls packs the current rulebook blocks).
PLANNER = Actor.system("morning-planner")
# How far back the planner looks for an advisor's earlier fallbacks. Within NO_REUSE_DAYS a
# pack is refused; after that its recency penalty fades (half-life 60 days) and a use older
# than this counts as none (a year on, the penalty is down to about a sixth).
RECENCY_LOOKBACK_DAYS = 365
_BLOCK = "block"


@attrs.frozen(kw_only=True)
class PlanResult:
    """What one planning run did for ``date``.

    ``planned`` deliveries were created by this run, ``fallbacks`` of them with a pack of the
    fallback library; ``already_planned`` advisors had theirs from an earlier run. ``pulled``
    are the packs the re-check against the current rulebook pulled (their advisors got a
    fallback where one qualified); ``without_content`` the advisors left with nothing to send;
    ``unreadable`` those left out because their personal data does not open.
    """

    date: dt.date
    planned: int
    already_planned: int
    without_content: tuple[uuid.UUID, ...]
    fallbacks: int = 0
    pulled: tuple[uuid.UUID, ...] = ()
    #: Reachable advisors left out because their personal data does not open (a missing or
    #: damaged data key): nothing could be sent to them, and they did not stop the others.
    unreadable: tuple[uuid.UUID, ...] = ()

    @property
    def total(self) -> int:
        return self.planned + self.already_planned


@attrs.define
class _Fallbacks:
    deliveries: list[Delivery] = attrs.field(factory=list)
    records: list[SelectionRecord] = attrs.field(factory=list)
    missing: list[uuid.UUID] = attrs.field(factory=list)


def _language_of(pack: ContentPack, advisor: Advisor) -> Language | None:
    """The advisor's most preferred language the pack is written in, if any."""
    try:
        language, _ = pack.variant_for(advisor.languages)
    except ValidationError:
        return None
    return language


@attrs.define
class MorningService:
    """Use cases of the morning run over the ports they need."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    #: The rulebook in force: packs are re-checked against it before they are planned.
    rulebook: Rulebook

    async def plan_morning(self, date: dt.date) -> PlanResult:
        """Queue one WhatsApp post for ``date`` per active, opted-in advisor.

        Each advisor's newest approved or scheduled pack for the date is re-checked against
        the rulebook first; one it now blocks is pulled (audited) and, like an advisor with no
        pack at all, replaced by a fallback from the library, with the selection stored.
        Everything for the date is written in one unit of work; running it again creates
        nothing new."""
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
            reachable = await uow.advisors.list_reachable()
            advisors = reachable.advisors
            if reachable.unreadable:
                _log.error(
                    "%d advisors left out of the plan for %s: their personal data does not open "
                    "(data key missing or damaged): %s",
                    len(reachable.unreadable),
                    date,
                    ", ".join(str(i) for i in reachable.unreadable),
                )
            existing = await uow.deliveries.keys_for_date(date)
            todo = [a for a in advisors if (a.id, Channel.WHATSAPP, Variant.POST) not in existing]
            packs = await uow.content.sendable_for([a.id for a in todo], date)
            new: list[Delivery] = []
            needs: dict[uuid.UUID, TriggerReason] = {}
            pulls: list[Transition] = []
            for advisor in todo:
                pack = packs.get(advisor.id)
                language = None if pack is None else _language_of(pack, advisor)
                if pack is None or language is None:
                    needs[advisor.id] = TriggerReason.NO_CONTENT
                    continue
                # An advisor's pack is theirs alone: one check per pack is one per advisor.
                outcome = recheck(self.rulebook, pack, advisor, date)
                if outcome.verdict == _BLOCK:
                    pulls.append(approval.pull(pack, PLANNER, now, self.ids.new_id(), outcome))
                    needs[advisor.id] = TriggerReason.COMPLIANCE_FAILURE
                    continue
                new.append(self._delivery(advisor, pack, language, date, now))
            needy = [a for a in todo if a.id in needs]
            fallback = await self._fallbacks(uow, needy, needs, date, now)
            for pull in pulls:
                await uow.content.update(pull.pack)
            await uow.audit.append([pull.event for pull in pulls])
            await uow.fallbacks.add_selections(fallback.records)
            await uow.deliveries.add_many([*new, *fallback.deliveries])
            await uow.commit()
        return PlanResult(
            date=date,
            planned=len(new) + len(fallback.deliveries),
            already_planned=len(advisors) - len(todo),
            without_content=tuple(fallback.missing),
            fallbacks=len(fallback.deliveries),
            pulled=tuple(pull.pack.id for pull in pulls),
            unreadable=reachable.unreadable,
        )

    def _delivery(
        self,
        advisor: Advisor,
        pack: ContentPack,
        language: Language,
        date: dt.date,
        now: dt.datetime,
        *,
        fallback: bool = False,
    ) -> Delivery:
        return Delivery.plan(
            id=self.ids.new_id(),
            advisor_id=advisor.id,
            pack_id=pack.id,
            date=date,
            send_time=advisor.send_time,
            language=language,
            to=advisor.whatsapp_number,
            content_hash=pack.content_hash,
            message_hash=message_hash(pack.variants[language].render()),
            now=now,
            fallback=fallback,
        )

    async def _fallbacks(
        self,
        uow: UnitOfWork,
        advisors: Sequence[Advisor],
        needs: Mapping[uuid.UUID, TriggerReason],
        date: dt.date,
        now: dt.datetime,
    ) -> _Fallbacks:
        """A fallback delivery (and its stored selection) for each of ``advisors`` for whom
        a library pack qualifies; the others are ``missing``."""
        out = _Fallbacks()
        if not advisors:
            return out
        wanted = {a.id for a in advisors}
        # A selection stored without its delivery (a delivery removed by hand) is kept, not
        # made again: there is one selection per advisor and date.
        earlier = {
            r.advisor_id: r
            for r in await uow.fallbacks.selections_for(date)
            if r.advisor_id in wanted
        }
        entries = await uow.fallbacks.entries()
        packs = await uow.content.get_many(
            [*(e.pack_id for e in entries), *(r.pack_id for r in earlier.values())]
        )
        candidates = self._candidates(entries, packs, date)
        used = await uow.fallbacks.last_used(
            [a.id for a in advisors if a.id not in earlier],
            since=date - dt.timedelta(days=RECENCY_LOOKBACK_DAYS),
        )
        for advisor in advisors:
            record = earlier.get(advisor.id)
            if record is None:
                record = self._select(
                    advisor, candidates, used.get(advisor.id, {}), date, now, needs
                )
                if record is None:
                    out.missing.append(advisor.id)
                    continue
                out.records.append(record)
            pack = packs[record.pack_id]
            language = _language_of(pack, advisor)
            if language is None or not pack.sendable:
                out.missing.append(advisor.id)
                continue
            out.deliveries.append(self._delivery(advisor, pack, language, date, now, fallback=True))
        return out

    def _candidates(
        self,
        entries: Sequence[LibraryEntry],
        packs: Mapping[uuid.UUID, ContentPack],
        date: dt.date,
    ) -> list[FallbackCandidate]:
        """The library as the selection sees it, each pack checked once against the rulebook
        in force on ``date``. A pack that is no longer approved is not offered at all."""
        candidates = []
        for entry in entries:
            pack = packs[entry.pack_id]
            if not pack.sendable or pack.approved_hash != pack.content_hash:
                continue
            outcome = recheck(self.rulebook, pack, None, date)
            candidates.append(
                entry.candidate(languages=pack.languages, passes_rulebook=outcome.verdict != _BLOCK)
            )
        return candidates

    def _select(
        self,
        advisor: Advisor,
        candidates: Sequence[FallbackCandidate],
        last_used: Mapping[uuid.UUID, dt.date],
        date: dt.date,
        now: dt.datetime,
        needs: Mapping[uuid.UUID, TriggerReason],
    ) -> SelectionRecord | None:
        """The best library pack in the advisor's most preferred language that has one."""
        for language in advisor.languages:
            context = AdvisorContext(advisor_id=advisor.id, language=language, last_used=last_used)
            selection = select_fallback(candidates, context, date, trigger_reason=needs[advisor.id])
            if selection is not None:
                return SelectionRecord(
                    id=self.ids.new_id(),
                    selection=selection,
                    rulebook_version=self.rulebook.version,
                    selected_at=now,
                )
        return None

    async def sla_summary(self, date: dt.date) -> SlaSummary:
        """The SLA figures of ``date`` as of now."""
        async with self.uow_factory() as uow:
            deliveries = await uow.deliveries.for_date(date)
        return summarize(deliveries, self.clock.now())
