"""The OpenAI adapters against the OpenAI simulator, over real loopback HTTP.

Nothing is patched: the real ``openai.AsyncOpenAI`` client talks to an aiohttp server speaking
the Chat Completions wire format, so these tests prove the request on the wire, the reading of
real answers and the translation of real HTTP failures. Waits between retries go through an
injected ``sleep`` that records them and moves a simulated clock, so no test waits for a
backoff and none asserts on wall-clock time.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import openai
import pytest
from aiohttp import web

from projectone.adapters.clock import SimulatedClock
from projectone.adapters.openai_ai import (
    API_KEY_SETTING,
    GENERATION_SCHEMA,
    REVIEW_SCHEMA,
    CircuitBreaker,
    OpenAiGenerator,
    OpenAiReviewer,
    RetryLimits,
)
from projectone.domain.advisor import Advisor
from projectone.domain.ai import (
    AdvisorProfile,
    AiFinding,
    BreakerPolicy,
    GenerationRequest,
    TokenUsage,
    Tone,
)
from projectone.domain.compliance.rulebook import Severity
from projectone.domain.content import ContentVariant
from projectone.domain.errors import (
    AiOutputError,
    ConfigurationError,
    ProjectOneError,
    ProviderError,
    UnavailableError,
    ValidationError,
)
from projectone.domain.language import Language
from projectone.ports.ai import ContentGenerator, ModelReviewer
from projectone.prompts import load_prompt
from projectone.testing._loopback import closed_port, serve
from projectone.testing.openai_simulator import (
    GENERATION_SCHEMA_NAME,
    REVIEW_SCHEMA_NAME,
    ContentReply,
    DelayedReply,
    ErrorReply,
    OpenAiSimulator,
    RefusalReply,
    malformed_json,
    rate_limited,
    schema_breaking,
)

__all__: list[str] = []

API_KEY = "sk-test-0123456789abcdef"
MODEL = "gpt-4o-mini"
START = dt.datetime(2025, 3, 3, 0, 30, tzinfo=dt.UTC)
COOLDOWN = dt.timedelta(seconds=30)

ADVISOR = Advisor(
    id=uuid.UUID(int=7),
    name="Asha Kulkarni",
    type="MFD",
    registration_no="ARN-123456",
    email="asha@example.in",
    whatsapp_number="+919812345678",
    languages=("en", "hi"),
    created_at=START,
)
REQUEST = GenerationRequest(
    topic="Why SIPs help you stay invested",
    languages=("en", "hi"),
    tone=Tone.EDUCATIONAL,
    profile=AdvisorProfile.of(ADVISOR),
)
VARIANT = ContentVariant(
    title="Guaranteed returns with SIPs",
    body="Invest every month and enjoy guaranteed returns.",
    cta="Call me today.",
    disclaimer="",
)


class RecordedSleep:
    """An injected ``sleep``: records each wait and moves the simulated clock by it."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.jump_to(self.clock.now() + dt.timedelta(seconds=seconds))


@pytest.fixture
async def simulator() -> AsyncIterator[OpenAiSimulator]:
    async with OpenAiSimulator(api_key=API_KEY) as sim:
        yield sim


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def sleep(clock: SimulatedClock) -> RecordedSleep:
    return RecordedSleep(clock)


@pytest.fixture
def breaker(clock: SimulatedClock) -> CircuitBreaker:
    return CircuitBreaker(clock, BreakerPolicy(threshold=2, cooldown=COOLDOWN))


ClientFactory = Callable[..., openai.AsyncOpenAI]


@pytest.fixture
async def make_client(simulator: OpenAiSimulator) -> AsyncIterator[ClientFactory]:
    """Real SDK clients as the composition root makes them (no SDK retries), closed after."""
    clients: list[openai.AsyncOpenAI] = []

    def make(
        *, base_url: str | None = None, api_key: str = API_KEY, timeout: float = 5.0
    ) -> openai.AsyncOpenAI:
        client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url or simulator.api_base,
            max_retries=0,
            timeout=timeout,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def generator(
    make_client: ClientFactory, breaker: CircuitBreaker, sleep: RecordedSleep
) -> OpenAiGenerator:
    return OpenAiGenerator(
        make_client(), model=MODEL, breaker=breaker, sleep=sleep, temperature=0.4
    )


@pytest.fixture
def reviewer(
    make_client: ClientFactory, breaker: CircuitBreaker, sleep: RecordedSleep
) -> OpenAiReviewer:
    return OpenAiReviewer(make_client(), model=MODEL, breaker=breaker, sleep=sleep)


async def error_of(call: Awaitable[object], kind: type[ProjectOneError]) -> Any:
    """The error ``call`` raised, checked to be ``kind`` and to carry nothing from openai."""
    with pytest.raises(kind) as caught:
        await call
    error = caught.value
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None:
        chain.append(link)
        link = link.__cause__ or link.__context__
    assert not any(isinstance(e, openai.OpenAIError) for e in chain), chain
    assert API_KEY not in str(error)
    return error


def finding(**fields: Any) -> dict[str, Any]:
    base = {
        "code": "GUARANTEED_RETURNS",
        "severity": "critical",
        "message": "Promises returns.",
        "suggestion": "Remove the promise.",
        "start": None,
        "end": None,
    }
    return {**base, **fields}


def review_answer(**fields: Any) -> ContentReply:
    base = {"findings": [], "risk_score": 10, "suggestions": [], "rewrite": ""}
    return ContentReply(content=json.dumps({**base, **fields}))


# -- the ports and the happy paths ------------------------------------------------------------


async def test_the_adapters_satisfy_the_generator_and_model_reviewer_ports(
    generator: OpenAiGenerator, reviewer: OpenAiReviewer
) -> None:
    as_generator: ContentGenerator = generator  # mypy checks the structural match
    as_reviewer: ModelReviewer = reviewer
    assert (as_generator.name, as_generator.model) == ("openai", MODEL)
    assert (as_reviewer.name, as_reviewer.model) == ("openai", MODEL)
    assert generator.prompt_version == "generate-v1"
    assert reviewer.prompt_version == "review-v1"


def test_the_adapter_and_the_simulator_agree_on_the_schema_names() -> None:
    assert GENERATION_SCHEMA == GENERATION_SCHEMA_NAME
    assert REVIEW_SCHEMA == REVIEW_SCHEMA_NAME


async def test_a_generation_returns_each_requested_language_with_usage_and_prompt_version(
    generator: OpenAiGenerator, simulator: OpenAiSimulator
) -> None:
    draft = await generator.generate(REQUEST)

    assert list(draft.variants) == [Language.EN, Language.HI]
    assert draft.variants[Language.EN].title == "Why a SIP keeps you invested"
    assert draft.variants[Language.HI].disclaimer.startswith("म्यूचुअल फंड")
    assert draft.topic == REQUEST.topic
    assert (draft.model, draft.prompt_version) == (MODEL, "generate-v1")
    body = simulator.bodies[0]
    prompt_chars = sum(len(m["content"]) for m in body["messages"])
    assert draft.usage == TokenUsage(
        prompt_chars // 4 + 1, len(simulator.answered[0] or "") // 4 + 1
    )


async def test_a_generation_asks_for_a_strict_schema_with_exactly_the_requested_languages(
    generator: OpenAiGenerator, simulator: OpenAiSimulator
) -> None:
    await generator.generate(REQUEST)

    body = simulator.bodies[0]
    assert body["model"] == MODEL
    assert body["temperature"] == 0.4
    assert body["max_completion_tokens"] == generator.max_output_tokens
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == GENERATION_SCHEMA
    assert response_format["json_schema"]["strict"] is True
    variants = response_format["json_schema"]["schema"]["properties"]["variants"]
    assert variants["required"] == ["en", "hi"]
    assert variants["additionalProperties"] is False
    system, user = body["messages"]
    assert system == {"role": "system", "content": load_prompt("generate-v1").system}
    assert user["role"] == "user"
    assert REQUEST.topic in user["content"]
    assert simulator.headers[0]["Authorization"] == f"Bearer {API_KEY}"


async def test_prompt_for_is_the_text_that_generate_sends(
    generator: OpenAiGenerator, simulator: OpenAiSimulator
) -> None:
    await generator.generate(REQUEST)

    body = simulator.bodies[0]
    schema = json.dumps(
        body["response_format"]["json_schema"]["schema"], ensure_ascii=False, separators=(",", ":")
    )
    sent = [m["content"] for m in body["messages"]]
    assert generator.prompt_for(REQUEST) == "\n\n".join([*sent, schema])


async def test_a_review_returns_findings_risk_suggestions_and_rewrite_end_to_end(
    reviewer: OpenAiReviewer, simulator: OpenAiSimulator
) -> None:
    text = VARIANT.render()
    start = text.index("guaranteed returns")
    simulator.script(
        review_answer(
            findings=[
                finding(start=start, end=start + len("guaranteed returns")),
                finding(code="MISSING_DISCLAIMER", severity="error", message="No disclaimer."),
            ],
            risk_score=90,
            suggestions=["Add the mutual fund disclaimer."],
            rewrite="*SIPs and discipline*\n\nInvest every month.",
        )
    )

    result = await reviewer.review(VARIANT, Language.EN, ADVISOR)

    assert result.reviewer == "openai"
    assert (result.model, result.prompt_version) == (MODEL, "review-v1")
    assert result.findings[0] == AiFinding(
        code="GUARANTEED_RETURNS",
        severity=Severity.CRITICAL,
        message="Promises returns.",
        suggestion="Remove the promise.",
        start=start,
        end=start + len("guaranteed returns"),
    )
    assert text[result.findings[0].start : result.findings[0].end] == "guaranteed returns"
    assert result.findings[1].severity is Severity.ERROR
    assert (result.findings[1].start, result.findings[1].end) == (None, None)
    assert result.risk_score == 90
    assert result.suggestions == ("Add the mutual fund disclaimer.",)
    assert result.rewrite == "*SIPs and discipline*\n\nInvest every month."
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0


async def test_a_default_review_has_no_findings_and_no_rewrite(
    reviewer: OpenAiReviewer, simulator: OpenAiSimulator
) -> None:
    result = await reviewer.review(VARIANT, Language.EN, ADVISOR)

    assert result.findings == ()
    assert result.risk_score == 5
    assert result.rewrite is None
    assert simulator.bodies[0]["response_format"]["json_schema"]["name"] == REVIEW_SCHEMA


async def test_the_review_sends_the_rendered_text_and_the_profile_but_no_contact_details(
    reviewer: OpenAiReviewer, simulator: OpenAiSimulator
) -> None:
    await reviewer.review(VARIANT, Language.EN, ADVISOR)

    wire = json.dumps(simulator.bodies[0], ensure_ascii=False)
    user = simulator.bodies[0]["messages"][1]["content"]
    assert VARIANT.render() in user
    assert "ARN-123456" in user
    assert "Asha Kulkarni" in user
    assert ADVISOR.email not in wire
    assert ADVISOR.whatsapp_number not in wire
    assert ADVISOR.whatsapp_number.removeprefix("+") not in wire


async def test_review_prompt_is_the_text_that_review_sends(
    reviewer: OpenAiReviewer, simulator: OpenAiSimulator
) -> None:
    await reviewer.review(VARIANT, Language.HI, ADVISOR)

    sent = [m["content"] for m in simulator.bodies[0]["messages"]]
    prompt = reviewer.review_prompt(VARIANT, Language.HI, ADVISOR)
    assert prompt.startswith("\n\n".join(sent))


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 4), (0, 10_000), (8, 8), (9, 3), (5, None), (None, 5)],
    ids=["negative", "past-the-end", "empty", "reversed", "no-end", "no-start"],
)
async def test_a_finding_with_a_span_outside_the_text_keeps_its_message_but_loses_the_span(
    reviewer: OpenAiReviewer, simulator: OpenAiSimulator, start: int | None, end: int | None
) -> None:
    simulator.script(review_answer(findings=[finding(start=start, end=end)]))

    result = await reviewer.review(VARIANT, Language.EN, ADVISOR)

    (kept,) = result.findings
    assert kept.message == "Promises returns."
    assert (kept.start, kept.end) == (None, None)


async def test_a_server_without_usage_is_billed_an_estimate_rather_than_nothing(
    make_client: ClientFactory, breaker: CircuitBreaker
) -> None:
    async def no_usage(request: web.Request) -> web.Response:
        content = json.dumps(
            {"variants": {"en": {"title": "T", "body": "B", "cta": "", "disclaimer": "D"}}}
        )
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    async with serve(no_usage) as server:
        generator = OpenAiGenerator(
            make_client(base_url=f"{server.base_url}/v1"), model=MODEL, breaker=breaker
        )
        request = GenerationRequest(topic="SIP basics", languages=["en"], profile=REQUEST.profile)
        draft = await generator.generate(request)

    assert draft.usage.input_tokens >= len(generator.prompt_for(request).encode()) // 3
    assert draft.usage.output_tokens > 0


# -- retries ----------------------------------------------------------------------------------


async def test_a_429_with_retry_after_is_retried_after_exactly_that_wait(
    generator: OpenAiGenerator, simulator: OpenAiSimulator, sleep: RecordedSleep
) -> None:
    simulator.script(rate_limited(retry_after=2.5))

    draft = await generator.generate(REQUEST)

    assert sleep.waits == [2.5]
    assert simulator.requests == 2
    assert list(draft.variants) == [Language.EN, Language.HI]


async def test_a_retry_after_beyond_the_remaining_budget_ends_the_retries(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
) -> None:
    generator = OpenAiGenerator(
        make_client(),
        model=MODEL,
        breaker=breaker,
        sleep=sleep,
        retry=RetryLimits(max_attempts=5, total_seconds=10.0),
    )
    simulator.script(rate_limited(retry_after=4), rate_limited(retry_after=60))

    error = await error_of(generator.generate(REQUEST), UnavailableError)

    assert sleep.waits == [4]
    assert simulator.requests == 2
    assert "HTTP 429" in error.reason
    assert "retry budget" in error.reason


async def test_server_errors_until_the_attempts_run_out_are_unavailable_and_leak_nothing(
    generator: OpenAiGenerator, simulator: OpenAiSimulator, sleep: RecordedSleep
) -> None:
    simulator.fail_all()

    error = await error_of(generator.generate(REQUEST), UnavailableError)

    assert simulator.requests == 3
    assert len(sleep.waits) == 2
    assert error.target == f"openai at 127.0.0.1:{simulator.port}"
    assert "HTTP 500" in error.reason
    assert "after 3 attempts" in error.reason
    assert error.__cause__ is None
    assert error.__context__ is None


async def test_without_retry_after_the_backoff_is_jittered_below_a_doubling_ceiling(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
) -> None:
    generator = OpenAiGenerator(
        make_client(),
        model=MODEL,
        breaker=breaker,
        sleep=sleep,
        retry=RetryLimits(max_attempts=5, total_seconds=60.0),
    )
    simulator.script(*[ErrorReply(status=503)] * 4)

    await generator.generate(REQUEST)

    assert len(sleep.waits) == 4
    for attempt, wait in enumerate(sleep.waits):
        assert 0 <= wait <= 0.5 * 2**attempt


async def test_a_server_that_outlives_the_client_timeout_is_unavailable(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
) -> None:
    generator = OpenAiGenerator(
        make_client(timeout=0.2),
        model=MODEL,
        breaker=breaker,
        sleep=sleep,
        retry=RetryLimits(max_attempts=2),
    )
    simulator.script(DelayedReply(10), DelayedReply(10))

    error = await error_of(generator.generate(REQUEST), UnavailableError)

    assert "timeout" in error.reason
    assert error.outcome_unknown
    assert simulator.requests == 2


async def test_an_endpoint_nobody_listens_on_is_unavailable(
    make_client: ClientFactory, breaker: CircuitBreaker, sleep: RecordedSleep
) -> None:
    port = closed_port()
    generator = OpenAiGenerator(
        make_client(base_url=f"http://127.0.0.1:{port}/v1"),
        model=MODEL,
        breaker=breaker,
        sleep=sleep,
    )

    error = await error_of(generator.generate(REQUEST), UnavailableError)

    assert error.target == f"openai at 127.0.0.1:{port}"
    assert "cannot connect" in error.reason


# -- unusable answers -------------------------------------------------------------------------


async def test_malformed_json_is_an_ai_output_error(
    generator: OpenAiGenerator, simulator: OpenAiSimulator
) -> None:
    simulator.script(malformed_json())

    error = await error_of(generator.generate(REQUEST), AiOutputError)

    assert error.model == MODEL
    assert "not valid JSON" in error.reason
    assert not error.refused
    assert simulator.requests == 1  # an answer is not retried


def _variant(title: object = "Title") -> dict[str, object]:
    return {"title": title, "body": "Body", "cta": "", "disclaimer": "Disclaimer"}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"variants": {"en": _variant()}}, "variants lacks hi"),
        (
            {"variants": {"en": _variant(), "hi": _variant(), "mr": _variant()}},
            "variants has unexpected mr",
        ),
        ({"variants": {"en": _variant(42), "hi": _variant()}}, "variants.en.title must be"),
        ({"variants": {"en": _variant("  "), "hi": _variant()}}, "variants.en.title"),
        (
            {"variants": {"en": {**_variant(), "emoji": "x"}, "hi": _variant()}},
            "variants.en has unexpected emoji",
        ),
        ({"variants": ["en", "hi"]}, "variants must be an object"),
        ([1, 2], "the answer must be an object"),
    ],
    ids=[
        "missing-language",
        "extra-language",
        "wrong-type",
        "blank-title",
        "extra-field",
        "array",
        "not-an-object",
    ],
)
async def test_json_that_breaks_the_generation_schema_is_an_ai_output_error(
    generator: OpenAiGenerator, simulator: OpenAiSimulator, document: object, reason: str
) -> None:
    simulator.script(ContentReply(content=json.dumps(document)))

    error = await error_of(generator.generate(REQUEST), AiOutputError)

    assert reason in error.reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"risk_score": 150}, "risk_score must be from 0 to 100"),
        ({"risk_score": "high"}, "risk_score must be an integer"),
        ({"findings": [finding(severity="fatal")]}, "findings[0].severity must be one of"),
        ({"findings": [finding(start="3")]}, "findings[0].start must be an integer or null"),
        ({"suggestions": "be careful"}, "suggestions must be an array"),
    ],
    ids=["risk-too-high", "risk-not-a-number", "bad-severity", "string-offset", "suggestions"],
)
async def test_json_that_breaks_the_review_schema_is_an_ai_output_error(
    reviewer: OpenAiReviewer, simulator: OpenAiSimulator, fields: dict[str, Any], reason: str
) -> None:
    simulator.script(review_answer(**fields))

    error = await error_of(reviewer.review(VARIANT, Language.EN, ADVISOR), AiOutputError)

    assert reason in error.reason


async def test_the_simulators_schema_breaking_answer_fails_both_adapters(
    generator: OpenAiGenerator, reviewer: OpenAiReviewer, simulator: OpenAiSimulator
) -> None:
    simulator.script(schema_breaking(), schema_breaking())

    await error_of(generator.generate(REQUEST), AiOutputError)
    await error_of(reviewer.review(VARIANT, Language.EN, ADVISOR), AiOutputError)


async def test_a_refusal_is_an_ai_output_error_marked_refused(
    generator: OpenAiGenerator, simulator: OpenAiSimulator
) -> None:
    simulator.script(RefusalReply("I can't write financial promotions."))

    error = await error_of(generator.generate(REQUEST), AiOutputError)

    assert error.refused
    assert "I can't write financial promotions." in error.reason


async def test_an_answer_cut_off_at_the_output_limit_is_an_ai_output_error(
    generator: OpenAiGenerator, simulator: OpenAiSimulator
) -> None:
    simulator.script(ContentReply(content='{"variants": {"en": {"ti', finish_reason="length"))

    error = await error_of(generator.generate(REQUEST), AiOutputError)

    assert "cut off" in error.reason
    assert not error.refused


async def test_an_answer_without_content_is_an_ai_output_error(
    generator: OpenAiGenerator, simulator: OpenAiSimulator
) -> None:
    simulator.script(ContentReply(content=None))

    error = await error_of(generator.generate(REQUEST), AiOutputError)

    assert "no content" in error.reason


async def test_a_proxy_page_in_a_2xx_answer_is_a_provider_error(
    make_client: ClientFactory, breaker: CircuitBreaker
) -> None:
    async def proxy_page(request: web.Request) -> web.Response:
        return web.Response(text="<html>Welcome</html>", content_type="text/html")

    async with serve(proxy_page) as server:
        generator = OpenAiGenerator(
            make_client(base_url=f"{server.base_url}/v1"), model=MODEL, breaker=breaker
        )
        error = await error_of(generator.generate(REQUEST), ProviderError)

    assert error.provider == "openai"
    assert "not a chat completion" in error.message


# -- refusals by the endpoint -----------------------------------------------------------------


async def test_a_wrong_key_is_a_configuration_error_naming_the_setting(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
) -> None:
    wrong_key = "sk-wrong-9876543210fedcba"
    generator = OpenAiGenerator(
        make_client(api_key=wrong_key), model=MODEL, breaker=breaker, sleep=sleep
    )

    error = await error_of(generator.generate(REQUEST), ConfigurationError)

    assert error.key == API_KEY_SETTING == "PROJECTONE_OPENAI_API_KEY"
    assert "HTTP 401" in error.reason
    assert wrong_key not in str(error)
    assert simulator.requests == 1
    assert sleep.waits == []


async def test_another_client_error_is_a_provider_error_with_the_status(
    generator: OpenAiGenerator, simulator: OpenAiSimulator
) -> None:
    simulator.script(ErrorReply(status=404, code="model_not_found"))

    error = await error_of(generator.generate(REQUEST), ProviderError)

    assert (error.provider, error.provider_code, error.http_status) == ("openai", 404, 404)
    assert "does not exist" in error.message
    assert error.details is not None
    assert "model_not_found" in error.details
    assert simulator.requests == 1


# -- the circuit breaker ----------------------------------------------------------------------


def one_attempt(
    make_client: ClientFactory, breaker: CircuitBreaker, sleep: RecordedSleep
) -> tuple[OpenAiGenerator, OpenAiReviewer]:
    retry = RetryLimits(max_attempts=1)
    client = make_client()
    return (
        OpenAiGenerator(client, model=MODEL, breaker=breaker, sleep=sleep, retry=retry),
        OpenAiReviewer(client, model=MODEL, breaker=breaker, sleep=sleep, retry=retry),
    )


async def test_the_breaker_opens_at_the_threshold_and_then_refuses_without_a_request(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
    clock: SimulatedClock,
) -> None:
    generator, _ = one_attempt(make_client, breaker, sleep)
    simulator.fail_all()
    for _ in range(2):
        await error_of(generator.generate(REQUEST), UnavailableError)
    assert not breaker.state.closed
    sent = simulator.requests

    error = await error_of(generator.generate(REQUEST), UnavailableError)

    assert simulator.requests == sent
    assert "circuit breaker is open" in error.reason
    assert breaker.retry_at is not None
    assert f"{breaker.retry_at:%Y-%m-%dT%H:%M:%SZ}" in error.reason
    assert not error.outcome_unknown


async def test_after_the_cooldown_a_trial_goes_through_and_its_success_closes_the_breaker(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
    clock: SimulatedClock,
) -> None:
    generator, _ = one_attempt(make_client, breaker, sleep)
    simulator.fail_all()
    for _ in range(2):
        await error_of(generator.generate(REQUEST), UnavailableError)
    simulator.recover()
    sent = simulator.requests

    clock.jump_to(clock.now() + COOLDOWN + dt.timedelta(seconds=1))
    draft = await generator.generate(REQUEST)

    assert simulator.requests == sent + 1
    assert draft.variants
    assert breaker.state.closed
    assert breaker.state.failures == 0


async def test_a_failed_trial_reopens_the_breaker_for_another_cooldown(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
    clock: SimulatedClock,
) -> None:
    generator, _ = one_attempt(make_client, breaker, sleep)
    simulator.fail_all()
    for _ in range(2):
        await error_of(generator.generate(REQUEST), UnavailableError)

    clock.jump_to(clock.now() + COOLDOWN + dt.timedelta(seconds=1))
    await error_of(generator.generate(REQUEST), UnavailableError)
    sent = simulator.requests
    error = await error_of(generator.generate(REQUEST), UnavailableError)

    assert simulator.requests == sent
    assert "circuit breaker is open" in error.reason


async def test_invalid_model_output_does_not_count_against_the_breaker(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
) -> None:
    generator, _ = one_attempt(make_client, breaker, sleep)
    simulator.script(malformed_json(), schema_breaking(), RefusalReply())

    for _ in range(3):
        await error_of(generator.generate(REQUEST), AiOutputError)

    assert breaker.state.closed
    assert breaker.state.failures == 0
    await generator.generate(REQUEST)


async def test_an_answer_between_failures_resets_the_count(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
) -> None:
    generator, _ = one_attempt(make_client, breaker, sleep)
    simulator.script(ErrorReply(status=500), malformed_json(), ErrorReply(status=500))

    await error_of(generator.generate(REQUEST), UnavailableError)
    await error_of(generator.generate(REQUEST), AiOutputError)
    await error_of(generator.generate(REQUEST), UnavailableError)

    assert breaker.state.closed
    assert breaker.state.failures == 1


async def test_a_breaker_shared_by_generator_and_reviewer_refuses_both(
    make_client: ClientFactory,
    breaker: CircuitBreaker,
    sleep: RecordedSleep,
    simulator: OpenAiSimulator,
) -> None:
    generator, reviewer = one_attempt(make_client, breaker, sleep)
    simulator.fail_all()
    await error_of(generator.generate(REQUEST), UnavailableError)
    await error_of(reviewer.review(VARIANT, Language.EN, ADVISOR), UnavailableError)
    sent = simulator.requests

    error = await error_of(reviewer.review(VARIANT, Language.EN, ADVISOR), UnavailableError)

    assert simulator.requests == sent
    assert "circuit breaker is open" in error.reason


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"model": " "}, "model"),
        ({"temperature": 3.0}, "temperature"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"prompt": load_prompt("review-v1")}, "prompt"),
    ],
    ids=["blank-model", "temperature", "max-output-tokens", "wrong-prompt"],
)
async def test_a_generator_with_bad_settings_is_refused_at_construction(
    make_client: ClientFactory, breaker: CircuitBreaker, overrides: dict[str, Any], field: str
) -> None:
    settings: dict[str, Any] = {"model": MODEL, "breaker": breaker, **overrides}
    with pytest.raises(ValidationError) as caught:
        OpenAiGenerator(make_client(), **settings)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(0, 10.0), (21, 10.0), (3, 0.0), (3, float("inf"))]
)
def test_retry_limits_refuse_what_would_not_bound_a_call(attempts: int, seconds: float) -> None:
    with pytest.raises(ValidationError):
        RetryLimits(max_attempts=attempts, total_seconds=seconds)


# -- the simulator itself ---------------------------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def post(
    session: aiohttp.ClientSession, simulator: OpenAiSimulator, body: object, key: str = API_KEY
) -> tuple[int, Any]:
    async with session.post(
        f"{simulator.api_base}/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": MODEL}, "messages"),
        ({"model": MODEL, "messages": []}, "messages"),
    ],
    ids=["no-model", "no-messages", "empty-messages"],
)
async def test_the_simulator_answers_400_for_a_body_without_model_or_messages(
    session: aiohttp.ClientSession, simulator: OpenAiSimulator, body: object, param: str
) -> None:
    status, answer = await post(session, simulator, body)

    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["param"] == param


async def test_the_simulator_refuses_a_strict_schema_that_allows_extra_properties(
    session: aiohttp.ClientSession, simulator: OpenAiSimulator
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "strict": True, "schema": schema},
        },
    }

    status, answer = await post(session, simulator, body)

    assert status == 400
    assert "additionalProperties" in answer["error"]["message"]


async def test_the_simulator_answers_401_in_openais_shape_with_the_key_masked(
    session: aiohttp.ClientSession, simulator: OpenAiSimulator
) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}

    status, answer = await post(session, simulator, body, key="sk-not-the-right-key")

    assert status == 401
    assert answer["error"]["code"] == "invalid_api_key"
    assert "sk-not-the-right-key" not in answer["error"]["message"]
    assert simulator.requests == 1


async def test_the_simulator_answers_a_chat_completion_in_the_wire_format(
    session: aiohttp.ClientSession, simulator: OpenAiSimulator
) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}

    status, answer = await post(session, simulator, body)

    assert status == 200
    assert answer["object"] == "chat.completion"
    assert answer["id"].startswith("chatcmpl-")
    assert answer["model"] == MODEL
    assert set(answer["choices"][0]["message"]) >= {"role", "content", "refusal"}
    assert answer["choices"][0]["finish_reason"] == "stop"
    usage = answer["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
