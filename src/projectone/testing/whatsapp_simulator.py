"""A WhatsApp Business Cloud API simulator: Meta's send endpoint on loopback, and its webhooks.

It speaks the real wire format (``POST /{version}/{phone_number_id}/messages``, bearer token,
Meta's success and error JSON), so an HTTP client can be tested over a real socket instead of
by patching it, and it posts signed status webhooks back, as Meta does, to a receiver under
test. Every random choice draws from its own stream seeded by ``seed``, so a run is
reproducible and turning one knob on does not reshuffle what another one decides.

**What is accepted.** Text, image and template messages, checked as Meta checks them: an image
needs exactly one of ``link`` and ``id`` (100 otherwise); a template must be one of the
``templates`` given (132001 for an unknown name or language) with as many parameters per
component as approved (132000). Without ``templates`` any well-formed template is accepted,
since the simulator then has no approved list to check against. ``access_token`` is the bearer
token expected (190 otherwise) and ``phone_number_id``, when given, the only number that
exists. ``sent`` holds the accepted bodies, ``requests`` counts every request, and
``sends_per_callback`` counts accepted messages per ``biz_opaque_callback_data``, so a delivery
sent twice (a retry after an unknown outcome) is visible in ``duplicate_callbacks``.

**Refusals on the send**, checked in this order after validation:

* ``failures`` maps a recipient (digits) to the code to answer with; ``failure_rate`` fails
  the other sends at random with ``failure_code``;
* ``error_mix`` maps Meta error codes to the fraction of sends answered with each, e.g.
  ``{131026: 0.01, 131000: 0.02}`` (each within [0, 1], summing to at most 1; ``ValueError``
  otherwise);
* ``rate_limit`` (off by default) caps the messages each phone number may send in any sliding
  one-second window (on ``monotonic``), answering 130429 beyond it as Meta does past a
  number's throughput.

**Latency.** ``latency`` is waited before a request is handled, as network and queueing time
would be, so a client that times out during it sent nothing: either a ``(low, high)`` uniform
range in seconds or a callable ``(random.Random) -> seconds``, such as
``lognormal_latency(median=0.08, p99=0.6)`` for the long tail of a real network.

**Unknown outcomes.** For ``lost_answer_fraction`` of the accepted sends the message *is*
accepted (recorded in ``sent``, counted, its webhooks scheduled) but the HTTP answer is
withheld for ``lost_answer_delay`` seconds (30 by default), so a client with a shorter timeout
sees a timeout after its request was written and cannot know whether the message went out.
``lost_answers`` counts them. This is how tests exercise the unknown-outcome policies:
``at_most_once`` must not send again (``sends_per_callback`` stays at 1) and lets the status
webhook, which echoes the callback data, settle the delivery; ``at_least_once`` sends again
(``duplicate_callbacks`` shows the second copy).

**Status webhooks.** With ``webhook_url`` set, every accepted send is followed by status
webhooks POSTed to it, as Meta's are: ``sent``, then ``delivered``, then ``read`` for
``read_fraction`` of the messages (0.7 by default: read receipts are a user setting). Instead,
``async_failures`` (same shape and checks as ``error_mix``) reports that fraction of the
*accepted* sends as ``failed`` with the code (Meta reports 131026 and 131049 this way, after
answering the send with a wamid); such a message gets the ``failed`` status only. Which
statuses each wamid gets is recorded in ``planned_statuses`` (webhooks on or not). Status
timestamps come from ``wall_clock`` (Unix seconds, ``time.time`` by default; a demo living
on simulated time passes its own clock). Each status
carries the wamid, ``recipient_id`` (the wa_id), a ``timestamp`` of when it happened and
``biz_opaque_callback_data`` when the send had it. Then:

* each status comes a ``webhook_delay`` (``(low, high)`` uniform seconds, default 0–50 ms)
  after the previous one of its message (the first, after the send);
* statuses are batched, as Meta batches them: one POST carries up to ``webhook_batch_size``
  statuses (50) of one phone number, sent once the batch is full or ``webhook_flush_interval``
  seconds (0.05) after the poster started waiting for it; POSTs go out one at a time, in order;
* ``duplicate_fraction`` of the statuses are posted a second time (another ``webhook_delay``
  later, never in the same POST), ``reorder_fraction`` of the messages have their statuses
  posted in reverse order (``read`` first); timestamps stay those of the events;
* each POST's exact bytes are signed with ``X-Hub-Signature-256`` (:func:`sign_body` with
  ``app_secret``; no header without one). A non-2xx answer or a connection error is retried
  ``webhook_retries`` times (3) with a short doubling backoff, then given up and counted in
  ``webhook_failures``;
* ``webhooks_posted`` counts the POSTs answered 2xx and ``statuses_posted`` the statuses they
  carried; :meth:`WhatsAppSimulator.drain_webhooks` waits until every status planned so far
  was posted or given up (``TimeoutError`` past its timeout). The posting tasks belong to the
  simulator: ``stop()`` cancels what is still pending and counts it in ``statuses_dropped``.

:func:`build_status_webhook` and :func:`build_message_webhook` build the raw bodies of a status
webhook and of an inbound text message for tests that post them by hand.

HTTP statuses chosen per Meta error code (Meta documents the codes, not a fixed status, and
projectone decides on the code only):

* 190 (token) → 401; 10 and 200–299 (permission) → 403;
* rate limits 4, 80007, 130429, 131056 → 429, so plain HTTP tooling also sees throttling;
* 131000 (unknown) → 500; 2, 131016, 131057 (temporarily unavailable) → 503;
* everything else → 400, as Meta does.

This module is part of the public test harness and imports nothing from
``projectone.adapters``: it must stay an independent model of Meta, not of our client.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import random
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Final

import aiohttp
import attrs
from aiohttp import web

from projectone.testing._loopback import Latency, LoopbackSimulator, lognormal_latency

__all__ = [
    "ERROR_TITLES",
    "MAX_CALLBACK_DATA_LENGTH",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_BODY_LENGTH",
    "RATE_LIMIT_CODES",
    "ApprovedTemplate",
    "WhatsAppSimulator",
    "build_message_webhook",
    "build_status_webhook",
    "http_status_for",
    "lognormal_latency",
    "sign_body",
]

MAX_TEXT_BODY_LENGTH: Final = 4096
MAX_CALLBACK_DATA_LENGTH: Final = 512
MAX_CAPTION_LENGTH: Final = 1024

#: Meta's error titles, keyed by code (from the reference table; used in ``message``).
ERROR_TITLES: Final[Mapping[int, str]] = {
    2: "Temporary service error",
    4: "API Too Many Calls",
    10: "Permission Denied",
    100: "Invalid parameter",
    190: "Access token has expired",
    200: "API Permission",
    368: "Temporarily blocked for policies violations",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    130472: "User's number is part of an experiment",
    131000: "Something went wrong",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131026: "Message undeliverable",
    131031: "Account has been locked",
    131042: "Business eligibility payment issue",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement",
    131050: "Unable to deliver the message: the user stopped marketing messages",
    131051: "Unsupported message type",
    131052: "Media download error",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template does not exist",
    132005: "Translated text too long",
    132007: "Template format character policy violated",
    132008: "Template parameter format mismatch",
    132012: "Template parameter format mismatch",
    132015: "Template is paused",
    132016: "Template is disabled",
    133010: "Phone number not registered",
}

#: Details Meta gives for the codes a test is most likely to inject.
_DETAILS: Final[Mapping[int, str]] = {
    130429: "Cloud API message throughput has been reached.",
    131026: "Message undeliverable: the recipient is not on WhatsApp, uses an old app version, "
    "or has not accepted the latest terms.",
    131047: "Message failed to send because more than 24 hours have passed since the "
    "customer last replied to this number.",
    131056: "Too many messages sent from the sender phone number to the same recipient "
    "phone number in a short period of time.",
    132000: "The number of variable parameter values included in the request did not match "
    "the number of variable parameters defined in the template.",
    190: "The access token is invalid or has expired.",
}

RATE_LIMIT_CODES: Final = frozenset({4, 80007, 130429, 131056})
_SERVER_ERROR_CODES: Final = frozenset({131000})
_UNAVAILABLE_CODES: Final = frozenset({2, 131016, 131057})

_SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
#: Meta's webhook requests name themselves so.
_WEBHOOK_USER_AGENT: Final = "facebookexternalua"
#: Bound on one webhook POST, and the first pause before retrying one (doubled each time).
_WEBHOOK_TIMEOUT: Final = 5.0
_WEBHOOK_BACKOFF: Final = 0.05
#: Defaults of the envelope fields: the WABA id and the number Meta's examples use.
_DEFAULT_WABA_ID: Final = "102290129340398"
_DEFAULT_PHONE_NUMBER_ID: Final = "106540352242922"
_DEFAULT_DISPLAY_NUMBER: Final = "15550783881"


def http_status_for(code: int) -> int:
    """The HTTP status the simulator answers with for Meta error ``code`` (see module doc)."""
    if code == 190:
        return 401
    if code == 10 or 200 <= code <= 299:
        return 403
    if code in RATE_LIMIT_CODES:
        return 429
    if code in _SERVER_ERROR_CODES:
        return 500
    if code in _UNAVAILABLE_CODES:
        return 503
    return 400


def _fraction(name: str, value: object) -> float:
    # NaN fails both comparisons, so it is refused too.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction within [0, 1], got {value!r}")
    return float(value)


def _code_fractions(name: str, mix: Mapping[int, float] | None) -> dict[int, float]:
    """Error code → fraction, each within [0, 1] and summing to at most 1, sorted by code so
    the draws do not depend on the order the caller wrote them in."""
    checked: dict[int, float] = {}
    for code, fraction in (mix or {}).items():
        if isinstance(code, bool) or not isinstance(code, int) or code < 1:
            raise ValueError(f"{name} keys must be Meta error codes (ints >= 1), got {code!r}")
        checked[code] = _fraction(f"{name}[{code}]", fraction)
    total = math.fsum(checked.values())
    if total > 1.0 + 1e-9:
        raise ValueError(f"{name} fractions must sum to at most 1, got {total}")
    return dict(sorted(checked.items()))


def _pick(mix: Mapping[int, float], draw: float) -> int | None:
    """The code whose slice of [0, 1) holds ``draw`` (slices laid end to end), if any."""
    edge = 0.0
    for code, fraction in mix.items():
        edge += fraction
        if draw < edge:
            return code
    return None


def _seconds_at_least_zero(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be finite seconds >= 0, got {value!r}")
    return float(value)


def _delay_range(name: str, value: tuple[float, float]) -> tuple[float, float]:
    try:
        low, high = value
        valid = math.isfinite(low) and math.isfinite(high) and 0.0 <= low <= high
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"{name} must be (low, high) seconds with 0 <= low <= high, got {value!r}")
    return float(low), float(high)


def _whole_number(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value


def _webhook_events() -> tuple[asyncio.Event, asyncio.Event, asyncio.Event]:
    """``idle`` (nothing pending; set), ``has_work`` and ``batch_full`` (both clear)."""
    idle = asyncio.Event()
    idle.set()
    return idle, asyncio.Event(), asyncio.Event()


def _languages(value: object) -> frozenset[str]:
    # A bare "en" would otherwise become the set {"e", "n"}.
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"languages must be a collection of language codes, got {value!r}")
    return frozenset(str(code) for code in value)


def _indices(value: object) -> frozenset[int]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"buttons must be a collection of button indices, got {value!r}")
    return frozenset(value)


@attrs.frozen(kw_only=True)
class ApprovedTemplate:
    """A template as approved in WhatsApp Manager, reduced to what Meta checks on a send.

    ``languages`` it exists in (``"en"``, ``"hi"``, ``"en_US"``…); ``header`` and ``body``: how
    many parameters those components take (0 means the component has no variable and must not
    be sent); ``buttons``: the indices of the buttons with a variable part (one parameter each).
    """

    languages: frozenset[str] = attrs.field(converter=_languages)
    header: int = 0
    body: int = 0
    buttons: frozenset[int] = attrs.field(default=frozenset(), converter=_indices)

    def __attrs_post_init__(self) -> None:
        if not self.languages:
            raise ValueError("an approved template exists in at least one language")
        if self.header not in (0, 1):
            raise ValueError(f"a header takes 0 or 1 parameter, got {self.header}")
        if self.body < 0:
            raise ValueError(f"body must be a parameter count >= 0, got {self.body}")
        if any(not 0 <= index <= 9 for index in self.buttons):
            raise ValueError(f"button indices run from 0 to 9, got {sorted(self.buttons)}")

    def expected_parameters(self) -> dict[str, int]:
        """Parameters per component key (``header``, ``body``, ``button 0``…), zeros left out."""
        expected = {"header": self.header, "body": self.body}
        expected.update({f"button {index}": 1 for index in self.buttons})
        return {key: count for key, count in expected.items() if count}


class _Refusal(Exception):
    """Internal: stop handling a request and answer with Meta's error for ``code``."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        message: str | None = None,
        error_type: str = "OAuthException",
    ) -> None:
        self.code = code
        self.details = details
        self.message = message
        self.error_type = error_type
        super().__init__(code)


class WhatsAppSimulator(LoopbackSimulator):
    """Meta's send endpoint on ``host:port`` (port 0 picks a free one; read ``base_url``).

    Every knob is described in the module documentation. What a test reads back:

    * ``sent``: the JSON bodies accepted, in order; ``requests``: every request that reached
      the send route, accepted or not, so a test can prove nothing was sent;
    * ``sends_per_callback`` / ``duplicate_callbacks``: accepted messages per
      ``biz_opaque_callback_data``; ``lost_answers``: accepted sends whose answer was withheld;
    * ``planned_statuses``: the statuses each accepted wamid gets, in the order they happen;
    * ``webhooks_posted``, ``statuses_posted``, ``webhook_failures``, ``statuses_dropped`` and
      ``pending_statuses``: what became of the status webhooks.

    Constructor arguments are checked when the simulator is built (``ValueError``).
    """

    name = "WhatsApp simulator"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token: str = "simulator-token",
        phone_number_id: str | None = None,
        latency: Latency = (0.0, 0.0),
        failures: Mapping[str, int] | None = None,
        failure_rate: float = 0.0,
        failure_code: int = 131000,
        seed: int = 0,
        templates: Mapping[str, ApprovedTemplate] | None = None,
        rate_limit: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        error_mix: Mapping[int, float] | None = None,
        lost_answer_fraction: float = 0.0,
        lost_answer_delay: float = 30.0,
        webhook_url: str | None = None,
        app_secret: str | None = None,
        read_fraction: float = 0.7,
        async_failures: Mapping[int, float] | None = None,
        duplicate_fraction: float = 0.0,
        reorder_fraction: float = 0.0,
        webhook_delay: tuple[float, float] = (0.0, 0.05),
        webhook_batch_size: int = 50,
        webhook_flush_interval: float = 0.05,
        webhook_retries: int = 3,
    ) -> None:
        super().__init__(
            host=host,
            port=port,
            latency=latency,
            failures=failures,
            failure_rate=failure_rate,
            failure_code=failure_code,
            seed=seed,
        )
        if rate_limit is not None and (
            isinstance(rate_limit, bool) or not isinstance(rate_limit, int) or rate_limit < 1
        ):
            raise ValueError(f"rate_limit must be a whole number >= 1 or None, got {rate_limit}")
        if webhook_url is not None and (
            not isinstance(webhook_url, str) or not webhook_url.startswith(("http://", "https://"))
        ):
            raise ValueError(f"webhook_url must be an http(s) URL or None, got {webhook_url!r}")
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.templates: dict[str, ApprovedTemplate] | None = (
            None if templates is None else dict(templates)
        )
        self.rate_limit = rate_limit
        self.error_mix = _code_fractions("error_mix", error_mix)
        self.lost_answer_fraction = _fraction("lost_answer_fraction", lost_answer_fraction)
        self.lost_answer_delay = _seconds_at_least_zero("lost_answer_delay", lost_answer_delay)
        self.webhook_url = webhook_url
        self.app_secret = app_secret
        self.read_fraction = _fraction("read_fraction", read_fraction)
        self.async_failures = _code_fractions("async_failures", async_failures)
        self.duplicate_fraction = _fraction("duplicate_fraction", duplicate_fraction)
        self.reorder_fraction = _fraction("reorder_fraction", reorder_fraction)
        self.webhook_delay = _delay_range("webhook_delay", webhook_delay)
        self.webhook_batch_size = _whole_number("webhook_batch_size", webhook_batch_size, 1)
        self.webhook_flush_interval = _seconds_at_least_zero(
            "webhook_flush_interval", webhook_flush_interval
        )
        self.webhook_retries = _whole_number("webhook_retries", webhook_retries, 0)

        self.sent: list[dict[str, Any]] = []
        self.sends_per_callback: collections.Counter[str] = collections.Counter()
        self.planned_statuses: dict[str, tuple[str, ...]] = {}
        self.lost_answers = 0
        self.webhooks_posted = 0
        self.statuses_posted = 0
        self.webhook_failures = 0
        self.statuses_dropped = 0
        # Unix seconds for the timestamps of status webhooks (a demo passes its own clock).
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        # Per phone number id: when its accepted messages of the last second were accepted.
        self._windows: dict[str, collections.deque[float]] = {}
        # One stream per decision, next to the base class's latency and failure streams.
        self._error_rng = random.Random(f"{seed}:error_mix")
        self._lost_rng = random.Random(f"{seed}:lost_answer")
        self._status_rng = random.Random(f"{seed}:statuses")
        self._webhook_delay_rng = random.Random(f"{seed}:webhook_delay")
        # Webhook machinery (see start/stop): statuses released by per-message tasks wait in a
        # per-number outbox until the single poster takes them as a batch.
        self._pending = 0
        self._outbox: dict[str, collections.deque[dict[str, object]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._poster: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._background_error: BaseException | None = None
        self._idle, self._has_work, self._batch_full = _webhook_events()

    @property
    def duplicate_callbacks(self) -> dict[str, int]:
        """The ``biz_opaque_callback_data`` values accepted more than once, with their counts."""
        return {data: count for data, count in self.sends_per_callback.items() if count > 1}

    @property
    def pending_statuses(self) -> int:
        """Statuses planned for posting and not yet posted nor given up."""
        return self._pending

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen, and start posting status webhooks when ``webhook_url`` is set; idempotent."""
        await super().start()
        if self.webhook_url is None or self._poster is not None:
            return
        # Nothing awaits between the server starting and the poster existing, so no accepted
        # send can miss it. Fresh events: a restarted simulator may run on another loop.
        self._idle, self._has_work, self._batch_full = _webhook_events()
        self._background_error = None
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_WEBHOOK_TIMEOUT))
        self._poster = self._spawn(self._post_batches(), "whatsapp-simulator-webhooks")

    async def stop(self) -> None:
        """Stop listening, cancel the webhooks not posted yet (``statuses_dropped``) and close
        the webhook client; idempotent. What the simulator recorded stays readable."""
        await super().stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._poster = None
        self.statuses_dropped += self._pending
        self._pending = 0
        self._outbox.clear()
        self._has_work.clear()
        self._batch_full.clear()
        self._idle.set()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def drain_webhooks(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a bound on waiting, not on a call
        """Wait until every status planned so far has been posted (or given up after its
        retries); raise ``TimeoutError`` if some are still pending after ``timeout`` seconds.

        A send still in flight has planned nothing yet: await the sends first.
        """
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{self._pending} status(es) still waiting to be posted after {timeout} s"
            ) from None
        if self._background_error is not None:
            raise RuntimeError("the simulator's webhook poster failed") from (
                self._background_error
            )

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/{version}/{phone_number_id}/messages", self._handle_send)
        router.add_route("*", "/{tail:.*}", self._handle_unknown)

    # -- handlers ----------------------------------------------------------------------------

    async def _handle_send(self, request: web.Request) -> web.Response:
        await self.arrive()
        try:
            phone_number_id = request.match_info["phone_number_id"]
            self._authorize(request)
            self._check_phone_number_id(phone_number_id)
            body = await self._read_json(request)
            to = _validate_message(body)
            if body["type"] == "template":
                self._check_approved(body["template"])
            self._inject_failure(to)
            self._inject_mixed_error()
            self._take_throughput(phone_number_id)
        except _Refusal as refusal:
            return _error_response(
                refusal.code,
                refusal.details,
                message=refusal.message,
                error_type=refusal.error_type,
            )
        # Accepted: from here on the message exists, whatever becomes of the answer.
        self.sent.append(body)
        callback = body.get("biz_opaque_callback_data")
        if callback is not None:
            self.sends_per_callback[callback] += 1
        wamid = self._wamid(to)
        self._plan_statuses(phone_number_id, wamid, to, callback)
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": to}],
            "messages": [{"id": wamid}],
        }
        if self._lost_rng.random() < self.lost_answer_fraction:
            # The answer is "lost": a client that gives up first has its request cancelled
            # here (handler cancellation), after the message was accepted.
            self.lost_answers += 1
            await asyncio.sleep(self.lost_answer_delay)
        return web.json_response(answer)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        # Graph answers unknown paths with a GraphMethodException, not an HTML 404.
        return _error_response(
            100,
            None,
            message=f"Unsupported {request.method.lower()} request.",
            error_type="GraphMethodException",
        )

    def _authorize(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refusal(190, "Invalid OAuth access token - Cannot parse access token")
        if token.strip() != self.access_token:
            raise _Refusal(190, _DETAILS[190])

    def _check_phone_number_id(self, phone_number_id: str) -> None:
        if self.phone_number_id is not None and phone_number_id != self.phone_number_id:
            raise _Refusal(
                100,
                None,
                message=(
                    f"Unsupported post request. Object with ID '{phone_number_id}' does not "
                    "exist, cannot be loaded due to missing permissions, or does not support "
                    "this operation."
                ),
                error_type="GraphMethodException",
            )

    async def _read_json(self, request: web.Request) -> dict[str, Any]:
        try:
            body: object = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _Refusal(100, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _Refusal(100, "The request body must be a JSON object.")
        return body

    def _inject_failure(self, to: str) -> None:
        code = self.failure_for(to)
        if code is not None:
            raise _Refusal(code)

    def _inject_mixed_error(self) -> None:
        if not self.error_mix:
            return
        code = _pick(self.error_mix, self._error_rng.random())
        if code is not None:
            raise _Refusal(code)

    def _check_approved(self, template: Mapping[str, Any]) -> None:
        """Match a well-formed template against the approved ones, as Meta does."""
        if self.templates is None:
            return
        name, code = template["name"], template["language"]["code"]
        approved = self.templates.get(name)
        if approved is None or code not in approved.languages:
            raise _Refusal(132001, f"template name ({name}) does not exist in {code}")
        sent = _parameter_counts(template.get("components", []))
        expected = approved.expected_parameters()
        for key in sorted(set(sent) | set(expected)):
            if sent.get(key, 0) != expected.get(key, 0):
                raise _Refusal(
                    132000,
                    f"{key}: number of localizable_params ({sent.get(key, 0)}) does not match "
                    f"the expected number of params ({expected.get(key, 0)})",
                )

    def _take_throughput(self, phone_number_id: str) -> None:
        """Refuse with 130429 past ``rate_limit`` accepted messages in the last second."""
        if self.rate_limit is None:
            return
        now = self._monotonic()
        window = self._windows.setdefault(phone_number_id, collections.deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.rate_limit:
            raise _Refusal(130429)
        window.append(now)

    # -- status webhooks -----------------------------------------------------------------------

    def _plan_statuses(
        self, phone_number_id: str, wamid: str, recipient_id: str, callback: str | None
    ) -> None:
        """Decide the statuses of an accepted message and, with webhooks on, schedule them."""
        rng = self._status_rng
        # The same draws for every message, so changing one fraction moves no other decision.
        failure_draw, read_draw, reorder_draw = rng.random(), rng.random(), rng.random()
        duplicate_draws = [rng.random() for _ in range(3)]
        code = _pick(self.async_failures, failure_draw)
        statuses: tuple[str, ...]
        if code is not None:
            statuses = ("failed",)
        elif read_draw < self.read_fraction:
            statuses = ("sent", "delivered", "read")
        else:
            statuses = ("sent", "delivered")
        self.planned_statuses[wamid] = statuses
        if self._poster is None:
            return
        low, high = self.webhook_delay
        waits = [self._webhook_delay_rng.uniform(low, high) for _ in statuses]
        now = self._wall_clock()
        events: list[dict[str, object]] = []
        elapsed = 0.0
        for status, wait in zip(statuses, waits, strict=True):
            elapsed += wait
            event: dict[str, object] = {
                "message_id": wamid,
                "recipient_id": recipient_id,
                "status": status,
                "timestamp": int(now + elapsed),
            }
            if callback is not None:
                event["callback_data"] = callback
            if status == "failed":
                event["error_code"] = code
            events.append(event)
        if reorder_draw < self.reorder_fraction:
            events.reverse()
        steps: list[tuple[float, dict[str, object]]] = []
        for wait, event, duplicate_draw in zip(waits, events, duplicate_draws, strict=False):
            steps.append((wait, event))
            if duplicate_draw < self.duplicate_fraction:
                steps.append((self._webhook_delay_rng.uniform(low, high), event))
        self._pending += len(steps)
        self._idle.clear()
        self._spawn(self._release(phone_number_id, steps), f"whatsapp-statuses-{wamid}")

    async def _release(
        self, phone_number_id: str, steps: list[tuple[float, dict[str, object]]]
    ) -> None:
        """Hand a message's statuses to the poster, each after its delay."""
        for wait, event in steps:
            if wait > 0:
                await asyncio.sleep(wait)
            queue = self._outbox.setdefault(phone_number_id, collections.deque())
            queue.append(event)
            self._has_work.set()
            if len(queue) >= self.webhook_batch_size:
                self._batch_full.set()

    async def _post_batches(self) -> None:
        """The poster: one batch at a time, in order, until cancelled by ``stop``."""
        while True:
            await self._has_work.wait()
            if not self._batch_full.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.webhook_flush_interval):
                        await self._batch_full.wait()
            taken = self._take_batch()
            if taken is None:
                continue
            phone_number_id, batch = taken
            await self._post(phone_number_id, batch)
            self._pending -= len(batch)
            if self._pending <= 0:
                self._pending = 0
                self._idle.set()

    def _take_batch(self) -> tuple[str, list[dict[str, object]]] | None:
        """Up to a batch of the oldest waiting number's statuses, none of them twice."""
        if not self._outbox:
            self._has_work.clear()
            return None
        phone_number_id = next(iter(self._outbox))
        queue = self._outbox.pop(phone_number_id)
        batch: list[dict[str, object]] = []
        seen: set[tuple[object, object]] = set()
        while queue and len(batch) < self.webhook_batch_size:
            key = (queue[0]["message_id"], queue[0]["status"])
            if key in seen:
                break  # a duplicate goes in a later POST, as a redelivery would
            seen.add(key)
            batch.append(queue.popleft())
        if queue:
            self._outbox[phone_number_id] = queue  # to the back: the numbers take turns
        if not self._outbox:
            self._has_work.clear()
        if all(len(q) < self.webhook_batch_size for q in self._outbox.values()):
            self._batch_full.clear()
        return phone_number_id, batch

    async def _post(self, phone_number_id: str, batch: list[dict[str, object]]) -> None:
        """POST one signed batch, retrying a non-2xx answer or a connection error."""
        session, url = self._session, self.webhook_url
        if session is None or url is None:  # pragma: no cover - the poster runs only with both
            raise RuntimeError("the webhook poster runs without a session or a URL")
        body = build_status_webhook(batch, phone_number_id=phone_number_id)
        headers = {"Content-Type": "application/json", "User-Agent": _WEBHOOK_USER_AGENT}
        if self.app_secret:
            headers[_SIGNATURE_HEADER] = sign_body(self.app_secret, body)
        for attempt in range(self.webhook_retries + 1):
            if attempt:
                await asyncio.sleep(_WEBHOOK_BACKOFF * 2 ** (attempt - 1))
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    accepted = 200 <= response.status < 300
            except (aiohttp.ClientError, TimeoutError):
                accepted = False
            if accepted:
                self.webhooks_posted += 1
                self.statuses_posted += len(batch)
                return
        self.webhook_failures += 1

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A bug, not a webhook failure: keep it for drain_webhooks and wake it up.
            self._background_error = task.exception()
            self._idle.set()

    def _wamid(self, to: str) -> str:
        # Real wamids are "wamid." + base64 of an opaque blob that embeds the recipient; a
        # serial number makes these unique per simulator, random bytes make them unguessable.
        blob = f"{to}:{next(self._serial)}:".encode() + os.urandom(9)
        return "wamid." + base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=")


def _validate_message(body: Mapping[str, Any]) -> str:
    """Check a send as Meta does; return the recipient's ``wa_id`` (digits only)."""
    if "messaging_product" not in body:
        raise _Refusal(100, "The parameter messaging_product is required.")
    if body["messaging_product"] != "whatsapp":
        raise _Refusal(100, "Param messaging_product must be one of {WHATSAPP}.")
    recipient_type = body.get("recipient_type", "individual")
    if recipient_type != "individual":
        raise _Refusal(100, "Param recipient_type must be one of {INDIVIDUAL}.")
    to = _required_text(body.get("to"), "to")
    # Meta tolerates the E.164 "+" and reports the digits as wa_id; anything else that is not
    # a digit makes the number undeliverable.
    digits = to.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise _Refusal(131026, f"The recipient {to!r} is not a valid WhatsApp user.")
    message_type = body.get("type")
    if message_type is None:
        raise _Refusal(131008, "The parameter type is required.")
    check = _CONTENT_CHECKS.get(message_type) if isinstance(message_type, str) else None
    if check is None:
        raise _Refusal(
            131051,
            f"The simulator supports types {', '.join(sorted(_CONTENT_CHECKS))}, "
            f"got {message_type!r}.",
        )
    check(body)
    callback = body.get("biz_opaque_callback_data")
    if callback is not None and (
        not isinstance(callback, str) or len(callback) > MAX_CALLBACK_DATA_LENGTH
    ):
        raise _Refusal(
            100,
            f"Param biz_opaque_callback_data must be a string of at most "
            f"{MAX_CALLBACK_DATA_LENGTH} characters.",
        )
    return digits


def _required_text(value: object, where: str) -> str:
    """A required string parameter: 131008 when missing or empty, 100 when not a string."""
    if value is None or value == "":
        raise _Refusal(131008, f"The parameter {where} is required.")
    if not isinstance(value, str):
        raise _Refusal(100, f"Param {where} must be a string.")
    return value


def _check_text(body: Mapping[str, Any]) -> None:
    text = body.get("text")
    if not isinstance(text, dict) or "body" not in text:
        raise _Refusal(131008, "The parameter text['body'] is required.")
    text_body = text["body"]
    if not isinstance(text_body, str) or not text_body.strip():
        raise _Refusal(100, "Param text['body'] must be a non-empty string.")
    if len(text_body) > MAX_TEXT_BODY_LENGTH:
        raise _Refusal(
            100,
            f"Param text['body'] must be at most {MAX_TEXT_BODY_LENGTH} characters long.",
        )
    if not isinstance(text.get("preview_url", False), bool):
        raise _Refusal(100, "Param text['preview_url'] must be a boolean.")


def _check_media(media: object, where: str) -> dict[str, Any]:
    """A media object: exactly one of a non-empty ``link`` (http or https) and ``id``."""
    if not isinstance(media, dict):
        raise _Refusal(131008, f"The parameter {where} is required.")
    link, media_id = media.get("link"), media.get("id")
    if (link is None) == (media_id is None):
        raise _Refusal(100, f"Param {where} must contain exactly one of link and id.")
    if link is not None and (
        not isinstance(link, str) or not link.startswith(("http://", "https://"))
    ):
        raise _Refusal(100, f"Param {where}['link'] must be an http(s) URL.")
    if media_id is not None and (not isinstance(media_id, str) or not media_id.strip()):
        raise _Refusal(100, f"Param {where}['id'] must be a non-empty string.")
    return media


def _check_image(body: Mapping[str, Any]) -> None:
    image = _check_media(body.get("image"), "image")
    caption = image.get("caption")
    if caption is not None and (not isinstance(caption, str) or len(caption) > MAX_CAPTION_LENGTH):
        raise _Refusal(
            100, f"Param image['caption'] must be a string of at most {MAX_CAPTION_LENGTH}."
        )


_COMPONENT_TYPES: Final = frozenset({"header", "body", "button"})
_BUTTON_SUB_TYPES: Final = frozenset({"quick_reply", "url"})


def _check_template(body: Mapping[str, Any]) -> None:
    template = body.get("template")
    if not isinstance(template, dict):
        raise _Refusal(131008, "The parameter template is required.")
    _required_text(template.get("name"), "template['name']")
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    _required_text(code, "template['language']['code']")
    components = template.get("components", [])
    if not isinstance(components, list):
        raise _Refusal(100, "Param template['components'] must be an array.")
    seen: set[str] = set()
    for position, component in enumerate(components):
        where = f"template['components'][{position}]"
        if not isinstance(component, dict) or component.get("type") not in _COMPONENT_TYPES:
            raise _Refusal(100, f"Param {where}['type'] must be one of header, body, button.")
        key = _component_key(component, where)
        if key in seen:
            raise _Refusal(100, f"Param {where}: {key} appears more than once.")
        seen.add(key)
        parameters = component.get("parameters")
        if not isinstance(parameters, list):
            raise _Refusal(131008, f"The parameter {where}['parameters'] is required.")
        for number, parameter in enumerate(parameters):
            _check_parameter(parameter, f"{where}['parameters'][{number}]")


def _component_key(component: Mapping[str, Any], where: str) -> str:
    """``header``, ``body`` or ``button <index>``, checking a button's sub_type and index."""
    if component["type"] != "button":
        return str(component["type"])
    if component.get("sub_type") not in _BUTTON_SUB_TYPES:
        raise _Refusal(100, f"Param {where}['sub_type'] must be one of quick_reply, url.")
    index = component.get("index")
    # Meta documents the index as a string ("0"); its JSON number form is accepted too.
    if isinstance(index, str) and index.isascii() and index.isdigit():
        index = int(index)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 9:
        raise _Refusal(100, f"Param {where}['index'] must be a button index from 0 to 9.")
    return f"button {index}"


def _check_parameter(parameter: object, where: str) -> None:
    if not isinstance(parameter, dict):
        raise _Refusal(100, f"Param {where} must be an object.")
    kind = parameter.get("type")
    value = parameter.get(kind) if isinstance(kind, str) else None
    if kind in ("text", "payload"):
        if not isinstance(value, str) or not value.strip():
            raise _Refusal(131008, f"The parameter {where}['{kind}'] is required.")
    elif kind == "currency":
        if not (
            isinstance(value, dict)
            and isinstance(value.get("fallback_value"), str)
            and isinstance(value.get("code"), str)
            and isinstance(value.get("amount_1000"), int)
            and not isinstance(value.get("amount_1000"), bool)
        ):
            raise _Refusal(
                100, f"Param {where}['currency'] needs fallback_value, code and amount_1000."
            )
    elif kind == "date_time":
        if not isinstance(value, dict) or not isinstance(value.get("fallback_value"), str):
            raise _Refusal(100, f"Param {where}['date_time'] needs fallback_value.")
    elif kind == "image":
        _check_media(value, f"{where}['image']")
    else:
        raise _Refusal(
            100, f"Param {where}['type'] must be one of text, currency, date_time, image, payload."
        )


def _parameter_counts(components: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Parameters sent per component key, for a template already checked well-formed."""
    return {_component_key(c, "component"): len(c["parameters"]) for c in components}


_CONTENT_CHECKS: Final[Mapping[str, Callable[[Mapping[str, Any]], None]]] = {
    "text": _check_text,
    "image": _check_image,
    "template": _check_template,
}


def _error_response(
    code: int,
    details: str | None,
    *,
    message: str | None = None,
    error_type: str = "OAuthException",
) -> web.Response:
    """Meta's error envelope: ``(#code) title`` message, code, details and a trace id."""
    title = ERROR_TITLES.get(code, "Unknown error")
    error = {
        "message": f"(#{code}) {message or title}",
        "type": error_type,
        "code": code,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": details or _DETAILS.get(code, title),
        },
        "fbtrace_id": "A" + base64.urlsafe_b64encode(os.urandom(15)).decode("ascii"),
    }
    return web.json_response({"error": error}, status=http_status_for(code))


def sign_body(app_secret: str, raw_body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``raw_body``: ``sha256=<hex>``.

    Meta signs the exact bytes it posts, so sign what will go on the wire, not a dict.
    """
    digest = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def build_status_webhook(
    events: Iterable[Mapping[str, object]],
    *,
    waba_id: str = _DEFAULT_WABA_ID,
    phone_number_id: str = _DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = _DEFAULT_DISPLAY_NUMBER,
) -> bytes:
    """The raw body of a status webhook for ``events``, shaped as Meta sends it.

    Each event names its fields as projectone reads them back: ``message_id`` (the wamid),
    ``recipient_id``, ``status`` (``sent``, ``delivered``, ``read``, ``failed``), ``timestamp``
    (an aware datetime, whole seconds, or Unix seconds as an int) and optionally
    ``callback_data`` (echoed ``biz_opaque_callback_data``), ``error_code`` and
    ``error_title`` (Meta's title for the code when left out), ``pricing_category`` and
    ``conversation_id``. Unknown names raise ``ValueError``, so a typo cannot silently drop a
    field. All statuses go into one entry and one change, as Meta batches them; the JSON is
    compact with non-ASCII escaped, like Meta's, so a receiver that re-serialises it before
    checking the signature fails the way it would in production.
    """
    known = {
        "message_id",
        "recipient_id",
        "status",
        "timestamp",
        "callback_data",
        "error_code",
        "error_title",
        "pricing_category",
        "conversation_id",
    }
    statuses: list[dict[str, Any]] = []
    for event in events:
        unknown = set(event) - known
        if unknown:
            raise ValueError(f"unknown status event fields: {', '.join(sorted(unknown))}")
        seconds = _unix_seconds(event["timestamp"])
        status: dict[str, Any] = {
            "id": str(event["message_id"]),
            "status": str(event["status"]),
            "timestamp": str(seconds),
            "recipient_id": str(event["recipient_id"]),
        }
        if event.get("callback_data") is not None:
            status["biz_opaque_callback_data"] = event["callback_data"]
        category = event.get("pricing_category")
        if event.get("conversation_id") is not None:
            conversation: dict[str, Any] = {
                "id": event["conversation_id"],
                "origin": {"type": category or "marketing"},
            }
            if status["status"] == "sent":
                # Meta gives the expiry on the "sent" status only: 24 h after it opened.
                conversation["expiration_timestamp"] = str(seconds + 24 * 60 * 60)
            status["conversation"] = conversation
        if category is not None:
            status["pricing"] = {
                "billable": True,
                "pricing_model": "PMP",
                "type": "regular",
                "category": category,
            }
        code = event.get("error_code")
        if code is not None:
            if isinstance(code, bool) or not isinstance(code, int):
                raise ValueError(f"error_code must be an int, got {code!r}")
            title = event.get("error_title")
            title = ERROR_TITLES.get(code, "Unknown error") if title is None else title
            status["errors"] = [
                {
                    "code": code,
                    "title": title,
                    "message": title,
                    "error_data": {"details": _DETAILS.get(code, title)},
                    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
                }
            ]
        statuses.append(status)
    return _webhook_body(
        {"statuses": statuses},
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
    )


def build_message_webhook(
    from_number: str,
    text: str,
    *,
    message_id: str | None = None,
    timestamp: dt.datetime | int | None = None,
    profile_name: str = "WhatsApp User",
    context_message_id: str | None = None,
    waba_id: str = _DEFAULT_WABA_ID,
    phone_number_id: str = _DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = _DEFAULT_DISPLAY_NUMBER,
) -> bytes:
    """The raw body of the webhook Meta posts when a user sends our number a text message.

    ``from_number`` is the user's number (digits with the country code; a leading ``+`` is
    dropped, as WhatsApp writes wa_ids without it), ``text`` the message. ``message_id``
    defaults to a fresh wamid, ``timestamp`` (an aware datetime or Unix seconds) to now.
    ``context_message_id`` makes it a reply to that wamid of ours. The value carries
    ``contacts`` (profile name and wa_id) and ``messages`` (``from``, ``id``, ``timestamp``,
    ``type: text``, ``text.body``), in the same compact, ASCII-escaped JSON as
    :func:`build_status_webhook`; sign it with :func:`sign_body` before posting it.
    """
    wa_id = from_number.removeprefix("+")
    if not (wa_id.isascii() and wa_id.isdigit() and 1 <= len(wa_id) <= 15):
        raise ValueError(f"from_number must be 1 to 15 digits, got {from_number!r}")
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    if message_id is None:
        blob = f"{wa_id}:in:".encode() + os.urandom(12)
        message_id = "wamid." + base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=")
    seconds = _unix_seconds(dt.datetime.now(dt.UTC) if timestamp is None else timestamp)
    message: dict[str, Any] = {
        "from": wa_id,
        "id": message_id,
        "timestamp": str(seconds),
        "type": "text",
        "text": {"body": text},
    }
    if context_message_id is not None:
        message["context"] = {"from": display_phone_number, "id": context_message_id}
    return _webhook_body(
        {
            "contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
            "messages": [message],
        },
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
    )


def _unix_seconds(when: object) -> int:
    """An aware datetime or Unix seconds (an int) as whole Unix seconds."""
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise ValueError(f"timestamp must be timezone-aware, got {when!r}")
        return int(when.timestamp())
    if isinstance(when, int) and not isinstance(when, bool):
        return when
    raise ValueError(f"timestamp must be a datetime or Unix seconds, got {when!r}")


def _webhook_body(
    content: Mapping[str, Any], *, waba_id: str, phone_number_id: str, display_phone_number: str
) -> bytes:
    """Meta's webhook envelope around one ``messages`` change whose value holds ``content``.

    Compact JSON with non-ASCII escaped, like Meta's, so a receiver that re-serialises the
    body before checking the signature fails the way it would in production.
    """
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            **content,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("ascii")
