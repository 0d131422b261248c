"""Fallback selection (DESIGN.md §3.4): filters hold, scores move the right way, ranks are stable.

The filter checks here are written independently of ``projectone.domain.fallback`` (see
:func:`allowed`), so a test cannot pass by repeating the code's own mistake.
"""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.audit import Actor
from projectone.domain.content import ContentPack, ContentStatus
from projectone.domain.errors import PermissionDeniedError, ValidationError
from projectone.domain.fallback import (
    ALGORITHM_VERSION,
    DEFAULT_WEIGHTS,
    MAX_RUNNER_UPS,
    NO_REUSE_DAYS,
    AdvisorContext,
    Exclusion,
    FallbackCandidate,
    LibraryEntry,
    ScoreBreakdown,
    Selection,
    TriggerReason,
    Weights,
    add_to_library,
    confidence,
    exclusion,
    factors,
    score,
    screen,
    select_fallback,
)
from projectone.domain.language import Language
from projectone.testing.builders import reviewed

# --- strategies -----------------------------------------------------------------------------------

TOPICS = ("sip_basics", "tax_saving", "market_update", "diwali", "insurance")
DATES = st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31))
ADVISOR = uuid.UUID(int=7)

# Few distinct values make equal scores (and so the tie-break) common; the ranges cover the rest.
PRIORITIES = st.sampled_from([0, 50, 100]) | st.integers(0, 100)
UNIT = st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 1)
# Boundaries drawn often: the no-reuse window's last day and the first day after it, expiry
# today and tomorrow.
USED_DAYS_AGO = st.sampled_from([NO_REUSE_DAYS, NO_REUSE_DAYS + 1]) | st.integers(-5, 200)
EXPIRES_IN = st.sampled_from([0, 1]) | st.integers(-60, 120)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def months_for(date: dt.date) -> st.SearchStrategy[frozenset[int]]:
    """Any non-empty set of months, half the time one that contains ``date``'s month."""
    anything = st.frozensets(st.integers(1, 12), min_size=1)
    return anything | anything.map(lambda m: m | {date.month})


@st.composite
def candidates(draw: st.DrawFn, date: dt.date) -> FallbackCandidate:
    """Candidates drawn around ``date``, so each filter both passes and fails often."""
    return FallbackCandidate(
        pack_id=draw(st.uuids()),
        languages=draw(st.frozensets(st.sampled_from(Language), min_size=1)),
        topic=draw(st.sampled_from(TOPICS)),
        applicable_months=draw(months_for(date)),
        expires_on=draw(st.none() | EXPIRES_IN.map(lambda n: date + days(n))),
        priority=draw(PRIORITIES),
        engagement=draw(UNIT),
        quality=draw(PRIORITIES),
        passes_rulebook=draw(st.booleans()),
        created_on=draw(st.integers(-30, 1000).map(lambda n: date - days(n))),
    )


@st.composite
def contexts(draw: st.DrawFn, date: dt.date, pack_ids: list[uuid.UUID]) -> AdvisorContext:
    """An advisor who received some of ``pack_ids`` at some point around ``date``."""
    used = draw(st.lists(st.sampled_from(pack_ids), unique=True)) if pack_ids else []
    return AdvisorContext(
        advisor_id=draw(st.uuids()),
        language=draw(st.sampled_from(Language)),
        topic_affinity=draw(st.dictionaries(st.sampled_from(TOPICS), UNIT)),
        last_used={pid: date - days(draw(USED_DAYS_AGO)) for pid in used},
    )


def weights() -> st.SearchStrategy[Weights]:
    w = st.sampled_from([0.0, 1.0]) | st.floats(0, 10)
    return st.builds(
        Weights,
        priority=w,
        engagement=w,
        topic_affinity=w,
        seasonality=w,
        freshness=w,
        quality=st.floats(0.01, 10),  # keeps the positive sum above zero
        recency=w,
    )


Scenario = tuple[list[FallbackCandidate], AdvisorContext, dt.date]


@st.composite
def scenarios(draw: st.DrawFn, min_size: int = 0, max_size: int = 8) -> Scenario:
    date = draw(DATES)
    offered = draw(
        st.lists(
            candidates(date), min_size=min_size, max_size=max_size, unique_by=lambda c: c.pack_id
        )
    )
    if offered and len(offered) < max_size:
        # Copies under other pack ids, some with another priority: equal scores, so the
        # tie-break decides.
        copies = draw(st.lists(st.sampled_from(offered), max_size=max_size - len(offered)))
        taken = {c.pack_id for c in offered}
        for original in copies:
            pack_id = draw(st.uuids().filter(lambda u: u not in taken))
            taken.add(pack_id)
            priority = draw(st.just(original.priority) | PRIORITIES)
            offered.append(attrs.evolve(original, pack_id=pack_id, priority=priority))
    context = draw(contexts(date, [c.pack_id for c in offered]))
    return offered, context, date


@st.composite
def one_candidate(draw: st.DrawFn) -> tuple[FallbackCandidate, AdvisorContext, dt.date]:
    offered, context, date = draw(scenarios(min_size=1, max_size=1))
    return offered[0], context, date


# --- helpers --------------------------------------------------------------------------------------


def allowed(c: FallbackCandidate, context: AdvisorContext, date: dt.date) -> bool:
    """The filter of DESIGN.md §3.4, restated: 30 whole days must separate two uses."""
    last = context.last_used.get(c.pack_id)
    return (
        context.language in c.languages
        and date.month in c.applicable_months
        and (c.expires_on is None or date < c.expires_on)
        and c.passes_rulebook
        and (last is None or last + days(NO_REUSE_DAYS) < date)
    )


def points(
    c: FallbackCandidate, context: AdvisorContext, date: dt.date, w: Weights = DEFAULT_WEIGHTS
) -> float:
    return score(factors(c, context, date), w).total


def candidate(**changes: object) -> FallbackCandidate:
    base: dict[str, object] = {
        "pack_id": uuid.UUID(int=1),
        "languages": {Language.EN, Language.HI},
        "topic": "tax_saving",
        "applicable_months": {1, 2, 3},
        "expires_on": None,
        "priority": 50,
        "engagement": 0.5,
        "quality": 50,
        "passes_rulebook": True,
        "created_on": dt.date(2026, 1, 1),
    }
    base.update(changes)
    return FallbackCandidate(**base)  # type: ignore[arg-type]


MARCH = dt.date(2026, 3, 15)
HINDI = AdvisorContext(advisor_id=ADVISOR, language=Language.HI)


# --- filters --------------------------------------------------------------------------------------


@given(scenarios())
def test_a_selected_pack_is_in_language_in_season_unexpired_compliant_and_not_recently_reused(
    scenario: Scenario,
) -> None:
    offered, context, date = scenario
    selection = select_fallback(offered, context, date)
    if selection is None:
        return
    chosen = next(c for c in offered if c.pack_id == selection.pack_id)
    assert allowed(chosen, context, date)
    by_id = {c.pack_id: c for c in offered}
    assert all(allowed(by_id[pid], context, date) for pid, _ in selection.runner_ups)


def break_filter(
    c: FallbackCandidate,
    context: AdvisorContext,
    date: dt.date,
    reason: Exclusion,
    data: st.DataObject,
) -> tuple[FallbackCandidate, AdvisorContext]:
    """``c`` and ``context`` changed so that ``c`` fails exactly the filter ``reason``."""
    if reason is Exclusion.LANGUAGE:
        others = sorted(set(Language) - {context.language})
        return attrs.evolve(
            c, languages=data.draw(st.sets(st.sampled_from(others), min_size=1))
        ), context
    if reason is Exclusion.OUT_OF_SEASON:
        other_months = sorted(set(range(1, 13)) - {date.month})
        months = data.draw(st.sets(st.sampled_from(other_months), min_size=1))
        return attrs.evolve(c, applicable_months=months), context
    if reason is Exclusion.EXPIRED:
        return attrs.evolve(c, expires_on=date - days(data.draw(st.integers(0, 400)))), context
    if reason is Exclusion.FAILS_RULEBOOK:
        return attrs.evolve(c, passes_rulebook=False), context
    assert reason is Exclusion.RECENTLY_USED
    ago = data.draw(st.sampled_from([0, NO_REUSE_DAYS]) | st.integers(-30, NO_REUSE_DAYS))
    used = {**context.last_used, c.pack_id: date - days(ago)}
    return c, attrs.evolve(context, last_used=used)


@given(scenarios(min_size=1), st.sampled_from(Exclusion), st.data())
def test_a_pack_failing_any_one_filter_is_never_selected_however_well_it_would_score(
    scenario: Scenario, reason: Exclusion, data: st.DataObject
) -> None:
    offered, context, date = scenario
    # The first candidate made the best it can be and allowed on every count...
    star = attrs.evolve(
        offered[0],
        languages=offered[0].languages | {context.language},
        applicable_months={date.month},
        expires_on=None,
        passes_rulebook=True,
        priority=100,
        engagement=1.0,
        quality=100,
        created_on=date,
    )
    unused = {k: v for k, v in context.last_used.items() if k != star.pack_id}
    context = attrs.evolve(context, last_used=unused)
    assert select_fallback([star, *offered[1:]], context, date) is not None
    # ...then failing just one filter: it is never chosen, and counted under that reason.
    broken, context = break_filter(star, context, date, reason, data)
    assert exclusion(broken, context, date) is reason
    field = [broken, *offered[1:]]
    selection = select_fallback(field, context, date)
    assert selection is None or selection.pack_id != broken.pack_id
    assert selection is None or all(pid != broken.pack_id for pid, _ in selection.runner_ups)
    assert screen(field, context, date)[1][reason.value] >= 1


@given(scenarios())
def test_a_pack_is_selected_exactly_when_at_least_one_qualifies(scenario: Scenario) -> None:
    offered, context, date = scenario
    selection = select_fallback(offered, context, date)
    assert (selection is None) == (not any(allowed(c, context, date) for c in offered))


@given(scenarios())
def test_every_candidate_is_either_qualified_or_counted_once_under_one_reason(
    scenario: Scenario,
) -> None:
    offered, context, date = scenario
    qualified, counts = screen(offered, context, date)
    assert set(counts) == {reason.value for reason in Exclusion}
    assert len(qualified) + sum(counts.values()) == len(offered)
    assert {c.pack_id for c in qualified} == {
        c.pack_id for c in offered if allowed(c, context, date)
    }
    selection = select_fallback(offered, context, date)
    if selection is not None:
        assert selection.considered == len(offered)
        assert selection.filtered_out == counts


# --- ranking --------------------------------------------------------------------------------------


@given(scenarios(), weights())
def test_the_selected_pack_scores_highest_and_the_runner_ups_follow_in_rank_order(
    scenario: Scenario, w: Weights
) -> None:
    offered, context, date = scenario
    selection = select_fallback(offered, context, date, weights=w)
    if selection is None:
        return
    qualified = [c for c in offered if allowed(c, context, date)]
    ranked = sorted(qualified, key=lambda c: (-points(c, context, date, w), -c.priority, c.pack_id))
    assert selection.pack_id == ranked[0].pack_id
    assert all(selection.score >= points(c, context, date, w) for c in qualified)
    expected = [(c.pack_id, points(c, context, date, w)) for c in ranked[1 : 1 + MAX_RUNNER_UPS]]
    assert list(selection.runner_ups) == expected
    scores = [s for _, s in selection.runner_ups]
    assert scores == sorted(scores, reverse=True)
    assert all(s <= selection.score for s in scores)


@given(scenarios(), st.data())
def test_selection_is_deterministic_whatever_the_order_of_the_candidates(
    scenario: Scenario, data: st.DataObject
) -> None:
    offered, context, date = scenario
    shuffled = data.draw(st.permutations(offered))
    first = select_fallback(offered, context, date)
    assert select_fallback(offered, context, date) == first
    assert select_fallback(shuffled, context, date) == first
    assert select_fallback(iter(shuffled), context, date) == first


@given(scenarios(min_size=1))
def test_scores_and_confidence_stay_between_zero_and_one_and_the_breakdown_adds_up(
    scenario: Scenario,
) -> None:
    offered, context, date = scenario
    for c in offered:
        b = score(factors(c, context, date), DEFAULT_WEIGHTS)
        positive = (
            b.priority + b.engagement + b.topic_affinity + b.seasonality + b.freshness + b.quality
        )
        assert 0 <= b.total <= 1
        assert b.total == pytest.approx(min(1.0, max(0.0, positive - b.recency_penalty)))
        assert b.recency_penalty >= 0
    selection = select_fallback(offered, context, date)
    if selection is not None:
        assert 0 <= selection.confidence <= 1
        assert selection.score == selection.breakdown.total


# --- monotonicity ---------------------------------------------------------------------------------


@given(one_candidate(), weights(), st.data())
def test_raising_priority_never_lowers_the_score(
    drawn: tuple[FallbackCandidate, AdvisorContext, dt.date], w: Weights, data: st.DataObject
) -> None:
    c, context, date = drawn
    better = attrs.evolve(c, priority=data.draw(st.integers(c.priority, 100)))
    assert points(better, context, date, w) >= points(c, context, date, w)


@given(one_candidate(), weights(), st.data())
def test_raising_engagement_never_lowers_the_score(
    drawn: tuple[FallbackCandidate, AdvisorContext, dt.date], w: Weights, data: st.DataObject
) -> None:
    c, context, date = drawn
    better = attrs.evolve(c, engagement=data.draw(st.floats(c.engagement, 1)))
    assert points(better, context, date, w) >= points(c, context, date, w)


@given(one_candidate(), weights(), st.data())
def test_raising_quality_never_lowers_the_score(
    drawn: tuple[FallbackCandidate, AdvisorContext, dt.date], w: Weights, data: st.DataObject
) -> None:
    c, context, date = drawn
    better = attrs.evolve(c, quality=data.draw(st.integers(c.quality, 100)))
    assert points(better, context, date, w) >= points(c, context, date, w)


@given(one_candidate(), weights(), st.data())
def test_raising_the_advisors_affinity_for_the_topic_never_lowers_the_score(
    drawn: tuple[FallbackCandidate, AdvisorContext, dt.date], w: Weights, data: st.DataObject
) -> None:
    c, context, date = drawn
    now = context.topic_affinity.get(c.topic, 0.0)
    keener = attrs.evolve(
        context,
        topic_affinity={**context.topic_affinity, c.topic: data.draw(st.floats(now, 1))},
    )
    assert points(c, keener, date, w) >= points(c, context, date, w)


@given(one_candidate(), weights(), st.data())
def test_narrowing_the_season_around_the_date_never_lowers_the_score(
    drawn: tuple[FallbackCandidate, AdvisorContext, dt.date], w: Weights, data: st.DataObject
) -> None:
    c, context, date = drawn
    months = c.applicable_months | {date.month}
    wide = attrs.evolve(c, applicable_months=months)
    kept = data.draw(st.frozensets(st.sampled_from(sorted(months))))
    narrow = attrs.evolve(c, applicable_months=kept | {date.month})
    assert factors(narrow, context, date).seasonality >= factors(wide, context, date).seasonality
    assert points(narrow, context, date, w) >= points(wide, context, date, w)


@given(one_candidate(), weights(), st.data())
def test_a_newer_pack_never_scores_lower_than_the_same_pack_created_earlier(
    drawn: tuple[FallbackCandidate, AdvisorContext, dt.date], w: Weights, data: st.DataObject
) -> None:
    c, context, date = drawn
    newer = attrs.evolve(c, created_on=c.created_on + days(data.draw(st.integers(0, 2000))))
    assert points(newer, context, date, w) >= points(c, context, date, w)


@given(one_candidate(), weights(), st.data())
def test_a_more_recent_reuse_never_raises_the_score(
    drawn: tuple[FallbackCandidate, AdvisorContext, dt.date], w: Weights, data: st.DataObject
) -> None:
    c, context, date = drawn
    last = context.last_used.get(c.pack_id)
    if last is None:  # never sent: any use at all is more recent
        later = date - days(data.draw(st.integers(-5, 2000)))
    else:
        later = last + days(data.draw(st.integers(0, 400)))
    reused = attrs.evolve(context, last_used={**context.last_used, c.pack_id: later})
    assert points(c, reused, date, w) <= points(c, context, date, w)
    assert factors(c, reused, date).recency_penalty >= factors(c, context, date).recency_penalty


@given(scenarios(min_size=1), st.data())
def test_improving_the_selected_pack_never_unseats_it(
    scenario: Scenario, data: st.DataObject
) -> None:
    offered, context, date = scenario
    selection = select_fallback(offered, context, date)
    if selection is None:
        return
    i = next(i for i, c in enumerate(offered) if c.pack_id == selection.pack_id)
    c = offered[i]
    better = attrs.evolve(
        c,
        priority=data.draw(st.integers(c.priority, 100)),
        engagement=data.draw(st.floats(c.engagement, 1)),
        quality=data.draw(st.integers(c.quality, 100)),
    )
    improved = [*offered[:i], better, *offered[i + 1 :]]
    after = select_fallback(improved, context, date)
    assert after is not None
    assert after.pack_id == selection.pack_id
    assert after.score >= selection.score


# --- examples -------------------------------------------------------------------------------------


def test_the_breakdown_of_a_worked_example_shows_each_factors_weighted_contribution() -> None:
    pack = candidate(
        priority=80,
        engagement=0.5,
        quality=60,
        applicable_months={1, 2, 3},
        created_on=MARCH - days(180),  # freshness 180 / (180 + 180) = 0.5
    )
    context = attrs.evolve(
        HINDI,
        topic_affinity={"tax_saving": 0.9},
        last_used={pack.pack_id: MARCH - days(91)},  # 60 days past the window: penalty 0.5
    )
    selection = select_fallback([pack], context, MARCH)
    assert selection is not None
    b = selection.breakdown
    assert b.priority == pytest.approx(0.25 * 0.8)
    assert b.engagement == pytest.approx(0.20 * 0.5)
    assert b.topic_affinity == pytest.approx(0.20 * 0.9)
    assert b.seasonality == pytest.approx(0.10 * 9 / 11)
    assert b.freshness == pytest.approx(0.10 * 0.5)
    assert b.quality == pytest.approx(0.15 * 0.6)
    assert b.recency_penalty == pytest.approx(0.25 * 0.5)
    assert b.total == pytest.approx(0.2 + 0.1 + 0.18 + 0.9 / 11 + 0.05 + 0.09 - 0.125)
    assert selection.score == b.total
    assert selection.confidence == 1.0  # nothing else qualified
    assert selection.runner_ups == ()
    assert selection.algorithm_version == ALGORITHM_VERSION
    assert selection.advisor_id == ADVISOR
    assert selection.date == MARCH
    assert selection.weights == DEFAULT_WEIGHTS
    assert set(b.as_dict()) == {
        "priority",
        "engagement",
        "topic_affinity",
        "seasonality",
        "freshness",
        "quality",
        "recency_penalty",
        "total",
    }


def test_the_default_weights_are_a_weighted_mean_of_the_positive_factors() -> None:
    assert DEFAULT_WEIGHTS.positive_total == pytest.approx(1.0)
    perfect = candidate(
        priority=100, engagement=1.0, quality=100, applicable_months={3}, created_on=MARCH
    )
    context = attrs.evolve(HINDI, topic_affinity={"tax_saving": 1.0})
    assert points(perfect, context, MARCH) == pytest.approx(1.0)


def test_only_the_ratios_of_the_weights_matter() -> None:
    pack = candidate(priority=70, engagement=0.3, quality=40)
    context = attrs.evolve(HINDI, last_used={pack.pack_id: MARCH - days(45)})
    doubled = Weights(**{k: 2 * v for k, v in attrs.asdict(DEFAULT_WEIGHTS).items()})
    assert points(pack, context, MARCH, doubled) == pytest.approx(points(pack, context, MARCH))


def test_a_heavy_recency_penalty_floors_the_score_at_zero() -> None:
    pack = candidate(priority=0, engagement=0.0, quality=0, created_on=MARCH - days(3000))
    context = attrs.evolve(HINDI, last_used={pack.pack_id: MARCH - days(NO_REUSE_DAYS + 1)})
    assert points(pack, context, MARCH, Weights(recency=5.0)) == 0.0


def test_confidence_is_the_winners_relative_margin_over_the_runner_up() -> None:
    assert confidence(0.8, 0.6) == pytest.approx(0.25)
    assert confidence(0.5, 0.5) == 0.0
    assert confidence(0.0, 0.0) == 0.0
    assert confidence(0.3, None) == 1.0


def test_a_selection_reports_its_confidence_against_the_first_runner_up() -> None:
    strong = candidate(pack_id=uuid.UUID(int=1), priority=100, engagement=1.0, quality=100)
    weak = candidate(pack_id=uuid.UUID(int=2), priority=0, engagement=0.0, quality=0)
    selection = select_fallback([weak, strong], HINDI, MARCH)
    assert selection is not None
    assert selection.pack_id == strong.pack_id
    ((runner_up, runner_score),) = selection.runner_ups
    assert runner_up == weak.pack_id
    assert selection.confidence == pytest.approx((selection.score - runner_score) / selection.score)
    assert 0 < selection.confidence < 1


def test_equal_scores_go_to_the_higher_priority_then_the_lower_pack_id() -> None:
    flat = Weights(priority=0.0)  # priority no longer moves the score, only breaks ties
    low = candidate(pack_id=uuid.UUID(int=1), priority=10)
    high = candidate(pack_id=uuid.UUID(int=9), priority=90)
    selection = select_fallback([low, high], HINDI, MARCH, weights=flat)
    assert selection is not None
    assert selection.pack_id == high.pack_id
    assert selection.runner_ups == ((low.pack_id, selection.score),)
    assert selection.confidence == 0.0

    twins = [candidate(pack_id=uuid.UUID(int=n)) for n in (5, 3, 4)]
    selection = select_fallback(twins, HINDI, MARCH)
    assert selection is not None
    assert selection.pack_id == uuid.UUID(int=3)
    assert [pid for pid, _ in selection.runner_ups] == [uuid.UUID(int=4), uuid.UUID(int=5)]


def test_at_most_three_runner_ups_are_kept() -> None:
    offered = [candidate(pack_id=uuid.UUID(int=n), priority=n) for n in range(1, 8)]
    selection = select_fallback(offered, HINDI, MARCH)
    assert selection is not None
    assert selection.pack_id == uuid.UUID(int=7)
    assert [pid for pid, _ in selection.runner_ups] == [uuid.UUID(int=n) for n in (6, 5, 4)]
    assert selection.considered == 7


def test_filtered_out_counts_each_rejected_pack_once_under_its_first_reason() -> None:
    offered = [
        candidate(pack_id=uuid.UUID(int=1)),  # qualifies
        candidate(pack_id=uuid.UUID(int=2), languages={Language.MR}),
        # wrong language and failing the rulebook: counted as language only
        candidate(pack_id=uuid.UUID(int=3), languages={Language.EN}, passes_rulebook=False),
        candidate(pack_id=uuid.UUID(int=4), applicable_months={10, 11}),
        candidate(pack_id=uuid.UUID(int=5), expires_on=MARCH),
        candidate(pack_id=uuid.UUID(int=6), passes_rulebook=False),
        candidate(pack_id=uuid.UUID(int=7)),  # received 10 days ago
    ]
    context = attrs.evolve(HINDI, last_used={uuid.UUID(int=7): MARCH - days(10)})
    selection = select_fallback(offered, context, MARCH, trigger_reason="approval_delay")
    assert selection is not None
    assert selection.pack_id == uuid.UUID(int=1)
    assert selection.considered == 7
    assert selection.trigger_reason is TriggerReason.APPROVAL_DELAY
    assert dict(selection.filtered_out) == {
        "language": 2,
        "out_of_season": 1,
        "expired": 1,
        "fails_rulebook": 1,
        "recently_used": 1,
    }


def test_nothing_is_selected_when_nothing_qualifies_and_screen_says_why() -> None:
    offered = [candidate(pack_id=uuid.UUID(int=1), passes_rulebook=False)]
    assert select_fallback(offered, HINDI, MARCH) is None
    assert select_fallback([], HINDI, MARCH) is None
    qualified, counts = screen(offered, HINDI, MARCH)
    assert qualified == ()
    assert counts["fails_rulebook"] == 1
    assert sum(counts.values()) == 1


@pytest.mark.parametrize(
    ("ago", "qualifies"),
    [(-1, False), (0, False), (1, False), (NO_REUSE_DAYS, False), (NO_REUSE_DAYS + 1, True)],
)
def test_a_pack_comes_back_only_after_thirty_whole_days_without_it(
    ago: int, qualifies: bool
) -> None:
    pack = candidate()
    context = attrs.evolve(HINDI, last_used={pack.pack_id: MARCH - days(ago)})
    assert (select_fallback([pack], context, MARCH) is not None) == qualifies


def test_the_first_allowed_reuse_carries_the_full_recency_penalty_which_then_fades() -> None:
    pack = candidate()

    def penalty(ago: int) -> float:
        context = attrs.evolve(HINDI, last_used={pack.pack_id: MARCH - days(ago)})
        return factors(pack, context, MARCH).recency_penalty

    assert factors(pack, HINDI, MARCH).recency_penalty == 0.0
    assert penalty(NO_REUSE_DAYS + 1) == 1.0
    assert penalty(NO_REUSE_DAYS + 61) == pytest.approx(0.5)
    assert 0 < penalty(3000) < penalty(NO_REUSE_DAYS + 61)


@pytest.mark.parametrize(("expires_in", "qualifies"), [(-1, False), (0, False), (1, True)])
def test_a_pack_expires_on_its_expiry_date(expires_in: int, qualifies: bool) -> None:
    pack = candidate(expires_on=MARCH + days(expires_in))
    assert (select_fallback([pack], HINDI, MARCH) is not None) == qualifies


def test_a_topic_the_advisor_has_no_affinity_for_counts_as_zero() -> None:
    assert factors(candidate(topic="diwali"), HINDI, MARCH).topic_affinity == 0.0


def test_seasonality_favours_packs_made_for_this_month_over_evergreen_ones() -> None:
    assert factors(candidate(applicable_months={3}), HINDI, MARCH).seasonality == 1.0
    evergreen = candidate(applicable_months=set(range(1, 13)))
    assert factors(evergreen, HINDI, MARCH).seasonality == 0.0


def test_two_candidates_with_one_pack_id_are_refused() -> None:
    with pytest.raises(ValidationError) as err:
        select_fallback([candidate(), candidate(priority=90)], HINDI, MARCH)
    assert err.value.field == "candidates"


def test_an_unknown_trigger_reason_or_a_datetime_for_the_date_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        select_fallback([candidate()], HINDI, MARCH, trigger_reason="whim")
    assert err.value.field == "trigger_reason"
    with pytest.raises(ValidationError) as err:
        select_fallback([candidate()], HINDI, dt.datetime(2026, 3, 15, 6, 0))
    assert err.value.field == "date"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pack_id", "not-a-uuid"),
        ("languages", set()),
        ("languages", {"fr"}),
        ("languages", "en"),
        ("topic", "  "),
        ("applicable_months", set()),
        ("applicable_months", {0}),
        ("applicable_months", {13}),
        ("applicable_months", {True}),
        ("expires_on", dt.datetime(2026, 3, 1)),
        ("priority", 101),
        ("priority", -1),
        ("priority", True),
        ("engagement", 1.5),
        ("engagement", float("nan")),
        ("quality", 101),
        ("passes_rulebook", 1),
        ("created_on", "2026-01-01"),
    ],
)
def test_a_candidate_with_a_value_out_of_range_is_refused_naming_the_field(
    field: str, value: object
) -> None:
    with pytest.raises(ValidationError) as err:
        candidate(**{field: value})
    assert err.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"topic_affinity": {"sip_basics": 1.2}}, "topic_affinity.sip_basics"),
        ({"topic_affinity": {"": 0.5}}, "topic_affinity"),
        ({"last_used": {"x": dt.date(2026, 1, 1)}}, "last_used"),
    ],
)
def test_an_advisor_context_with_a_bad_value_is_refused(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        AdvisorContext(advisor_id=ADVISOR, **{"language": "hi", **changes})  # type: ignore[arg-type]
    assert err.value.field == field


def test_weights_must_be_non_negative_and_not_all_zero() -> None:
    with pytest.raises(ValidationError) as err:
        Weights(engagement=-0.1)
    assert err.value.field == "engagement"
    with pytest.raises(ValidationError):
        Weights(priority=0, engagement=0, topic_affinity=0, seasonality=0, freshness=0, quality=0)
    with pytest.raises(ValidationError):
        Weights(freshness=float("inf"))


def test_a_stored_selection_is_checked_when_it_is_loaded_back() -> None:
    breakdown = ScoreBreakdown(
        priority=0.1,
        engagement=0.1,
        topic_affinity=0.0,
        seasonality=0.0,
        freshness=0.1,
        quality=0.1,
        recency_penalty=0.0,
        total=0.4,
    )
    fields: dict[str, object] = {
        "advisor_id": ADVISOR,
        "date": MARCH,
        "pack_id": uuid.UUID(int=1),
        "score": 0.4,
        "breakdown": breakdown,
        "runner_ups": [(uuid.UUID(int=2), 0.3), (uuid.UUID(int=3), 0.2)],
        "confidence": 0.25,
        "trigger_reason": "no_content",
        "considered": 4,
        "filtered_out": {"expired": 1},
    }
    loaded = Selection(**fields)  # type: ignore[arg-type]
    assert loaded.runner_ups == ((uuid.UUID(int=2), 0.3), (uuid.UUID(int=3), 0.2))
    assert loaded.trigger_reason is TriggerReason.NO_CONTENT
    bad_values: list[tuple[dict[str, object], str]] = [
        ({"runner_ups": [(uuid.UUID(int=2), 0.2), (uuid.UUID(int=3), 0.3)]}, "runner_ups"),
        ({"score": 0.5}, "score"),
        ({"confidence": 1.5}, "confidence"),
        ({"considered": 3}, "considered"),
        ({"filtered_out": {"bored": 1}}, "filtered_out"),
    ]
    for bad, field in bad_values:
        with pytest.raises(ValidationError) as err:
            Selection(**{**fields, **bad})  # type: ignore[arg-type]
        assert err.value.field == field


# --- the library ----------------------------------------------------------------------------------


def library_entry(**changes: object) -> LibraryEntry:
    base: dict[str, object] = {
        "pack_id": uuid.UUID(int=1),
        "topic": "diwali",
        "applicable_months": {10, 11},
        "expires_on": dt.date(2027, 1, 1),
        "priority": 90,
        "engagement": 0.6,
        "quality": 85,
        "created_on": dt.date(2026, 9, 1),
    }
    base.update(changes)
    return LibraryEntry(**base)  # type: ignore[arg-type]


def test_a_library_entry_offers_itself_as_a_candidate_in_its_packs_languages() -> None:
    entry = library_entry()
    c = entry.candidate(languages=["hi", Language.MR], passes_rulebook=False)
    assert c == FallbackCandidate(
        pack_id=entry.pack_id,
        languages={Language.HI, Language.MR},
        topic="diwali",
        applicable_months={10, 11},
        expires_on=dt.date(2027, 1, 1),
        priority=90,
        engagement=0.6,
        quality=85,
        passes_rulebook=False,
        created_on=dt.date(2026, 9, 1),
    )
    assert entry.active


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("topic", "x" * 65),
        ("topic", " "),
        ("applicable_months", set()),
        ("priority", 101),
        ("engagement", -0.1),
        ("created_on", dt.datetime(2026, 1, 1)),
        ("active", 1),
    ],
)
def test_a_library_entry_with_a_bad_value_is_refused_naming_the_field(
    field: str, value: object
) -> None:
    with pytest.raises(ValidationError) as err:
        library_entry(**{field: value})
    assert err.value.field == field


def shared_pack(**changes: object) -> ContentPack:
    fields: dict[str, object] = {
        "id": uuid.UUID(int=1),
        "advisor_id": None,
        "topic": "diwali",
        "variants": {"en": {"title": "Happy Diwali", "body": "Best wishes.", "disclaimer": "-"}},
        "status": ContentStatus.APPROVED,
        "created_at": dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
    }
    fields.update(changes)
    return reviewed(ContentPack(**fields))  # type: ignore[arg-type]


NOW = dt.datetime(2026, 9, 1, 6, 0, tzinfo=dt.UTC)


def test_an_approved_shared_pack_joins_the_library_with_an_audit_event() -> None:
    event = add_to_library(library_entry(), shared_pack(), Actor.system(), NOW, uuid.UUID(int=9))
    assert (event.action, event.entity_type, event.entity_id) == (
        "library_add",
        "fallback_library",
        str(uuid.UUID(int=1)),
    )
    assert event.old_values is None
    assert event.new_values is not None
    assert event.new_values["priority"] == 90
    assert event.new_values["active"] is True


@pytest.mark.parametrize(
    "pack",
    [
        shared_pack(advisor_id=uuid.UUID(int=5)),
        shared_pack(status=ContentStatus.DRAFT),
        shared_pack(id=uuid.UUID(int=2)),
    ],
)
def test_only_the_entrys_own_approved_shared_pack_joins_the_library(pack: ContentPack) -> None:
    with pytest.raises(ValidationError):
        add_to_library(library_entry(), pack, Actor.system(), NOW, uuid.UUID(int=9))


def test_an_advisor_cannot_add_to_the_library() -> None:
    advisor = Actor(type="user", id="adv-1", role="advisor")
    with pytest.raises(PermissionDeniedError):
        add_to_library(library_entry(), shared_pack(), advisor, NOW, uuid.UUID(int=9))
