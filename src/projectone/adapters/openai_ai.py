"""The AI content studio on an OpenAI-compatible Chat Completions endpoint.

:class:`OpenAiGenerator` (the ``ContentGenerator`` port) drafts a post in every requested
language; :class:`OpenAiReviewer` (the ``ModelReviewer`` port) gives a second opinion on one
language variant. Both ask for structured outputs (``response_format`` ``json_schema``,
``strict``) and then check the answer themselves anyway: an OpenAI-compatible server need not
enforce the schema, and nothing the model writes reaches the domain unchecked.

This module is the edge between projectone and the ``openai`` SDK. Everything foreign stops
here, and no SDK exception is chained onto what is raised (its request carries the API key):

* a refusal, an answer cut off at the output limit, content that is not JSON or does not fit
  the schema (a missing or extra language, a wrong type, a variant the domain rejects) →
  ``AiOutputError`` (``refused=True`` for a refusal or a content filter);
* 429, 408, 5xx, a refused or dropped connection and a timeout are retried with tenacity,
  honouring ``Retry-After`` (``retry-after-ms`` first, then ``retry-after`` in seconds or as
  an HTTP date), else after an exponential backoff with full jitter; bounded by
  :class:`RetryLimits` (attempts *and* total seconds: a wait that would overrun the budget ends
  the retries). Exhausted → ``UnavailableError`` naming the endpoint by host and port only;
* 401 and 403 → ``ConfigurationError`` on ``PROJECTONE_OPENAI_API_KEY``; any other 4xx →
  ``ProviderError("openai", status, message)``.

A :class:`CircuitBreaker` (the domain's pure breaker functions on a clock) guards the
endpoint: when open, a call is refused with ``UnavailableError`` before anything is sent. Only
the endpoint being unreachable or failing (retries exhausted) counts against it; any answer,
even an unusable one or a 4xx, shows the endpoint is up and closes it.

The SDK client is the caller's (the composition root creates it with ``max_retries=0``, since
retries are decided here, and with the per-attempt ``timeout``); closing it is theirs too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

import attrs
import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from projectone.adapters._http import JsonRefused, json_type, load_strict_json, provider_target
from projectone.domain.advisor import Advisor
from projectone.domain.ai import (
    AdvisorProfile,
    AiFinding,
    BreakerPolicy,
    BreakerState,
    GeneratedDraft,
    GenerationRequest,
    ReviewResult,
    TokenUsage,
    breaker_allows,
    breaker_failed,
    breaker_succeeded,
    estimate_tokens,
)
from projectone.domain.compliance.rulebook import Severity
from projectone.domain.content import ContentVariant
from projectone.domain.errors import (
    AiOutputError,
    ConfigurationError,
    ProviderError,
    UnavailableError,
    ValidationError,
)
from projectone.domain.language import Language
from projectone.ports.clock import Clock
from projectone.prompts import Prompt, load_prompt

__all__ = [
    "API_KEY_SETTING",
    "GENERATE_PROMPT",
    "GENERATION_SCHEMA",
    "PROVIDER",
    "REVIEW_PROMPT",
    "REVIEW_SCHEMA",
    "CircuitBreaker",
    "OpenAiGenerator",
    "OpenAiReviewer",
    "RetryLimits",
    "generation_schema",
    "review_schema",
]

#: The adapters' ``name``, and ``ProviderError.provider`` for what the endpoint refuses.
PROVIDER: Final = "openai"
#: The setting a rejected key (401/403) points at.
API_KEY_SETTING: Final = "PROJECTONE_OPENAI_API_KEY"
#: The prompts sent (package data, ``projectone.prompts``); their version is recorded.
GENERATE_PROMPT: Final = "generate-v1"
REVIEW_PROMPT: Final = "review-v1"
#: ``json_schema.name`` of the two structured answers (the simulator answers by these names).
GENERATION_SCHEMA: Final = "content_draft"
REVIEW_SCHEMA: Final = "compliance_review"

#: Backoff without Retry-After: a uniform draw in [0, min(cap, initial * 2**(attempt-1))].
_BACKOFF_INITIAL: Final = 0.5
_BACKOFF_CAP: Final = 8.0
#: Statuses worth another attempt: rate limited, a server-side timeout, a server error.
_RETRYABLE_4XX: Final = frozenset({408, 429})
#: How much of a refusal or a provider message an error quotes.
_EXCERPT: Final = 200
_VARIANT_FIELDS: Final = ("title", "body", "cta", "disclaimer")
_FINDING_FIELDS: Final = ("code", "severity", "message", "suggestion", "start", "end")
_REVIEW_FIELDS: Final = ("findings", "risk_score", "suggestions", "rewrite")
_LANGUAGE_NAMES: Final[Mapping[Language, str]] = {
    Language.EN: "English",
    Language.HI: "Hindi",
    Language.MR: "Marathi",
}

Sleep = Callable[[float], Awaitable[object]]


# -- configuration --------------------------------------------------------------------------


def _attempts(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
        raise ValidationError(attribute.name, value, "must be a whole number from 1 to 20")


def _seconds(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(attribute.name, value, "must be a positive number of seconds")


@attrs.frozen
class RetryLimits:
    """How hard one call tries: at most ``max_attempts`` attempts, and no wait between them
    that would end after ``total_seconds`` from the start of the call.

    An attempt in flight is bounded by the client's own timeout, not by this budget.
    """

    max_attempts: int = attrs.field(default=3, validator=_attempts)
    total_seconds: float = attrs.field(default=30.0, validator=_seconds)


class CircuitBreaker:
    """The domain's breaker (``breaker_allows``/``breaker_succeeded``/``breaker_failed``) on a
    clock, for one endpoint: share one object between the generator and the reviewer of it.

    Not locked: its methods do not await, so on one event loop each runs whole.
    """

    def __init__(self, clock: Clock, policy: BreakerPolicy | None = None) -> None:
        self._clock = clock
        self._policy = policy if policy is not None else BreakerPolicy()
        self._state = BreakerState()

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def policy(self) -> BreakerPolicy:
        return self._policy

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def retry_at(self) -> dt.datetime | None:
        """When a refused call may next go out (a trial); ``None`` while closed."""
        opened_at = self._state.opened_at
        return None if opened_at is None else opened_at + self._policy.cooldown

    def allow(self) -> bool:
        """May a call go out now? Past the cooldown this lets one trial call through."""
        allowed, self._state = breaker_allows(self._state, self._policy, self._clock.now())
        return allowed

    def succeeded(self) -> None:
        """The endpoint answered: close and forget past failures."""
        self._state = breaker_succeeded(self._state)

    def failed(self) -> None:
        """The endpoint could not be reached or kept failing: count it, maybe open."""
        self._state = breaker_failed(self._state, self._policy, self._clock.now())

    def refusal(self) -> str:
        """Why a call is refused, for ``UnavailableError.reason``."""
        retry_at = self.retry_at
        when = (
            "" if retry_at is None else f" until {retry_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
        )
        return (
            f"the circuit breaker is open{when} after {self._state.failures} failed calls "
            f"in a row; nothing was sent"
        )


# -- schemas --------------------------------------------------------------------------------


def _closed_object(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A strict-mode object: every property required, nothing else allowed."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def generation_schema(languages: Sequence[Language]) -> dict[str, Any]:
    """The answer a generation asks for: ``{"variants": {<code>: {title, body, cta,
    disclaimer}}}`` with exactly the requested languages."""
    descriptions = {
        "title": "The headline, under 80 characters.",
        "body": "The post itself, 40 to 120 words.",
        "cta": "One sentence inviting the client to talk to the advisor.",
        "disclaimer": "The mandatory regulatory disclaimer with the registration number.",
    }
    variant = _closed_object(
        {field: {"type": "string", "description": descriptions[field]} for field in descriptions}
    )
    per_language = {
        language.value: {**variant, "description": f"The post in {_LANGUAGE_NAMES[language]}."}
        for language in languages
    }
    return _closed_object({"variants": _closed_object(per_language)})


def review_schema() -> dict[str, Any]:
    """The answer a review asks for: findings with optional spans, a risk score from 0 to 100,
    general suggestions and a rewrite."""
    span = {"type": ["integer", "null"], "minimum": 0}
    finding = _closed_object(
        {
            "code": {"type": "string"},
            "severity": {"type": "string", "enum": [s.value for s in Severity]},
            "message": {"type": "string"},
            "suggestion": {"type": "string"},
            "start": span,
            "end": span,
        }
    )
    return _closed_object(
        {
            "findings": {"type": "array", "items": finding},
            "risk_score": {"type": "integer", "minimum": 0, "maximum": 100},
            "suggestions": {"type": "array", "items": {"type": "string"}},
            "rewrite": {"type": "string"},
        }
    )


# -- the shared call --------------------------------------------------------------------------


@attrs.frozen
class _Messages:
    system: str
    user: str
    schema_name: str
    schema: dict[str, Any]

    def text(self) -> str:
        """What is sent, as one text: both messages and the schema (the schema is read by the
        model too and is billed as input)."""
        schema = json.dumps(self.schema, ensure_ascii=False, separators=(",", ":"))
        return f"{self.system}\n\n{self.user}\n\n{schema}"


@attrs.define
class _Run:
    """What one call's retries came to, for the reason of an ``UnavailableError``."""

    attempts: int = 0
    #: The wait that was refused because it would have overrun the time budget.
    refused_wait: float | None = None


class _OpenAiCall:
    """What the generator and the reviewer share: configuration, the breaker, the retries and
    the translation of the SDK's errors. Subclasses name their prompt, its placeholders and
    their default temperature."""

    _PROMPT: str
    _PLACEHOLDERS: frozenset[str]
    _TEMPERATURE: float

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str,
        breaker: CircuitBreaker,
        temperature: float | None = None,
        max_output_tokens: int = 2000,
        retry: RetryLimits | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
        prompt: Prompt | None = None,
    ) -> None:
        temperature = self._TEMPERATURE if temperature is None else temperature
        retry = retry if retry is not None else RetryLimits()
        prompt = prompt if prompt is not None else load_prompt(self._PROMPT)
        placeholders = self._PLACEHOLDERS
        if not isinstance(model, str) or not model.strip():
            raise ValidationError("model", model, "must name a model")
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not 0.0 <= temperature <= 2.0
        ):
            raise ValidationError("temperature", temperature, "must be from 0 to 2")
        if (
            isinstance(max_output_tokens, bool)
            or not isinstance(max_output_tokens, int)
            or not 1 <= max_output_tokens <= 1_000_000
        ):
            raise ValidationError(
                "max_output_tokens", max_output_tokens, "must be a whole number from 1"
            )
        if prompt.placeholders != placeholders:
            raise ValidationError(
                "prompt",
                prompt.version,
                f"must have the placeholders {', '.join(sorted(placeholders))}",
            )
        self._client = client
        # Errors name the endpoint by host and port only: never the path or the key.
        self._target = provider_target(str(client.base_url), PROVIDER)
        self._model = model
        self._breaker = breaker
        self._temperature = float(temperature)
        self._max_output_tokens = max_output_tokens
        self._retry = retry
        self._sleep = sleep
        self._clock = clock if clock is not None else breaker.clock
        self._prompt = prompt

    @property
    def name(self) -> str:
        return PROVIDER

    @property
    def model(self) -> str:
        return self._model

    @property
    def prompt_version(self) -> str:
        return self._prompt.version

    @property
    def max_output_tokens(self) -> int:
        return self._max_output_tokens

    @property
    def target(self) -> str:
        """What ``UnavailableError.target`` says: ``"openai at host:port"``."""
        return self._target

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def _ask(self, messages: _Messages) -> tuple[Any, TokenUsage]:
        """Send ``messages``; the answer's JSON document (not yet checked against the schema)
        and the tokens it took."""
        if not self._breaker.allow():
            raise UnavailableError(self._target, self._breaker.refusal(), outcome_unknown=False)
        try:
            completion = await self._send(messages)
        except UnavailableError:
            self._breaker.failed()
            raise
        except (ConfigurationError, ProviderError):
            self._breaker.succeeded()  # refused, but it answered: the endpoint is up
            raise
        self._breaker.succeeded()
        return self._read(completion, messages)

    async def _send(self, messages: _Messages) -> ChatCompletion:
        """One call with bounded retries; every SDK error comes out translated and unchained
        (raised outside the ``except`` block, so not even ``__context__`` holds it)."""
        chat: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": messages.system},
            {"role": "user", "content": messages.user},
        ]
        response_format: ResponseFormatJSONSchema = {
            "type": "json_schema",
            "json_schema": {
                "name": messages.schema_name,
                "strict": True,
                "schema": messages.schema,
            },
        }
        run = _Run()
        start = self._clock.now()

        def stop(state: RetryCallState) -> bool:
            run.attempts = state.attempt_number
            if state.attempt_number >= self._retry.max_attempts:
                return True
            elapsed = (self._clock.now() - start).total_seconds()
            wait = state.upcoming_sleep
            if elapsed + wait > self._retry.total_seconds:
                run.refused_wait = wait
                return True
            return False

        retrying = AsyncRetrying(
            stop=stop,
            wait=self._wait,
            retry=retry_if_exception(_transient),
            sleep=self._pause,
            reraise=True,
        )
        failure: Exception
        try:
            async for attempt in retrying:
                with attempt:
                    run.attempts = attempt.retry_state.attempt_number
                    return await self._client.chat.completions.create(
                        model=self._model,
                        messages=chat,
                        temperature=self._temperature,
                        max_completion_tokens=self._max_output_tokens,
                        response_format=response_format,
                    )
        except openai.APIStatusError as exc:
            failure = self._status_failure(exc, run)
        except openai.APITimeoutError:
            failure = UnavailableError(
                self._target,
                f"no answer within the timeout{_after(run)}; the outcome is unknown",
            )
        except openai.APIConnectionError:
            failure = UnavailableError(
                self._target, f"cannot connect or the connection dropped{_after(run)}"
            )
        except openai.OpenAIError as exc:
            failure = ProviderError(PROVIDER, None, f"the SDK failed: {type(exc).__name__}")
        except ValueError as exc:  # a 2xx body the SDK could not decode
            failure = ProviderError(
                PROVIDER, None, f"the answer could not be read: {type(exc).__name__}"
            )
        raise failure

    async def _pause(self, seconds: float) -> None:
        await self._sleep(seconds)

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when the server gave one, else exponential backoff with jitter."""
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, openai.APIStatusError):
            after = _retry_after(exc.response.headers, self._clock.now())
            if after is not None:
                return after
        backoff: float = wait_random_exponential(multiplier=_BACKOFF_INITIAL, max=_BACKOFF_CAP)(
            state
        )
        return backoff

    def _status_failure(self, exc: openai.APIStatusError, run: _Run) -> Exception:
        status = exc.status_code
        message = _provider_message(exc.body, status)
        if status in (401, 403):
            what = "rejected the API key" if status == 401 else "does not allow this key"
            return ConfigurationError(
                API_KEY_SETTING,
                f"{self._target} {what} (HTTP {status}, model {self._model!r}); "
                f"check {API_KEY_SETTING}",
            )
        if _retryable_status(status):
            reason = f"HTTP {status} ({message}){_after(run)}"
            if run.refused_wait is not None:
                reason += (
                    f"; the next try was due in {run.refused_wait:g} s, past the "
                    f"{self._retry.total_seconds:g} s retry budget"
                )
            return UnavailableError(self._target, reason)
        details = _provider_details(exc.body)
        return ProviderError(PROVIDER, status, message, http_status=status, details=details)

    def _read(self, completion: ChatCompletion, messages: _Messages) -> tuple[Any, TokenUsage]:
        # The SDK hands over what a 2xx body held: a proxy's HTML page comes back as a str.
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list):
            raise ProviderError(PROVIDER, None, "the answer is not a chat completion")
        if not choices:
            raise AiOutputError(self._model, "the answer has no choices")
        choice = choices[0]
        message = getattr(choice, "message", None)
        refusal = getattr(message, "refusal", None)
        if isinstance(refusal, str) and refusal.strip():
            raise AiOutputError(
                self._model, f"the model refused: {_excerpt(refusal)}", refused=True
            )
        finish_reason = getattr(choice, "finish_reason", None)
        if finish_reason == "content_filter":
            raise AiOutputError(
                self._model, "the provider's content filter withheld the answer", refused=True
            )
        if finish_reason == "length":
            raise AiOutputError(
                self._model,
                f"the answer was cut off at the limit of {self._max_output_tokens} output tokens",
            )
        content = getattr(message, "content", None)
        if not isinstance(content, str) or not content.strip():
            raise AiOutputError(self._model, "the answer has no content")
        try:
            document = load_strict_json(content)
        except JsonRefused as exc:
            raise AiOutputError(self._model, f"the answer {exc.reason}") from None
        return document, _usage(completion, messages, content)


# -- the generator ----------------------------------------------------------------------------


class OpenAiGenerator(_OpenAiCall):
    """Drafts a post in every requested language (the ``ContentGenerator`` port).

    ``client`` is an ``openai.AsyncOpenAI`` the caller owns (made with ``max_retries=0`` and
    the per-attempt ``timeout``); ``breaker`` guards its endpoint (share it with the reviewer
    of the same endpoint); ``retry`` bounds each call's attempts and total seconds; ``sleep``
    waits between attempts (tests record the waits instead); ``clock`` measures the retry
    budget (the breaker's clock by default). ``prompt`` replaces ``generate-v1`` (it must take
    ``$request``).
    """

    _PROMPT = GENERATE_PROMPT
    _PLACEHOLDERS = frozenset({"request"})
    _TEMPERATURE = 0.7

    def prompt_for(self, request: GenerationRequest) -> str:
        """What ``generate`` sends for ``request``: the system and user messages and the
        response schema, as one text (for the cost estimate)."""
        return self._messages(request).text()

    async def generate(self, request: GenerationRequest) -> GeneratedDraft:
        """A draft in each of ``request.languages``; errors as the module says."""
        document, usage = await self._ask(self._messages(request))
        return GeneratedDraft(
            topic=request.topic,
            variants=self._variants(document, request.languages),
            model=self._model,
            prompt_version=self.prompt_version,
            usage=usage,
        )

    def _messages(self, request: GenerationRequest) -> _Messages:
        inputs = json.dumps(request.inputs(), ensure_ascii=False, indent=2)
        return _Messages(
            system=self._prompt.system,
            user=self._prompt.render(request=inputs),
            schema_name=GENERATION_SCHEMA,
            schema=generation_schema(request.languages),
        )

    def _variants(
        self, document: object, languages: Sequence[Language]
    ) -> dict[Language, ContentVariant]:
        check = _Checker(self._model)
        answer = check.fields(document, "the answer", ("variants",))
        wanted = tuple(language.value for language in languages)
        per_language = check.fields(answer["variants"], "variants", wanted)
        variants: dict[Language, ContentVariant] = {}
        for language in languages:
            where = f"variants.{language.value}"
            fields = check.fields(per_language[language.value], where, _VARIANT_FIELDS)
            texts = {name: check.text(fields[name], f"{where}.{name}") for name in _VARIANT_FIELDS}
            try:
                variants[language] = ContentVariant(**texts)
            except ValidationError as exc:
                raise AiOutputError(self._model, f"{where}.{exc.field}: {exc.reason}") from None
        return variants


# -- the reviewer -----------------------------------------------------------------------------


class OpenAiReviewer(_OpenAiCall):
    """A second opinion on one language variant (the ``ModelReviewer`` port).

    The model sees the variant's rendered text and the advisor's profile (name, type,
    registration number), never contact details. Finding spans index the rendered text; a
    span outside it (or empty, or reversed) is dropped and the finding kept. Parameters as
    :class:`OpenAiGenerator`; ``prompt`` replaces ``review-v1`` (it must take ``$language``,
    ``$advisor`` and ``$text``).
    """

    _PROMPT = REVIEW_PROMPT
    _PLACEHOLDERS = frozenset({"language", "advisor", "text"})
    _TEMPERATURE = 0.0

    def review_prompt(self, variant: ContentVariant, language: Language, advisor: Advisor) -> str:
        """What ``review`` sends: both messages and the response schema, as one text."""
        return self._messages(variant, language, advisor).text()

    async def review(
        self, variant: ContentVariant, language: Language, advisor: Advisor
    ) -> ReviewResult:
        """The model's findings on ``variant``; errors as the module says."""
        document, usage = await self._ask(self._messages(variant, language, advisor))
        check = _Checker(self._model)
        answer = check.fields(document, "the answer", _REVIEW_FIELDS)
        rendered_length = len(variant.render())
        findings = tuple(
            self._finding(check, item, f"findings[{index}]", rendered_length)
            for index, item in enumerate(check.items(answer["findings"], "findings"))
        )
        suggestions = tuple(
            check.text(item, f"suggestions[{index}]")
            for index, item in enumerate(check.items(answer["suggestions"], "suggestions"))
        )
        rewrite = check.text(answer["rewrite"], "rewrite")
        return ReviewResult(
            reviewer=PROVIDER,
            findings=findings,
            risk_score=check.whole_number(answer["risk_score"], "risk_score", 0, 100),
            suggestions=tuple(s for s in suggestions if s.strip()),
            rewrite=rewrite if rewrite.strip() else None,
            model=self._model,
            prompt_version=self.prompt_version,
            usage=usage,
        )

    def _messages(self, variant: ContentVariant, language: Language, advisor: Advisor) -> _Messages:
        profile = AdvisorProfile.of(advisor).as_dict()
        return _Messages(
            system=self._prompt.system,
            user=self._prompt.render(
                language=f"{language.value} ({_LANGUAGE_NAMES[language]})",
                advisor=json.dumps(profile, ensure_ascii=False),
                text=variant.render(),
            ),
            schema_name=REVIEW_SCHEMA,
            schema=review_schema(),
        )

    @staticmethod
    def _finding(check: _Checker, item: object, where: str, rendered_length: int) -> AiFinding:
        fields = check.fields(item, where, _FINDING_FIELDS)
        code = check.text(fields["code"], f"{where}.code")
        message = check.text(fields["message"], f"{where}.message")
        if not code.strip() or not message.strip():
            raise AiOutputError(check.model, f"{where}: the code and message must not be empty")
        severity = check.text(fields["severity"], f"{where}.severity")
        if severity not in {s.value for s in Severity}:
            allowed = ", ".join(s.value for s in Severity)
            raise AiOutputError(check.model, f"{where}.severity must be one of {allowed}")
        start = check.optional_whole_number(fields["start"], f"{where}.start")
        end = check.optional_whole_number(fields["end"], f"{where}.end")
        if start is None or end is None or not 0 <= start < end <= rendered_length:
            start = end = None  # the model cannot say where, or says it wrongly
        return AiFinding(
            code=code.strip(),
            severity=Severity(severity),
            message=message.strip(),
            suggestion=check.text(fields["suggestion"], f"{where}.suggestion").strip(),
            start=start,
            end=end,
        )


# -- checking answers -------------------------------------------------------------------------


@attrs.frozen
class _Checker:
    """Reads a JSON document against the schema; every mismatch is an ``AiOutputError``."""

    model: str

    def fail(self, reason: str) -> AiOutputError:
        return AiOutputError(self.model, reason)

    def fields(self, value: object, where: str, names: Sequence[str]) -> Mapping[str, object]:
        """``value`` as an object with exactly the keys ``names``."""
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be an object, got {json_type(value)}")
        missing = [name for name in names if name not in value]
        extra = sorted(str(key) for key in value if key not in names)
        if missing:
            raise self.fail(f"{where} lacks {', '.join(missing)}")
        if extra:
            raise self.fail(f"{where} has unexpected {', '.join(extra)}")
        return value

    def items(self, value: object, where: str) -> list[object]:
        if not isinstance(value, list):
            raise self.fail(f"{where} must be an array, got {json_type(value)}")
        return value

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{where} must be a string, got {json_type(value)}")
        return value

    def whole_number(self, value: object, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where} must be an integer, got {json_type(value)}")
        if not low <= value <= high:
            raise self.fail(f"{where} must be from {low} to {high}, got {value}")
        return value

    def optional_whole_number(self, value: object, where: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where} must be an integer or null, got {json_type(value)}")
        return value


# -- small helpers ----------------------------------------------------------------------------


def _retryable_status(status: int) -> bool:
    return status in _RETRYABLE_4XX or status >= 500


def _transient(exc: BaseException) -> bool:
    """Worth another attempt: rate limited, a server error, no connection, a timeout."""
    if isinstance(exc, openai.APIStatusError):
        return _retryable_status(exc.status_code)
    return isinstance(exc, openai.APIConnectionError)  # APITimeoutError included


def _retry_after(headers: Mapping[str, str], now: dt.datetime) -> float | None:
    """The wait the server asked for, in seconds: ``retry-after-ms``, else ``retry-after`` as
    seconds or as an HTTP date; ``None`` when absent or unreadable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        seconds = _non_negative(raw_ms)
        if seconds is not None:
            return seconds / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _non_negative(raw)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _non_negative(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _after(run: _Run) -> str:
    return f" after {run.attempts} attempt{'s' if run.attempts != 1 else ''}"


def _excerpt(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= _EXCERPT else one_line[: _EXCERPT - 1] + "…"


def _provider_message(body: object, status: int) -> str:
    """OpenAI's ``error.message`` (the SDK hands over the ``error`` object), else the status."""
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str) and message.strip():
        return _excerpt(message)
    return f"HTTP {status}"


def _provider_details(body: object) -> str | None:
    """OpenAI's ``type``/``code``/``param`` of a refusal, for diagnosis."""
    if not isinstance(body, dict):
        return None
    parts = [
        f"{name}={body[name]}"
        for name in ("type", "code", "param")
        if isinstance(body.get(name), str) and body[name]
    ]
    return ", ".join(parts) or None


def _usage(completion: ChatCompletion, messages: _Messages, content: str) -> TokenUsage:
    """The provider's token counts; when a server reports none, a generous estimate, so the
    budget is never under-counted."""
    usage = getattr(completion, "usage", None)
    prompt_tokens = getattr(usage, "prompt_tokens", None)
    completion_tokens = getattr(usage, "completion_tokens", None)
    if (
        isinstance(prompt_tokens, int)
        and isinstance(completion_tokens, int)
        and prompt_tokens >= 0
        and completion_tokens >= 0
    ):
        return TokenUsage(prompt_tokens, completion_tokens)
    return TokenUsage(estimate_tokens(messages.text()), estimate_tokens(content))
