"""Fallback selection: which library pack an advisor gets when they have none for the morning.

At the planning cutoff an advisor with no approved pack for the date still gets a post, taken
from the shared fallback library (DESIGN.md §3.4). The choice must be explainable after the
fact, so it is made by a pure, deterministic function of its inputs and returns everything an
auditor needs: the score breakdown, the runner-ups, a confidence and why other packs were left
out. The service layer gathers the inputs (it re-checks each candidate against the current
rulebook and sets ``passes_rulebook``) and stores the :class:`Selection`.

Selection happens in three steps:

1. **Filter.** A candidate qualifies when it is written in the advisor's language, the month of
   the date is one of its ``applicable_months``, it has not expired on the date (a pack expires
   *on* ``expires_on``: it is usable strictly before that day), it passes the current rulebook,
   and this advisor has not received it in the last :data:`NO_REUSE_DAYS` days (see
   :func:`recently_used`). A candidate that fails several checks is counted once, under the
   first failing reason in :class:`Exclusion` order.
2. **Score.** Each qualified candidate gets factor values in [0, 1] (see :class:`Factors`), and
   the score is their weighted mean minus a weighted recency penalty, clamped to [0, 1]::

       W       = priority_w + engagement_w + topic_affinity_w + seasonality_w
                 + freshness_w + quality_w
       score   = clamp(sum(w_i * f_i / W for each positive factor i) - recency_w * p / W, 0, 1)

   With the default :class:`Weights` the positive weights sum to 1, so ``W`` is 1 and each
   contribution is simply ``w_i * f_i``.
3. **Rank.** Score descending, then priority descending, then ``pack_id`` ascending: no two
   candidates ever tie, so the same inputs in any order give the same selection.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from projectone.domain._validate import (
    aware,
    flag,
    is_uuid,
    optional_nonblank,
    require_nonblank,
    to_enum,
    whole_number,
)
from projectone.domain.audit import (
    Actor,
    AuditDraft,
    Role,
    change_event,
    check_event_args,
)
from projectone.domain.audit import to_json_value as to_json
from projectone.domain.content import ContentPack
from projectone.domain.errors import PermissionDeniedError, ValidationError
from projectone.domain.language import Language

__all__ = [
    "ALGORITHM_VERSION",
    "ALL_MONTHS",
    "DEFAULT_WEIGHTS",
    "FRESHNESS_HALF_LIFE_DAYS",
    "MAX_RUNNER_UPS",
    "NO_REUSE_DAYS",
    "RECENCY_HALF_LIFE_DAYS",
    "AdvisorContext",
    "Exclusion",
    "Factors",
    "FallbackCandidate",
    "LibraryEntry",
    "ScoreBreakdown",
    "Selection",
    "SelectionRecord",
    "TriggerReason",
    "Weights",
    "add_to_library",
    "confidence",
    "exclusion",
    "factors",
    "recently_used",
    "score",
    "screen",
    "select_fallback",
]

# Names the scoring rules below; change it whenever a formula or a constant here changes, so a
# stored selection can always be traced to the rules that made it.
ALGORITHM_VERSION = "fallback-score/1"

# A pack is not sent to the same advisor twice within this many days (DESIGN.md §3.4).
NO_REUSE_DAYS = 30
# Freshness halves every this many days of a pack's age: ``H / (H + age)``.
FRESHNESS_HALF_LIFE_DAYS = 180
# The recency penalty is 1 on the first day a pack may be reused and halves every this many
# days after that: ``H / (H + days past the window)``. It never reaches 0, so a pack the advisor
# has never had beats an otherwise equal one they had long ago.
RECENCY_HALF_LIFE_DAYS = 60
# How many next-best packs a selection keeps, to show what else was close.
MAX_RUNNER_UPS = 3
# Every month of the year: the applicable months of an evergreen pack.
ALL_MONTHS = frozenset(range(1, 13))
# The longest topic the library stores (the ``fallback_library.topic`` column).
MAX_TOPIC_LENGTH = 64


class TriggerReason(enum.StrEnum):
    """Why the advisor needed a fallback at all (recorded with the selection)."""

    NO_CONTENT = "no_content"
    COMPLIANCE_FAILURE = "compliance_failure"
    APPROVAL_DELAY = "approval_delay"
    SYSTEM_FALLBACK = "system_fallback"


class Exclusion(enum.StrEnum):
    """Why a candidate did not qualify; members are listed in the order they are checked."""

    LANGUAGE = "language"
    OUT_OF_SEASON = "out_of_season"
    EXPIRED = "expired"
    FAILS_RULEBOOK = "fails_rulebook"
    RECENTLY_USED = "recently_used"


# --- validation helpers -------------------------------------------------------------------------


def _require_date(field: str, value: object) -> dt.date:
    # A datetime is a date subclass; refusing it keeps "the day" from silently carrying a time.
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(field, value, "must be a date")
    return value


def _date(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    _require_date(attribute.name, value)


def _optional_date(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _require_date(attribute.name, value)


def _require_unit(field: str, value: object) -> float:
    """A real number from 0 to 1 (a ``bool`` is not one here), as a ``float``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise ValidationError(field, value, "must be a number from 0 to 1")
    return float(value)


def _require_weight(field: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValidationError(field, value, "must be a finite number >= 0")
    return float(value)


def _languages(value: Iterable[Any]) -> frozenset[Language]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("languages", value, "must be a set of language codes")
    langs = frozenset(to_enum(Language, "languages", v) for v in value)
    if not langs:
        raise ValidationError("languages", value, "at least one language is required")
    return langs


def _months(value: Iterable[Any]) -> frozenset[int]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("applicable_months", value, "must be a set of months 1 to 12")
    months = frozenset(value)
    if not months:
        raise ValidationError("applicable_months", value, "at least one month is required")
    for month in months:
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise ValidationError("applicable_months", month, "a month is a whole number 1 to 12")
    return months


def _topic(value: object) -> str:
    return require_nonblank("topic", value)


def _engagement(value: object) -> float:
    return _require_unit("engagement", value)


def _language(value: object) -> Language:
    return to_enum(Language, "language", value)


def _affinity(value: Mapping[Any, Any]) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        raise ValidationError("topic_affinity", value, "must map topics to numbers 0 to 1")
    out = {
        require_nonblank("topic_affinity", topic): _require_unit(f"topic_affinity.{topic}", v)
        for topic, v in value.items()
    }
    # A sorted copy: the caller's dict may change later, and equal contexts compare alike.
    return dict(sorted(out.items()))


def _last_used(value: Mapping[Any, Any]) -> Mapping[uuid.UUID, dt.date]:
    if not isinstance(value, Mapping):
        raise ValidationError("last_used", value, "must map pack ids to dates")
    out: dict[uuid.UUID, dt.date] = {}
    for pack_id, day in value.items():
        if not isinstance(pack_id, uuid.UUID):
            raise ValidationError("last_used", pack_id, "a key must be a pack id (UUID)")
        out[pack_id] = _require_date(f"last_used.{pack_id}", day)
    return dict(sorted(out.items()))


def _unit(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    _require_unit(attribute.name, value)


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    _require_weight(attribute.name, value)


def _weight(default: float) -> float:
    field: float = attrs.field(default=default, validator=_non_negative)
    return field


# --- inputs ---------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FallbackCandidate:
    """A pack of the fallback library, as the selection sees it.

    ``passes_rulebook`` is set by the service, which re-checks the pack against the rulebook in
    force today: a pack approved under an older rulebook may no longer be sendable.
    """

    pack_id: uuid.UUID = attrs.field(validator=is_uuid)
    languages: frozenset[Language] = attrs.field(converter=_languages)
    topic: str = attrs.field(converter=_topic)
    applicable_months: frozenset[int] = attrs.field(converter=_months)
    expires_on: dt.date | None = attrs.field(default=None, validator=_optional_date)
    priority: int = attrs.field(validator=whole_number(0, 100))
    engagement: float = attrs.field(converter=_engagement)
    quality: int = attrs.field(validator=whole_number(0, 100))
    passes_rulebook: bool = attrs.field(validator=flag)
    created_on: dt.date = attrs.field(validator=_date)


@attrs.frozen(kw_only=True)
class AdvisorContext:
    """What the selection knows about the advisor.

    ``topic_affinity`` maps a topic to how much this advisor's audience likes it (0 to 1); a
    topic missing from it counts as 0, no known affinity. ``last_used`` maps a pack id to the
    last date this advisor received that pack.
    """

    advisor_id: uuid.UUID = attrs.field(validator=is_uuid)
    language: Language = attrs.field(converter=_language)
    topic_affinity: Mapping[str, float] = attrs.field(factory=dict, converter=_affinity)
    last_used: Mapping[uuid.UUID, dt.date] = attrs.field(factory=dict, converter=_last_used)


@attrs.frozen(kw_only=True)
class Weights:
    """How much each factor counts; all weights are finite and >= 0.

    The defaults favour what the library's editors and the audience have said (priority,
    engagement, topic affinity, quality) over timing (seasonality, freshness). The positive
    weights sum to 1, so a score is a weighted mean of the factors. Only their ratios matter:
    the score divides by their sum. ``recency`` weighs the recency penalty on the same scale
    (it is divided by the same sum): with the defaults, a pack reused on the first allowed day
    loses 0.25 of its score.
    """

    priority: float = _weight(0.25)
    engagement: float = _weight(0.20)
    topic_affinity: float = _weight(0.20)
    seasonality: float = _weight(0.10)
    freshness: float = _weight(0.10)
    quality: float = _weight(0.15)
    recency: float = _weight(0.25)

    def __attrs_post_init__(self) -> None:
        total = self.positive_total
        if not (0 < total < math.inf):
            raise ValidationError(
                "weights", attrs.asdict(self), "the positive weights must have a finite sum > 0"
            )

    @property
    def positive_total(self) -> float:
        """The sum of the positive factors' weights: the score's normalising divisor."""
        return (
            self.priority
            + self.engagement
            + self.topic_affinity
            + self.seasonality
            + self.freshness
            + self.quality
        )


DEFAULT_WEIGHTS = Weights()


# --- filtering ------------------------------------------------------------------------------------


def recently_used(candidate: FallbackCandidate, context: AdvisorContext, date: dt.date) -> bool:
    """Whether the advisor received ``candidate`` within :data:`NO_REUSE_DAYS` days of ``date``.

    Used on day ``d`` it may come back on ``d + NO_REUSE_DAYS + 1`` at the earliest, that is
    after 30 whole days without it. A last use on or after ``date`` (a re-planned past morning)
    also counts as recent: reuse is refused whenever in doubt.
    """
    last = context.last_used.get(candidate.pack_id)
    return last is not None and (date - last).days <= NO_REUSE_DAYS


def exclusion(
    candidate: FallbackCandidate, context: AdvisorContext, date: dt.date
) -> Exclusion | None:
    """The first reason ``candidate`` may not be sent to this advisor on ``date``, if any."""
    if context.language not in candidate.languages:
        return Exclusion.LANGUAGE
    if date.month not in candidate.applicable_months:
        return Exclusion.OUT_OF_SEASON
    if candidate.expires_on is not None and date >= candidate.expires_on:
        return Exclusion.EXPIRED
    if not candidate.passes_rulebook:
        return Exclusion.FAILS_RULEBOOK
    if recently_used(candidate, context, date):
        return Exclusion.RECENTLY_USED
    return None


def screen(
    candidates: Iterable[FallbackCandidate], context: AdvisorContext, date: dt.date
) -> tuple[tuple[FallbackCandidate, ...], dict[str, int]]:
    """The qualified candidates (in input order) and how many were left out for each reason.

    The counts name every :class:`Exclusion`, zeros included, so stored records share one shape;
    the service can record them even when nothing qualified.
    """
    qualified: list[FallbackCandidate] = []
    counts = {reason.value: 0 for reason in Exclusion}
    for candidate in candidates:
        reason = exclusion(candidate, context, date)
        if reason is None:
            qualified.append(candidate)
        else:
            counts[reason.value] += 1
    return tuple(qualified), counts


# --- scoring --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Factors:
    """The factor values of one candidate for one advisor and date, each from 0 to 1.

    - ``priority``: the editors' priority / 100.
    - ``engagement``: the pack's historical engagement.
    - ``topic_affinity``: the advisor's affinity for the pack's topic (0 when unknown).
    - ``seasonality``: ``(12 - months) / 11`` for a pack applicable in ``months`` months: 1 for
      a pack made for this one month (Diwali, the March tax deadline), 0 for an evergreen one.
    - ``freshness``: ``H / (H + age in days)`` with ``H`` = :data:`FRESHNESS_HALF_LIFE_DAYS`;
      1 for a pack created on (or after) the date.
    - ``quality``: the editorial quality rating / 100.
    - ``recency_penalty``: 0 for a pack this advisor never had; otherwise
      ``H / (H + days past the no-reuse window)`` with ``H`` = :data:`RECENCY_HALF_LIFE_DAYS`,
      1 on the first day reuse is allowed.
    """

    priority: float = attrs.field(validator=_unit)
    engagement: float = attrs.field(validator=_unit)
    topic_affinity: float = attrs.field(validator=_unit)
    seasonality: float = attrs.field(validator=_unit)
    freshness: float = attrs.field(validator=_unit)
    quality: float = attrs.field(validator=_unit)
    recency_penalty: float = attrs.field(validator=_unit)


def _seasonality(months: frozenset[int]) -> float:
    return (12 - len(months)) / 11


def _freshness(created_on: dt.date, date: dt.date) -> float:
    age = max(0, (date - created_on).days)
    return FRESHNESS_HALF_LIFE_DAYS / (FRESHNESS_HALF_LIFE_DAYS + age)


def _recency_penalty(last: dt.date | None, date: dt.date) -> float:
    if last is None:
        return 0.0
    # Clamped so a pack still inside the window (not scored in practice) gets the full penalty.
    past_window = max(0, (date - last).days - NO_REUSE_DAYS - 1)
    return RECENCY_HALF_LIFE_DAYS / (RECENCY_HALF_LIFE_DAYS + past_window)


def factors(candidate: FallbackCandidate, context: AdvisorContext, date: dt.date) -> Factors:
    """The factor values of ``candidate`` for this advisor on ``date``."""
    return Factors(
        priority=candidate.priority / 100,
        engagement=candidate.engagement,
        topic_affinity=context.topic_affinity.get(candidate.topic, 0.0),
        seasonality=_seasonality(candidate.applicable_months),
        freshness=_freshness(candidate.created_on, date),
        quality=candidate.quality / 100,
        recency_penalty=_recency_penalty(context.last_used.get(candidate.pack_id), date),
    )


@attrs.frozen(kw_only=True)
class ScoreBreakdown:
    """Each factor's contribution to a score, on the score's own 0-1 scale.

    A positive contribution is ``weight * factor / W`` (``W`` = the sum of the positive
    weights); ``recency_penalty`` is the amount subtracted, ``recency weight * penalty / W``.
    ``total = clamp(sum of the positive contributions - recency_penalty, 0, 1)``; the clamp only
    bites when the penalty outweighs everything else (the total is then 0) or by a rounding
    error at the top.
    """

    priority: float
    engagement: float
    topic_affinity: float
    seasonality: float
    freshness: float
    quality: float
    recency_penalty: float
    total: float = attrs.field(validator=_unit)

    def as_dict(self) -> dict[str, float]:
        doc: dict[str, float] = attrs.asdict(self)
        return doc


def score(values: Factors, weights: Weights) -> ScoreBreakdown:
    """Weigh ``values``: non-decreasing in each positive factor, non-increasing in the penalty.

    The positive contributions are added in a fixed order, and IEEE-754 products, quotients and
    sums are monotonic, so these properties hold exactly, not just up to rounding.
    """
    scale = weights.positive_total
    parts = {
        "priority": weights.priority * values.priority / scale,
        "engagement": weights.engagement * values.engagement / scale,
        "topic_affinity": weights.topic_affinity * values.topic_affinity / scale,
        "seasonality": weights.seasonality * values.seasonality / scale,
        "freshness": weights.freshness * values.freshness / scale,
        "quality": weights.quality * values.quality / scale,
    }
    penalty = weights.recency * values.recency_penalty / scale
    total = min(1.0, max(0.0, sum(parts.values()) - penalty))
    return ScoreBreakdown(**parts, recency_penalty=penalty, total=total)


def confidence(best: float, runner_up: float | None) -> float:
    """How clearly the winner won, from 0 to 1: its relative margin over the runner-up.

    ``(best - runner_up) / best``: 1 when nothing else qualified (there was no other choice), 0
    when the runner-up scored the same (the tie-break decided) or everything scored 0.
    """
    if runner_up is None:
        return 1.0
    if best <= 0:
        return 0.0
    return min(1.0, max(0.0, (best - runner_up) / best))


# --- the selection --------------------------------------------------------------------------------


def _trigger(value: object) -> TriggerReason:
    return to_enum(TriggerReason, "trigger_reason", value)


def _runner_ups(value: Iterable[Any]) -> tuple[tuple[uuid.UUID, float], ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("runner_ups", value, "must be a list of (pack id, score) pairs")
    out: list[tuple[uuid.UUID, float]] = []
    for item in value:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ValidationError("runner_ups", item, "each runner-up is a (pack id, score) pair")
        pack_id, points = item
        if not isinstance(pack_id, uuid.UUID):
            raise ValidationError("runner_ups", pack_id, "a runner-up's pack id must be a UUID")
        out.append((pack_id, _require_unit("runner_ups", points)))
    if len(out) > MAX_RUNNER_UPS:
        raise ValidationError("runner_ups", len(out), f"at most {MAX_RUNNER_UPS} are kept")
    if any(a[1] < b[1] for a, b in itertools.pairwise(out)):
        raise ValidationError("runner_ups", out, "must be sorted by score, best first")
    return tuple(out)


def _algorithm_version(value: object) -> str:
    return require_nonblank("algorithm_version", value)


def _filtered_out(value: Mapping[Any, Any]) -> Mapping[str, int]:
    if not isinstance(value, Mapping):
        raise ValidationError("filtered_out", value, "must map reasons to counts")
    out: dict[str, int] = {}
    for reason, count in value.items():
        key = to_enum(Exclusion, "filtered_out", reason).value
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValidationError(f"filtered_out.{key}", count, "must be a whole number >= 0")
        out[key] = count
    return out


@attrs.frozen(kw_only=True)
class Selection:
    """The fallback pack chosen for one advisor on one date, with what it takes to explain it.

    ``score`` and the runner-ups' scores are on the 0-1 scale of :class:`ScoreBreakdown`;
    ``runner_ups`` are the next best qualified packs in rank order (at most
    :data:`MAX_RUNNER_UPS`); ``confidence`` is :func:`confidence` of the winner over the first
    runner-up. ``considered`` counts every candidate offered, ``filtered_out`` those left out per
    :class:`Exclusion`; ``weights`` and ``algorithm_version`` say how the scores were made.
    """

    advisor_id: uuid.UUID = attrs.field(validator=is_uuid)
    date: dt.date = attrs.field(validator=_date)
    pack_id: uuid.UUID = attrs.field(validator=is_uuid)
    score: float = attrs.field(validator=_unit)
    breakdown: ScoreBreakdown
    runner_ups: tuple[tuple[uuid.UUID, float], ...] = attrs.field(converter=_runner_ups)
    confidence: float = attrs.field(validator=_unit)
    algorithm_version: str = attrs.field(default=ALGORITHM_VERSION, converter=_algorithm_version)
    trigger_reason: TriggerReason = attrs.field(converter=_trigger)
    considered: int = attrs.field(validator=whole_number(1))
    filtered_out: Mapping[str, int] = attrs.field(converter=_filtered_out)
    weights: Weights = DEFAULT_WEIGHTS

    def __attrs_post_init__(self) -> None:
        if self.score != self.breakdown.total:
            raise ValidationError("score", self.score, "must equal the breakdown's total")
        if self.considered < 1 + len(self.runner_ups) + sum(self.filtered_out.values()):
            raise ValidationError(
                "considered", self.considered, "fewer than the selected, runner-ups and left out"
            )


def _rank_key(item: tuple[FallbackCandidate, ScoreBreakdown]) -> tuple[float, int, uuid.UUID]:
    candidate, breakdown = item
    return (-breakdown.total, -candidate.priority, candidate.pack_id)


def _unique(candidates: Iterable[FallbackCandidate]) -> tuple[FallbackCandidate, ...]:
    # Two different candidates under one pack id would make the result depend on their order.
    out = tuple(candidates)
    seen: set[uuid.UUID] = set()
    for candidate in out:
        if not isinstance(candidate, FallbackCandidate):
            raise ValidationError("candidates", candidate, "must be a FallbackCandidate")
        if candidate.pack_id in seen:
            raise ValidationError("candidates", candidate.pack_id, "a pack id appears twice")
        seen.add(candidate.pack_id)
    return out


def select_fallback(
    candidates: Iterable[FallbackCandidate],
    context: AdvisorContext,
    date: dt.date,
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    trigger_reason: TriggerReason | str = TriggerReason.NO_CONTENT,
) -> Selection | None:
    """The best qualified fallback pack for the advisor of ``context`` on ``date``.

    ``None`` when no candidate qualifies; :func:`screen` then says why, for the caller to record.
    The result depends only on the arguments, not on the order of ``candidates``. Raises
    ``ValidationError`` when two candidates share a pack id.
    """
    date = _require_date("date", date)
    trigger = _trigger(trigger_reason)
    offered = _unique(candidates)
    qualified, filtered_out = screen(offered, context, date)
    if not qualified:
        return None
    ranked = sorted(
        ((c, score(factors(c, context, date), weights)) for c in qualified), key=_rank_key
    )
    (best, breakdown), rest = ranked[0], ranked[1 : 1 + MAX_RUNNER_UPS]
    runner_ups = tuple((c.pack_id, b.total) for c, b in rest)
    return Selection(
        advisor_id=context.advisor_id,
        date=date,
        pack_id=best.pack_id,
        score=breakdown.total,
        breakdown=breakdown,
        runner_ups=runner_ups,
        confidence=confidence(breakdown.total, runner_ups[0][1] if runner_ups else None),
        algorithm_version=ALGORITHM_VERSION,
        trigger_reason=trigger,
        considered=len(offered),
        filtered_out=filtered_out,
        weights=weights,
    )


# --- the library and stored selections ------------------------------------------------------------


def _library_topic(value: object) -> str:
    topic = require_nonblank("topic", value)
    if len(topic) > MAX_TOPIC_LENGTH:
        raise ValidationError("topic", value, f"must be at most {MAX_TOPIC_LENGTH} characters")
    return topic


@attrs.frozen(kw_only=True)
class LibraryEntry:
    """A pack of the shared fallback library with the editors' metadata about it.

    The pack itself is an ordinary content pack (shared: no advisor), approved through the
    workflow like any other; its languages are its variants'. ``priority`` (0-100) and
    ``quality`` (0-100) are the editors' ratings, ``engagement`` (0-1) the audience's
    historical response. An inactive entry stays on record but is never offered.
    """

    pack_id: uuid.UUID = attrs.field(validator=is_uuid)
    topic: str = attrs.field(converter=_library_topic)
    applicable_months: frozenset[int] = attrs.field(converter=_months)
    expires_on: dt.date | None = attrs.field(default=None, validator=_optional_date)
    priority: int = attrs.field(validator=whole_number(0, 100))
    engagement: float = attrs.field(converter=_engagement)
    quality: int = attrs.field(validator=whole_number(0, 100))
    created_on: dt.date = attrs.field(validator=_date)
    active: bool = attrs.field(default=True, validator=flag)

    def candidate(
        self, *, languages: Iterable[Language | str], passes_rulebook: bool
    ) -> FallbackCandidate:
        """This entry as :func:`select_fallback` sees it: the pack is written in
        ``languages``, and ``passes_rulebook`` says whether the rulebook in force today lets
        it through."""
        return FallbackCandidate(
            pack_id=self.pack_id,
            languages=languages,
            topic=self.topic,
            applicable_months=self.applicable_months,
            expires_on=self.expires_on,
            priority=self.priority,
            engagement=self.engagement,
            quality=self.quality,
            passes_rulebook=passes_rulebook,
            created_on=self.created_on,
        )


def _selection(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Selection):
        raise ValidationError(attribute.name, value, "must be a Selection")


@attrs.frozen(kw_only=True)
class SelectionRecord:
    """A :class:`Selection` as stored: with its id, the version of the rulebook its
    candidates were checked against, and when it was made."""

    id: uuid.UUID = attrs.field(validator=is_uuid)
    selection: Selection = attrs.field(validator=_selection)
    rulebook_version: str | None = attrs.field(default=None, validator=optional_nonblank)
    selected_at: dt.datetime = attrs.field(validator=aware)

    @property
    def advisor_id(self) -> uuid.UUID:
        return self.selection.advisor_id

    @property
    def date(self) -> dt.date:
        return self.selection.date

    @property
    def pack_id(self) -> uuid.UUID:
        return self.selection.pack_id


_LIBRARY_EDITORS = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.SYSTEM})
_ENTRY_FIELDS = (
    "topic",
    "applicable_months",
    "expires_on",
    "priority",
    "engagement",
    "quality",
    "created_on",
    "active",
)


def add_to_library(
    entry: LibraryEntry, pack: ContentPack, actor: Actor, now: dt.datetime, event_id: uuid.UUID
) -> AuditDraft:
    """The audit event of ``pack`` joining the fallback library as ``entry``.

    Only shared packs (no advisor) that are approved (or scheduled) may join: the library sends
    them to anyone, so they must have been through review. By an admin, a compliance officer or
    the system; anything else raises before there is anything to record.
    """
    check_event_args(actor, now, event_id)
    if not isinstance(entry, LibraryEntry):
        raise ValidationError("entry", entry, "must be a LibraryEntry")
    if not isinstance(pack, ContentPack) or pack.id != entry.pack_id:
        raise ValidationError("pack", pack, "must be the entry's content pack")
    if pack.advisor_id is not None:
        raise ValidationError("pack", pack.id, "a library pack is shared: it has no advisor")
    if not pack.sendable or pack.approved_hash != pack.content_hash:
        raise ValidationError("pack", pack.id, "only approved content joins the library")
    if actor.role not in _LIBRARY_EDITORS:
        raise PermissionDeniedError(
            "add_to_library", "only an admin, a compliance officer or the system edits the library"
        )
    new = {name: to_json(getattr(entry, name), name) for name in _ENTRY_FIELDS}
    return change_event(
        action="library_add",
        entity_type="fallback_library",
        entity_id=str(entry.pack_id),
        old=None,
        new=new,
        actor=actor,
        now=now,
        event_id=event_id,
        always=("active",),
    )
