"""Topic families, the seasonal calendar, topic suggestions and topic classification."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.advisor import AdvisorType
from projectone.domain.errors import ValidationError
from projectone.domain.language import Language
from projectone.domain.topics import (
    FESTIVAL_DATES,
    Festival,
    SeasonalWindow,
    TopicFamily,
    TopicSuggestion,
    classify_topic,
    festival_dates,
    festival_in,
    season_on,
    seasonal_windows,
    suggest_topics,
)

ALL = len(TopicFamily)


def scores(date: dt.date, **kwargs: Any) -> dict[TopicFamily, int]:
    return {s.family: s.score for s in suggest_topics(date, limit=ALL, **kwargs)}


def ranking(date: dt.date, **kwargs: Any) -> list[TopicFamily]:
    return [s.family for s in suggest_topics(date, limit=ALL, **kwargs)]


def suggestion(date: dt.date, family: TopicFamily, **kwargs: Any) -> TopicSuggestion:
    return next(s for s in suggest_topics(date, limit=ALL, **kwargs) if s.family is family)


def in_season(family: TopicFamily, date: dt.date) -> bool:
    return any(window.family is family for window in season_on(date))


# -- the calendar -------------------------------------------------------------------------------


def test_festival_dates_are_the_observed_ones() -> None:
    assert FESTIVAL_DATES[2026][Festival.DIWALI] == dt.date(2026, 11, 8)
    assert FESTIVAL_DATES[2025][Festival.DIWALI] == dt.date(2025, 10, 20)
    assert FESTIVAL_DATES[2027][Festival.DIWALI] == dt.date(2027, 10, 29)
    assert FESTIVAL_DATES[2026][Festival.HOLI] == dt.date(2026, 3, 4)
    assert FESTIVAL_DATES[2026][Festival.GUDI_PADWA] == dt.date(2026, 3, 19)
    assert FESTIVAL_DATES[2026][Festival.GANESH_CHATURTHI] == dt.date(2026, 9, 14)
    dates = festival_dates(2026)
    assert dates[Festival.REPUBLIC_DAY] == dt.date(2026, 1, 26)
    assert dates[Festival.INDEPENDENCE_DAY] == dt.date(2026, 8, 15)
    assert list(dates.values()) == sorted(dates.values())
    # A year without a row still has the fixed festivals.
    assert set(festival_dates(2040)) == {Festival.REPUBLIC_DAY, Festival.INDEPENDENCE_DAY}


@pytest.mark.parametrize("year", sorted(FESTIVAL_DATES))
def test_every_listed_year_has_every_festival_in_that_year(year: int) -> None:
    dates = festival_dates(year)
    assert set(dates) == set(Festival)
    assert all(date.year == year for date in dates.values())


def test_tax_season_runs_from_january_to_march() -> None:
    assert in_season(TopicFamily.TAX_SAVING, dt.date(2026, 1, 1))
    assert in_season(TopicFamily.TAX_SAVING, dt.date(2026, 3, 31))
    assert not in_season(TopicFamily.TAX_SAVING, dt.date(2026, 4, 1))
    assert not in_season(TopicFamily.TAX_SAVING, dt.date(2025, 12, 31))


def test_the_new_year_window_crosses_the_year_end() -> None:
    assert in_season(TopicFamily.GOAL_PLANNING, dt.date(2025, 12, 28))
    assert in_season(TopicFamily.GOAL_PLANNING, dt.date(2026, 1, 3))


# -- suggestions --------------------------------------------------------------------------------


def test_the_budget_leads_at_the_end_of_january() -> None:
    top = suggest_topics(dt.date(2026, 1, 30), limit=1)
    assert top[0].family is TopicFamily.BUDGET_DAY
    assert "Union Budget: 1 Feb" in top[0].reasons


def test_tax_season_is_a_reason() -> None:
    tax = suggestion(dt.date(2026, 1, 12), TopicFamily.TAX_SAVING)
    assert "tax season: 1 Jan–31 Mar" in tax.reasons


def test_diwali_2026_lifts_festival_greetings() -> None:
    before = suggestion(dt.date(2026, 11, 3), TopicFamily.FESTIVAL_GREETING)
    assert "Diwali: 8 Nov" in before.reasons
    assert suggestion(dt.date(2026, 11, 20), TopicFamily.FESTIVAL_GREETING).score < before.score


def test_gudi_padwa_counts_more_for_marathi_readers() -> None:
    date = dt.date(2026, 3, 17)
    marathi = suggestion(date, TopicFamily.FESTIVAL_GREETING, languages=[Language.MR])
    english = suggestion(date, TopicFamily.FESTIVAL_GREETING, languages=["en"])
    assert marathi.score > english.score
    assert "close to your Marathi readers" in marathi.reasons


def test_interests_and_advisor_type_are_reasons() -> None:
    date = dt.date(2026, 6, 10)
    sip = suggestion(
        date, TopicFamily.SIP_EDUCATION, interests=["sip_education"], advisor_type="MFD"
    )
    assert "one of your interests" in sip.reasons
    assert "suits a mutual fund distributor's clients" in sip.reasons


def test_recent_use_says_when() -> None:
    date = dt.date(2026, 6, 10)
    sip = suggestion(
        date,
        TopicFamily.SIP_EDUCATION,
        recent=[(TopicFamily.SIP_EDUCATION, dt.date(2026, 6, 7)), ("sip_education", date)],
    )
    assert "you wrote about this today (2 posts within 30 days)" in sip.reasons
    one = suggestion(
        date, TopicFamily.SIP_EDUCATION, recent=[("sip_education", dt.date(2026, 6, 7))]
    )
    assert "you wrote about this 3 days ago" in one.reasons
    planned = suggestion(
        date, TopicFamily.SIP_EDUCATION, recent=[("sip_education", dt.date(2026, 6, 12))]
    )
    assert "you have this planned in 2 days" in planned.reasons
    old = suggestion(
        date, TopicFamily.SIP_EDUCATION, recent=[("sip_education", dt.date(2026, 1, 1))]
    )
    assert old == suggestion(date, TopicFamily.SIP_EDUCATION)


def test_a_suggestion_as_a_document() -> None:
    top = suggest_topics(dt.date(2026, 1, 30), limit=1)[0]
    assert top.as_dict() == {
        "family": "budget_day",
        "score": top.score,
        "reasons": list(top.reasons),
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": -3},
        {"limit": True},
        {"limit": 2.5},
        {"interests": ["crypto_tips"]},
        {"interests": "sip_education"},
        {"recent": [("crypto_tips", dt.date(2026, 1, 1))]},
        {"recent": [("sip_education",)]},
        {"recent": [("sip_education", "2026-01-01")]},
        {"recent": [("sip_education", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))]},
        {"recent": "sip_education"},
        {"advisor_type": "BANK"},
        {"languages": ["fr"]},
    ],
)
def test_bad_input_is_a_validation_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        suggest_topics(dt.date(2026, 1, 12), **kwargs)


def test_a_datetime_is_not_a_date() -> None:
    with pytest.raises(ValidationError):
        suggest_topics(dt.datetime(2026, 1, 12, tzinfo=dt.UTC))
    with pytest.raises(ValidationError):
        season_on("2026-01-12")  # type: ignore[arg-type]


# -- properties ---------------------------------------------------------------------------------

dates = st.dates(min_value=dt.date(2024, 6, 1), max_value=dt.date(2028, 6, 30))
families = st.sampled_from(list(TopicFamily))
offsets = st.integers(min_value=-45, max_value=45)
# Recent uses as (family, days before the date), so they can be placed relative to any date.
relative_uses = st.lists(st.tuples(families, offsets), max_size=6)
advisor_types = st.none() | st.sampled_from(list(AdvisorType))
languages = st.lists(st.sampled_from(list(Language)), unique=True, max_size=3)


def placed(uses: list[tuple[TopicFamily, int]], date: dt.date) -> list[tuple[TopicFamily, dt.date]]:
    return [(family, date - dt.timedelta(days=days)) for family, days in uses]


@given(
    date=dates,
    interests=st.lists(families, max_size=4),
    uses=relative_uses,
    kind=advisor_types,
    spoken=languages,
    limit=st.integers(min_value=1, max_value=ALL + 3),
)
def test_suggestions_are_deterministic_unique_ordered_and_limited(
    date: dt.date,
    interests: list[TopicFamily],
    uses: list[tuple[TopicFamily, int]],
    kind: AdvisorType | None,
    spoken: list[Language],
    limit: int,
) -> None:
    recent = placed(uses, date)
    kwargs: dict[str, Any] = {
        "interests": interests,
        "recent": recent,
        "advisor_type": kind,
        "languages": spoken,
        "limit": limit,
    }
    first = suggest_topics(date, **kwargs)
    assert first == suggest_topics(date, **kwargs)
    # The order of the inputs does not matter either.
    shuffled = {**kwargs, "interests": interests[::-1], "recent": recent[::-1]}
    assert first == suggest_topics(date, **shuffled)
    assert len(first) == min(limit, ALL)
    assert len({s.family for s in first}) == len(first)
    assert [(-s.score, s.family.value) for s in first] == sorted(
        (-s.score, s.family.value) for s in first
    )
    assert all(s.reasons for s in first)


@given(
    date=dates,
    interests=st.lists(families, max_size=4),
    uses=relative_uses,
    family=families,
    offset=offsets,
    kind=advisor_types,
)
def test_a_recent_use_never_lifts_a_family(
    date: dt.date,
    interests: list[TopicFamily],
    uses: list[tuple[TopicFamily, int]],
    family: TopicFamily,
    offset: int,
    kind: AdvisorType | None,
) -> None:
    without = {"interests": interests, "recent": placed(uses, date), "advisor_type": kind}
    with_use = {**without, "recent": placed([*uses, (family, offset)], date)}
    assert scores(date, **with_use)[family] <= scores(date, **without)[family]
    assert ranking(date, **with_use).index(family) >= ranking(date, **without).index(family)
    # The nearer the use, the larger the penalty.
    nearer = {**without, "recent": placed([*uses, (family, offset // 2)], date)}
    assert scores(date, **nearer)[family] <= scores(date, **with_use)[family]


@given(date=dates, interests=st.lists(families, max_size=4), uses=relative_uses, family=families)
def test_an_interest_never_lowers_a_family(
    date: dt.date,
    interests: list[TopicFamily],
    uses: list[tuple[TopicFamily, int]],
    family: TopicFamily,
) -> None:
    recent = placed(uses, date)
    before = scores(date, interests=interests, recent=recent)
    after = scores(date, interests=[*interests, family], recent=recent)
    assert after[family] >= before[family]
    assert ranking(date, interests=[*interests, family], recent=recent).index(family) <= (
        ranking(date, interests=interests, recent=recent).index(family)
    )


WINDOWS = [window for year in (2025, 2026, 2027) for window in seasonal_windows(year)]


@given(
    data=st.data(),
    window=st.sampled_from(WINDOWS),
    interests=st.lists(families, max_size=4),
    uses=relative_uses,
    kind=advisor_types,
    spoken=languages,
)
def test_a_family_in_season_scores_above_itself_out_of_season(
    data: st.DataObject,
    window: SeasonalWindow,
    interests: list[TopicFamily],
    uses: list[tuple[TopicFamily, int]],
    kind: AdvisorType | None,
    spoken: list[Language],
) -> None:
    family = window.family
    first = data.draw(st.dates(min_value=window.start, max_value=window.end), label="in season")
    second = data.draw(dates.filter(lambda d: not in_season(family, d)), label="out of season")
    common = {"interests": interests, "advisor_type": kind, "languages": spoken}
    score_in = scores(first, recent=placed(uses, first), **common)[family]
    score_out = scores(second, recent=placed(uses, second), **common)[family]
    assert score_in > score_out


def test_mondays_bring_the_market_note() -> None:
    monday, tuesday = dt.date(2026, 6, 8), dt.date(2026, 6, 9)
    note = suggestion(monday, TopicFamily.MARKET_UPDATE)
    assert "Monday: the week's market note" in note.reasons
    assert note.score > suggestion(tuesday, TopicFamily.MARKET_UPDATE).score


@given(date=dates)
def test_every_family_scores_on_every_date(date: dt.date) -> None:
    assert set(scores(date)) == set(TopicFamily)


# -- what a topic is about ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("SIP basics", TopicFamily.SIP_EDUCATION),
        ("Why SIPs work", TopicFamily.SIP_EDUCATION),
        ("एसआईपी क्या है", TopicFamily.SIP_EDUCATION),
        ("Nifty volatility this week", TopicFamily.MARKET_UPDATE),
        ("शेअर बाजारातील चढ-उतार", TopicFamily.MARKET_UPDATE),
        ("Save tax under 80C", TopicFamily.TAX_SAVING),
        ("ELSS vs PPF", TopicFamily.TAX_SAVING),
        ("कर बचत के उपाय", TopicFamily.TAX_SAVING),
        ("टॅक्स वाचवा", TopicFamily.TAX_SAVING),
        ("Goals for my child's education", TopicFamily.GOAL_PLANNING),
        ("आर्थिक उद्दिष्टे", TopicFamily.GOAL_PLANNING),
        ("Happy Diwali", TopicFamily.FESTIVAL_GREETING),
        ("Diwali SIP", TopicFamily.FESTIVAL_GREETING),
        ("दिवाळीच्या शुभेच्छा", TopicFamily.FESTIVAL_GREETING),
        ("गुढीपाडवा", TopicFamily.FESTIVAL_GREETING),
        ("होली की शुभकामनाएँ", TopicFamily.FESTIVAL_GREETING),
        ("How to retire early", TopicFamily.RETIREMENT_PLANNING),
        ("रिटायरमेंट प्लानिंग", TopicFamily.RETIREMENT_PLANNING),
        ("निवृत्तीनंतरचे नियोजन", TopicFamily.RETIREMENT_PLANNING),
        ("Build an emergency fund", TopicFamily.EMERGENCY_FUND),
        ("आपातकालीन फंड", TopicFamily.EMERGENCY_FUND),
        ("Term insurance basics", TopicFamily.INSURANCE_BASICS),
        ("आरोग्य विमा", TopicFamily.INSURANCE_BASICS),
        ("Asset allocation and rebalancing", TopicFamily.DIVERSIFICATION),
        ("Union Budget 2026", TopicFamily.BUDGET_DAY),
        ("अर्थसंकल्प २०२६", TopicFamily.BUDGET_DAY),
    ],
)
def test_topics_map_to_families(text: str, family: TopicFamily) -> None:
    assert classify_topic(text) is family


@pytest.mark.parametrize("text", ["hello world", "taxi fares", "gossip", "   "])
def test_unknown_topics_map_to_nothing(text: str) -> None:
    assert classify_topic(text) is None


@pytest.mark.parametrize(
    ("text", "festival"),
    [
        ("Happy Diwali!", Festival.DIWALI),
        ("दीपावली", Festival.DIWALI),
        ("Diwali Padwa wishes", Festival.DIWALI),
        ("Gudi Padwa greetings", Festival.GUDI_PADWA),
        ("गणेशोत्सवाच्या शुभेच्छा", Festival.GANESH_CHATURTHI),
        ("दसऱ्याच्या शुभेच्छा", Festival.DUSSEHRA),
        ("मकर संक्रांतीच्या शुभेच्छा", Festival.MAKAR_SANKRANTI),
        ("Republic Day", Festival.REPUBLIC_DAY),
        ("festive season", None),
    ],
)
def test_festivals_are_recognised(text: str, festival: Festival | None) -> None:
    assert festival_in(text) is festival


def test_classifying_needs_text() -> None:
    with pytest.raises(ValidationError):
        classify_topic(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        festival_in(None)  # type: ignore[arg-type]
