"""An Indian SMS gateway simulator: an MSG91-style send endpoint with DLT scrubbing, on loopback.

It speaks the wire format described in ``projectone.adapters.sms_gateway`` (``POST
/api/v2/sendsms`` with an ``authkey`` header, MSG91's ``sms`` list and ``DLT_TE_ID``, plus
``PE_ID``, ``category`` and ``CRQID``) so that an HTTP client is tested over a real socket
instead of by patching it. Like a real gateway it refuses what the DLT scrubbing would drop
(``reference/india-sms-dlt.md``): a header that is not approved, a principal entity id that is
not the registered one, an unknown template id, a category or route other than the template's,
and text that is not the template with each ``{#var#}`` filled (at most 30 characters each).
Faults are injected per number (``failures``) or at random (``failure_rate``), answers can be
slowed (``latency``), and it posts delivery reports (MSG91 webhook v2) to a callback URL.

Error codes and HTTP statuses (the contract's table; real gateways have their own):

* 301 authentication failure → 401; 340 too many requests → 429;
* 500 internal error → 500; 503 service unavailable → 503;
* 310 malformed request, 311 invalid number, 312 blocked/DND number, 320 header not approved,
  321 entity id mismatch, 322 unknown template id, 323 text does not match the template,
  324 category or route mismatch, 330 insufficient balance → 400.

This module is part of the public test harness and imports nothing from ``projectone.adapters``
or ``projectone.ports``: it must stay an independent model of the gateway, not of our client.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import re2  # type: ignore[import-untyped]
from aiohttp import web

from projectone.testing._loopback import LoopbackSimulator

__all__ = [
    "DEMO_ENGLISH_TEMPLATE_ID",
    "DEMO_HINDI_TEMPLATE_ID",
    "DEMO_PRINCIPAL_ENTITY_ID",
    "DEMO_SENDER_HEADER",
    "DEMO_TEMPLATES",
    "ERROR_MESSAGES",
    "REPORT_DESCRIPTIONS",
    "SmsGatewaySimulator",
    "build_delivery_report",
    "http_status_for",
]

DEMO_PRINCIPAL_ENTITY_ID: Final = "1201160000000000001"
DEMO_SENDER_HEADER: Final = "PRJONE"
DEMO_ENGLISH_TEMPLATE_ID: Final = "1107170000000000001"
DEMO_HINDI_TEMPLATE_ID: Final = "1107170000000000002"
#: Templates registered by default: id → (text, category).
DEMO_TEMPLATES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        DEMO_ENGLISH_TEMPLATE_ID: (
            "Dear investor, {#var#} has shared today's note on WhatsApp: {#var#}. "
            "Mutual fund investments are subject to market risks. -PRJONE",
            "service_implicit",
        ),
        DEMO_HINDI_TEMPLATE_ID: (
            "प्रिय निवेशक, {#var#} ने आज का नोट भेजा है: {#var#}। "
            "म्यूचुअल फंड निवेश बाज़ार जोखिमों के अधीन हैं। -PRJONE",
            "service_implicit",
        ),
    }
)

#: The gateway's messages, keyed by error code.
ERROR_MESSAGES: Final[Mapping[int, str]] = MappingProxyType(
    {
        301: "Authentication failure",
        310: "Invalid request",
        311: "Invalid mobile number",
        312: "Mobile number is blocked or registered on DND",
        320: "Sender ID not approved",
        321: "Principal entity ID does not match",
        322: "DLT template ID not found",
        323: "Message does not match the DLT template",
        324: "Category or route does not match the DLT template",
        330: "Insufficient balance",
        340: "Too many requests",
        500: "Internal server error",
        503: "Service temporarily unavailable",
    }
)

#: MSG91's delivery-report descriptions, keyed by report status.
REPORT_DESCRIPTIONS: Final[Mapping[int, str]] = MappingProxyType(
    {1: "DELIVERED", 2: "FAILED", 9: "NDNC", 16: "REJECTED", 17: "BLOCKED", 25: "REJECTED"}
)

_CATEGORIES: Final = frozenset(
    {"transactional", "service_implicit", "service_explicit", "promotional"}
)
_VARIABLE: Final = "{#var#}"
_VARIABLE_LIMIT: Final = 30
_IST: Final = dt.timezone(dt.timedelta(hours=5, minutes=30))
# Devanagari and the rupee sign cannot travel as GSM-7: a unicode=0 request would arrive garbled.
_NEEDS_UNICODE: Final = re.compile("[\u0900-\u097f\u20b9]")


def http_status_for(code: int) -> int:
    """The HTTP status the simulator answers with for error ``code`` (see the module doc)."""
    return {301: 401, 340: 429, 500: 500, 503: 503}.get(code, 400)


class _Refusal(Exception):
    """Internal: stop handling a request and answer with the gateway's error ``code``."""

    def __init__(self, code: int, detail: str | None = None) -> None:
        self.code = code
        self.detail = detail
        super().__init__(code)


class SmsGatewaySimulator(LoopbackSimulator):
    """The gateway on ``host:port`` (port 0 picks a free one; read ``base_url``).

    ``received`` holds the JSON bodies it accepted, in order, and ``request_ids`` the request
    id it answered for each; ``requests`` counts every request that reached the send route,
    accepted or not. ``templates`` maps DLT template ids to ``(text, category)``;
    ``sender_headers`` are the approved headers and ``principal_entity_id`` the registered
    entity (``None``: any well-formed value passes). ``failures`` maps numbers (digits, with
    the country code) to the error code to answer with.
    """

    name = "SMS gateway simulator"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_key: str = "simulator-authkey",
        principal_entity_id: str | None = DEMO_PRINCIPAL_ENTITY_ID,
        sender_headers: Collection[str] | None = (DEMO_SENDER_HEADER,),
        templates: Mapping[str, tuple[str, str]] = DEMO_TEMPLATES,
        latency: tuple[float, float] = (0.0, 0.0),
        failures: Mapping[str, int] | None = None,
        failure_rate: float = 0.0,
        failure_code: int = 500,
        seed: int = 0,
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
        for code in [*self.failures.values(), failure_code]:
            if code not in ERROR_MESSAGES:
                raise ValueError(f"unknown error code {code}; known: {sorted(ERROR_MESSAGES)}")
        self.auth_key = auth_key
        self.principal_entity_id = principal_entity_id
        self.sender_headers = None if sender_headers is None else frozenset(sender_headers)
        self.templates: dict[str, tuple[str, str]] = {}
        self._patterns: dict[str, Any] = {}
        for template_id, (text, category) in templates.items():
            self.register_template(template_id, text, category)
        self.received: list[dict[str, Any]] = []
        self.request_ids: list[str] = []

    def register_template(self, template_id: str, text: str, category: str) -> None:
        """Register a DLT template, as the sender would on the DLT portal and the gateway."""
        if category not in _CATEGORIES:
            raise ValueError(f"category must be one of {sorted(_CATEGORIES)}, got {category!r}")
        if not text.replace(_VARIABLE, "").strip():
            raise ValueError("a template needs fixed text besides {#var#}")
        # RE2, not re: it matches in linear time, where a backtracking regex with several
        # bounded slots can take exponential time on a text that almost matches.
        slot = f"(?s:.{{0,{_VARIABLE_LIMIT}}})"
        pattern = slot.join(re.escape(fixed) for fixed in text.split(_VARIABLE))
        self.templates[template_id] = (text, category)
        self._patterns[template_id] = re2.compile(pattern)

    # -- routes ----------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/v2/sendsms", self._handle_send)
        router.add_route("*", "/{tail:.*}", self._handle_unknown)

    # -- delivery reports --------------------------------------------------------------------

    def report_events(
        self,
        *,
        status: int = 1,
        at: dt.datetime | None = None,
        request_ids: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Report events for accepted sends (all, or those of ``request_ids``), one per number,
        with ``status`` (an MSG91 report status) at ``at`` (default: now)."""
        wanted = None if request_ids is None else set(request_ids)
        when = at or dt.datetime.now(dt.UTC)
        events: list[dict[str, Any]] = []
        for request_id, body in zip(self.request_ids, self.received, strict=True):
            if wanted is not None and request_id not in wanted:
                continue
            for sms in body["sms"]:
                for number in sms["to"]:
                    events.append(
                        {
                            "request_id": request_id,
                            "sender_id": body["sender"],
                            "number": number,
                            "status": status,
                            "date": when,
                            "crqid": body.get("CRQID"),
                        }
                    )
        return events

    async def post_delivery_reports(
        self,
        url: str,
        events: Iterable[Mapping[str, object]] | None = None,
        *,
        form: bool = True,
    ) -> int:
        """POST ``events`` (default: "delivered" for every accepted send) to ``url`` as the
        gateway's webhook does, and return the receiver's HTTP status. ``form`` sends MSG91's
        ``application/x-www-form-urlencoded`` ``data=…``; otherwise the JSON itself."""
        chosen = self.report_events() if events is None else list(events)
        body = build_delivery_report(chosen, form=form)
        content_type = "application/x-www-form-urlencoded" if form else "application/json"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers={"Content-Type": content_type}) as response,
        ):
            await response.read()
            return response.status

    # -- handlers ----------------------------------------------------------------------------

    async def _handle_send(self, request: web.Request) -> web.Response:
        await self.arrive()
        try:
            if request.headers.get("authkey", "") != self.auth_key or not self.auth_key:
                raise _Refusal(301)
            body = await _read_json(request)
            numbers = self._validate(body)
            self._inject_failure(numbers)
        except _Refusal as refusal:
            return _error_response(refusal.code, refusal.detail)
        request_id = f"{next(self._serial):08x}{os.urandom(8).hex()}"
        self.received.append(body)
        self.request_ids.append(request_id)
        return web.json_response({"type": "success", "message": request_id})

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"type": "error", "code": "404", "message": "Route not found"}, status=404
        )

    def _validate(self, body: Mapping[str, Any]) -> list[str]:
        """Check a send as the gateway and the DLT scrubbing would; return its numbers."""
        sender = _field(body, "sender")
        template_id = _field(body, "DLT_TE_ID")
        entity_id = _field(body, "PE_ID")
        category = _field(body, "category")
        route = _field(body, "route")
        unicode = body.get("unicode", 0)
        if unicode not in (0, 1) or isinstance(unicode, bool):
            raise _Refusal(310, "unicode must be 0 or 1")
        if category not in _CATEGORIES:
            raise _Refusal(310, f"category must be one of {', '.join(sorted(_CATEGORIES))}")
        header_pattern = r"[0-9]{6}" if category == "promotional" else r"[A-Z]{6}"
        if re.fullmatch(header_pattern, sender) is None:
            raise _Refusal(320, f"sender {sender!r} is not a valid {category} header")
        if self.sender_headers is not None and sender not in self.sender_headers:
            raise _Refusal(320, f"sender {sender!r} is not approved")
        if self.principal_entity_id is not None and entity_id != self.principal_entity_id:
            raise _Refusal(321)
        registered = self.templates.get(template_id)
        if registered is None:
            raise _Refusal(322, f"template {template_id!r} is not registered")
        if registered[1] != category:
            raise _Refusal(324, f"template {template_id} is registered as {registered[1]}")
        if route != ("1" if category == "promotional" else "4"):
            raise _Refusal(324, f"route {route!r} does not carry {category} messages")
        entries = body.get("sms")
        if not isinstance(entries, list) or not entries:
            raise _Refusal(310, "sms must be a non-empty list")
        numbers: list[str] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise _Refusal(310, "each sms entry must be an object")
            text = entry.get("message")
            if not isinstance(text, str) or not text.strip():
                raise _Refusal(310, "message must be non-empty text")
            if unicode == 0 and _NEEDS_UNICODE.search(text):
                raise _Refusal(310, "this text needs unicode=1")
            if self._patterns[template_id].fullmatch(text) is None:
                raise _Refusal(323)
            recipients = entry.get("to")
            if not isinstance(recipients, list) or not recipients:
                raise _Refusal(310, "to must be a non-empty list")
            for number in recipients:
                numbers.append(_check_number(number, body.get("country")))
        return numbers

    def _inject_failure(self, numbers: list[str]) -> None:
        for number in numbers:
            code = self.failure_for(number)
            if code is not None:
                raise _Refusal(code, f"number {number}")


async def _read_json(request: web.Request) -> dict[str, Any]:
    try:
        body: object = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Refusal(310, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _Refusal(310, "the body must be a JSON object")
    return body


def _field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _Refusal(310, f"{name} is required")
    return value


def _check_number(number: object, country: object) -> str:
    if not isinstance(number, str) or re.fullmatch(r"[1-9][0-9]{6,14}", number) is None:
        raise _Refusal(311, f"{number!r} is not a number with its country code")
    if number.startswith("91") and re.fullmatch(r"91[6-9][0-9]{9}", number) is None:
        raise _Refusal(311, f"{number} is not an Indian mobile number")
    if country not in ("91", "0"):
        raise _Refusal(310, "country must be '91' or '0'")
    return number


def _error_response(code: int, detail: str | None) -> web.Response:
    message = ERROR_MESSAGES.get(code, "Error")
    if detail:
        message = f"{message}: {detail}"
    return web.json_response(
        {"type": "error", "code": str(code), "message": message}, status=http_status_for(code)
    )


def build_delivery_report(events: Iterable[Mapping[str, object]], *, form: bool = False) -> bytes:
    """The body of a delivery-report webhook (MSG91 version 2) for ``events``.

    Each event names ``request_id``, ``number`` (digits with the country code), ``status``
    (an MSG91 report status, e.g. 1 delivered, 2 failed, 9 NDNC) and ``date`` (an aware
    datetime, written as IST wall-clock time as the gateway does), and optionally
    ``sender_id``, ``crqid``, ``desc`` (default: the gateway's word for the status) and
    ``failed_reason``. Unknown names raise ``ValueError``, so a typo cannot drop a field.
    Events of one request id are grouped in one request object, in first-seen order. With
    ``form`` the JSON is wrapped as ``data=…``, form-encoded.
    """
    known = {
        "request_id",
        "number",
        "status",
        "date",
        "sender_id",
        "crqid",
        "desc",
        "failed_reason",
    }
    requests: dict[str, dict[str, Any]] = {}
    for event in events:
        unknown = set(event) - known
        if unknown:
            raise ValueError(f"unknown report event fields: {', '.join(sorted(unknown))}")
        when = event["date"]
        if not isinstance(when, dt.datetime) or when.tzinfo is None:
            raise ValueError(f"date must be a timezone-aware datetime, got {when!r}")
        status = event["status"]
        if isinstance(status, bool) or not isinstance(status, int):
            raise ValueError(f"status must be an int, got {status!r}")
        request_id = str(event["request_id"])
        request = requests.setdefault(
            request_id,
            {
                "senderId": str(event.get("sender_id") or ""),
                "requestId": request_id,
                "report": [],
                "userId": "100001",
                "campaignName": "API",
            },
        )
        request["report"].append(
            {
                "date": when.astimezone(_IST).strftime("%Y-%m-%d %H:%M:%S"),
                "number": str(event["number"]),
                "status": str(status),
                "desc": str(event.get("desc") or REPORT_DESCRIPTIONS.get(status, "UNKNOWN")),
                "CRQID": str(event.get("crqid") or ""),
                "failedReason": str(event.get("failed_reason") or ""),
                "credit": "1",
            }
        )
    document = json.dumps(list(requests.values()), separators=(",", ":"), ensure_ascii=False)
    if form:
        return urlencode({"data": document}).encode("ascii")
    return document.encode("utf-8")
