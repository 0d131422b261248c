"""An OpenAI-compatible Chat Completions endpoint on loopback, with fault injection.

It serves ``POST /v1/chat/completions`` in the real wire format, so the ``openai`` SDK can be
tested over a real socket instead of being patched: a bearer key (401 with OpenAI's error JSON
otherwise), a checked request body (400 for a missing ``model`` or ``messages``, a malformed
``response_format``, or a ``strict`` JSON schema that structured outputs would refuse: an
object without ``"additionalProperties": false`` or not requiring all its properties), and the
``chat.completion`` answer (``id``, ``object``, ``created``, ``model``, ``choices[0].message``
with ``role``, ``content`` and ``refusal``, ``finish_reason``, ``usage``).

**Default answers.** Deterministic valid JSON for the two structured answers projectone asks
for, chosen by ``response_format.json_schema.name``: :data:`GENERATION_SCHEMA_NAME` answers a
compliant post in every language the schema asks for (the keys of
``properties.variants.properties``), :data:`REVIEW_SCHEMA_NAME` a review without findings.
Other requests get a short text answer. Token counts are deterministic: about one token per
four characters of the messages and of the answer.

**Fault injection**, in the order it is decided (after the key and body checks):

* :meth:`OpenAiSimulator.script` queues replies for the next requests, one each:
  :class:`ErrorReply` (any status, with an optional ``Retry-After``; :func:`rate_limited`
  is the 429), :class:`DelayedReply` (waits, then answers; longer than a client's timeout it
  is a timeout), :class:`ContentReply` (any content, e.g. :func:`malformed_json` or
  :func:`schema_breaking`), :class:`RefusalReply` (``message.refusal`` set, no content);
* :meth:`OpenAiSimulator.fail_all` answers every request with one reply (a 500 by default)
  until :meth:`OpenAiSimulator.recover`;
* ``failures`` (model → HTTP status) and ``failure_rate`` (answered with ``failure_status``)
  as in every simulator; ``latency`` is waited before anything else.

**Records.** ``requests`` counts every request that reached the endpoint (accepted or not),
``bodies`` holds each one's JSON body (``None`` when it was not JSON), ``headers`` each one's
headers, so a test can prove that nothing was sent.

This module is part of the public test harness and imports nothing from
``projectone.adapters`` or ``projectone.ports``: it models the endpoint, not our client.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import attrs
from aiohttp import web

from projectone.testing._loopback import Latency, LoopbackSimulator

__all__ = [
    "DEFAULT_API_KEY",
    "GENERATION_SCHEMA_NAME",
    "REVIEW_SCHEMA_NAME",
    "ContentReply",
    "DelayedReply",
    "ErrorReply",
    "OpenAiSimulator",
    "RefusalReply",
    "ScriptedReply",
    "malformed_json",
    "rate_limited",
    "schema_breaking",
]

DEFAULT_API_KEY: Final = "sk-simulator-key-0000"
#: The ``json_schema.name`` of a content draft (one post per requested language).
GENERATION_SCHEMA_NAME: Final = "content_draft"
#: The ``json_schema.name`` of a compliance review.
REVIEW_SCHEMA_NAME: Final = "compliance_review"

_SCHEMA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool"})

#: OpenAI's ``error.type`` and message for the statuses a test is likely to script.
_ERRORS: Final[Mapping[int, tuple[str, str]]] = MappingProxyType(
    {
        400: ("invalid_request_error", "Invalid request."),
        401: ("invalid_request_error", "Incorrect API key provided."),
        403: ("invalid_request_error", "You are not allowed to access this resource."),
        404: ("invalid_request_error", "The model does not exist or you do not have access."),
        408: ("server_error", "Request timed out."),
        429: ("requests", "Rate limit reached for requests. Please try again later."),
        500: (
            "server_error",
            "The server had an error while processing your request. Sorry about that!",
        ),
        502: ("server_error", "Bad gateway."),
        503: ("server_error", "The engine is currently overloaded, please try again later."),
    }
)

#: The default post per language: compliant, short, deterministic.
_POSTS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "en": {
            "title": "Why a SIP keeps you invested",
            "body": (
                "A systematic investment plan (SIP) invests a fixed amount every month. "
                "Markets rise and fall, and a regular habit keeps you investing through both, "
                "without trying to time them."
            ),
            "cta": "Reply to this message to talk about your goals.",
            "disclaimer": (
                "Mutual fund investments are subject to market risks, read all scheme "
                "related documents carefully."
            ),
        },
        "hi": {
            "title": "एसआईपी से निवेश में अनुशासन",
            "body": (
                "सिस्टमैटिक इन्वेस्टमेंट प्लान (SIP) में हर महीने एक तय रकम निवेश होती है। "
                "बाज़ार ऊपर-नीचे होता रहता है, लेकिन नियमित निवेश से अनुशासन बना रहता है।"
            ),
            "cta": "अपने लक्ष्यों पर बात करने के लिए इस संदेश का जवाब दें।",
            "disclaimer": (
                "म्यूचुअल फंड निवेश बाज़ार जोखिमों के अधीन हैं, योजना से संबंधित सभी दस्तावेज़ ध्यान से पढ़ें।"
            ),
        },
        "mr": {
            "title": "एसआयपीमुळे गुंतवणुकीत शिस्त",
            "body": (
                "सिस्टिमॅटिक इन्व्हेस्टमेंट प्लॅन (SIP) मध्ये दर महिन्याला ठराविक रक्कम "
                "गुंतवली जाते. बाजार वर-खाली होत राहतो, पण नियमित गुंतवणुकीमुळे शिस्त टिकून "
                "राहते."
            ),
            "cta": "तुमच्या उद्दिष्टांबद्दल बोलण्यासाठी या संदेशाला उत्तर द्या.",
            "disclaimer": (
                "म्युच्युअल फंड गुंतवणूक बाजारातील जोखमींच्या अधीन आहे, योजनेशी संबंधित सर्व "
                "कागदपत्रे काळजीपूर्वक वाचा."
            ),
        },
    }
)

_DEFAULT_REVIEW: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "findings": [],
        "risk_score": 5,
        "suggestions": ["Mention the investment horizon the post has in mind."],
        "rewrite": "",
    }
)


# -- scripted replies -------------------------------------------------------------------------


def _status(_: Any, __: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise ValueError(f"an error reply needs an HTTP status from 400 to 599, got {value!r}")


def _optional_seconds(_: Any, __: Any, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ValueError(f"seconds must be finite and >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class ErrorReply:
    """An error answer: ``status`` with OpenAI's ``{"error": {...}}`` body (its usual message
    and type unless given) and, when ``retry_after`` is set, a ``Retry-After`` header in
    seconds."""

    status: int = attrs.field(default=500, validator=_status)
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    retry_after: float | None = attrs.field(default=None, validator=_optional_seconds)


def _seconds(_: Any, __: Any, value: float) -> None:
    _optional_seconds(_, __, value)


@attrs.frozen
class DelayedReply:
    """Wait ``seconds``, then answer as the simulator would have (the next scripted reply is
    not consumed). Longer than the client's timeout, the client sees a timeout."""

    seconds: float = attrs.field(validator=_seconds)


@attrs.frozen(kw_only=True)
class ContentReply:
    """A 200 whose ``message.content`` is exactly ``content`` (``None``: no content)."""

    content: str | None
    finish_reason: str = "stop"


@attrs.frozen
class RefusalReply:
    """A 200 in which the model declines: ``message.refusal`` set, ``content`` null."""

    refusal: str = "I'm sorry, but I can't help with that request."


ScriptedReply: TypeAlias = ErrorReply | DelayedReply | ContentReply | RefusalReply


def rate_limited(retry_after: float | None = 1.0) -> ErrorReply:
    """A 429 asking the client to wait ``retry_after`` seconds (no header when ``None``)."""
    return ErrorReply(status=429, code="rate_limit_exceeded", retry_after=retry_after)


def malformed_json() -> ContentReply:
    """Content that is not JSON at all: a model chatting instead of answering the schema."""
    return ContentReply(content='Sure! Here is the post you asked for: {"variants": {"en": ')


def schema_breaking() -> ContentReply:
    """Valid JSON that fits neither schema: the right top-level key, the wrong shape inside."""
    return ContentReply(content=json.dumps({"variants": {"en": {"title": 42}}, "findings": 3}))


# -- the simulator ----------------------------------------------------------------------------


class OpenAiSimulator(LoopbackSimulator):
    """``POST /v1/chat/completions`` on loopback; point the SDK at ``base_url + "/v1"``
    (:attr:`api_base`)."""

    name = "OpenAI simulator"

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: Latency = (0.0, 0.0),
        failures: Mapping[str, int] | None = None,
        failure_rate: float = 0.0,
        failure_status: int = 500,
        seed: int = 0,
    ) -> None:
        super().__init__(
            host=host,
            port=port,
            latency=latency,
            failures=failures,
            failure_rate=failure_rate,
            failure_code=failure_status,
            seed=seed,
        )
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.api_key = api_key
        #: Every request's JSON body, in arrival order (``None`` when it was not JSON).
        self.bodies: list[Any] = []
        #: Every request's headers, in arrival order.
        self.headers: list[dict[str, str]] = []
        #: The content of every 200 answered, in order (``None`` for a refusal).
        self.answered: list[str | None] = []
        self._script: collections.deque[ScriptedReply] = collections.deque()
        self._failing: ScriptedReply | None = None

    @property
    def api_base(self) -> str:
        """The SDK's ``base_url``: ``http://host:port/v1``."""
        return f"{self.base_url}/v1"

    @property
    def scripted(self) -> int:
        """Scripted replies not used yet."""
        return len(self._script)

    def script(self, *replies: ScriptedReply) -> None:
        """Answer the next requests (that pass the key and body checks) with ``replies``, one
        each, in order; then back to the default answers."""
        self._script.extend(replies)

    def fail_all(self, reply: ScriptedReply | None = None) -> None:
        """Answer every request with ``reply`` (a 500 by default) until :meth:`recover`.
        Scripted replies still come first."""
        self._failing = reply if reply is not None else ErrorReply(status=500)

    def recover(self) -> None:
        """Stop failing every request (scripted replies stay queued)."""
        self._failing = None

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/chat/completions", self._completions)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        await self.arrive()
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        if request.headers.get("Authorization", "") != f"Bearer {self.api_key}":
            return self._unauthorized(request.headers.get("Authorization", ""))
        if not isinstance(body, dict):
            return _error(
                400, "We could not parse the JSON body of your request.", "invalid_request_error"
            )
        problem = _check_request(body)
        if problem is not None:
            message, param = problem
            return _error(400, message, "invalid_request_error", param=param)
        reply = self._next_reply(str(body["model"]))
        if isinstance(reply, DelayedReply):
            await asyncio.sleep(reply.seconds)
            reply = self._next_reply(str(body["model"]), scripted=False)
        return self._answer(reply, body)

    def _next_reply(self, model: str, *, scripted: bool = True) -> ScriptedReply | None:
        if scripted and self._script:
            return self._script.popleft()
        if self._failing is not None:
            return self._failing
        status = self.failure_for(model)
        return None if status is None else ErrorReply(status=status)

    def _unauthorized(self, authorization: str) -> web.Response:
        key = authorization.removeprefix("Bearer ").strip()
        if not key:
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return _error(401, message, "invalid_request_error")
        # OpenAI masks the key it quotes; so does the simulator.
        shown = f"{key[:3]}***{key[-4:]}" if len(key) > 10 else "***"
        message = (
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
        return _error(401, message, "invalid_request_error", code="invalid_api_key")

    def _answer(self, reply: ScriptedReply | None, body: Mapping[str, Any]) -> web.Response:
        if isinstance(reply, ErrorReply):
            default_type, default_message = _ERRORS.get(
                reply.status,
                (
                    "server_error" if reply.status >= 500 else "invalid_request_error",
                    f"HTTP {reply.status}",
                ),
            )
            headers = {}
            if reply.retry_after is not None:
                headers["Retry-After"] = f"{reply.retry_after:g}"
            return _error(
                reply.status,
                reply.message or default_message,
                reply.error_type or default_type,
                code=reply.code,
                headers=headers,
            )
        refusal: str | None = None
        finish_reason = "stop"
        if isinstance(reply, RefusalReply):
            content: str | None = None
            refusal = reply.refusal
        elif isinstance(reply, ContentReply):
            content, finish_reason = reply.content, reply.finish_reason
        else:
            content = _default_content(body)
        self.answered.append(content)
        serial = next(self._serial)
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
        completion_chars = len(content or refusal or "")
        prompt_tokens = prompt_chars // 4 + 1
        completion_tokens = completion_chars // 4 + 1
        answer = {
            "id": f"chatcmpl-sim{serial:08d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": refusal,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": "fp_simulator",
        }
        return web.json_response(answer, headers={"x-request-id": f"req_sim{serial:08d}"})


# -- requests ---------------------------------------------------------------------------------


def _check_request(body: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """What OpenAI would answer 400 for, as ``(message, param)``; ``None`` when acceptable."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        return "you must provide a model parameter", "model"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "Missing required parameter: 'messages'.", "messages"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return f"Invalid value for 'messages[{index}].role'.", f"messages[{index}].role"
        if "content" not in message:
            return (
                f"Missing required parameter: 'messages[{index}].content'.",
                f"messages[{index}].content",
            )
    temperature = body.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, int | float) and 0 <= temperature <= 2
    ):
        return "Invalid 'temperature': must be a number from 0 to 2.", "temperature"
    for name in ("max_completion_tokens", "max_tokens"):
        limit = body.get(name)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            return f"Invalid type for '{name}': expected an integer.", name
        if isinstance(limit, int) and limit < 1:
            return f"Invalid '{name}': integer below minimum value 1.", name
    return _check_response_format(body.get("response_format"))


def _check_response_format(value: object) -> tuple[str, str | None] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in (
        "text",
        "json_object",
        "json_schema",
    ):
        return "Invalid value for 'response_format.type'.", "response_format.type"
    if value["type"] != "json_schema":
        return None
    spec = value.get("json_schema")
    if not isinstance(spec, dict):
        return "Missing required parameter: 'response_format.json_schema'.", "response_format"
    name = spec.get("name")
    if not isinstance(name, str) or _SCHEMA_NAME.fullmatch(name) is None:
        return "Invalid 'response_format.json_schema.name'.", "response_format.json_schema.name"
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        return "Invalid 'response_format.json_schema.schema'.", "response_format"
    if spec.get("strict") is True:
        problem = _strict_problem(schema, "")
        if problem is not None:
            return (
                f"Invalid schema for response_format '{name}': In context=({problem}",
                "response_format",
            )
    return None


def _strict_problem(schema: object, context: str) -> str | None:
    """What structured outputs' strict mode refuses in ``schema``: an object that allows
    other properties or does not require all of its own."""
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return f"{context}), 'additionalProperties' is required to be supplied and to be false."
        if not isinstance(properties, dict) or sorted(schema.get("required", [])) != sorted(
            properties
        ):
            return f"{context}), 'required' is required to be supplied and to be an array "
        for key, child in properties.items():
            problem = _strict_problem(child, f"{context}'properties', '{key}', ")
            if problem is not None:
                return problem
    items = schema.get("items")
    if items is not None:
        return _strict_problem(items, f"{context}'items', ")
    return None


# -- default answers --------------------------------------------------------------------------


def _default_content(body: Mapping[str, Any]) -> str:
    response_format = body.get("response_format")
    spec = response_format.get("json_schema") if isinstance(response_format, dict) else None
    name = spec.get("name") if isinstance(spec, dict) else None
    if name == GENERATION_SCHEMA_NAME and isinstance(spec, dict):
        languages = _requested_languages(spec.get("schema"))
        return json.dumps(
            {"variants": {code: _post(code) for code in languages}}, ensure_ascii=False
        )
    if name == REVIEW_SCHEMA_NAME:
        return json.dumps(dict(_DEFAULT_REVIEW), ensure_ascii=False)
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    ):
        return "{}"
    return "Hello from the OpenAI simulator."


def _requested_languages(schema: object) -> Sequence[str]:
    """The language codes a generation schema asks for: ``properties.variants.properties``."""
    try:
        languages = schema["properties"]["variants"]["properties"]  # type: ignore[index]
    except (KeyError, TypeError):
        return ["en"]
    return [str(code) for code in languages] if isinstance(languages, dict) else ["en"]


def _post(code: str) -> Mapping[str, str]:
    post = _POSTS.get(code)
    if post is not None:
        return post
    english = _POSTS["en"]
    return {**english, "title": f"{english['title']} ({code})"}


def _error(
    status: int,
    message: str,
    error_type: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``."""
    error = {"message": message, "type": error_type, "param": param, "code": code}
    return web.json_response({"error": error}, status=status, headers=headers)
