"""SMS gateway sender: the ``SmsSender`` port spoken to an MSG91-style HTTP API over aiohttp.

This module is the edge between projectone and the Indian SMS gateway. Everything foreign stops
here: aiohttp exceptions and the gateway's own failures (5xx) become ``UnavailableError``, its
refusals (4xx, or a 2xx whose body says ``"type": "error"``, as MSG91 answers some refusals)
become ``ProviderError`` carrying the gateway's code, and a message the DLT scrubbing would drop
is refused locally with a ``ValidationError`` when the registered templates are known. There are
no retries here: whether and when to try again is the delivery engine's decision.

The wire format (modelled on MSG91's ``/api/v2/sendsms``, ``reference/india-sms-dlt.md``)::

    POST {base_url}/api/v2/sendsms
    authkey: <auth key>
    Content-Type: application/json

    {"sender": "PRJONE", "route": "4", "country": "91", "unicode": 1,
     "sms": [{"message": "<exact text>", "to": ["919876543210"]}],
     "DLT_TE_ID": "1107170000000000001", "PE_ID": "1201160000000000001",
     "category": "service_implicit", "CRQID": "<our delivery id>"}

``route`` is MSG91's: ``"1"`` for promotional, ``"4"`` for everything else (service messages
travel on the transactional route). ``country`` is ``"91"`` for an Indian number and ``"0"``
(international) otherwise; ``to`` always holds the full number, country code first, digits
only. ``unicode`` is 1 when the body needs UCS-2. ``PE_ID`` and ``category`` carry the
principal entity id and DLT category explicitly (MSG91 keeps them with the account; gateways
such as Exotel and Gupshup take them per request), and ``CRQID`` is MSG91's client request id,
echoed in delivery reports. Answers::

    200 {"type": "success", "message": "<request id>"}
    4xx {"type": "error", "code": "323", "message": "Template text mismatch"}

Delivery reports come back on a callback URL as MSG91's webhook (version 2) sends them: a JSON
array of requests, each with a ``report`` list, either as the body itself or form-encoded in a
``data`` field. :func:`parse_delivery_report` reads both.

The numeric codes in :data:`GATEWAY_ERRORS` are those of the contract this adapter and the
simulator share. Before classifying failures of a production gateway by code, check its own
table: the adapter only carries the code, it never decides on it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, NoReturn
from urllib.parse import parse_qs

import aiohttp

from projectone.adapters._http import (
    EXCERPT_LENGTH,
    JsonRefused,
    load_strict_json,
    post_json,
    provider_target,
    unreadable_answer,
)
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.errors import ProviderError, UnavailableError, ValidationError
from projectone.domain.timezone import IST
from projectone.ports.sms import (
    DltTemplate,
    OutboundSms,
    SmsCategory,
    SmsEncoding,
    SmsReceipt,
    SmsReport,
)

__all__ = [
    "GATEWAY_ERRORS",
    "PROVIDER",
    "REPORT_STATUSES",
    "SEND_PATH",
    "DeliveryReportError",
    "SmsGatewaySender",
    "parse_delivery_report",
]

#: Name recorded in ``ProviderError.provider``.
PROVIDER: Final = "sms_gateway"
#: The send endpoint, below the configured base URL.
SEND_PATH: Final = "/api/v2/sendsms"
#: The header carrying the auth key.
_AUTH_HEADER: Final = "authkey"

#: The error codes of the wire contract (see the module documentation), with their meaning.
GATEWAY_ERRORS: Final[Mapping[int, str]] = {
    301: "Authentication failure: the auth key is missing or wrong",
    310: "Malformed request",
    311: "Invalid mobile number",
    312: "Number blocked or on the do-not-disturb registry",
    320: "Sender header not approved",
    321: "Principal entity id does not match the header",
    322: "DLT template id not registered",
    323: "Message text does not match the registered template",
    324: "Category or route does not match the registered template",
    330: "Insufficient balance",
    340: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

#: MSG91's delivery-report status codes and what they mean for a delivery.
REPORT_STATUSES: Final[Mapping[int, tuple[DeliveryStatus, str]]] = {
    1: (DeliveryStatus.DELIVERED, "delivered"),
    2: (DeliveryStatus.FAILED, "failed"),
    9: (DeliveryStatus.FAILED, "NDNC: the number is on the do-not-disturb registry"),
    16: (DeliveryStatus.FAILED, "rejected"),
    17: (DeliveryStatus.FAILED, "blocked number"),
    25: (DeliveryStatus.FAILED, "rejected"),
}

_ROUTE_PROMOTIONAL: Final = "1"
_ROUTE_TRANSACTIONAL: Final = "4"


class SmsGatewaySender:
    """Send DLT SMS through ``POST {base_url}/api/v2/sendsms``.

    The session belongs to the caller (the container), as for the WhatsApp sender. ``timeout``
    bounds the whole request, so a hung gateway turns into a retryable ``UnavailableError``
    quickly: the SMS backup is itself racing the morning SLA. ``templates``, when given, are
    the DLT templates registered for this sender; a message whose template id is not among
    them, whose category differs from the registration, or whose text does not match the
    template is refused before any I/O, because the operator would drop it after the gateway
    billed it.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        auth_key: str,
        timeout: float = 10.0,
        templates: Iterable[DltTemplate] = (),
    ) -> None:
        if timeout <= 0:
            raise ValidationError("timeout", timeout, "must be positive")
        if not auth_key:
            raise ValidationError("auth_key", "<redacted>", "must not be empty")
        # Errors name the host only, never the auth key.
        self._target = provider_target(base_url, "SMS gateway")
        registry: dict[str, DltTemplate] = {}
        for template in templates:
            if template.template_id in registry:
                raise ValidationError(
                    "templates", template.template_id, "the same template id is given twice"
                )
            registry[template.template_id] = template
        self._session = session
        self._url = f"{base_url.rstrip('/')}{SEND_PATH}"
        self._headers: Mapping[str, str] = {_AUTH_HEADER: auth_key}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._templates: Mapping[str, DltTemplate] = registry

    @property
    def target(self) -> str:
        """What ``UnavailableError.target`` says when this sender cannot reach the gateway."""
        return self._target

    async def send_sms(self, message: OutboundSms) -> SmsReceipt:
        """Hand ``message`` to the gateway and return its request id.

        Raises ``ValidationError`` before any I/O when the message does not match its
        registered template, ``ProviderError`` when the gateway refuses it (or answers
        something unreadable), and ``UnavailableError`` when no answer arrives or the gateway
        fails on its side (5xx). After a timeout the outcome is unknown: the delivery report,
        which echoes ``callback_data``, settles it later.
        """
        self._check_template(message)
        status, raw = await post_json(
            self._session,
            self._url,
            _send_payload(message),
            headers=self._headers,
            client_timeout=self._timeout,
            target=self._target,
            # No redirects: the auth key is a plain header that aiohttp would carry to
            # whatever host a redirect names.
            allow_redirects=False,
        )
        return SmsReceipt(message_id=self._interpret(status, raw), length=message.length)

    def _check_template(self, message: OutboundSms) -> None:
        if not self._templates:
            return
        template = self._templates.get(message.dlt_template_id)
        if template is None:
            raise ValidationError(
                "dlt_template_id", message.dlt_template_id, "is not a registered DLT template"
            )
        if template.category is not message.category:
            raise ValidationError(
                "category",
                message.category.value,
                f"template {template.template_id} is registered as {template.category.value}",
            )
        if not template.matches(message.body):
            raise ValidationError(
                "body",
                f"<{len(message.body)} characters>",
                f"does not match DLT template {template.template_id}: the fixed text must be "
                "identical and each {#var#} at most 30 characters",
            )

    def _interpret(self, status: int, raw: bytes) -> str:
        """The request id of an accepted send; otherwise raise what the answer means."""
        document = _json_object(raw)
        if status >= 500:
            # The gateway failed on its side: nothing says the message was refused, and trying
            # again (or later) is the engine's call, so this is "unavailable", not "refused".
            summary = _error_summary(document)
            detail = f" ({summary})" if summary else ""
            raise UnavailableError(self._target, f"HTTP {status} from the gateway{detail}")
        if document is None:
            raise unreadable_answer(PROVIDER, status, "the answer is not a JSON object", raw)
        kind = document.get("type")
        if not 200 <= status < 300 or kind == "error":
            raise _provider_error(status, document, raw)
        message_id = document.get("message")
        if kind != "success" or not isinstance(message_id, str) or not message_id.strip():
            raise unreadable_answer(PROVIDER, status, "a success answer without a request id", raw)
        return message_id


def _send_payload(message: OutboundSms) -> dict[str, Any]:
    digits = message.to.removeprefix("+")
    payload: dict[str, Any] = {
        "sender": message.sender_header,
        "route": (
            _ROUTE_PROMOTIONAL
            if message.category is SmsCategory.PROMOTIONAL
            else _ROUTE_TRANSACTIONAL
        ),
        "country": "91" if digits.startswith("91") else "0",
        "unicode": 1 if message.length.encoding is SmsEncoding.UCS2 else 0,
        "sms": [{"message": message.body, "to": [digits]}],
        "DLT_TE_ID": message.dlt_template_id,
        "PE_ID": message.principal_entity_id,
        "category": message.category.value,
    }
    if message.callback_data is not None:
        payload["CRQID"] = message.callback_data
    return payload


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        document: object = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) else None


def _error_summary(document: Mapping[str, Any] | None) -> str | None:
    if document is None:
        return None
    code, message = _as_code(document.get("code")), document.get("message")
    parts = [
        f"code {code}" if code is not None else "",
        message if isinstance(message, str) else "",
    ]
    summary = ": ".join(part for part in parts if part)
    return summary[:EXCERPT_LENGTH] or None


def _provider_error(status: int, document: Mapping[str, Any], raw: bytes) -> ProviderError:
    code = _as_code(document.get("code"))
    message = document.get("message")
    if code is None and not isinstance(message, str):
        return unreadable_answer(
            PROVIDER, status, "an error answer without a code or a message", raw
        )
    return ProviderError(
        PROVIDER,
        code,
        message if isinstance(message, str) and message else f"HTTP {status}",
        http_status=status,
    )


def _as_code(value: object) -> int | str | None:
    """The gateway's code: digits (MSG91 sends them as a string) become an int, other non-empty
    text is kept as it is, anything else is no code."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else text
    return None


# -- delivery reports -------------------------------------------------------------------------


class DeliveryReportError(ValidationError):
    """A delivery-report callback body that cannot be trusted; nothing in it was read.

    ``field`` is a JSONPath-like location (``[0].report[1].status``); the body itself is never
    quoted, only the offending value, shortened.
    """

    code = "sms_report_invalid"

    def __init__(self, path: str, value: object, reason: str) -> None:
        super().__init__(path or "body", _shorten(value), reason)


# The gateway writes report times as IST wall-clock time.
_REPORT_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_NUMBER: Final = re.compile(r"[1-9][0-9]{6,14}")
_STATUS_CODE: Final = re.compile(r"[0-9]{1,3}")
_QUOTE_LENGTH: Final = 60


def parse_delivery_report(raw: bytes) -> list[SmsReport]:
    """Read one delivery-report callback body into reports, in the order given.

    The body is MSG91's webhook v2 shape: a JSON array of ``{"requestId", "senderId",
    "report": [{"number", "status", "desc", "date", "CRQID", "failedReason"}, …]}``, either
    as ``application/json`` or form-encoded as ``data=<that JSON>``. Parsing is strict and
    all-or-nothing: a body that is not UTF-8, not strict JSON (``NaN``, duplicate keys), or
    has any request or report that is malformed raises ``DeliveryReportError`` naming the
    first fault, so the callback can be answered with an error and inspected rather than
    half-applied. Fields the gateway adds beyond these (credit, amount…) are ignored. A
    status code outside :data:`REPORT_STATUSES` is a fault: it is never guessed.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise DeliveryReportError("body", type(raw).__name__, "must be bytes")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeliveryReportError(
            "body", f"<{len(raw)} bytes>", f"is not UTF-8 ({exc.reason})"
        ) from None
    document = _load_report_json(_unwrap_form(text))
    if not isinstance(document, list):
        _fail("", document, "must be a JSON array of requests")
    reports: list[SmsReport] = []
    for r, request in enumerate(document):
        reports.extend(_read_request(f"[{r}]", request))
    return reports


def _unwrap_form(text: str) -> str:
    """The JSON of a form-encoded body (``data=…``); a JSON body is returned unchanged."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return text
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        _fail("body", text, "is neither JSON nor a form with a data field")
    if set(fields) != {"data"} or len(fields["data"]) != 1:
        _fail("body", sorted(fields), "a form body must have exactly one field, data")
    return fields["data"][0]


def _load_report_json(text: str) -> object:
    try:
        return load_strict_json(text, detail_limit=120)
    except JsonRefused as refused:
        _fail("body", "<nested>" if refused.nested else text, refused.reason)


def _read_request(path: str, request: object) -> list[SmsReport]:
    fields = _object(path, request)
    request_id = _text(fields, "requestId", path)
    sender = _optional_text(fields, "senderId", path)
    items = fields.get("report")
    if not isinstance(items, list) or not items:
        _fail(f"{path}.report", items, "must be a non-empty list")
    return [
        _read_report(f"{path}.report[{i}]", item, request_id, sender)
        for i, item in enumerate(items)
    ]


def _read_report(path: str, raw: object, request_id: str, sender: str | None) -> SmsReport:
    fields = _object(path, raw)
    number = _text(fields, "number", path)
    if _NUMBER.fullmatch(number) is None:
        _fail(f"{path}.number", number, "must be the number with its country code, digits only")
    code = _status_code(fields, path)
    known = REPORT_STATUSES.get(code)
    if known is None:
        allowed = ", ".join(str(c) for c in sorted(REPORT_STATUSES))
        _fail(f"{path}.status", fields.get("status"), f"must be one of {allowed}")
    status, meaning = known
    description = _optional_text(fields, "desc", path) or meaning
    crqid = _optional_text(fields, "CRQID", path)
    failure = _optional_text(fields, "failedReason", path)
    return SmsReport(
        message_id=request_id,
        recipient=f"+{number}",
        status=status,
        gateway_status=code,
        description=description,
        timestamp=_report_time(fields, path),
        callback_data=crqid or None,
        sender_header=sender or None,
        failure_reason=failure or None,
    )


def _status_code(fields: Mapping[str, Any], path: str) -> int:
    value = fields.get("status")
    if isinstance(value, bool):
        _fail(f"{path}.status", value, "must be a status code")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _STATUS_CODE.fullmatch(value):
        return int(value)
    if value is None:
        _fail(f"{path}.status", value, "is missing")
    return _fail(f"{path}.status", value, "must be a status code")


def _report_time(fields: Mapping[str, Any], path: str) -> dt.datetime:
    text = _text(fields, "date", path)
    if _REPORT_DATE.fullmatch(text) is None:
        _fail(f"{path}.date", text, "must be 'YYYY-MM-DD HH:MM:SS' (IST)")
    try:
        local = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        _fail(f"{path}.date", text, "is not a real date and time")
    return local.replace(tzinfo=IST).astimezone(dt.UTC)


def _object(path: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, value, "must be a JSON object")
    return value


def _optional_text(fields: Mapping[str, Any], name: str, path: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        _fail(f"{path}.{name}", value, "must be a string")
    return value


def _text(fields: Mapping[str, Any], name: str, path: str) -> str:
    value = _optional_text(fields, name, path)
    if value is None:
        _fail(f"{path}.{name}", value, "is missing")
    if not value.strip():
        _fail(f"{path}.{name}", value, "must not be blank")
    return value


def _fail(path: str, value: object, reason: str) -> NoReturn:
    raise DeliveryReportError(path, value, reason)


def _shorten(value: object) -> object:
    """``value`` itself when short; otherwise the start of it (foreign text can be large)."""
    if isinstance(value, str):
        return value if len(value) <= _QUOTE_LENGTH else value[: _QUOTE_LENGTH - 1] + "…"
    shown = repr(value)
    return value if len(shown) <= _QUOTE_LENGTH else shown[: _QUOTE_LENGTH - 1] + "…"
