"""The AI content studio's domain: requests, drafts, reviews, costs, quotas, cache keys and the
circuit breaker, all pure and deterministic (time is passed in).

The model is a paid, slow and sometimes failing remote service. Everything that decides
whether to call it (quota, budget, cache, breaker) lives here as plain functions, so each
decision is tested without a network and is the same whichever adapter sits behind the port.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any

import attrs

from projectone.domain._validate import nonblank, optional_aware, to_enum, whole_number
from projectone.domain.advisor import Advisor, AdvisorType, Tier
from projectone.domain.compliance.rulebook import Severity
from projectone.domain.content import ContentVariant, variants_of
from projectone.domain.errors import (
    BudgetExceededError,
    QuotaExceededError,
    ValidationError,
)
from projectone.domain.language import Language

__all__ = [
    "CACHE_TTL",
    "MAX_TOPIC_LENGTH",
    "MIN_TOPIC_LENGTH",
    "AdvisorProfile",
    "AiFinding",
    "AiJob",
    "AiOutcome",
    "AiStage",
    "BreakerPolicy",
    "BreakerState",
    "CachedAnswer",
    "DailyQuota",
    "GeneratedDraft",
    "GenerationRequest",
    "ModelPrice",
    "ReviewResult",
    "TokenUsage",
    "Tone",
    "breaker_allows",
    "breaker_failed",
    "breaker_succeeded",
    "call_cost",
    "check_budget",
    "check_quota",
    "draft_from_document",
    "draft_to_document",
    "estimate_cost",
    "estimate_tokens",
    "fingerprint",
    "month_bounds",
    "review_from_document",
    "review_to_document",
]

MIN_TOPIC_LENGTH = 3
MAX_TOPIC_LENGTH = 200
#: How long an identical request is answered from the cache (seed 001: 14 days).
CACHE_TTL = dt.timedelta(days=14)
_RUPEE = Decimal("0.0001")  # costs are kept to a hundredth of a paisa


class Tone(enum.StrEnum):
    PROFESSIONAL = "professional"
    FRIENDLY = "friendly"
    EDUCATIONAL = "educational"
    FESTIVE = "festive"


class AiStage(enum.StrEnum):
    GENERATION = "generation"
    COMPLIANCE_CHECK = "compliance_check"


class AiOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    #: The model could not be reached (after retries), or the breaker was open.
    UNAVAILABLE = "unavailable"
    #: The model answered with something that does not fit the schema.
    INVALID = "invalid"
    #: The model declined to answer.
    REFUSED = "refused"
    #: The endpoint refused the request itself (a 4xx other than a rate limit: a bad key,
    #: a model it does not serve, a parameter it does not support).
    REJECTED = "rejected"


def _topic(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("topic", value, "must be text")
    text = " ".join(value.split())
    if not MIN_TOPIC_LENGTH <= len(text) <= MAX_TOPIC_LENGTH:
        raise ValidationError(
            "topic",
            value if len(text) <= 80 else f"<{len(text)} characters>",
            f"must be {MIN_TOPIC_LENGTH} to {MAX_TOPIC_LENGTH} characters",
        )
    return text


def _languages(value: object) -> tuple[Language, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError("languages", value, "must be a list of language codes")
    languages = tuple(to_enum(Language, "languages", v) for v in value)
    if not languages:
        raise ValidationError("languages", value, "at least one language is required")
    if len(set(languages)) != len(languages):
        raise ValidationError("languages", value, "a language is listed twice")
    return languages


def _tone(value: object) -> Tone:
    return to_enum(Tone, "tone", value)


def _advisor_type(value: object) -> AdvisorType:
    return to_enum(AdvisorType, "type", value)


def _stage(value: object) -> AiStage:
    return to_enum(AiStage, "stage", value)


def _outcome(value: object) -> AiOutcome:
    return to_enum(AiOutcome, "outcome", value)


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(attribute.name, value, "must be a whole number >= 0")


@attrs.frozen
class TokenUsage:
    input_tokens: int = attrs.field(default=0, validator=_non_negative)
    output_tokens: int = attrs.field(default=0, validator=_non_negative)


@attrs.frozen(kw_only=True)
class AdvisorProfile:
    """What the model is told about the advisor: no contact details, ever."""

    name: str = attrs.field(validator=nonblank)
    type: AdvisorType = attrs.field(converter=_advisor_type)
    registration_no: str = ""

    @classmethod
    def of(cls, advisor: Advisor) -> AdvisorProfile:
        return cls(name=advisor.name, type=advisor.type, registration_no=advisor.registration_no)

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type.value, "registration_no": self.registration_no}


@attrs.frozen(kw_only=True)
class GenerationRequest:
    """A post to draft: validated before any model is called."""

    topic: str = attrs.field(converter=_topic)
    languages: tuple[Language, ...] = attrs.field(converter=_languages)
    tone: Tone = attrs.field(default=Tone.PROFESSIONAL, converter=_tone)
    profile: AdvisorProfile

    def inputs(self) -> dict[str, Any]:
        """The request as the cache key and the prompt see it."""
        return {
            "topic": self.topic,
            "languages": [language.value for language in self.languages],
            "tone": self.tone.value,
            "advisor": self.profile.as_dict(),
        }


@attrs.frozen(kw_only=True)
class GeneratedDraft:
    """A content pack's text, as the generator wrote it (not yet a pack, not yet checked)."""

    topic: str
    variants: Mapping[Language, ContentVariant] = attrs.field(converter=variants_of)
    model: str = attrs.field(validator=nonblank)
    prompt_version: str = attrs.field(validator=nonblank)
    usage: TokenUsage = attrs.field(factory=TokenUsage)


@attrs.frozen(kw_only=True)
class AiFinding:
    """Something the reviewer objects to; ``start``/``end`` index the variant's rendered text
    (title, body, call to action and disclaimer joined by blank lines) when it can say where."""

    code: str
    severity: Severity
    message: str
    suggestion: str = ""
    start: int | None = None
    end: int | None = None


@attrs.frozen(kw_only=True)
class ReviewResult:
    """A reviewer's opinion of one variant: findings (with spans where it can point at them),
    an overall risk, suggestions and a rewrite. ``model`` and ``prompt_version`` are ``None``
    for reviewers that are not models (the offline one)."""

    reviewer: str
    findings: tuple[AiFinding, ...] = ()
    risk_score: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(whole_number(0, 100))
    )
    suggestions: tuple[str, ...] = ()
    rewrite: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    usage: TokenUsage = attrs.field(factory=TokenUsage)


@attrs.frozen
class ModelPrice:
    """What a model costs, in INR per million tokens."""

    input_per_million: Decimal = attrs.field(converter=Decimal)
    output_per_million: Decimal = attrs.field(converter=Decimal)

    def __attrs_post_init__(self) -> None:
        if self.input_per_million < 0 or self.output_per_million < 0:
            raise ValidationError("price", self, "prices cannot be negative")


def call_cost(price: ModelPrice, usage: TokenUsage) -> Decimal:
    """INR for one call, rounded up to a hundredth of a paisa (never under-counted)."""
    raw = (
        price.input_per_million * usage.input_tokens
        + price.output_per_million * usage.output_tokens
    ) / 1_000_000
    return raw.quantize(_RUPEE, rounding=ROUND_CEILING)


def estimate_tokens(text: str) -> int:
    """A ceiling on the tokens ``text`` takes: one per byte of UTF-8 over three, plus one.

    Tokenisers split Devanagari finely, so a generous bound is the safe side for a budget
    check; the recorded cost uses the provider's own count.
    """
    return len(text.encode("utf-8")) // 3 + 1


def estimate_cost(price: ModelPrice, prompt: str, max_output_tokens: int) -> Decimal:
    """The most a call can cost: the prompt's token ceiling plus the whole output allowance."""
    return call_cost(price, TokenUsage(estimate_tokens(prompt), max_output_tokens))


def check_budget(spent: Decimal, estimate: Decimal, budget: Decimal) -> None:
    """``BudgetExceededError`` when a call costing up to ``estimate`` could pass ``budget``."""
    if spent + estimate > budget:
        raise BudgetExceededError(spent, estimate, budget)


@attrs.frozen
class DailyQuota:
    """Requests an advisor may make a day, per stage (seed 001: 10 generations, 20 checks)."""

    generations: int = attrs.field(default=10, validator=whole_number(0, 100_000))
    checks: int = attrs.field(default=20, validator=whole_number(0, 100_000))

    def limit(self, stage: AiStage) -> int:
        return self.generations if stage is AiStage.GENERATION else self.checks


def check_quota(
    quotas: Mapping[Tier, DailyQuota],
    advisor_id: uuid.UUID,
    tier: Tier,
    stage: AiStage,
    used_today: int,
) -> None:
    """``QuotaExceededError`` when the advisor has no request of ``stage`` left today."""
    limit = quotas.get(tier, DailyQuota()).limit(stage)
    if used_today >= limit:
        raise QuotaExceededError(advisor_id, stage.value, used_today, limit)


def month_bounds(at: dt.datetime, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month (in ``zone``, Asia/Kolkata for budgets) containing ``at``."""
    local = at.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following


def fingerprint(stage: AiStage, model: str, prompt_version: str, inputs: Mapping[str, Any]) -> str:
    """The cache key of a request: SHA-256 of its canonical JSON (sorted keys, no spaces)."""
    doc = {"stage": stage.value, "model": model, "prompt": prompt_version, "inputs": inputs}
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _hex64(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name == "output_hash":
        return
    if not isinstance(value, str) or len(value) != 64:
        raise ValidationError(attribute.name, value, "must be a SHA-256 hex digest")


@attrs.frozen(kw_only=True)
class AiJob:
    """One request to the AI, as recorded: who, which stage, which model and prompt, what went
    in and out (as hashes), tokens, latency, cost, whether the cache answered, the outcome."""

    id: uuid.UUID
    advisor_id: uuid.UUID | None
    stage: AiStage = attrs.field(converter=_stage)
    model: str = attrs.field(validator=nonblank)
    prompt_version: str = attrs.field(validator=nonblank)
    input_hash: str = attrs.field(validator=_hex64)
    output_hash: str | None = attrs.field(default=None, validator=_hex64)
    usage: TokenUsage = attrs.field(factory=TokenUsage)
    latency_ms: int = attrs.field(default=0, validator=_non_negative)
    cost_inr: Decimal = attrs.field(default=Decimal(0), converter=Decimal)
    cache_hit: bool = False
    outcome: AiOutcome = attrs.field(default=AiOutcome.SUCCEEDED, converter=_outcome)
    error: str | None = None
    created_at: dt.datetime = attrs.field(validator=optional_aware)


@attrs.frozen(kw_only=True)
class CachedAnswer:
    """A model's answer kept for identical requests until ``expires_at``."""

    key: str
    stage: AiStage = attrs.field(converter=_stage)
    model: str
    prompt_version: str
    document: Mapping[str, Any]
    created_at: dt.datetime = attrs.field(validator=optional_aware)
    expires_at: dt.datetime = attrs.field(validator=optional_aware)
    #: Whose request it answered (a draft carries their name): erasing them deletes it.
    advisor_id: uuid.UUID | None = None

    def fresh(self, now: dt.datetime) -> bool:
        return now < self.expires_at


# -- documents (what the cache stores) ----------------------------------------------------------


def draft_to_document(draft: GeneratedDraft) -> dict[str, Any]:
    return {
        "topic": draft.topic,
        "variants": {lang.value: v.as_dict() for lang, v in draft.variants.items()},
        "model": draft.model,
        "prompt_version": draft.prompt_version,
        "usage": [draft.usage.input_tokens, draft.usage.output_tokens],
    }


def draft_from_document(doc: Mapping[str, Any]) -> GeneratedDraft:
    try:
        return GeneratedDraft(
            topic=doc["topic"],
            variants=doc["variants"],
            model=doc["model"],
            prompt_version=doc["prompt_version"],
            usage=TokenUsage(*doc["usage"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValidationError("document", type(exc).__name__, "not a stored draft") from None


def review_to_document(review: ReviewResult) -> dict[str, Any]:
    return {
        "reviewer": review.reviewer,
        "findings": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "message": f.message,
                "suggestion": f.suggestion,
                "start": f.start,
                "end": f.end,
            }
            for f in review.findings
        ],
        "risk_score": review.risk_score,
        "suggestions": list(review.suggestions),
        "rewrite": review.rewrite,
        "model": review.model,
        "prompt_version": review.prompt_version,
        "usage": [review.usage.input_tokens, review.usage.output_tokens],
    }


def review_from_document(doc: Mapping[str, Any]) -> ReviewResult:
    try:
        return ReviewResult(
            reviewer=doc["reviewer"],
            findings=tuple(
                AiFinding(
                    code=f["code"],
                    severity=Severity(f["severity"]),
                    message=f["message"],
                    suggestion=f["suggestion"],
                    start=f["start"],
                    end=f["end"],
                )
                for f in doc["findings"]
            ),
            risk_score=doc["risk_score"],
            suggestions=tuple(doc["suggestions"]),
            rewrite=doc["rewrite"],
            model=doc["model"],
            prompt_version=doc["prompt_version"],
            usage=TokenUsage(*doc["usage"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError("document", type(exc).__name__, "not a stored review") from None


# -- circuit breaker ----------------------------------------------------------------------------


@attrs.frozen
class BreakerPolicy:
    """Open after ``threshold`` failures in a row; after ``cooldown`` let one call through."""

    threshold: int = attrs.field(default=5, validator=whole_number(1, 1_000))
    cooldown: dt.timedelta = dt.timedelta(seconds=30)


@attrs.frozen
class BreakerState:
    failures: int = 0
    #: When the breaker opened; ``None`` while closed.
    opened_at: dt.datetime | None = None
    #: A trial call is out (half-open): others wait for its result, up to one cooldown.
    probing: bool = False

    @property
    def closed(self) -> bool:
        return self.opened_at is None


def breaker_allows(
    state: BreakerState, policy: BreakerPolicy, now: dt.datetime
) -> tuple[bool, BreakerState]:
    """May a call go out now? Closed: yes. Open: no until the cooldown has passed, then one
    trial call (half-open) while the others are still refused."""
    if state.opened_at is None:
        return True, state
    if now < state.opened_at + policy.cooldown:
        return False, state
    # The trial re-arms the timer: if it never reports back, another is let through after
    # one more cooldown rather than the breaker staying shut for good.
    return True, attrs.evolve(state, opened_at=now, probing=True)


def breaker_succeeded(state: BreakerState) -> BreakerState:
    """A call succeeded: the breaker closes and forgets past failures."""
    return BreakerState()


def breaker_failed(state: BreakerState, policy: BreakerPolicy, now: dt.datetime) -> BreakerState:
    """A call failed: count it; at the threshold, or when a trial call fails, (re)open."""
    failures = state.failures + 1
    if state.probing or failures >= policy.threshold:
        return BreakerState(failures=failures, opened_at=now, probing=False)
    return attrs.evolve(state, failures=failures)
