"""The AI content studio: drafts from the generator and second opinions from the reviewer, each
behind the same guard: cache, quota, budget, then the call, then the record.

Order of the guard, and why:

1. **Cache.** An identical request (stage, model, prompt version, inputs) answered within the
   cache's lifetime (14 days) is served from it: no call, no spend, and no quota used.
2. **Quota.** An advisor's model calls of the stage today (Asia/Kolkata) against the tier's
   daily allowance.
3. **Budget.** The month's spend plus the most this call could cost (its prompt's token
   ceiling and the whole output allowance, at the model's price) against the monthly budget.
   A model with no price configured is refused: an unpriced call could spend without limit.
4. **Call**, outside any database transaction (a slow model must not hold locks).
5. **Record.** Every call is an ``AiJob`` (outcome, tokens, latency, cost, hashes of what went
   in and out); a good answer is cached. A request that never reached the endpoint (circuit
   open, no connection) is not a call and is not recorded.

A refusal at 2 or 3 is a typed error raised before the model is called, and records nothing.
Two requests racing past the quota at the same instant can both be served: the allowance is
a cost control, not a security boundary, and an overrun is bounded by the concurrency.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from projectone.domain.advisor import Advisor, Tier
from projectone.domain.ai import (
    CACHE_TTL,
    AdvisorProfile,
    AiJob,
    AiOutcome,
    AiStage,
    CachedAnswer,
    DailyQuota,
    GeneratedDraft,
    GenerationRequest,
    ModelPrice,
    ReviewResult,
    TokenUsage,
    call_cost,
    check_budget,
    check_quota,
    draft_from_document,
    draft_to_document,
    estimate_cost,
    fingerprint,
    month_bounds,
    review_from_document,
    review_to_document,
)
from projectone.domain.content import ContentVariant
from projectone.domain.errors import (
    AiOutputError,
    ConfigurationError,
    ProviderError,
    UnavailableError,
)
from projectone.domain.language import Language
from projectone.domain.timezone import IST
from projectone.domain.topics import (
    RECENT_WINDOW_DAYS,
    TopicFamily,
    TopicSuggestion,
    classify_topic,
    suggest_topics,
)
from projectone.ports.ai import AiUsageRow, ContentGenerator, ModelCall, ModelReviewer
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.unit_of_work import UnitOfWorkFactory
from projectone.services.compliance import ComplianceResult, ComplianceService, subject_for

__all__ = [
    "DEFAULT_PRICES",
    "AiPolicy",
    "AiStudio",
    "GuardedReviewer",
    "StudioDraft",
    "UsageReport",
]

#: INR per million tokens (input, output). List prices of November 2026 converted at
#: INR 84/USD; configuration overrides them, and a model missing here is refused.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "gpt-4.1": ModelPrice("168", "672"),
    "gpt-4.1-mini": ModelPrice("33.6", "134.4"),
    "gpt-4o-mini": ModelPrice("12.6", "50.4"),
    "offline-templates": ModelPrice("0", "0"),
}

T = TypeVar("T")


def _default_quotas() -> Mapping[Tier, DailyQuota]:
    return {tier: DailyQuota() for tier in Tier}


@attrs.frozen(kw_only=True)
class AiPolicy:
    """What the studio may spend: daily quotas per tier, a monthly budget in INR, a price per
    model, and how long answers are cached."""

    quotas: Mapping[Tier, DailyQuota] = attrs.field(factory=_default_quotas)
    monthly_budget_inr: Decimal = attrs.field(default=Decimal(25_000), converter=Decimal)
    prices: Mapping[str, ModelPrice] = attrs.field(factory=lambda: dict(DEFAULT_PRICES))
    cache_ttl: dt.timedelta = CACHE_TTL

    def price(self, model: str) -> ModelPrice:
        try:
            return self.prices[model]
        except KeyError:
            raise ConfigurationError(
                "PROJECTONE_AI_COSTS_PRICES",
                f"no price for model {model!r}: an unpriced call is refused",
            ) from None


@attrs.frozen(kw_only=True)
class StudioDraft:
    """A generated draft, the compliance result on it, and the job that produced it."""

    draft: GeneratedDraft
    compliance: ComplianceResult
    job: AiJob

    @property
    def cached(self) -> bool:
        return self.job.cache_hit

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.draft.topic,
            "variants": {
                lang.value: {**variant.as_dict(), "text": variant.render()}
                for lang, variant in self.draft.variants.items()
            },
            "model": self.draft.model,
            "prompt_version": self.draft.prompt_version,
            "cached": self.cached,
            "usage": {
                "input_tokens": self.job.usage.input_tokens,
                "output_tokens": self.job.usage.output_tokens,
            },
            "cost_inr": str(self.job.cost_inr),
            "latency_ms": self.job.latency_ms,
            "compliance": self.compliance.as_dict(),
        }


@attrs.frozen(kw_only=True)
class UsageReport:
    """A month's AI spend: per advisor and model, the total and the budget."""

    month_start: dt.date
    rows: Sequence[AiUsageRow]
    spent_inr: Decimal
    budget_inr: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month_start.strftime("%Y-%m"),
            "spent_inr": str(self.spent_inr),
            "budget_inr": str(self.budget_inr),
            "remaining_inr": str(max(self.budget_inr - self.spent_inr, Decimal(0))),
            "rows": [
                {
                    "advisor_id": None if r.advisor_id is None else str(r.advisor_id),
                    "model": r.model,
                    "calls": r.calls,
                    "cache_hits": r.cache_hits,
                    "input_tokens": r.input_tokens,
                    "output_tokens": r.output_tokens,
                    "cost_inr": str(r.cost_inr),
                }
                for r in self.rows
            ],
        }


def _outcome_of(exc: Exception) -> AiOutcome:
    if isinstance(exc, AiOutputError):
        return AiOutcome.REFUSED if exc.refused else AiOutcome.INVALID
    if isinstance(exc, UnavailableError):
        return AiOutcome.UNAVAILABLE
    return AiOutcome.REJECTED  # the endpoint refused the request: a bad key, model or option


def _digest(document: Mapping[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@attrs.define
class _Guard:
    """The cache → quota → budget → call → record sequence both stages share."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    policy: AiPolicy
    monotonic: Callable[[], float] = time.monotonic

    async def run(
        self,
        *,
        stage: AiStage,
        model: ModelCall,
        advisor: Advisor | None,
        inputs: Mapping[str, Any],
        prompt: str,
        call: Callable[[], Awaitable[T]],
        usage_of: Callable[[T], TokenUsage],
        to_document: Callable[[T], dict[str, Any]],
        from_document: Callable[[Mapping[str, Any]], T],
    ) -> tuple[T, AiJob]:
        now = self.clock.now()
        key = fingerprint(stage, model.model, model.prompt_version, inputs)
        job = AiJob(
            id=self.ids.new_id(),
            advisor_id=None if advisor is None else advisor.id,
            stage=stage,
            model=model.model,
            prompt_version=model.prompt_version,
            input_hash=_digest(inputs),
            created_at=now,
        )
        async with self.uow_factory() as uow:
            cached = await uow.ai_cache.get(key, now)
            if cached is not None:
                answer = from_document(cached.document)
                job = attrs.evolve(job, output_hash=_digest(cached.document), cache_hit=True)
                await uow.ai_jobs.add(job)
                await uow.commit()
                return answer, job
            if advisor is not None:
                day = now.astimezone(IST).replace(hour=0, minute=0, second=0, microsecond=0)
                used = await uow.ai_jobs.count_for(
                    advisor.id, stage, day, day + dt.timedelta(days=1)
                )
                check_quota(self.policy.quotas, advisor.id, advisor.tier, stage, used)
            price = self.policy.price(model.model)
            start, end = month_bounds(now, IST)
            spent = await uow.ai_jobs.spend(start, end)
            estimate = estimate_cost(price, prompt, model.max_output_tokens)
            check_budget(spent, estimate, self.policy.monthly_budget_inr)
        began = self.monotonic()
        try:
            answer = await call()
        except (UnavailableError, AiOutputError, ProviderError, ConfigurationError) as exc:
            if isinstance(exc, UnavailableError) and not exc.outcome_unknown:
                # Nothing reached the endpoint (its circuit is open, or no connection was
                # made): not a call, so no job, and no quota spent during an outage.
                raise
            outcome = _outcome_of(exc)
            failed = attrs.evolve(
                job, outcome=outcome, error=str(exc)[:500], latency_ms=self._since(began)
            )
            await self._record(failed, None)
            raise
        usage = usage_of(answer)
        document = to_document(answer)
        job = attrs.evolve(
            job,
            output_hash=_digest(document),
            usage=usage,
            latency_ms=self._since(began),
            cost_inr=call_cost(price, usage),
        )
        await self._record(
            job,
            CachedAnswer(
                key=key,
                stage=stage,
                model=model.model,
                prompt_version=model.prompt_version,
                document=document,
                created_at=now,
                expires_at=now + self.policy.cache_ttl,
                advisor_id=job.advisor_id,
            ),
        )
        return answer, job

    def _since(self, began: float) -> int:
        return max(0, round((self.monotonic() - began) * 1000))

    async def _record(self, job: AiJob, answer: CachedAnswer | None) -> None:
        async with self.uow_factory() as uow:
            await uow.ai_jobs.add(job)
            if answer is not None:
                await uow.ai_cache.put(answer)
            await uow.commit()


@attrs.define
class GuardedReviewer:
    """A model reviewer behind the studio's guard, usable wherever a ``ComplianceReviewer``
    is (``ComplianceService(reviewer=...)``). A refusal by quota or budget is a typed error,
    which compliance reports as ``ai_review: unavailable`` while the rules decide alone."""

    reviewer: ModelReviewer
    guard: _Guard

    @classmethod
    def build(
        cls,
        reviewer: ModelReviewer,
        *,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        policy: AiPolicy,
    ) -> GuardedReviewer:
        return cls(reviewer, _Guard(uow_factory, clock, ids, policy))

    @property
    def name(self) -> str:
        return self.reviewer.name

    async def review(
        self, variant: ContentVariant, language: Language, advisor: Advisor
    ) -> ReviewResult:
        inputs = {
            "variant": variant.as_dict(),
            "language": language.value,
            "advisor": AdvisorProfile.of(advisor).as_dict(),
        }
        result, _ = await self.guard.run(
            stage=AiStage.COMPLIANCE_CHECK,
            model=self.reviewer,
            advisor=advisor,
            inputs=inputs,
            prompt=self.reviewer.review_prompt(variant, language, advisor),
            call=lambda: self.reviewer.review(variant, language, advisor),
            usage_of=lambda r: r.usage,
            to_document=review_to_document,
            from_document=review_from_document,
        )
        return result


@attrs.define
class AiStudio:
    """Generate drafts (checked by compliance straight away), suggest topics, report AI
    spend."""

    uow_factory: UnitOfWorkFactory
    generator: ContentGenerator
    compliance: ComplianceService
    clock: Clock
    ids: IdGenerator
    policy: AiPolicy = attrs.field(factory=AiPolicy)
    monotonic: Callable[[], float] = time.monotonic

    @property
    def guard(self) -> _Guard:
        return _Guard(self.uow_factory, self.clock, self.ids, self.policy, self.monotonic)

    def guarded(self, reviewer: ModelReviewer) -> GuardedReviewer:
        """``reviewer`` behind this studio's cache, quota, budget and job records."""
        return GuardedReviewer(reviewer, self.guard)

    async def generate(
        self, request: GenerationRequest, *, advisor: Advisor | None = None
    ) -> StudioDraft:
        """Draft a post for ``request`` and check it against the rulebook (and the reviewer,
        for an advisor). Raises ``QuotaExceededError`` or ``BudgetExceededError`` before any
        call, ``UnavailableError`` or ``AiOutputError`` when the model fails (the job is
        recorded either way)."""
        draft, job = await self.guard.run(
            stage=AiStage.GENERATION,
            model=self.generator,
            advisor=advisor,
            inputs=request.inputs(),
            prompt=self.generator.prompt_for(request),
            call=lambda: self.generator.generate(request),
            usage_of=lambda d: d.usage,
            to_document=draft_to_document,
            from_document=draft_from_document,
        )
        author: Advisor | AdvisorProfile = advisor if advisor is not None else request.profile
        subjects = {
            language: subject_for(variant, language, author)
            for language, variant in draft.variants.items()
        }
        result = await self.compliance.check_subjects(subjects, advisor)
        return StudioDraft(draft=draft, compliance=result, job=job)

    async def suggest_topics(
        self,
        advisor: Advisor,
        date: dt.date,
        *,
        interests: Iterable[TopicFamily | str] = (),
        limit: int = 5,
    ) -> tuple[TopicSuggestion, ...]:
        """Topic families worth a post by ``advisor`` on ``date``, best first, each with its
        reasons: the season, the advisor's ``interests``, and what they posted or planned
        within 30 days either side (a repeat is penalised)."""
        window = dt.timedelta(days=RECENT_WINDOW_DAYS)
        async with self.uow_factory() as uow:
            posts = await uow.content.topics_for(advisor.id, date - window, date + window)
        recent = [
            (family, day) for topic, day in posts if (family := classify_topic(topic)) is not None
        ]
        return suggest_topics(
            date,
            interests=interests,
            recent=recent,
            advisor_type=advisor.type,
            languages=advisor.languages,
            limit=limit,
        )

    async def usage(self, month: dt.date) -> UsageReport:
        """AI spend in the calendar month (Asia/Kolkata) containing ``month``."""
        start, end = month_bounds(dt.datetime.combine(month, dt.time(12), tzinfo=IST), IST)
        async with self.uow_factory() as uow:
            rows = await uow.ai_jobs.usage(start, end)
            spent = await uow.ai_jobs.spend(start, end)
        return UsageReport(
            month_start=start.date(),
            rows=rows,
            spent_inr=spent,
            budget_inr=self.policy.monthly_budget_inr,
        )
