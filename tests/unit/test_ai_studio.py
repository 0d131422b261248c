"""The AI studio's guard: cache, quota, budget, call, record; and the guarded reviewer."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from projectone.adapters.rulebook_files import default_rulebook
from projectone.domain.advisor import Advisor, AdvisorType, Tier
from projectone.domain.ai import (
    AdvisorProfile,
    AiFinding,
    AiJob,
    AiOutcome,
    AiStage,
    DailyQuota,
    GenerationRequest,
    ModelPrice,
    TokenUsage,
)
from projectone.domain.compliance.evaluate import Subject
from projectone.domain.compliance.rulebook import Severity
from projectone.domain.content import ContentPack, ContentStatus, ContentVariant
from projectone.domain.errors import (
    AiOutputError,
    BudgetExceededError,
    ConfigurationError,
    ProjectOneError,
    ProviderError,
    QuotaExceededError,
    UnavailableError,
)
from projectone.domain.language import Language
from projectone.domain.timezone import IST
from projectone.domain.topics import TopicFamily
from projectone.services.ai_studio import AiPolicy, AiStudio
from projectone.services.compliance import ComplianceService, subject_for
from projectone.testing.ai_fakes import FakeContentGenerator, FakeModelReviewer
from projectone.testing.builders import reviewed
from projectone.testing.fakes import InMemoryUnitOfWorkFactory, ManualClock, SequentialIds

# 10:00 in India on 23 November 2026.
T0 = dt.datetime(2026, 11, 23, 4, 30, tzinfo=dt.UTC)
PRICE = ModelPrice("1000", "2000")  # INR per million tokens: 0.3 + 0.4 = INR 0.70 a call


def advisor(tier: Tier = Tier.BASIC) -> Advisor:
    return Advisor(
        id=uuid.UUID(int=7),
        name="Asha Rao",
        type=AdvisorType.MFD,
        registration_no="ARN-12345",
        email="asha@example.in",
        whatsapp_number="+919800000007",
        languages=(Language.EN,),
        tier=tier,
        created_at=T0,
    )


def request(
    topic: str = "Why SIPs work", languages: tuple[str, ...] = ("en",)
) -> GenerationRequest:
    return GenerationRequest(
        topic=topic, languages=list(languages), profile=AdvisorProfile.of(advisor())
    )


class Studio:
    """A studio over in-memory ports, with handles on each."""

    def __init__(self, **policy: Any) -> None:
        self.uow = InMemoryUnitOfWorkFactory()
        self.clock = ManualClock(T0)
        self.generator = FakeContentGenerator()
        fields: dict[str, Any] = {"prices": {"fake-model": PRICE}, **policy}
        self.studio = AiStudio(
            uow_factory=self.uow,
            generator=self.generator,
            compliance=ComplianceService(default_rulebook()),
            clock=self.clock,
            ids=SequentialIds(),
            policy=AiPolicy(**fields),
            monotonic=lambda: 0.0,
        )

    async def ready(self) -> Studio:
        # AI jobs refer to their advisor: the advisor must exist, as in the database.
        async with self.uow() as uow:
            await uow.advisors.add(advisor())
            await uow.commit()
        return self

    async def jobs(self) -> list[AiJob]:
        async with self.uow() as uow:
            return list(await uow.ai_jobs.for_advisor(advisor().id, limit=1000))


async def test_a_draft_is_checked_recorded_priced_and_cached() -> None:
    s = await Studio().ready()
    result = await s.studio.generate(request(), advisor=advisor())
    assert s.generator.calls == 1
    assert result.draft.variants[Language.EN].title == "Why SIPs work"
    assert result.compliance.rulebook_version == default_rulebook().version
    job = result.job
    assert (job.stage, job.outcome, job.cache_hit) == (
        AiStage.GENERATION,
        AiOutcome.SUCCEEDED,
        False,
    )
    assert (job.model, job.prompt_version, job.usage) == (
        "fake-model",
        "fake-v1",
        TokenUsage(300, 200),
    )
    assert job.cost_inr == Decimal("0.7000")
    assert job.output_hash is not None
    assert await s.jobs() == [job]


async def test_an_identical_request_is_answered_from_the_cache_without_a_call_or_spend() -> None:
    s = await Studio().ready()
    first = await s.studio.generate(request(), advisor=advisor())
    s.clock.advance(dt.timedelta(days=13))
    again = await s.studio.generate(request(), advisor=advisor())
    assert s.generator.calls == 1
    assert again.cached
    assert again.draft == first.draft
    assert again.job.cost_inr == 0
    assert again.job.output_hash == first.job.output_hash
    # Another tone is another request.
    await s.studio.generate(
        GenerationRequest(
            topic="Why SIPs work", languages=["en"], tone="friendly", profile=request().profile
        ),
        advisor=advisor(),
    )
    assert s.generator.calls == 2


async def test_a_cached_answer_expires_after_fourteen_days() -> None:
    s = await Studio().ready()
    await s.studio.generate(request())
    s.clock.advance(dt.timedelta(days=14))
    result = await s.studio.generate(request())
    assert not result.cached
    assert s.generator.calls == 2


async def test_the_daily_quota_refuses_before_the_model_is_called_and_resets_next_day() -> None:
    s = await Studio(quotas={Tier.BASIC: DailyQuota(generations=2, checks=0)}).ready()
    await s.studio.generate(request("SIP one"), advisor=advisor())
    await s.studio.generate(request("SIP two"), advisor=advisor())
    with pytest.raises(QuotaExceededError) as caught:
        await s.studio.generate(request("SIP three"), advisor=advisor())
    assert (caught.value.used, caught.value.limit, caught.value.stage) == (2, 2, "generation")
    assert s.generator.calls == 2
    assert len(await s.jobs()) == 2  # a refusal records nothing
    # A cached answer costs nothing and is still served.
    assert (await s.studio.generate(request("SIP one"), advisor=advisor())).cached
    # Midnight in India, not in UTC, starts the next day.
    midnight = dt.datetime(2026, 11, 24, 0, 0, tzinfo=IST)
    s.clock.set(midnight - dt.timedelta(seconds=1))
    with pytest.raises(QuotaExceededError):
        await s.studio.generate(request("SIP three"), advisor=advisor())
    s.clock.set(midnight)
    await s.studio.generate(request("SIP three"), advisor=advisor())
    assert s.generator.calls == 3


async def test_the_quota_follows_the_advisors_tier() -> None:
    s = await Studio(
        quotas={Tier.BASIC: DailyQuota(generations=0), Tier.PRO: DailyQuota(generations=1)}
    ).ready()
    with pytest.raises(QuotaExceededError):
        await s.studio.generate(request(), advisor=advisor(Tier.BASIC))
    await s.studio.generate(request(), advisor=advisor(Tier.PRO))


async def test_the_monthly_budget_refuses_a_call_that_could_pass_it() -> None:
    # A call costs INR 0.70; the estimate (prompt ceiling + all 400 output tokens) ~INR 0.81.
    s = await Studio(monthly_budget_inr="1.40").ready()
    await s.studio.generate(request("SIP one"))
    with pytest.raises(BudgetExceededError) as caught:
        await s.studio.generate(request("SIP two"))
    assert caught.value.spent == Decimal("0.7000")
    assert caught.value.budget == Decimal("1.40")
    assert s.generator.calls == 1
    # Next month starts from zero.
    s.clock.set(dt.datetime(2026, 12, 1, 0, 0, tzinfo=IST))
    await s.studio.generate(request("SIP two"))
    assert s.generator.calls == 2


async def test_a_model_without_a_price_is_refused_before_any_call() -> None:
    s = await Studio(prices={}).ready()
    with pytest.raises(ConfigurationError) as caught:
        await s.studio.generate(request())
    assert caught.value.key == "PROJECTONE_AI_COSTS_PRICES"
    assert s.generator.calls == 0


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (UnavailableError("openai at 127.0.0.1:1", "no answer"), AiOutcome.UNAVAILABLE),
        (AiOutputError("fake-model", "not JSON"), AiOutcome.INVALID),
        (AiOutputError("fake-model", "declined", refused=True), AiOutcome.REFUSED),
        (ProviderError("openai", 400, "unsupported parameter"), AiOutcome.REJECTED),
    ],
)
async def test_a_failed_call_is_recorded_raised_and_not_cached(
    error: ProjectOneError, outcome: AiOutcome
) -> None:
    s = await Studio().ready()
    s.generator.fail_with(error)
    with pytest.raises(type(error)):
        await s.studio.generate(request(), advisor=advisor())
    [job] = await s.jobs()
    assert job.outcome is outcome
    assert job.cost_inr == 0
    assert job.output_hash is None
    result = await s.studio.generate(request(), advisor=advisor())
    assert not result.cached
    assert s.generator.calls == 2


async def test_a_request_that_never_reached_the_endpoint_is_not_a_call() -> None:
    s = await Studio(quotas={Tier.BASIC: DailyQuota(generations=1)}).ready()
    never_sent = UnavailableError("openai at 127.0.0.1:1", "circuit open", outcome_unknown=False)
    s.generator.fail_with(never_sent, never_sent)
    for _ in range(2):
        with pytest.raises(UnavailableError):
            await s.studio.generate(request(), advisor=advisor())
    assert await s.jobs() == []
    await s.studio.generate(request(), advisor=advisor())  # the quota is untouched


async def test_failed_calls_count_against_the_quota() -> None:
    s = await Studio(quotas={Tier.BASIC: DailyQuota(generations=1)}).ready()
    s.generator.fail_with(AiOutputError("fake-model", "not JSON"))
    with pytest.raises(AiOutputError):
        await s.studio.generate(request(), advisor=advisor())
    with pytest.raises(QuotaExceededError):
        await s.studio.generate(request(), advisor=advisor())


async def test_usage_reports_the_months_spend_by_advisor_and_model() -> None:
    s = await Studio().ready()
    await s.studio.generate(request("SIP one"), advisor=advisor())
    await s.studio.generate(request("SIP one"), advisor=advisor())  # cached
    await s.studio.generate(request("SIP two"))
    report = await s.studio.usage(dt.date(2026, 11, 5))
    assert report.spent_inr == Decimal("1.4000")
    assert report.budget_inr == Decimal(25_000)
    by_advisor = {row.advisor_id: row for row in report.rows}
    mine = by_advisor[advisor().id]
    assert (mine.calls, mine.cache_hits, mine.cost_inr) == (1, 1, Decimal("0.7000"))
    assert by_advisor[None].calls == 1
    assert (await s.studio.usage(dt.date(2026, 12, 1))).rows == []


# -- the guarded reviewer ------------------------------------------------------------------------

RISKY = AiFinding(code="tone", severity=Severity.WARNING, message="Sounds like a promise")


def _post() -> dict[Language, Subject]:
    variant = ContentVariant(
        title="Why SIPs work",
        body="Investing a fixed amount every month builds discipline.",
        disclaimer="ARN-12345. Mutual Fund investments are subject to market risks, read all "
        "scheme related documents carefully.",
    )
    return {Language.EN: subject_for(variant, Language.EN, advisor())}


async def test_the_guarded_reviewer_adds_its_findings_and_is_cached() -> None:
    s = await Studio().ready()
    model = FakeModelReviewer([RISKY])
    compliance = ComplianceService(default_rulebook(), reviewer=s.studio.guarded(model))
    first = await compliance.check_subjects(_post(), advisor())
    again = await compliance.check_subjects(_post(), advisor())
    assert first.ai_review == "fake-model-reviewer"
    assert any(v.rule_id.endswith("tone") for v in first.violations)
    assert again.violations == first.violations
    assert model.calls == 1
    stages = [j.stage for j in await s.jobs()]
    assert stages == [AiStage.COMPLIANCE_CHECK, AiStage.COMPLIANCE_CHECK]


async def test_a_reviewer_out_of_quota_leaves_the_rules_to_decide_and_says_so() -> None:
    s = await Studio(quotas={Tier.BASIC: DailyQuota(checks=0)}).ready()
    model = FakeModelReviewer([RISKY])
    compliance = ComplianceService(default_rulebook(), reviewer=s.studio.guarded(model))
    blocked = dict(_post())
    variant = ContentVariant(title="Guaranteed returns", body="Assured 15% returns every year.")
    blocked[Language.EN] = subject_for(variant, Language.EN, advisor())
    result = await compliance.check_subjects(blocked, advisor())
    assert result.ai_review == "unavailable"
    assert result.verdict.value == "block"
    assert model.calls == 0


# -- topic suggestions ---------------------------------------------------------------------------


async def test_suggestions_follow_the_season_and_avoid_what_the_advisor_just_posted() -> None:
    s = await Studio().ready()
    day = dt.date(2027, 1, 12)  # tax season
    fresh = {t.family: t for t in await s.studio.suggest_topics(advisor(), day, limit=20)}
    assert any("tax season" in reason for reason in fresh[TopicFamily.TAX_SAVING].reasons)
    pack = reviewed(
        ContentPack(
            id=uuid.UUID(int=99),
            advisor_id=advisor().id,
            topic="Save tax under 80C",
            variants={Language.EN: ContentVariant(title="80C", body="Tax saving options.")},
            status=ContentStatus.APPROVED,
            scheduled_date=day - dt.timedelta(days=3),
            created_at=T0,
        )
    )
    async with s.uow() as uow:
        await uow.content.add(pack)
        await uow.commit()
    after = {t.family: t for t in await s.studio.suggest_topics(advisor(), day, limit=20)}
    assert after[TopicFamily.TAX_SAVING].score < fresh[TopicFamily.TAX_SAVING].score
    assert "you wrote about this 3 days ago" in after[TopicFamily.TAX_SAVING].reasons
    liked = await s.studio.suggest_topics(
        advisor(), day, interests=["retirement_planning"], limit=20
    )
    by_family = {t.family: t for t in liked}
    assert (
        by_family[TopicFamily.RETIREMENT_PLANNING].score
        > after[TopicFamily.RETIREMENT_PLANNING].score
    )
