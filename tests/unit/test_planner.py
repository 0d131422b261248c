"""The morning planner: re-check against the current rulebook, pulls, fallbacks (fakes only)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from importlib import resources
from typing import Any

import attrs
import pytest

from projectone.adapters.rulebook_files import default_rulebook
from projectone.domain import (
    Advisor,
    ContentPack,
    ContentStatus,
    ContentType,
    ContentVariant,
    Language,
    ValidationError,
)
from projectone.domain.audit import ActorType, Role, verify_chain
from projectone.domain.compliance import Verdict
from projectone.domain.compliance.rulebook import Rulebook, parse_rulebook
from projectone.domain.fallback import (
    ALL_MONTHS,
    NO_REUSE_DAYS,
    Exclusion,
    LibraryEntry,
    TriggerReason,
)
from projectone.services import CatalogService, MorningService
from projectone.services.compliance import ComplianceService
from projectone.services.fallback import FallbackLibraryService
from projectone.services.morning import PLANNER
from projectone.testing.builders import reviewed
from projectone.testing.demo_data import demo_advisors, demo_library, demo_packs
from projectone.testing.fakes import (
    InMemoryUnitOfWorkFactory,
    ManualClock,
    SequentialIds,
)

DAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)  # 05:30 in India
CURATOR = PLANNER  # any system actor may add to the library


def stricter_rulebook() -> Rulebook:
    """The default rulebook, then a new version that also blocks any mention of emergencies:
    packs approved under the old one may now fail."""
    text = resources.files("projectone.rulebooks").joinpath("sebi_amfi.toml").read_text("utf-8")
    text = text.replace('version = "2026.11.0"', 'version = "2026.12.0-test"', 1)
    text += """
[[rules]]
id = "TEST-NO-EMERGENCY"
name = "Emergencies are off limits"
category = "platform_policy"
severity = "critical"
order = 9999
when = '''CONTAINS(text, ['emergency', 'आपातकालीन', 'आपत्कालीन'])'''
message = "Emergencies are no longer a topic."
suggestion = "Pick another topic."
reference = "test"
"""
    return parse_rulebook(text)


@attrs.define
class World:
    uow: InMemoryUnitOfWorkFactory
    clock: ManualClock
    ids: SequentialIds
    catalog: CatalogService
    library: FallbackLibraryService
    numbered: int = 0

    def planner(self, rulebook: Rulebook | None = None) -> MorningService:
        return MorningService(
            uow_factory=self.uow,
            clock=self.clock,
            ids=self.ids,
            rulebook=rulebook or default_rulebook(),
        )

    def advisors(self, n: int, **changes: Any) -> list[Advisor]:
        made = demo_advisors(n, ids=self.ids, now=self.clock.now(), start=self.numbered)
        self.numbered += n
        return [attrs.evolve(a, **changes) for a in made]

    async def register(
        self, advisors: Sequence[Advisor], packs: Sequence[ContentPack] = ()
    ) -> None:
        await self.catalog.register(advisors, packs)

    async def demo_library(self) -> list[tuple[ContentPack, LibraryEntry]]:
        library = demo_library(ids=self.ids, now=self.clock.now())
        await self.catalog.register([], [p for p, _ in library])
        await self.library.add([e for _, e in library], CURATOR)
        return library

    async def shared_pack(
        self, languages: Sequence[Language], *, priority: int = 50, text: str = "Save steadily"
    ) -> ContentPack:
        """One approved shared pack, in the library (evergreen)."""
        variant = ContentVariant(
            title=text,
            body="A monthly habit of saving is easier to keep than a yearly one.",
            cta="Reply to plan yours.",
            disclaimer="Mutual Fund investments are subject to market risks, read all scheme "
            "related documents carefully.",
        )
        pack = reviewed(
            ContentPack(
                id=self.ids.new_id(),
                advisor_id=None,
                topic="saving",
                type=ContentType.EDUCATIONAL,
                variants=dict.fromkeys(languages, variant),
                status=ContentStatus.APPROVED,
                created_at=self.clock.now(),
                author_id="system:library",
            )
        )
        entry = LibraryEntry(
            pack_id=pack.id,
            topic="saving",
            applicable_months=ALL_MONTHS,
            priority=priority,
            engagement=0.3,
            quality=60,
            created_on=DAY - dt.timedelta(days=100),
        )
        await self.catalog.register([], [pack])
        await self.library.add([entry], CURATOR)
        return pack


@pytest.fixture
def world() -> World:
    uow = InMemoryUnitOfWorkFactory()
    clock = ManualClock(NOW)
    ids = SequentialIds()
    return World(
        uow=uow,
        clock=clock,
        ids=ids,
        catalog=CatalogService(uow_factory=uow, clock=clock, ids=ids),
        library=FallbackLibraryService(uow_factory=uow, clock=clock, ids=ids),
    )


def day(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


# --- no content of their own ----------------------------------------------------------------------


async def test_an_advisor_without_content_gets_a_fallback_and_the_selection_is_stored(
    world: World,
) -> None:
    library = await world.demo_library()
    advisors = world.advisors(3)
    await world.register(advisors, demo_packs(advisors[:2], DAY, ids=world.ids, now=NOW))

    result = await world.planner().plan_morning(DAY)

    assert (result.planned, result.fallbacks, result.without_content) == (3, 1, ())
    store = world.uow.store
    (selection,) = store.selections.values()
    assert selection.advisor_id == advisors[2].id
    assert selection.selection.trigger_reason is TriggerReason.NO_CONTENT
    assert selection.rulebook_version == default_rulebook().version
    assert selection.selected_at == NOW
    assert selection.selection.considered == len(library)
    (fallback,) = [d for d in store.deliveries.values() if d.fallback]
    assert (fallback.advisor_id, fallback.pack_id) == (advisors[2].id, selection.pack_id)
    pack = store.packs[fallback.pack_id]
    assert pack.advisor_id is None
    assert fallback.language == next(
        lang for lang in advisors[2].languages if lang in pack.variants
    )
    assert fallback.content_hash == pack.content_hash
    assert not any(d.fallback for d in store.deliveries.values() if d.advisor_id != advisors[2].id)


async def test_in_november_the_seasonal_diwali_pack_wins_for_every_language(world: World) -> None:
    await world.demo_library()
    advisors = [
        *world.advisors(1, languages=(Language.EN,)),
        *world.advisors(1, languages=(Language.HI,)),
        *world.advisors(1, languages=(Language.MR, Language.EN)),
    ]
    await world.register(advisors)

    result = await world.planner().plan_morning(DAY)

    assert result.fallbacks == 3
    chosen = {
        r.advisor_id: world.uow.store.packs[r.pack_id] for r in world.uow.store.selections.values()
    }
    assert {p.topic for p in chosen.values()} == {"diwali_greetings"}
    by_advisor = {d.advisor_id: d.language for d in world.uow.store.deliveries.values()}
    assert [by_advisor[a.id] for a in advisors] == [Language.EN, Language.HI, Language.MR]


async def test_an_advisor_for_whom_nothing_qualifies_is_reported_without_content(
    world: World,
) -> None:
    await world.shared_pack([Language.EN, Language.HI])
    (advisor,) = world.advisors(1, languages=(Language.MR,))
    await world.register([advisor])

    result = await world.planner().plan_morning(DAY)

    assert (result.planned, result.fallbacks, result.without_content) == (0, 0, (advisor.id,))
    assert world.uow.store.deliveries == {}
    assert world.uow.store.selections == {}


async def test_an_empty_library_leaves_advisors_without_content(world: World) -> None:
    advisors = world.advisors(2)
    await world.register(advisors)
    result = await world.planner().plan_morning(DAY)
    assert set(result.without_content) == {a.id for a in advisors}
    assert result.planned == 0


async def test_library_packs_in_another_language_are_never_chosen(world: World) -> None:
    for n in range(3):
        await world.shared_pack([Language.EN, Language.HI], priority=100, text=f"Popular {n}")
    modest = await world.shared_pack([Language.MR], priority=1)
    marathi = world.advisors(4, languages=(Language.MR,))
    await world.register(marathi)

    result = await world.planner().plan_morning(DAY)

    assert result.fallbacks == 4
    records = list(world.uow.store.selections.values())
    assert {r.pack_id for r in records} == {modest.id}
    assert all(r.selection.filtered_out[Exclusion.LANGUAGE.value] == 3 for r in records)
    assert all(d.language is Language.MR for d in world.uow.store.deliveries.values())


async def test_a_bilingual_advisor_falls_back_to_their_second_language(world: World) -> None:
    english = await world.shared_pack([Language.EN])
    (advisor,) = world.advisors(1, languages=(Language.HI, Language.EN))
    await world.register([advisor])

    await world.planner().plan_morning(DAY)

    (delivery,) = world.uow.store.deliveries.values()
    assert (delivery.pack_id, delivery.language, delivery.fallback) == (
        english.id,
        Language.EN,
        True,
    )


# --- the re-check ---------------------------------------------------------------------------------


async def test_a_pack_the_current_rulebook_blocks_is_pulled_with_an_audit_event_and_replaced(
    world: World,
) -> None:
    await world.demo_library()
    advisors = world.advisors(12, languages=(Language.EN,))
    packs = demo_packs(advisors, DAY, ids=world.ids, now=NOW)
    await world.register(advisors, packs)
    doomed = [p for p in packs if p.topic == "emergency_fund"]
    assert 0 < len(doomed) < len(packs)
    strict = stricter_rulebook()

    result = await world.planner(strict).plan_morning(DAY)

    assert set(result.pulled) == {p.id for p in doomed}
    assert result.fallbacks == len(doomed)
    assert (result.planned, result.without_content) == (12, ())
    store = world.uow.store
    for pack in doomed:
        pulled = store.packs[pack.id]
        assert pulled.status is ContentStatus.REJECTED
        assert not pulled.sendable
        assert pulled.rulebook_version == strict.version
        assert "TEST-NO-EMERGENCY" in pulled.findings
        event = next(e for e in reversed(store.audit) if e.entity_id == str(pack.id))
        assert event.action == "pull"
        assert (event.actor.type, event.actor.role) == (ActorType.SYSTEM, Role.SYSTEM)
        assert event.actor.id == PLANNER.id
        assert event.reason is not None
        assert "TEST-NO-EMERGENCY" in event.reason
        (record,) = [r for r in store.selections.values() if r.advisor_id == pack.advisor_id]
        assert record.selection.trigger_reason is TriggerReason.COMPLIANCE_FAILURE
        assert record.rulebook_version == strict.version
        replacement = store.packs[record.pack_id]
        assert replacement.topic != "emergency_fund"  # the library's own emergency pack fails
    kept = {p.id for p in packs} - {p.id for p in doomed}
    planned = {d.pack_id for d in store.deliveries.values() if not d.fallback}
    assert planned == kept
    assert verify_chain(store.audit).ok


async def test_a_library_pack_the_current_rulebook_blocks_is_never_offered(world: World) -> None:
    library = await world.demo_library()
    emergency = next(p for p, _ in library if p.topic == "emergency_fund")
    advisors = world.advisors(30, languages=(Language.EN,))
    await world.register(advisors)
    # Without the diwali pack (in season, top priority) the evergreen packs share the work.
    diwali = next(e for _, e in library if e.topic == "diwali_greetings")
    async with world.uow() as uow:
        await uow.fallbacks.update_entry(attrs.evolve(diwali, active=False))
        await uow.commit()

    result = await world.planner(stricter_rulebook()).plan_morning(DAY)

    assert result.fallbacks == 30
    records = world.uow.store.selections.values()
    assert all(r.pack_id != emergency.id for r in records)
    assert all(r.selection.filtered_out[Exclusion.FAILS_RULEBOOK.value] == 1 for r in records)
    # The library pack itself is left as it is: it is simply not offered under this rulebook.
    assert world.uow.store.packs[emergency.id].sendable


async def test_each_pack_is_checked_once_and_passing_packs_stay_approved(world: World) -> None:
    advisors = world.advisors(5)
    packs = demo_packs(advisors, DAY, ids=world.ids, now=NOW)
    await world.register(advisors, packs)

    result = await world.planner().plan_morning(DAY)

    assert (result.planned, result.pulled, result.fallbacks) == (5, (), 0)
    assert all(world.uow.store.packs[p.id] == p for p in packs)


# --- idempotence and reuse ------------------------------------------------------------------------


async def test_planning_again_plans_and_selects_nothing_new(world: World) -> None:
    await world.demo_library()
    advisors = world.advisors(20)
    packs = demo_packs(advisors[::2], DAY, ids=world.ids, now=NOW)
    await world.register(advisors, packs)
    planner = world.planner(stricter_rulebook())
    first = await planner.plan_morning(DAY)
    store = world.uow.store
    deliveries, selections, audit = dict(store.deliveries), dict(store.selections), len(store.audit)

    second = await planner.plan_morning(DAY)

    assert first.fallbacks >= 10
    assert (second.planned, second.fallbacks, second.pulled) == (0, 0, ())
    assert second.already_planned == first.planned == 20
    assert store.deliveries == deliveries
    assert store.selections == selections
    assert len(store.audit) == audit


async def test_a_fallback_pack_is_not_sent_to_the_same_advisor_twice_within_thirty_days(
    world: World,
) -> None:
    first = await world.shared_pack([Language.EN], priority=90)
    second = await world.shared_pack([Language.EN], priority=40)
    (advisor,) = world.advisors(1, languages=(Language.EN,))
    await world.register([advisor])
    planner = world.planner()

    def chosen(date: dt.date) -> uuid.UUID | None:
        found = [
            d.pack_id
            for d in world.uow.store.deliveries.values()
            if d.date == date and d.advisor_id == advisor.id
        ]
        return found[0] if found else None

    await planner.plan_morning(day(0))
    await planner.plan_morning(day(1))
    third = await planner.plan_morning(day(2))
    assert (chosen(day(0)), chosen(day(1)), chosen(day(2))) == (first.id, second.id, None)
    assert third.without_content == (advisor.id,)

    # 30 days after its last use a pack is still out; a day later it may come back.
    await planner.plan_morning(day(NO_REUSE_DAYS))
    await planner.plan_morning(day(NO_REUSE_DAYS + 1))
    assert chosen(day(NO_REUSE_DAYS)) is None
    assert chosen(day(NO_REUSE_DAYS + 1)) == first.id
    reuse = next(r for r in world.uow.store.selections.values() if r.date == day(NO_REUSE_DAYS + 1))
    assert reuse.selection.breakdown.recency_penalty > 0
    assert reuse.selection.filtered_out[Exclusion.RECENTLY_USED.value] == 1


async def test_re_planning_an_earlier_morning_does_not_reuse_a_pack_sent_since(
    world: World,
) -> None:
    only = await world.shared_pack([Language.EN])
    (advisor,) = world.advisors(1, languages=(Language.EN,))
    await world.register([advisor])
    planner = world.planner()
    await planner.plan_morning(day(5))
    result = await planner.plan_morning(day(0))
    assert result.without_content == (advisor.id,)
    assert [d.pack_id for d in world.uow.store.deliveries.values()] == [only.id]


# --- the demo library -----------------------------------------------------------------------------


async def test_every_demo_library_pack_passes_the_default_rulebook() -> None:
    compliance = ComplianceService(default_rulebook())
    library = demo_library(ids=SequentialIds(), now=NOW)
    assert len(library) >= 12
    for pack, entry in library:
        result = await compliance.check_content(pack, None)
        assert result.verdict is Verdict.PASS, (pack.topic, result.as_dict()["violations"])
        assert (pack.advisor_id, pack.status, entry.pack_id) == (
            None,
            ContentStatus.APPROVED,
            pack.id,
        )


def test_the_demo_library_has_a_pack_for_every_language_in_every_month() -> None:
    library = demo_library(ids=SequentialIds(), now=NOW)
    for month in range(1, 13):
        for language in Language:
            assert any(
                month in e.applicable_months and language in p.variants for p, e in library
            ), (month, language)
    assert any(len(e.applicable_months) < 12 for _, e in library)  # seasonal packs too


# --- the library service --------------------------------------------------------------------------


async def test_adding_to_the_library_is_audited_and_all_or_nothing(world: World) -> None:
    library = demo_library(ids=world.ids, now=NOW)
    draft = attrs.evolve(library[0][0], id=world.ids.new_id(), status=ContentStatus.DRAFT)
    await world.catalog.register([], [*(p for p, _ in library), draft])
    entries = [e for _, e in library]

    with pytest.raises(ValidationError):
        await world.library.add([*entries, attrs.evolve(entries[0], pack_id=draft.id)], CURATOR)
    assert await world.library.entries() == []

    assert await world.library.add(entries, CURATOR) == len(entries)
    assert list(await world.library.entries()) == sorted(entries, key=lambda e: e.pack_id.int)
    events = [e for e in world.uow.store.audit if e.action == "library_add"]
    assert {e.entity_id for e in events} == {str(e.pack_id) for e in entries}
    assert all(e.actor == CURATOR for e in events)
