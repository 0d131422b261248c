"""WhatsApp Cloud API webhooks: signature check, subscription handshake and payload parsing.

Pure functions, no HTTP framework: the aiohttp route and the WhatsApp simulator both call them,
so what is verified and parsed here is the same whichever server received the request.

Why each function is shaped the way it is:

* ``verify_signature`` works on the **raw body bytes**. Meta signs the bytes it sent (with
  non-ASCII escaped its own way), so re-serialised JSON would not match. Every doubt (no
  header, another scheme, a digest that is not 64 lowercase hex digits, an empty secret)
  answers ``False``: a webhook we cannot authenticate must not move a delivery.
* ``verify_handshake`` echoes the challenge only to a subscription request carrying our token,
  compared in constant time, so the endpoint cannot be used to reflect arbitrary text.
* ``parse_webhook`` is strict about what it reads but never lets one bad part hide the rest:
  Meta batches statuses from many messages into one POST and retries the whole POST for days
  if we refuse it, so each malformed status or message becomes a ``Rejection`` (a path and a
  reason) next to the ones that parsed. Only a body that is not a JSON object at all raises.

Nothing here deduplicates or orders events: webhooks arrive twice and out of order, and the
service applying them (``Delivery.apply_report``) is the one that makes that harmless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import attrs

from projectone.adapters._http import JsonRefused, json_type, load_strict_json, quote
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.errors import ValidationError

__all__ = [
    "OBJECT_TYPE",
    "SIGNATURE_HEADER",
    "STATUS_VALUES",
    "InboundMessage",
    "Rejection",
    "StatusUpdate",
    "WebhookBatch",
    "WebhookPayloadError",
    "parse_webhook",
    "verify_handshake",
    "verify_signature",
]

#: The header carrying Meta's signature of the raw body.
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
#: The only ``object`` a WhatsApp Business Account webhook carries.
OBJECT_TYPE: Final = "whatsapp_business_account"
#: The ``changes[].field`` whose ``value`` holds statuses and messages.
_MESSAGES_FIELD: Final = "messages"
#: The statuses a WhatsApp status webhook may report; anything else is rejected.
STATUS_VALUES: Final = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.FAILED,
    }
)

_STATUS_BY_VALUE: Final[Mapping[str, DeliveryStatus]] = {s.value: s for s in STATUS_VALUES}
_SIGNATURE_PREFIX: Final = "sha256="
_HEX_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
# Meta's challenge is an integer; we accept any short run of visible ASCII, never control
# characters or whitespace, so echoing it cannot inject anything into a response or a log.
_CHALLENGE: Final = re.compile(r"[\x21-\x7e]{1,256}")
# Epoch seconds: twelve digits reach year 33658, beyond what datetime holds, so longer
# strings are refused before int() (which caps digit strings) or datetime sees them.
_EPOCH_SECONDS: Final = re.compile(r"[0-9]{1,12}")
# E.164: at most fifteen digits, country code first; WhatsApp writes them without the "+".
_WA_ID: Final = re.compile(r"[0-9]{1,15}")


class WebhookPayloadError(ValidationError):
    """The webhook body is not a JSON object, so nothing in it can be trusted to parse.

    Parts of a valid object that are malformed are not errors: they become ``Rejection``\\ s.
    The body itself is never quoted (it is foreign and possibly large); ``value`` is its size.
    """

    code = "webhook_payload_invalid"

    def __init__(self, reason: str, *, size: int) -> None:
        super().__init__("body", f"<{size} bytes>", reason)


@attrs.frozen(kw_only=True)
class Rejection:
    """A part of the payload that was not turned into a status or a message, and why.

    ``path`` locates it in JSONPath-like form, e.g. ``entry[0].changes[0].value.statuses[2]
    .timestamp``, pointing at the field at fault when there is one.
    """

    path: str
    reason: str


@attrs.frozen(kw_only=True)
class StatusUpdate:
    """One receipt for a message we sent (``value.statuses[]``).

    ``message_id`` is the wamid the send returned; ``callback_data`` is our
    ``biz_opaque_callback_data`` echoed back (the delivery id), which identifies the delivery
    even when the send's answer was lost. ``error_code``/``error_title`` come from the first
    entry of ``errors[]`` (Meta sends one). ``timestamp`` is when Meta saw the status, in UTC.
    """

    message_id: str
    recipient_id: str
    status: DeliveryStatus
    timestamp: dt.datetime
    callback_data: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    pricing_category: str | None = None
    conversation_id: str | None = None


@attrs.frozen(kw_only=True)
class InboundMessage:
    """A message a user sent to our number (``value.messages[]``).

    ``from_number`` is E.164 with the ``+`` (WhatsApp sends digits only). ``text`` is the body
    of a ``text`` message and ``None`` for every other ``type`` (image, button, reaction…).
    ``context_message_id`` is the wamid of the message this one replies to, if any.
    """

    message_id: str
    from_number: str
    timestamp: dt.datetime
    type: str
    text: str | None = None
    context_message_id: str | None = None


@attrs.frozen(kw_only=True)
class WebhookBatch:
    """Everything one webhook POST carried, in payload order, and what could not be read."""

    statuses: tuple[StatusUpdate, ...] = ()
    messages: tuple[InboundMessage, ...] = ()
    rejected: tuple[Rejection, ...] = ()


# -- authentication ---------------------------------------------------------------------------


def verify_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Whether ``header`` (``X-Hub-Signature-256``) is ``sha256=`` + the HMAC-SHA256 of
    ``raw_body`` with ``app_secret``, as lowercase hex.

    Fails closed and never raises: anything but an exact, well-formed match is ``False``.
    The digests are compared with ``hmac.compare_digest`` so timing does not reveal how much
    of a forged signature was right.
    """
    if not isinstance(app_secret, str) or not app_secret:
        return False
    if not isinstance(raw_body, bytes | bytearray | memoryview):
        return False
    if not isinstance(header, str) or not header.startswith(_SIGNATURE_PREFIX):
        return False
    claimed_hex = header[len(_SIGNATURE_PREFIX) :]
    # fullmatch, not bytes.fromhex alone: fromhex skips whitespace and accepts upper case.
    if _HEX_DIGEST.fullmatch(claimed_hex) is None:
        return False
    try:
        key = app_secret.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no secret Meta could share with us
        return False
    expected = hmac.new(key, raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(claimed_hex))


def verify_handshake(params: Mapping[str, str], verify_token: str) -> str | None:
    """The subscription handshake (``GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``).

    Returns the challenge to answer with only when ``hub.mode`` is ``subscribe`` and
    ``hub.verify_token`` equals ``verify_token`` (constant time); ``None`` means answer 403.
    An empty configured token never matches, nor does a challenge that is empty, longer than
    256 characters or not visible ASCII.
    """
    if not isinstance(verify_token, str) or not verify_token:
        return None
    mode = params.get("hub.mode")
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if mode != "subscribe" or not isinstance(token, str) or not isinstance(challenge, str):
        return None
    try:
        matches = hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8"))
    except UnicodeEncodeError:
        return None
    if not matches or _CHALLENGE.fullmatch(challenge) is None:
        return None
    return challenge


# -- parsing ----------------------------------------------------------------------------------


def parse_webhook(raw_body: bytes) -> WebhookBatch:
    """Read a webhook POST body into statuses, inbound messages and rejections.

    Raises ``WebhookPayloadError`` when the body is not UTF-8 JSON (strictly: no ``NaN``, no
    duplicate keys) whose top level is an object. Everything below that is checked part by
    part: a malformed status, message, entry or change is reported in ``rejected`` and the
    others still parse. An ``object`` other than ``whatsapp_business_account`` rejects the
    whole payload (it is not a WhatsApp webhook). Changes of another ``field`` than
    ``messages`` (template or account updates) and ``value.errors[]`` (errors not tied to a
    message) are reported as rejections too, so they reach the log instead of vanishing.
    """
    document = _load(raw_body)
    collector = _Collector()
    kind = document.get("object")
    if kind != OBJECT_TYPE:
        reason = f"must be {OBJECT_TYPE!r} (got {quote(kind)}); nothing in it was read"
        return WebhookBatch(rejected=(Rejection(path="object", reason=reason),))
    entries = document.get("entry")
    if not isinstance(entries, list):
        reason = (
            "is missing"
            if entries is None
            else f"must be a list (got {json_type(entries, array='a list')})"
        )
        return WebhookBatch(rejected=(Rejection(path="entry", reason=reason),))
    for e, entry in enumerate(entries):
        collector.guard(_read_entry, f"entry[{e}]", entry)
    return collector.batch()


def _load(raw_body: bytes) -> dict[str, Any]:
    if not isinstance(raw_body, bytes | bytearray | memoryview):
        raise WebhookPayloadError(f"must be bytes (got {type(raw_body).__name__})", size=0)
    size = len(raw_body)
    try:
        # Decode first: json.loads on bytes would also guess UTF-16 and UTF-32, and Meta
        # sends UTF-8 only.
        document = load_strict_json(bytes(raw_body).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise WebhookPayloadError(
            f"is not UTF-8 ({exc.reason} at byte {exc.start})", size=size
        ) from None
    except JsonRefused as refused:
        raise WebhookPayloadError(refused.reason, size=size) from None
    if not isinstance(document, dict):
        raise WebhookPayloadError(
            f"must be a JSON object at the top level (got {json_type(document, array='a list')})",
            size=size,
        )
    return document


class _Bad(Exception):
    """Internal: the part being read is malformed at ``path``."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


_Reader = Callable[["_Collector", str, object], None]


@attrs.define
class _Collector:
    """Accumulates what parsed and what was rejected while walking the payload."""

    statuses: list[StatusUpdate] = attrs.field(factory=list)
    messages: list[InboundMessage] = attrs.field(factory=list)
    rejected: list[Rejection] = attrs.field(factory=list)

    def reject(self, path: str, reason: str) -> None:
        self.rejected.append(Rejection(path=path, reason=reason))

    def guard(self, read: _Reader, path: str, raw: object) -> None:
        """Call ``read(self, path, raw)``; a ``_Bad`` becomes a rejection, not a crash."""
        try:
            read(self, path, raw)
        except _Bad as bad:
            self.reject(bad.path, bad.reason)

    def batch(self) -> WebhookBatch:
        return WebhookBatch(
            statuses=tuple(self.statuses),
            messages=tuple(self.messages),
            rejected=tuple(self.rejected),
        )


def _read_entry(collector: _Collector, path: str, entry: object) -> None:
    changes = _optional(_object(path, entry), "changes", path, list)
    if changes is None:
        raise _Bad(f"{path}.changes", "is missing")
    for c, change in enumerate(changes):
        collector.guard(_read_change, f"{path}.changes[{c}]", change)


def _read_change(collector: _Collector, path: str, change: object) -> None:
    fields = _object(path, change)
    field = _required_text(fields, "field", path)
    if field != _MESSAGES_FIELD:
        raise _Bad(f"{path}.field", f"{quote(field)} is not handled (only 'messages' is)")
    value_path = f"{path}.value"
    value = _object(value_path, fields.get("value"))
    for name, read in (("statuses", _read_status), ("messages", _read_message)):
        items = _optional(value, name, value_path, list)
        for i, item in enumerate(items or ()):
            collector.guard(read, f"{value_path}.{name}[{i}]", item)
    for i, error in enumerate(_optional(value, "errors", value_path, list) or ()):
        collector.guard(_read_value_error, f"{value_path}.errors[{i}]", error)


def _read_status(collector: _Collector, path: str, raw: object) -> None:
    fields = _object(path, raw)
    status_text = _required_text(fields, "status", path)
    status = _STATUS_BY_VALUE.get(status_text)
    if status is None:
        allowed = ", ".join(sorted(_STATUS_BY_VALUE))
        raise _Bad(f"{path}.status", f"must be one of {allowed} (got {quote(status_text)})")
    error_code, error_title = _first_error(fields, path)
    pricing = _optional(fields, "pricing", path, dict)
    conversation = _optional(fields, "conversation", path, dict)
    collector.statuses.append(
        StatusUpdate(
            message_id=_required_text(fields, "id", path),
            recipient_id=_required_text(fields, "recipient_id", path),
            status=status,
            timestamp=_timestamp(fields, path),
            callback_data=_optional(fields, "biz_opaque_callback_data", path, str),
            error_code=error_code,
            error_title=error_title,
            pricing_category=(
                None if pricing is None else _optional(pricing, "category", f"{path}.pricing", str)
            ),
            conversation_id=(
                None
                if conversation is None
                else _optional(conversation, "id", f"{path}.conversation", str)
            ),
        )
    )


def _first_error(fields: Mapping[str, Any], path: str) -> tuple[int | None, str | None]:
    """``(code, title)`` of ``errors[0]``; ``(None, None)`` when there are no errors."""
    errors = _optional(fields, "errors", path, list)
    if not errors:
        return None, None
    error_path = f"{path}.errors[0]"
    error = _object(error_path, errors[0])
    code = error.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        raise _Bad(f"{error_path}.code", f"must be an integer (got {quote(code)})")
    title = _optional(error, "title", error_path, str)
    if title is None:
        title = _optional(error, "message", error_path, str)
    return code, title


def _read_message(collector: _Collector, path: str, raw: object) -> None:
    fields = _object(path, raw)
    sender = _required_text(fields, "from", path)
    if _WA_ID.fullmatch(sender) is None:
        raise _Bad(f"{path}.from", f"must be 1 to 15 digits (got {quote(sender)})")
    message_type = _required_text(fields, "type", path)
    text: str | None = None
    if message_type == "text":
        body = _object(f"{path}.text", fields.get("text"))
        text = _optional(body, "body", f"{path}.text", str)
        if text is None:
            raise _Bad(f"{path}.text.body", "is missing")
    context = _optional(fields, "context", path, dict)
    context_id = None if context is None else _optional(context, "id", f"{path}.context", str)
    collector.messages.append(
        InboundMessage(
            message_id=_required_text(fields, "id", path),
            from_number=f"+{sender}",
            timestamp=_timestamp(fields, path),
            type=message_type,
            text=text,
            context_message_id=context_id,
        )
    )


def _read_value_error(collector: _Collector, path: str, raw: object) -> None:
    fields = _object(path, raw)
    code = fields.get("code")
    title = fields.get("title") or fields.get("message")
    raise _Bad(path, f"error not tied to a message: {quote(code)} {quote(title)}")


# -- field readers: each raises _Bad naming the field -----------------------------------------


def _object(path: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(path, f"must be an object (got {json_type(value, array='a list')})")
    return value


_T = TypeVar("_T", str, list[Any], dict[str, Any])


def _optional(fields: Mapping[str, Any], name: str, path: str, kind: type[_T]) -> _T | None:
    """``fields[name]`` if present and not null; it must then be of JSON type ``kind``."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, kind):
        raise _Bad(
            f"{path}.{name}",
            f"must be {_KIND_NAMES[kind]} (got {json_type(value, array='a list')})",
        )
    return value


_KIND_NAMES: Final[Mapping[type, str]] = {str: "a string", list: "a list", dict: "an object"}


def _required_text(fields: Mapping[str, Any], name: str, path: str) -> str:
    value = _optional(fields, name, path, str)
    if value is None:
        raise _Bad(f"{path}.{name}", "is missing")
    if not value.strip():
        raise _Bad(f"{path}.{name}", "must not be blank")
    return value


def _timestamp(fields: Mapping[str, Any], path: str) -> dt.datetime:
    """``fields["timestamp"]``: Unix seconds written as a decimal string, as Meta sends it."""
    text = _optional(fields, "timestamp", path, str)
    if text is None:
        raise _Bad(f"{path}.timestamp", "is missing")
    if _EPOCH_SECONDS.fullmatch(text) is None:
        raise _Bad(f"{path}.timestamp", f"must be Unix seconds as digits (got {quote(text)})")
    try:
        return dt.datetime.fromtimestamp(int(text), tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise _Bad(f"{path}.timestamp", f"is out of range (got {quote(text)})") from None
