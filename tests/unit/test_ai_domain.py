"""The AI studio's pure decisions: costs, budget, quota, cache keys, documents, the breaker."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.advisor import AdvisorType, Tier
from projectone.domain.ai import (
    AdvisorProfile,
    AiFinding,
    AiStage,
    BreakerPolicy,
    BreakerState,
    DailyQuota,
    GeneratedDraft,
    GenerationRequest,
    ModelPrice,
    ReviewResult,
    TokenUsage,
    Tone,
    breaker_allows,
    breaker_failed,
    breaker_succeeded,
    call_cost,
    check_budget,
    check_quota,
    draft_from_document,
    draft_to_document,
    estimate_cost,
    estimate_tokens,
    fingerprint,
    month_bounds,
    review_from_document,
    review_to_document,
)
from projectone.domain.compliance.rulebook import Severity
from projectone.domain.content import ContentVariant
from projectone.domain.errors import BudgetExceededError, QuotaExceededError, ValidationError
from projectone.domain.language import Language
from projectone.domain.timezone import IST

PROFILE = AdvisorProfile(name="Asha Rao", type=AdvisorType.MFD, registration_no="ARN-12345")
T0 = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)

tokens = st.integers(min_value=0, max_value=10_000_000)
prices = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False)


# -- requests ------------------------------------------------------------------------------------


def test_a_request_normalises_its_topic_and_keeps_languages_in_order() -> None:
    request = GenerationRequest(
        topic="  SIP   for   beginners ", languages=["hi", Language.EN], profile=PROFILE
    )
    assert request.topic == "SIP for beginners"
    assert request.languages == (Language.HI, Language.EN)
    assert request.tone is Tone.PROFESSIONAL
    assert request.inputs()["advisor"] == {
        "name": "Asha Rao",
        "type": "MFD",
        "registration_no": "ARN-12345",
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"topic": "  "}, "topic"),
        ({"topic": "ab"}, "topic"),
        ({"topic": "x" * 201}, "topic"),
        ({"topic": 42}, "topic"),
        ({"languages": []}, "languages"),
        ({"languages": ["en", "en"]}, "languages"),
        ({"languages": ["fr"]}, "languages"),
        ({"languages": "en"}, "languages"),
        ({"tone": "sarcastic"}, "tone"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(fields: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"topic": "Tax saving", "languages": ["en"], "profile": PROFILE}
    with pytest.raises(ValidationError) as caught:
        GenerationRequest(**{**base, **fields})  # type: ignore[arg-type]
    assert caught.value.field == field


# -- costs and budget ----------------------------------------------------------------------------


@given(prices, prices, tokens, tokens, tokens, tokens)
def test_cost_never_falls_when_tokens_or_prices_rise(
    pin: Decimal, pout: Decimal, a: int, b: int, extra_in: int, extra_out: int
) -> None:
    price = ModelPrice(pin, pout)
    base = call_cost(price, TokenUsage(a, b))
    assert base >= 0
    assert call_cost(price, TokenUsage(a + extra_in, b + extra_out)) >= base
    dearer = ModelPrice(pin + 1, pout + 1)
    assert call_cost(dearer, TokenUsage(a, b)) >= base


@given(prices, prices, tokens, tokens)
def test_cost_is_never_under_counted(pin: Decimal, pout: Decimal, a: int, b: int) -> None:
    exact = (pin * a + pout * b) / 1_000_000
    cost = call_cost(ModelPrice(pin, pout), TokenUsage(a, b))
    assert exact <= cost < exact + Decimal("0.0001")


def test_the_estimate_assumes_the_whole_output_allowance_is_used() -> None:
    price = ModelPrice("100", "1000")
    estimate = estimate_cost(price, "x" * 300, 1000)
    assert estimate == call_cost(price, TokenUsage(101, 1000))


@given(st.text(max_size=200), st.text(max_size=200))
def test_the_token_ceiling_grows_with_the_text(a: str, b: str) -> None:
    assert 1 <= estimate_tokens(a) <= estimate_tokens(a + b)


@given(
    st.decimals(min_value=0, max_value=50_000, places=4),
    st.decimals(min_value=0, max_value=50_000, places=4),
    st.decimals(min_value=0, max_value=50_000, places=4),
)
def test_the_budget_refuses_exactly_the_calls_that_could_pass_it(
    spent: Decimal, estimate: Decimal, budget: Decimal
) -> None:
    if spent + estimate > budget:
        with pytest.raises(BudgetExceededError) as caught:
            check_budget(spent, estimate, budget)
        assert (caught.value.spent, caught.value.budget) == (spent, budget)
    else:
        check_budget(spent, estimate, budget)


def test_a_negative_price_is_refused() -> None:
    with pytest.raises(ValidationError):
        ModelPrice("-1", "0")


# -- quota ---------------------------------------------------------------------------------------


@given(st.integers(0, 50), st.integers(0, 50), st.sampled_from(list(AiStage)))
def test_the_quota_refuses_from_the_limit_on(used: int, limit: int, stage: AiStage) -> None:
    quotas = {Tier.BASIC: DailyQuota(generations=limit, checks=limit)}
    advisor = uuid.UUID(int=1)
    if used >= limit:
        with pytest.raises(QuotaExceededError) as caught:
            check_quota(quotas, advisor, Tier.BASIC, stage, used)
        assert (caught.value.stage, caught.value.limit) == (stage.value, limit)
    else:
        check_quota(quotas, advisor, Tier.BASIC, stage, used)


def test_a_tier_without_a_quota_gets_the_default_allowance() -> None:
    check_quota({}, uuid.UUID(int=1), Tier.PRO, AiStage.GENERATION, 9)
    with pytest.raises(QuotaExceededError):
        check_quota({}, uuid.UUID(int=1), Tier.PRO, AiStage.GENERATION, 10)
    with pytest.raises(QuotaExceededError):
        check_quota({}, uuid.UUID(int=1), Tier.PRO, AiStage.COMPLIANCE_CHECK, 20)


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31)))
def test_a_month_in_india_contains_the_instant_it_was_asked_for(naive: dt.datetime) -> None:
    at = naive.replace(tzinfo=dt.UTC)
    start, end = month_bounds(at, IST)
    assert start <= at < end
    assert start.day == 1 == end.day
    assert start.hour == 0
    assert 28 <= (end - start).days <= 31


# -- cache keys and documents -------------------------------------------------------------------


def test_the_cache_key_ignores_key_order_and_sees_every_part() -> None:
    inputs = {"topic": "SIP", "languages": ["en"], "tone": "friendly"}
    key = fingerprint(AiStage.GENERATION, "gpt-4.1", "generate-v1", inputs)
    reordered = dict(reversed(list(inputs.items())))
    assert key == fingerprint(AiStage.GENERATION, "gpt-4.1", "generate-v1", reordered)
    others = {
        fingerprint(AiStage.COMPLIANCE_CHECK, "gpt-4.1", "generate-v1", inputs),
        fingerprint(AiStage.GENERATION, "gpt-4o-mini", "generate-v1", inputs),
        fingerprint(AiStage.GENERATION, "gpt-4.1", "generate-v2", inputs),
        fingerprint(AiStage.GENERATION, "gpt-4.1", "generate-v1", {**inputs, "tone": "festive"}),
    }
    assert key not in others
    assert len(others) == 4


def test_a_draft_and_a_review_survive_the_cache_document() -> None:
    draft = GeneratedDraft(
        topic="SIP",
        variants={
            Language.EN: ContentVariant(title="SIP", body="Start small."),
            Language.HI: ContentVariant(title="एसआईपी", body="छोटी शुरुआत करें।", cta="संपर्क करें"),
        },
        model="gpt-4.1",
        prompt_version="generate-v1",
        usage=TokenUsage(120, 340),
    )
    assert draft_from_document(draft_to_document(draft)) == draft
    review = ReviewResult(
        reviewer="openai",
        findings=(
            AiFinding(
                code="forward_looking",
                severity=Severity.ERROR,
                message="Implies future returns",
                suggestion="Say past performance does not guarantee future returns",
                start=3,
                end=9,
            ),
        ),
        risk_score=60,
        suggestions=("Add the standard warning",),
        rewrite="A calmer post.",
        model="gpt-4o-mini",
        prompt_version="review-v1",
        usage=TokenUsage(80, 40),
    )
    assert review_from_document(review_to_document(review)) == review


def test_a_damaged_cache_document_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        draft_from_document({"topic": "SIP"})
    with pytest.raises(ValidationError):
        review_from_document({"reviewer": "openai", "findings": [{"severity": "apocalyptic"}]})


# -- circuit breaker -----------------------------------------------------------------------------

events = st.lists(
    st.tuples(st.sampled_from(["ok", "fail"]), st.integers(min_value=0, max_value=40)),
    max_size=40,
)


@given(events, st.integers(1, 6), st.integers(1, 30))
def test_the_breaker_never_lets_a_call_through_during_its_cooldown(
    script: list[tuple[str, int]], threshold: int, cooldown: int
) -> None:
    policy = BreakerPolicy(threshold=threshold, cooldown=dt.timedelta(seconds=cooldown))
    state, now = BreakerState(), T0
    consecutive = 0
    for outcome, wait in script:
        now += dt.timedelta(seconds=wait)
        allowed, state = breaker_allows(state, policy, now)
        if not allowed:
            assert state.opened_at is not None
            assert now < state.opened_at + policy.cooldown
            continue
        if outcome == "ok":
            state, consecutive = breaker_succeeded(state), 0
            assert state.closed
        else:
            was_probing = state.probing
            state, consecutive = breaker_failed(state, policy, now), consecutive + 1
            # It opens at the threshold, or at once when a trial call fails.
            assert state.closed is not (consecutive >= threshold or was_probing)


def test_an_open_breaker_lets_one_trial_through_after_the_cooldown_and_closes_on_success() -> None:
    policy = BreakerPolicy(threshold=2, cooldown=dt.timedelta(seconds=30))
    state = breaker_failed(breaker_failed(BreakerState(), policy, T0), policy, T0)
    assert not state.closed
    assert breaker_allows(state, policy, T0 + dt.timedelta(seconds=29))[0] is False
    allowed, state = breaker_allows(state, policy, T0 + dt.timedelta(seconds=30))
    assert allowed
    assert state.probing
    # While the trial is out, nobody else goes.
    assert breaker_allows(state, policy, T0 + dt.timedelta(seconds=31))[0] is False
    assert breaker_succeeded(state).closed


def test_a_failed_trial_opens_the_breaker_again() -> None:
    policy = BreakerPolicy(threshold=1, cooldown=dt.timedelta(seconds=10))
    state = breaker_failed(BreakerState(), policy, T0)
    _, state = breaker_allows(state, policy, T0 + dt.timedelta(seconds=10))
    later = T0 + dt.timedelta(seconds=11)
    state = breaker_failed(state, policy, later)
    assert state.opened_at == later
    assert not state.probing
    assert breaker_allows(state, policy, later + dt.timedelta(seconds=9))[0] is False
