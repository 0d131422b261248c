"""Topic families, the seasonal calendar and topic suggestions.

Every post is about one :class:`TopicFamily` (an SIP explainer, a tax-saving reminder, a festival
greeting…). This module knows three things about families, all pure and deterministic (the date
is passed in):

1. **The calendar** (:func:`season_on`): tax season (1 Jan–31 Mar), the Union Budget (1 Feb, with
   a few days either side), the festivals advisors greet their clients on (dates in
   :data:`FESTIVAL_DATES`, one row per year: extend it a year at a time), the start of the
   financial year (April) and of the calendar year, and Monday's market note.
2. **Suggestions** (:func:`suggest_topics`): families ranked by score, where

       score = base (evergreen weight)
             + INTEREST_BONUS                  when the advisor picked the family
             + the strongest seasonal weight  of the windows the date falls in
             + FIT_BONUS                       when the family suits the advisor type
             + REGIONAL_BONUS                  for a regional festival in the advisor's language
             - sum over uses within RECENT_WINDOW_DAYS of RECENT_PENALTY_PER_DAY * (window - |days|)

   so a family used recently sinks (the nearer the use, the further), an interest or a season
   only ever lifts it, and ties are broken by family name.
3. **What a free-text topic is about** (:func:`classify_topic`, :func:`festival_in`): keyword
   matching in English, Hindi and Marathi, used by the offline content generator.
"""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import attrs

from projectone.domain._validate import to_enum
from projectone.domain.advisor import AdvisorType
from projectone.domain.errors import ValidationError
from projectone.domain.language import Language

__all__ = [
    "FESTIVAL_DATES",
    "FESTIVAL_NAMES",
    "FIXED_FESTIVALS",
    "RECENT_WINDOW_DAYS",
    "Festival",
    "SeasonalWindow",
    "TopicFamily",
    "TopicSuggestion",
    "classify_topic",
    "festival_dates",
    "festival_in",
    "season_on",
    "seasonal_windows",
    "suggest_topics",
]


class TopicFamily(enum.StrEnum):
    SIP_EDUCATION = "sip_education"
    MARKET_UPDATE = "market_update"
    TAX_SAVING = "tax_saving"
    GOAL_PLANNING = "goal_planning"
    FESTIVAL_GREETING = "festival_greeting"
    RETIREMENT_PLANNING = "retirement_planning"
    EMERGENCY_FUND = "emergency_fund"
    INSURANCE_BASICS = "insurance_basics"
    DIVERSIFICATION = "diversification"
    BUDGET_DAY = "budget_day"


class Festival(enum.StrEnum):
    MAKAR_SANKRANTI = "makar_sankranti"
    REPUBLIC_DAY = "republic_day"
    HOLI = "holi"
    GUDI_PADWA = "gudi_padwa"
    INDEPENDENCE_DAY = "independence_day"
    GANESH_CHATURTHI = "ganesh_chaturthi"
    DUSSEHRA = "dussehra"
    DIWALI = "diwali"


#: How each festival is named in reasons (and in English posts).
FESTIVAL_NAMES: Mapping[Festival, str] = {
    Festival.MAKAR_SANKRANTI: "Makar Sankranti",
    Festival.REPUBLIC_DAY: "Republic Day",
    Festival.HOLI: "Holi",
    Festival.GUDI_PADWA: "Gudi Padwa",
    Festival.INDEPENDENCE_DAY: "Independence Day",
    Festival.GANESH_CHATURTHI: "Ganesh Chaturthi",
    Festival.DUSSEHRA: "Dussehra",
    Festival.DIWALI: "Diwali",
}

#: Festivals on the same date every year: (month, day).
FIXED_FESTIVALS: Mapping[Festival, tuple[int, int]] = {
    Festival.REPUBLIC_DAY: (1, 26),
    Festival.INDEPENDENCE_DAY: (8, 15),
}

#: Festivals that follow the lunisolar calendar (Makar Sankranti follows the sun, but moves
#: between 14 and 15 January), by year, as observed in Maharashtra and most of India: Holi is
#: the day of colours (Holika Dahan is the evening before), Diwali is Lakshmi Puja, Ganesh
#: Chaturthi the first day of Ganeshotsav. A year missing here has only the fixed festivals;
#: add the next year's row before it starts.
FESTIVAL_DATES: Mapping[int, Mapping[Festival, dt.date]] = {
    2025: {
        Festival.MAKAR_SANKRANTI: dt.date(2025, 1, 14),
        Festival.HOLI: dt.date(2025, 3, 14),
        Festival.GUDI_PADWA: dt.date(2025, 3, 30),
        Festival.GANESH_CHATURTHI: dt.date(2025, 8, 27),
        Festival.DUSSEHRA: dt.date(2025, 10, 2),
        Festival.DIWALI: dt.date(2025, 10, 20),
    },
    2026: {
        Festival.MAKAR_SANKRANTI: dt.date(2026, 1, 14),
        Festival.HOLI: dt.date(2026, 3, 4),
        Festival.GUDI_PADWA: dt.date(2026, 3, 19),
        Festival.GANESH_CHATURTHI: dt.date(2026, 9, 14),
        Festival.DUSSEHRA: dt.date(2026, 10, 20),
        Festival.DIWALI: dt.date(2026, 11, 8),
    },
    2027: {
        Festival.MAKAR_SANKRANTI: dt.date(2027, 1, 15),
        Festival.HOLI: dt.date(2027, 3, 22),
        Festival.GUDI_PADWA: dt.date(2027, 4, 7),
        Festival.GANESH_CHATURTHI: dt.date(2027, 9, 4),
        Festival.DUSSEHRA: dt.date(2027, 10, 9),
        Festival.DIWALI: dt.date(2027, 10, 29),
    },
}

# How many days before a festival greetings are in season (Diwali's season starts with the
# shopping and Dhanteras), and one day after.
_FESTIVAL_LEAD_DAYS: Mapping[Festival, int] = {Festival.DIWALI: 10}
_DEFAULT_LEAD_DAYS = 7
_FESTIVAL_TRAIL_DAYS = 1
_FESTIVAL_WEIGHT = 45
# Festivals dear to readers of one language get a little more for advisors writing in it.
_REGIONAL: Mapping[Festival, Language] = {
    Festival.GUDI_PADWA: Language.MR,
    Festival.GANESH_CHATURTHI: Language.MR,
}
# Festivals that also suit a money topic: (family, weight, why).
_FESTIVAL_ALSO: Mapping[Festival, tuple[TopicFamily, int, str]] = {
    Festival.GUDI_PADWA: (TopicFamily.GOAL_PLANNING, 10, "Marathi New Year, a time for new goals"),
    Festival.INDEPENDENCE_DAY: (TopicFamily.RETIREMENT_PLANNING, 10, "financial independence"),
    Festival.DIWALI: (TopicFamily.GOAL_PLANNING, 10, "a new beginning for many families"),
}

#: Uses of a family within this many days (before or after the date) lower its score.
RECENT_WINDOW_DAYS = 30
RECENT_PENALTY_PER_DAY = 2
INTEREST_BONUS = 25
FIT_BONUS = 5
REGIONAL_BONUS = 10

# Evergreen weight: what a family scores on an ordinary day for an advisor with no history.
_BASE: Mapping[TopicFamily, int] = {
    TopicFamily.SIP_EDUCATION: 30,
    TopicFamily.GOAL_PLANNING: 25,
    TopicFamily.EMERGENCY_FUND: 22,
    TopicFamily.DIVERSIFICATION: 22,
    TopicFamily.RETIREMENT_PLANNING: 22,
    TopicFamily.INSURANCE_BASICS: 20,
    TopicFamily.MARKET_UPDATE: 20,
    TopicFamily.TAX_SAVING: 12,
    TopicFamily.FESTIVAL_GREETING: 0,
    TopicFamily.BUDGET_DAY: 0,
}
_FIT: Mapping[AdvisorType, frozenset[TopicFamily]] = {
    AdvisorType.RIA: frozenset({TopicFamily.MARKET_UPDATE, TopicFamily.DIVERSIFICATION}),
    AdvisorType.MFD: frozenset({TopicFamily.SIP_EDUCATION, TopicFamily.TAX_SAVING}),
}
_FIT_REASON = {
    AdvisorType.RIA: "suits an investment adviser's clients",
    AdvisorType.MFD: "suits a mutual fund distributor's clients",
}
_LANGUAGE_NAMES = {Language.EN: "English", Language.HI: "Hindi", Language.MR: "Marathi"}


@attrs.frozen(kw_only=True)
class SeasonalWindow:
    """Days (``start`` to ``end``, both included) on which ``family`` is in season."""

    name: str
    family: TopicFamily
    start: dt.date
    end: dt.date
    weight: int
    #: What the reason says, e.g. "tax season: 1 Jan–31 Mar".
    label: str
    festival: Festival | None = None

    def contains(self, date: dt.date) -> bool:
        return self.start <= date <= self.end


@attrs.frozen(kw_only=True)
class TopicSuggestion:
    """A family worth writing about on a date, with its score and why."""

    family: TopicFamily
    score: int
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"family": self.family.value, "score": self.score, "reasons": list(self.reasons)}


# -- the calendar -------------------------------------------------------------------------------


def _day(date: dt.date) -> str:
    return f"{date.day} {date.strftime('%b')}"


def _span(start: dt.date, end: dt.date) -> str:
    return f"{_day(start)}–{_day(end)}"


def festival_dates(year: int) -> dict[Festival, dt.date]:
    """The festivals of ``year`` whose dates are known, in date order."""
    dates = {festival: dt.date(year, m, d) for festival, (m, d) in FIXED_FESTIVALS.items()}
    dates.update(FESTIVAL_DATES.get(year, {}))
    return dict(sorted(dates.items(), key=lambda item: (item[1], item[0].value)))


def seasonal_windows(year: int) -> tuple[SeasonalWindow, ...]:
    """Every window that starts in (or belongs to) ``year``; some run into the next year."""
    windows = [
        SeasonalWindow(
            name="tax season",
            family=TopicFamily.TAX_SAVING,
            start=dt.date(year, 1, 1),
            end=dt.date(year, 3, 31),
            weight=35,
            label="tax season: 1 Jan–31 Mar",
        ),
        SeasonalWindow(
            name="tax season",
            family=TopicFamily.INSURANCE_BASICS,
            start=dt.date(year, 1, 1),
            end=dt.date(year, 3, 31),
            weight=10,
            label="tax season: 1 Jan–31 Mar (health insurance premiums count under 80D)",
        ),
        SeasonalWindow(
            name="Union Budget",
            family=TopicFamily.BUDGET_DAY,
            start=dt.date(year, 1, 25),
            end=dt.date(year, 2, 4),
            weight=70,
            label="Union Budget: 1 Feb",
        ),
        SeasonalWindow(
            name="Union Budget",
            family=TopicFamily.MARKET_UPDATE,
            start=dt.date(year, 1, 25),
            end=dt.date(year, 2, 4),
            weight=10,
            label="Union Budget: 1 Feb (markets react)",
        ),
        SeasonalWindow(
            name="new financial year",
            family=TopicFamily.GOAL_PLANNING,
            start=dt.date(year, 4, 1),
            end=dt.date(year, 4, 30),
            weight=30,
            label="new financial year: 1 Apr–30 Apr",
        ),
        SeasonalWindow(
            name="new year",
            family=TopicFamily.GOAL_PLANNING,
            start=dt.date(year, 12, 26),
            end=dt.date(year + 1, 1, 7),
            weight=25,
            label="new year: 26 Dec–7 Jan",
        ),
    ]
    for festival, date in festival_dates(year).items():
        name = FESTIVAL_NAMES[festival]
        start = date - dt.timedelta(days=_FESTIVAL_LEAD_DAYS.get(festival, _DEFAULT_LEAD_DAYS))
        end = date + dt.timedelta(days=_FESTIVAL_TRAIL_DAYS)
        windows.append(
            SeasonalWindow(
                name=name,
                family=TopicFamily.FESTIVAL_GREETING,
                start=start,
                end=end,
                weight=_FESTIVAL_WEIGHT,
                label=f"{name}: {_day(date)}",
                festival=festival,
            )
        )
        if festival in _FESTIVAL_ALSO:
            family, weight, why = _FESTIVAL_ALSO[festival]
            windows.append(
                SeasonalWindow(
                    name=name,
                    family=family,
                    start=start,
                    end=end,
                    weight=weight,
                    label=f"{name}: {_day(date)} ({why})",
                    festival=festival,
                )
            )
    return tuple(windows)


def season_on(date: dt.date) -> tuple[SeasonalWindow, ...]:
    """The windows ``date`` falls in (Mondays bring the week's market note), ordered by
    weight (highest first), then name."""
    date = _as_date("date", date)
    found = [
        window
        for year in (date.year - 1, date.year)
        for window in seasonal_windows(year)
        if window.contains(date)
    ]
    if date.weekday() == 0:
        found.append(
            SeasonalWindow(
                name="Monday",
                family=TopicFamily.MARKET_UPDATE,
                start=date,
                end=date,
                weight=10,
                label="Monday: the week's market note",
            )
        )
    return tuple(sorted(found, key=lambda w: (-w.weight, w.name, w.family.value, w.label)))


# -- suggestions --------------------------------------------------------------------------------


def _as_date(field: str, value: object) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError(field, value, "must be a calendar date (datetime.date)")
    return value


def _family(field: str, value: object) -> TopicFamily:
    return to_enum(TopicFamily, field, value)


def _recent(value: object) -> list[tuple[TopicFamily, dt.date]]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("recent", value, "must be a list of (topic family, date) pairs")
    uses = []
    for item in value:
        if isinstance(item, str | bytes) or not isinstance(item, Sequence) or len(item) != 2:
            raise ValidationError("recent", item, "each use is a (topic family, date) pair")
        uses.append((_family("recent", item[0]), _as_date("recent", item[1])))
    return uses


def _when(days: int) -> str:
    if days == 0:
        return "you wrote about this today"
    if days == 1:
        return "you wrote about this yesterday"
    if days > 1:
        return f"you wrote about this {days} days ago"
    if days == -1:
        return "you have this planned for tomorrow"
    return f"you have this planned in {-days} days"


def _penalty(days: int) -> int:
    return RECENT_PENALTY_PER_DAY * max(0, RECENT_WINDOW_DAYS - abs(days))


def suggest_topics(
    date: dt.date,
    *,
    interests: Iterable[TopicFamily | str] = (),
    recent: Iterable[tuple[TopicFamily | str, dt.date]] = (),
    advisor_type: AdvisorType | str | None = None,
    languages: Iterable[Language | str] = (),
    limit: int = 5,
) -> tuple[TopicSuggestion, ...]:
    """The ``limit`` best topic families for a post on ``date``, best first.

    ``interests`` are families the advisor likes to write about; ``recent`` the families of
    their recent (or already planned) posts with dates; ``advisor_type`` and ``languages``
    refine the fit. See the module docstring for the score. ``ValidationError`` on bad input.
    """
    date = _as_date("date", date)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError("limit", limit, "must be a whole number >= 1")
    if isinstance(interests, str | bytes):
        raise ValidationError("interests", interests, "must be a list of topic families")
    liked = {_family("interests", value) for value in interests}
    uses = _recent(recent)
    kind = None if advisor_type is None else to_enum(AdvisorType, "advisor_type", advisor_type)
    if isinstance(languages, str | bytes):
        raise ValidationError("languages", languages, "must be a list of language codes")
    spoken = {to_enum(Language, "languages", value) for value in languages}
    season = season_on(date)

    suggestions = []
    for family in TopicFamily:
        score = _BASE[family]
        reasons: list[str] = []
        if family in liked:
            score += INTEREST_BONUS
            reasons.append("one of your interests")
        windows = [w for w in season if w.family is family]
        if windows:
            score += max(w.weight for w in windows)
            reasons.extend(w.label for w in windows)
            regional = sorted(
                {
                    language
                    for w in windows
                    if w.festival is not None
                    and w.family is TopicFamily.FESTIVAL_GREETING
                    and (language := _REGIONAL.get(w.festival)) is not None
                    and language in spoken
                }
            )
            if regional:
                score += REGIONAL_BONUS
                reasons.append(f"close to your {_LANGUAGE_NAMES[regional[0]]} readers")
        if kind is not None and family in _FIT[kind]:
            score += FIT_BONUS
            reasons.append(_FIT_REASON[kind])
        if not reasons:
            reasons.append("an all-year topic" if _BASE[family] else "best kept for its season")
        near = sorted(
            ((date - used).days for f, used in uses if f is family),
            key=lambda days: (abs(days), -days),
        )
        near = [days for days in near if _penalty(days)]
        if near:
            score -= sum(_penalty(days) for days in near)
            extra = (
                f" ({len(near)} posts within {RECENT_WINDOW_DAYS} days)" if len(near) > 1 else ""
            )
            reasons.append(_when(near[0]) + extra)
        suggestions.append(TopicSuggestion(family=family, score=score, reasons=tuple(reasons)))
    suggestions.sort(key=lambda s: (-s.score, s.family.value))
    return tuple(suggestions[:limit])


# -- what a free-text topic is about ------------------------------------------------------------

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def _normalise(text: str) -> str:
    """Casefolded NFC words (letters and marks; digits as ASCII) separated by single spaces,
    with a space at each end, so a keyword is found by a plain substring search."""
    folded = unicodedata.normalize(
        "NFC", unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH).casefold()
    )
    chars = []
    for ch in folded:
        category = unicodedata.category(ch)
        if category[0] in "LM":
            chars.append(ch)
        elif category == "Nd":
            chars.append(str(unicodedata.digit(ch)))
        else:
            chars.append(" ")
    return " " + " ".join("".join(chars).split()) + " "


def _matches(padded: str, keyword: str) -> bool:
    # ASCII keywords are whole words ("tax" is not "taxi"); Devanagari keywords are word
    # starts, so inflected forms match ("दिवाळ" finds "दिवाळीच्या").
    return f" {keyword} " in padded if keyword.isascii() else f" {keyword}" in padded


def _keywords(*entries: tuple[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple((_normalise(word).strip(), weight) for word, weight in entries)


_FESTIVAL_WORDS: Mapping[Festival, tuple[str, ...]] = {
    Festival.MAKAR_SANKRANTI: (
        "makar sankranti", "sankranti", "sankrant", "uttarayan", "pongal",
        "संक्रांत", "संक्रान्त", "उत्तरायण", "पोंगल",
    ),
    Festival.REPUBLIC_DAY: ("republic day", "गणतंत्र", "प्रजासत्ताक"),
    Festival.HOLI: (
        "holi", "dhulivandan", "dhulwad", "rangpanchami",
        "होली", "होळी", "धुलिवंदन", "धुळवड", "रंगपंचमी",
    ),
    Festival.GUDI_PADWA: (
        # Not a bare "padwa": Diwali Padwa (Bali Pratipada) is another festival.
        "gudi padwa", "gudhi padwa", "गुढी", "गुड़ी पड़वा", "गुडी पडवा",
    ),
    Festival.INDEPENDENCE_DAY: (
        "independence day", "स्वतंत्रता दिवस", "स्वाधीनता दिवस", "स्वातंत्र्य दिन", "स्वातंत्र्यदिन",
    ),
    Festival.GANESH_CHATURTHI: (
        "ganesh", "ganesha", "ganpati", "ganapati", "ganeshotsav", "vinayaka chaturthi",
        "गणेश", "गणपती", "गणपति",
    ),
    Festival.DUSSEHRA: (
        "dussehra", "dussera", "dasara", "dasera", "vijayadashami",
        "दशहर", "दसर", "दसऱ", "विजयादशमी",
    ),
    Festival.DIWALI: (
        "diwali", "divali", "deepavali", "deepawali", "dhanteras", "lakshmi puja",
        "दिवाली", "दीवाली", "दीपावली", "दिवाळ", "धनतेरस", "लक्ष्मी पूजन", "लक्ष्मीपूजन",
    ),
}  # fmt: skip

_FESTIVAL_KEYWORDS: Mapping[Festival, tuple[tuple[str, int], ...]] = {
    festival: _keywords(*((word, 2) for word in words))
    for festival, words in _FESTIVAL_WORDS.items()
}

_FAMILY_KEYWORDS: Mapping[TopicFamily, tuple[tuple[str, int], ...]] = {
    TopicFamily.SIP_EDUCATION: _keywords(
        ("sip", 2), ("sips", 2), ("systematic investment", 2), ("step up sip", 2),
        ("rupee cost averaging", 2), ("compounding", 2), ("mutual fund", 1),
        ("mutual funds", 1), ("एसआईपी", 2), ("एसआयपी", 2), ("सिस्टेमैटिक", 2),
        ("सिस्टमैटिक", 2), ("सिस्टिमॅटिक", 2), ("चक्रवृद्धि", 2), ("चक्रवाढ", 2),
        ("कंपाउंडिंग", 2), ("म्यूचुअल फंड", 1), ("म्युच्युअल फंड", 1),
    ),
    TopicFamily.MARKET_UPDATE: _keywords(
        ("market", 1), ("markets", 1), ("nifty", 2), ("sensex", 2), ("stock market", 2),
        ("share market", 2), ("volatility", 2), ("volatile", 2), ("correction", 1),
        ("crash", 1), ("rally", 1), ("bull", 1), ("bear", 1), ("repo rate", 1),
        ("market update", 2), ("बाजार", 1), ("बाज़ार", 1), ("निफ्टी", 2), ("सेंसेक्स", 2),
        ("सेन्सेक्स", 2), ("शेयर बाजार", 2), ("शेअर बाजार", 2), ("अस्थिरता", 2),
        ("उतार-चढ़ाव", 1), ("चढ-उतार", 1), ("गिरावट", 1), ("तेजी", 1), ("मंदी", 1),
    ),
    TopicFamily.TAX_SAVING: _keywords(
        ("tax", 2), ("taxes", 2), ("taxation", 2), ("taxable", 2), ("tax saving", 2),
        ("tax saver", 2), ("80c", 2), ("80d", 2), ("elss", 2), ("itr", 2), ("income tax", 2),
        ("tax regime", 2), ("टैक्स", 2), ("टॅक्स", 2), ("आयकर", 2), ("इनकम टैक्स", 2),
        ("कर बच", 2), ("करबच", 2), ("प्राप्तिकर", 2), ("ईएलएसएस", 2), ("80सी", 2),
    ),
    TopicFamily.GOAL_PLANNING: _keywords(
        ("goal", 2), ("goals", 2), ("financial goal", 2), ("financial planning", 2),
        ("plan", 1), ("planning", 1), ("child education", 2), ("education", 1),
        ("wedding", 1), ("marriage", 1), ("house", 1), ("dream home", 2), ("new year", 2),
        ("financial year", 2), ("लक्ष्य", 2), ("उद्दिष्ट", 2), ("ध्येय", 2), ("पढ़ाई", 1),
        ("शिक्षा", 1), ("शिक्षण", 1), ("शादी", 1), ("विवाह", 1), ("लग्न", 1), ("नियोजन", 1),
        ("वित्तीय योजना", 2), ("नया साल", 2), ("नवीन वर्ष", 2), ("नववर्ष", 2),
    ),
    TopicFamily.FESTIVAL_GREETING: (
        *(keyword for keywords in _FESTIVAL_KEYWORDS.values() for keyword in keywords),
        *_keywords(
            ("festival", 2), ("festivals", 2), ("festive", 2), ("navratri", 2),
            ("navaratri", 2), ("greetings", 1), ("wishes", 1), ("त्योहार", 2), ("त्यौहार", 2),
            ("सण", 2), ("उत्सव", 2), ("नवरात्र", 2), ("शुभेच्छा", 1), ("शुभकामना", 1),
        ),
    ),
    TopicFamily.RETIREMENT_PLANNING: _keywords(
        ("retire", 2), ("retired", 2), ("retiree", 2), ("retirees", 2), ("retirement", 2),
        ("retiring", 2), ("pension", 2), ("pensions", 2), ("nps", 2), ("swp", 2),
        ("senior citizen", 2), ("senior citizens", 2), ("old age", 1), ("रिटायर", 2),
        ("सेवानिवृत्त", 2), ("निवृत्त", 2), ("पेंशन", 2), ("पेन्शन", 2), ("वरिष्ठ नागरिक", 2),
        ("ज्येष्ठ नागरिक", 2),
    ),
    TopicFamily.EMERGENCY_FUND: _keywords(
        ("emergency", 2), ("emergencies", 2), ("emergency fund", 2), ("rainy day", 2),
        ("contingency", 2), ("safety net", 2), ("liquid fund", 1), ("job loss", 2),
        ("आपात", 2), ("आपत्काल", 2), ("इमरजेंसी", 2), ("इमर्जन्सी", 2), ("आणीबाणी", 2),
    ),
    TopicFamily.INSURANCE_BASICS: _keywords(
        ("insurance", 2), ("insure", 2), ("insured", 2), ("term plan", 2),
        ("term insurance", 2), ("life cover", 2), ("health cover", 2), ("mediclaim", 2),
        ("बीमा", 2), ("इंश्योरेंस", 2), ("इन्शुरन्स", 2), ("विमा", 2), ("मेडिक्लेम", 2),
        ("टर्म प्लान", 2), ("टर्म प्लॅन", 2),
    ),
    TopicFamily.DIVERSIFICATION: _keywords(
        ("diversify", 2), ("diversified", 2), ("diversification", 2),
        ("asset allocation", 2), ("rebalance", 2), ("rebalancing", 2), ("portfolio", 1),
        ("gold", 1), ("debt fund", 1), ("eggs", 1), ("basket", 1), ("विविधीकरण", 2),
        ("विविधता", 2), ("एसेट एलोकेशन", 2), ("वैविध्य", 2), ("पोर्टफोलियो", 1),
        ("पोर्टफोलिओ", 1), ("मालमत्ता वाटप", 2),
    ),
    TopicFamily.BUDGET_DAY: _keywords(
        ("budget", 1), ("union budget", 2), ("budget day", 2), ("finance minister", 2),
        ("बजट", 1), ("केंद्रीय बजट", 2), ("अर्थसंकल्प", 2), ("बजेट", 1),
    ),
}  # fmt: skip

# When two families match equally well, the more specific one wins.
_SPECIFICITY = (
    TopicFamily.BUDGET_DAY,
    TopicFamily.FESTIVAL_GREETING,
    TopicFamily.TAX_SAVING,
    TopicFamily.RETIREMENT_PLANNING,
    TopicFamily.INSURANCE_BASICS,
    TopicFamily.EMERGENCY_FUND,
    TopicFamily.DIVERSIFICATION,
    TopicFamily.SIP_EDUCATION,
    TopicFamily.MARKET_UPDATE,
    TopicFamily.GOAL_PLANNING,
)


def classify_topic(text: str) -> TopicFamily | None:
    """The family a free-text topic (English, Hindi or Marathi) is about, or ``None`` when no
    keyword matches. Each family scores the weights of its keywords found in the text; the
    highest wins, ties going to the more specific family (a budget or a festival before a
    general planning topic)."""
    if not isinstance(text, str):
        raise ValidationError("topic", text, "must be text")
    padded = _normalise(text)
    best: tuple[int, int] | None = None
    found = None
    for rank, family in enumerate(_SPECIFICITY):
        score = sum(weight for word, weight in _FAMILY_KEYWORDS[family] if _matches(padded, word))
        if score and (best is None or (score, -rank) > best):
            best, found = (score, -rank), family
    return found


def festival_in(text: str) -> Festival | None:
    """The festival a free-text topic names (the first in calendar order), or ``None``."""
    if not isinstance(text, str):
        raise ValidationError("topic", text, "must be text")
    padded = _normalise(text)
    for festival in Festival:
        if any(_matches(padded, word) for word, _ in _FESTIVAL_KEYWORDS[festival]):
            return festival
    return None
