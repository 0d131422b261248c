"""The AI studio as the container wires it for ``PROJECTONE_AI=openai``: the real ``openai``
SDK against the simulator on loopback, jobs and cache in a real database."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.container import Container, build_container, resolve, shutdown
from projectone.domain.advisor import Advisor, AdvisorType
from projectone.domain.ai import AdvisorProfile, AiOutcome, AiStage, GenerationRequest
from projectone.domain.content import ContentVariant
from projectone.domain.language import Language
from projectone.services.compliance import subject_for
from projectone.settings import load_settings
from projectone.testing.fakes import SequentialIds
from projectone.testing.openai_simulator import OpenAiSimulator

T0 = dt.datetime(2026, 11, 23, 4, 30, tzinfo=dt.UTC)
KEY = "sk-loopback"


@pytest.fixture
async def sim() -> AsyncIterator[OpenAiSimulator]:
    async with OpenAiSimulator(api_key=KEY) as simulator:
        yield simulator


@pytest.fixture
async def container(
    sim: OpenAiSimulator, tmp_path: Path, database_url: str
) -> AsyncIterator[Container]:
    settings = load_settings(
        {
            "PROJECTONE_DATABASE_URL": database_url,
            "PROJECTONE_AI": "openai",
            "PROJECTONE_OPENAI_API_KEY": KEY,
            "PROJECTONE_OPENAI_BASE_URL": sim.api_base,
            # One attempt a call and a breaker that opens after two failures keep the test
            # free of backoff sleeps.
            "PROJECTONE_OPENAI_MAX_ATTEMPTS": "1",
            "PROJECTONE_OPENAI_BREAKER_FAILURES": "2",
            "PROJECTONE_OPENAI_BREAKER_COOLDOWN_SECONDS": "600",
        }
    )
    built = build_container(settings)
    yield built
    await shutdown(built)


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studio.db'}"  # migrated on first use
    url: str = request.getfixturevalue("postgres_url")
    engine = create_engine(url)  # PostgreSQL is migrated only on purpose
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


async def _advisor(container: Container) -> Advisor:
    advisor = Advisor(
        id=SequentialIds().new_id(),
        name="Asha Rao",
        type=AdvisorType.MFD,
        registration_no="ARN-12345",
        email="asha@example.in",
        whatsapp_number="+919800000007",
        languages=(Language.EN,),
        created_at=T0,
    )
    uow_factory = await resolve(container.uow_factory)
    async with uow_factory() as uow:
        await uow.advisors.add(advisor)
        await uow.commit()
    return advisor


async def test_a_draft_comes_from_the_model_is_priced_and_then_cached(
    container: Container, sim: OpenAiSimulator
) -> None:
    advisor = await _advisor(container)
    studio = await resolve(container.studio)
    request = GenerationRequest(
        topic="SIP for beginners", languages=["hi", "en"], profile=AdvisorProfile.of(advisor)
    )
    first = await studio.generate(request, advisor=advisor)
    calls = sim.requests
    # One call for the draft, one review per language by the guarded reviewer.
    assert calls == 3
    assert first.job.model == "gpt-4.1"
    assert first.job.prompt_version == "generate-v1"
    assert first.job.cost_inr > 0
    assert first.compliance.ai_review == "openai"
    again = await studio.generate(request, advisor=advisor)
    assert again.cached
    assert sim.requests == calls  # the draft and both reviews came from the cache
    report = await studio.usage(T0.date())
    assert {row.model for row in report.rows} == {"gpt-4.1", "gpt-4o-mini"}
    assert report.spent_inr == sum((row.cost_inr for row in report.rows), start=0)


async def test_with_the_reviewer_down_the_rules_decide_alone_and_say_so(
    container: Container, sim: OpenAiSimulator
) -> None:
    advisor = await _advisor(container)
    compliance = await resolve(container.compliance)
    promise = ContentVariant(title="Guaranteed returns", body="Assured 15% returns every year.")
    sim.fail_all()
    result = await compliance.check_subjects(
        {Language.EN: subject_for(promise, Language.EN, advisor)}, advisor
    )
    assert result.ai_review == "unavailable"
    assert result.verdict.value == "block"
    uow_factory = await resolve(container.uow_factory)
    async with uow_factory() as uow:
        [job] = await uow.ai_jobs.for_advisor(advisor.id)
    assert (job.stage, job.outcome) == (AiStage.COMPLIANCE_CHECK, AiOutcome.UNAVAILABLE)


async def test_after_two_failures_the_breaker_keeps_calls_off_the_endpoint(
    container: Container, sim: OpenAiSimulator
) -> None:
    advisor = await _advisor(container)
    compliance = await resolve(container.compliance)
    sim.fail_all()
    for n in range(4):
        post = ContentVariant(title=f"SIP habit {n}", body="A fixed amount every month.")
        result = await compliance.check_subjects(
            {Language.EN: subject_for(post, Language.EN, advisor)}, advisor
        )
        assert result.ai_review == "unavailable"
    assert sim.requests == 2
