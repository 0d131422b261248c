"""A WhatsApp Business Cloud API simulator: Meta's send endpoint on loopback.

It speaks the real wire format (``POST /{version}/{phone_number_id}/messages``, bearer token,
Meta's success and error JSON), so an HTTP client can be tested over a real socket instead of
by patching it. Faults are injected by recipient (``failures``) or at random (``failure_rate``),
and answers can be slowed (``latency``) to exercise timeouts. Randomness is seeded, so a run is
reproducible.

Text, image and template messages are accepted, and checked as Meta checks them: an image
needs exactly one of ``link`` and ``id`` (100 otherwise); a template must be one of the
``templates`` given (132001 for an unknown name or language) with as many parameters per
component as approved (132000). Without ``templates`` any well-formed template is accepted,
since the simulator then has no approved list to check against.

``rate_limit`` (off by default) caps the messages each phone number may send in any sliding
one-second window, answering 130429 beyond it as Meta does past a number's throughput.
``sends_per_callback`` counts accepted messages per ``biz_opaque_callback_data``, so a
delivery sent twice (a retry after an unknown outcome) is visible.

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

import base64
import collections
import datetime as dt
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs
from aiohttp import web

from projectone.testing._loopback import LoopbackSimulator

__all__ = [
    "ERROR_TITLES",
    "MAX_CALLBACK_DATA_LENGTH",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_BODY_LENGTH",
    "RATE_LIMIT_CODES",
    "ApprovedTemplate",
    "WhatsAppSimulator",
    "build_status_webhook",
    "http_status_for",
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

    ``sent`` holds the JSON bodies it accepted, in order; ``requests`` counts every request
    that reached the send route, accepted or not, so a test can prove nothing was sent;
    ``sends_per_callback`` counts the accepted ones per ``biz_opaque_callback_data``.

    ``templates`` are the approved templates by name (``None``: accept any well-formed one).
    ``rate_limit`` is the messages per second each phone number id may send (``None``: no
    limit), measured over a sliding one-second window of accepted messages on ``monotonic``.
    """

    name = "WhatsApp simulator"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token: str = "simulator-token",
        phone_number_id: str | None = None,
        latency: tuple[float, float] = (0.0, 0.0),
        failures: Mapping[str, int] | None = None,
        failure_rate: float = 0.0,
        failure_code: int = 131000,
        seed: int = 0,
        templates: Mapping[str, ApprovedTemplate] | None = None,
        rate_limit: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
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
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.templates: dict[str, ApprovedTemplate] | None = (
            None if templates is None else dict(templates)
        )
        self.rate_limit = rate_limit
        self.sent: list[dict[str, Any]] = []
        self.sends_per_callback: collections.Counter[str] = collections.Counter()
        self._monotonic = monotonic
        # Per phone number id: when its accepted messages of the last second were accepted.
        self._windows: dict[str, collections.deque[float]] = {}

    @property
    def duplicate_callbacks(self) -> dict[str, int]:
        """The ``biz_opaque_callback_data`` values accepted more than once, with their counts."""
        return {data: count for data, count in self.sends_per_callback.items() if count > 1}

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
            self._take_throughput(phone_number_id)
        except _Refusal as refusal:
            return _error_response(
                refusal.code,
                refusal.details,
                message=refusal.message,
                error_type=refusal.error_type,
            )
        self.sent.append(body)
        callback = body.get("biz_opaque_callback_data")
        if callback is not None:
            self.sends_per_callback[callback] += 1
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": to}],
            "messages": [{"id": self._wamid(to)}],
        }
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
    waba_id: str = "102290129340398",
    phone_number_id: str = "106540352242922",
    display_phone_number: str = "15550783881",
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
        when = event["timestamp"]
        if isinstance(when, dt.datetime):
            if when.tzinfo is None:
                raise ValueError(f"timestamp must be timezone-aware, got {when!r}")
            seconds = int(when.timestamp())
        elif isinstance(when, int) and not isinstance(when, bool):
            seconds = when
        else:
            raise ValueError(f"timestamp must be a datetime or Unix seconds, got {when!r}")
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
                            "statuses": statuses,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("ascii")
