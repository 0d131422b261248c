"""WhatsApp Business Cloud API sender: the ``WhatsAppSender`` port spoken over aiohttp.

This module is the edge between projectone and Meta's Graph API. Everything foreign stops
here: aiohttp exceptions become ``UnavailableError``, Meta's error JSON becomes
``ProviderError`` carrying Meta's numeric ``code`` (the reference says to decide on the code,
never on the message text), and inputs Meta would refuse are refused locally with a
``ValidationError`` so that a bad message never costs a round trip or a rate-limit token.

Every ``ProviderError`` raised here carries ``classification``: what
``projectone.domain.failure.classify`` makes of Meta's code and the HTTP status (rate limit,
template error, …; retryable or not). An answer without a usable code is classified by its
HTTP status alone.

Sending is paced by a :class:`SendThrottle`: a token bucket per sending phone number
(80 messages/s by default, Meta's default throughput), because waiting a few milliseconds for a
token is cheaper than a 130429 refusal, a retry and a slice of the five-minute SLA.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import aiohttp
import attrs

from projectone.adapters._http import post_json, provider_target, unreadable_answer
from projectone.domain.errors import ProviderError, ValidationError
from projectone.domain.failure import Classification, classify
from projectone.domain.throttle import DEFAULT_RATE, MAX_RATE, TokenBucket
from projectone.ports.messaging import (
    MAX_CALLBACK_DATA_LENGTH,
    BodyComponent,
    CurrencyParameter,
    DateTimeParameter,
    HeaderComponent,
    ImageParameter,
    OutboundImage,
    OutboundTemplate,
    OutboundText,
    PayloadParameter,
    SendReceipt,
    TemplateComponent,
    TextParameter,
)

__all__ = [
    "DEFAULT_RATE",
    "MAX_CALLBACK_DATA_LENGTH",
    "MAX_RATE",
    "MAX_TEXT_BODY_LENGTH",
    "MIN_ADAPTIVE_RATE",
    "PROVIDER",
    "RECOVERY_PER_SECOND",
    "THROUGHPUT_CODES",
    "SendThrottle",
    "WhatsAppCloudSender",
]

#: Name recorded in ``ProviderError.provider`` so callers can classify by provider.
PROVIDER: Final = "whatsapp"
#: Meta refuses text bodies longer than this (code 100); we refuse them before sending.
MAX_TEXT_BODY_LENGTH: Final = 4096
#: ``TokenBucket`` works on aware datetimes; monotonic seconds are laid on this origin.
_MONOTONIC_ORIGIN: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Meta's throughput refusals (app, account, number). 131056, the per-recipient pair limit,
#: is not one: it says nothing about the number's pace.
THROUGHPUT_CODES: Final = frozenset({4, 80007, 130429})
#: After a slow-down the rate climbs back by this share of the configured rate per second.
RECOVERY_PER_SECOND: Final = 0.05
#: The slowest an adaptive throttle goes, whatever Meta says.
MIN_ADAPTIVE_RATE: Final = 1.0


class SendThrottle:
    """Paces sends to ``rate`` messages/s per sending phone number (DESIGN.md §3.4).

    One :class:`~projectone.domain.throttle.TokenBucket` per phone number id, so one throttle
    can serve senders of several numbers, and every sender (and every concurrent send) given
    the same throttle shares the bucket of its number: give the same object to all senders of
    a process. The bucket *reserves* (see ``TokenBucket.take``), so a caller only holds the
    lock for the instant it takes a token and then waits for its own turn, concurrently with
    the others; the sum of the turns never outruns the rate.

    The pace adapts to what Meta says (additive increase, multiplicative decrease): a rate
    limit refusal (:meth:`rate_limited`) halves the number's rate, at most once a second and
    never below 1/s, and empties its bucket; from then on the rate climbs back by
    :data:`RECOVERY_PER_SECOND` of the configured rate per second. A number whose real
    throughput is below the configured rate (a new number, a quality downgrade) is thus sent
    at about what it can take instead of burning retries on 130429.

    ``monotonic`` (seconds, like ``time.monotonic``) and ``sleep`` (like ``asyncio.sleep``) are
    injectable so tests run on a fake clock without waiting.
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        # Validates the rate (above 0, up to MAX_RATE) with the domain's own ValidationError.
        self._fresh = TokenBucket(rate=rate)
        self._buckets: dict[str, TokenBucket] = {}
        # Per number: when its rate was last lowered or raised (monotonic seconds).
        self._adjusted: dict[str, float] = {}
        self._slowed: dict[str, float] = {}
        self._monotonic = monotonic
        self._sleep = sleep
        # The take is a read-modify-write of the shared bucket. Today it has no await inside
        # and so cannot interleave, but the lock keeps it correct should it ever gain one
        # (a bucket kept in a shared store); uncontended, it costs next to nothing.
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float:
        """Messages per second allowed per phone number."""
        return self._fresh.rate

    def bucket(self, phone_number_id: str) -> TokenBucket:
        """The current bucket of ``phone_number_id`` (a fresh, full one if never used)."""
        return self._buckets.get(phone_number_id, self._fresh)

    async def wait_turn(self, phone_number_id: str) -> float:
        """Take one token for ``phone_number_id``, sleep until it may be used, and return the
        seconds slept (0.0 when a token was there). A slow-down while asleep invalidates the
        turn (it was reserved at the old pace) and a new one is taken at the new pace."""
        slept = 0.0
        while True:
            async with self._lock:
                seconds_now = self._monotonic()
                now = _MONOTONIC_ORIGIN + dt.timedelta(seconds=seconds_now)
                bucket = self._recovered(phone_number_id, seconds_now)
                bucket, wait = bucket.take(now)
                self._buckets[phone_number_id] = bucket
                generation = self._slowed.get(phone_number_id)
            seconds = wait.total_seconds()
            if seconds <= 0:
                return slept
            await self._sleep(seconds)
            slept += seconds
            if self._slowed.get(phone_number_id) == generation:
                return slept

    def rate_limited(self, phone_number_id: str) -> None:
        """Meta refused a send of ``phone_number_id`` for throughput: slow that number down."""
        seconds_now = self._monotonic()
        last = self._slowed.get(phone_number_id)
        # Refusals of one burst arrive together; they are one signal, not one per message.
        if last is not None and seconds_now - last < 1.0:
            return
        bucket = self.bucket(phone_number_id)
        slower = max(MIN_ADAPTIVE_RATE, bucket.rate / 2)
        self._buckets[phone_number_id] = attrs.evolve(
            bucket, rate=slower, capacity=max(1.0, slower), tokens=min(bucket.tokens, 0.0)
        )
        self._slowed[phone_number_id] = self._adjusted[phone_number_id] = seconds_now

    def _recovered(self, phone_number_id: str, seconds_now: float) -> TokenBucket:
        bucket = self.bucket(phone_number_id)
        ceiling = self._fresh.rate
        if bucket.rate >= ceiling:
            return bucket
        elapsed = max(0.0, seconds_now - self._adjusted.get(phone_number_id, seconds_now))
        faster = min(ceiling, bucket.rate + ceiling * RECOVERY_PER_SECOND * elapsed)
        self._adjusted[phone_number_id] = seconds_now
        return attrs.evolve(
            bucket, rate=faster, capacity=max(1.0, faster), tokens=min(bucket.tokens, faster)
        )


class WhatsAppCloudSender:
    """Send messages through ``POST {base_url}/{api_version}/{phone_number_id}/messages``.

    The session is owned by the caller (the container), so connection pooling is shared with
    other adapters and closing it is not this object's business. ``timeout`` bounds the whole
    request: the morning SLA is five minutes, and a hung connection must turn into a retryable
    failure quickly rather than hold a worker.

    ``throttle`` paces the sends of this phone number: a number is the rate in messages/s for
    a throttle of this sender's own (80 by default, at most 1,000); a :class:`SendThrottle`
    is shared with every other sender given it (one bucket per phone number id); ``None``
    sends without pacing (Meta then answers 130429 beyond the number's throughput).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_version: str = "v21.0",
        phone_number_id: str,
        access_token: str,
        timeout: float = 10.0,
        throttle: SendThrottle | float | None = DEFAULT_RATE,
    ) -> None:
        if timeout <= 0:
            raise ValidationError("timeout", timeout, "must be positive")
        if not phone_number_id:
            raise ValidationError("phone_number_id", phone_number_id, "must not be empty")
        if not access_token:
            # The token itself is never echoed into an error: it is a credential.
            raise ValidationError("access_token", "<redacted>", "must not be empty")
        # Errors name the host only: never the path (it holds the phone number id) nor the token.
        self._target = provider_target(base_url, "WhatsApp Cloud API")
        self._session = session
        self._phone_number_id = phone_number_id
        self._url = f"{base_url.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self._headers: Mapping[str, str] = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._throttle = (
            throttle
            if throttle is None or isinstance(throttle, SendThrottle)
            else SendThrottle(throttle)
        )

    @property
    def target(self) -> str:
        """What ``UnavailableError.target`` says when this sender cannot reach Meta."""
        return self._target

    @property
    def throttle(self) -> SendThrottle | None:
        """The throttle pacing this sender, ``None`` when it sends unpaced."""
        return self._throttle

    async def send_text(self, message: OutboundText) -> SendReceipt:
        """Hand ``message`` to WhatsApp and return Meta's ``wamid`` for it.

        Raises ``ValidationError`` before any I/O for a message Meta would refuse,
        ``ProviderError`` (with ``classification``) when Meta answers with an error (or with
        something unreadable), and ``UnavailableError`` when no answer arrives. After a timeout
        the outcome is unknown: the API has no idempotency key, so the message may have been
        accepted; the status webhook echoing ``callback_data`` settles it later.
        """
        return await self._send(_text_payload(message))

    async def send_image(self, message: OutboundImage) -> SendReceipt:
        """Send an image by ``link`` or ``media_id`` with its caption; errors as ``send_text``."""
        return await self._send(_image_payload(message))

    async def send_template(self, message: OutboundTemplate) -> SendReceipt:
        """Send an approved template with its variables; errors as ``send_text``.

        A name or language Meta does not know comes back as ``ProviderError`` 132001, a
        parameter count that does not match the approved template as 132000; both are
        classified ``template_error`` and are not worth retrying.
        """
        return await self._send(_template_payload(message))

    async def _send(self, payload: Mapping[str, Any]) -> SendReceipt:
        # The payload is built (and validated) before the throttle: a refused message must not
        # cost a token.
        if self._throttle is not None:
            await self._throttle.wait_turn(self._phone_number_id)
        status, raw = await post_json(
            self._session,
            self._url,
            payload,
            headers=self._headers,
            client_timeout=self._timeout,
            target=self._target,
        )
        try:
            return _interpret(status, raw)
        except ProviderError as exc:
            if exc.provider_code in THROUGHPUT_CODES and self._throttle is not None:
                self._throttle.rate_limited(self._phone_number_id)
            raise


# -- wire bodies ------------------------------------------------------------------------------


def _envelope(
    to: str, message_type: str, content: Mapping[str, Any], callback_data: str | None
) -> dict[str, Any]:
    """The fields every send shares, around the type-specific ``content``."""
    digits = to.strip().removeprefix("+")
    # Meta wants the country code and digits only; E.164's "+" is the one thing we strip.
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError("to", to, "must be a phone number in E.164 form")
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": digits,
        "type": message_type,
        message_type: content,
    }
    if callback_data is not None:
        if len(callback_data) > MAX_CALLBACK_DATA_LENGTH:
            raise ValidationError(
                "callback_data",
                callback_data,
                f"must be at most {MAX_CALLBACK_DATA_LENGTH} characters",
            )
        payload["biz_opaque_callback_data"] = callback_data
    return payload


def _text_payload(message: OutboundText) -> dict[str, Any]:
    """Build the wire body, validating what Meta would otherwise reject with code 100/131008."""
    if not message.body.strip():
        raise ValidationError("body", message.body, "must not be empty")
    if len(message.body) > MAX_TEXT_BODY_LENGTH:
        raise ValidationError(
            "body",
            f"<{len(message.body)} characters>",
            f"must be at most {MAX_TEXT_BODY_LENGTH} characters",
        )
    text = {"preview_url": message.preview_url, "body": message.body}
    return _envelope(message.to, "text", text, message.callback_data)


def _media(link: str | None, media_id: str | None) -> dict[str, Any]:
    """Meta's media object: ``{"link": ...}`` or ``{"id": ...}`` (the port ensures one)."""
    return {"link": link} if link is not None else {"id": media_id}


def _image_payload(message: OutboundImage) -> dict[str, Any]:
    image = _media(message.link, message.media_id)
    if message.caption is not None:
        image["caption"] = message.caption
    return _envelope(message.to, "image", image, message.callback_data)


def _template_payload(message: OutboundTemplate) -> dict[str, Any]:
    template: dict[str, Any] = {"name": message.name, "language": {"code": message.language}}
    if message.components:
        template["components"] = [_component(c) for c in message.components]
    return _envelope(message.to, "template", template, message.callback_data)


def _component(component: TemplateComponent) -> dict[str, Any]:
    if isinstance(component, HeaderComponent):
        return {"type": "header", "parameters": [_parameter(component.parameter)]}
    if isinstance(component, BodyComponent):
        return {"type": "body", "parameters": [_parameter(p) for p in component.parameters]}
    return {
        "type": "button",
        "sub_type": component.sub_type.value,
        # Meta documents the index as a string.
        "index": str(component.index),
        "parameters": [_parameter(component.parameter)],
    }


_Parameter = (
    TextParameter | CurrencyParameter | DateTimeParameter | ImageParameter | PayloadParameter
)


def _parameter(parameter: _Parameter) -> dict[str, Any]:
    if isinstance(parameter, TextParameter):
        return {"type": "text", "text": parameter.text}
    if isinstance(parameter, CurrencyParameter):
        currency = {
            "fallback_value": parameter.fallback_value,
            "code": parameter.code,
            "amount_1000": parameter.amount_1000,
        }
        return {"type": "currency", "currency": currency}
    if isinstance(parameter, DateTimeParameter):
        return {"type": "date_time", "date_time": {"fallback_value": parameter.fallback_value}}
    if isinstance(parameter, ImageParameter):
        return {"type": "image", "image": _media(parameter.link, parameter.media_id)}
    return {"type": "payload", "payload": parameter.payload}


# -- answers ----------------------------------------------------------------------------------


def _interpret(status: int, raw: bytes) -> SendReceipt:
    """Turn Meta's answer into a receipt, or into a ``ProviderError`` that keeps its code."""
    try:
        document: object = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        # A proxy's HTML error page, a truncated body: there is no Meta code to decide on.
        raise _unreadable(status, "the answer is not JSON", raw) from None
    if not isinstance(document, dict):
        raise _unreadable(status, "the answer is not a JSON object", raw)
    error = document.get("error")
    if isinstance(error, dict):
        raise _provider_error(status, error)
    if not 200 <= status < 300:
        raise _unreadable(status, "an error status without a Meta error object", raw)
    message_id = _first(document, "messages", "id")
    if message_id is None:
        raise _unreadable(status, "the answer has no messages[0].id", raw)
    return SendReceipt(message_id=message_id, recipient_id=_first(document, "contacts", "wa_id"))


def _first(document: Mapping[str, object], key: str, field: str) -> str | None:
    """``document[key][0][field]`` when it is a non-empty string, else ``None``."""
    items = document.get(key)
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return None
    value = items[0].get(field)
    return value if isinstance(value, str) and value else None


def _provider_error(status: int, error: Mapping[str, object]) -> ProviderError:
    """Map Meta's ``{"error": {...}}`` object, tolerating missing or oddly typed fields."""
    code = _as_code(error.get("code"))
    message = error.get("message")
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    trace_id = error.get("fbtrace_id")
    return ProviderError(
        PROVIDER,
        code,
        message if isinstance(message, str) and message else f"HTTP {status}",
        http_status=status,
        details=details if isinstance(details, str) else None,
        trace_id=trace_id if isinstance(trace_id, str) else None,
        classification=_classify(code, status),
    )


def _classify(code: int | None, http_status: int) -> Classification:
    """What a refusal means for the delivery: ``classify`` on Meta's code and the status.

    ``classify`` checks its inputs strictly; what Meta (or a proxy) sends is not guaranteed to
    pass, so a negative code counts as no code and a status outside 100–599 as no status,
    rather than turning a refusal into a crash.
    """
    usable_code = code if code is not None and code >= 0 else None
    usable_status = http_status if 100 <= http_status <= 599 else None
    if usable_code is None and usable_status is None:
        # classify(None) means "no answer at all"; an answer arrived, it was just unusable.
        usable_status = 500
    return classify(usable_code, http_status=usable_status)


def _as_code(value: object) -> int | None:
    """Meta's ``code`` is an integer; accept its decimal string form, reject anything else."""
    if isinstance(value, bool):  # bool is an int subclass; True is not error code 1
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _unreadable(status: int, what: str, raw: bytes) -> ProviderError:
    """A ``ProviderError`` without a provider code: the answer could not be understood."""
    return unreadable_answer(PROVIDER, status, what, raw, classification=_classify(None, status))
