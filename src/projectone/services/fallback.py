"""The fallback library (shared packs any advisor may receive) and the rules-only re-check.

The morning planner (``services/morning.py``) re-checks every pack it is about to plan, and
every library pack it might offer, against the rulebook in force on the morning's date. That
re-check is :func:`recheck`: the rules only, no AI reviewer and no auto-fix, because at the
planning cutoff nobody is left to act on a suggestion and a remote reviewer must not decide
whether 2,000 advisors get their post.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs

from projectone.domain.advisor import Advisor
from projectone.domain.approval import ComplianceOutcome
from projectone.domain.audit import Actor
from projectone.domain.compliance import Severity
from projectone.domain.compliance.rulebook import Rulebook, Verdict
from projectone.domain.content import ContentPack
from projectone.domain.fallback import LibraryEntry, add_to_library
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.unit_of_work import UnitOfWorkFactory
from projectone.services.compliance import subject_for

__all__ = ["FallbackLibraryService", "recheck"]

_ORDER = {Verdict.PASS: 0, Verdict.REVIEW: 1, Verdict.BLOCK: 2}


def recheck(
    rulebook: Rulebook, pack: ContentPack, advisor: Advisor | None, on: dt.date
) -> ComplianceOutcome:
    """``pack`` (every language of it) checked by ``rulebook`` as in force ``on``: the worst
    verdict and risk score over its languages, with the rules it breaks.

    ``advisor`` is the pack's advisor (the rules read their type, registration number and
    name); ``None`` for a shared library pack, checked as the workflow approved it.
    """
    reports = [
        rulebook.check(subject_for(variant, language, advisor, pack), on=on)
        for language, variant in pack.variants.items()
    ]
    worst = max(reports, key=lambda r: (_ORDER[r.verdict], r.risk_score))
    violations = [v for r in reports for v in r.violations]
    return ComplianceOutcome(
        verdict=worst.verdict.value,
        risk_score=max(r.risk_score for r in reports),
        rulebook_version=rulebook.version,
        findings=tuple(dict.fromkeys(v.rule_id for v in violations)),
        reasons=tuple(dict.fromkeys(f"{v.rule_id}: {v.message}" for v in violations)),
        requires_human=any(v.requires_human for v in violations),
        critical=any(v.severity is Severity.CRITICAL for v in violations),
    )


@attrs.define
class FallbackLibraryService:
    """Adding packs to the fallback library (each addition audited) and reading it."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def add(
        self, entries: Iterable[LibraryEntry], actor: Actor, *, request_id: str | None = None
    ) -> int:
        """Put approved shared packs in the library, all of them or (on any error) none;
        returns how many. ``ConflictError`` for a pack already in it, ``NotFoundError`` for a
        pack that does not exist, ``ValidationError`` for one that is not shared and
        approved."""
        batch = list(entries)
        now = self.clock.now()
        async with self.uow_factory() as uow:
            packs = await uow.content.get_many(e.pack_id for e in batch)
            events = [
                attrs.evolve(
                    add_to_library(e, packs[e.pack_id], actor, now, self.ids.new_id()),
                    request_id=request_id,
                )
                for e in batch
            ]
            for entry in batch:
                await uow.fallbacks.add_entry(entry)
            await uow.audit.append(events)
            await uow.commit()
        return len(batch)

    async def entries(self, *, active_only: bool = True) -> Sequence[LibraryEntry]:
        """The library, ordered by pack id."""
        async with self.uow_factory() as uow:
            return await uow.fallbacks.entries(active_only=active_only)
