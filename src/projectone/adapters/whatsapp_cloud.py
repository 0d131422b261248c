"""WhatsApp Business Cloud API sender: the ``WhatsAppSender`` port spoken over aiohttp.

This module is the edge between projectone and Meta's Graph API. Everything foreign stops
here: aiohttp exceptions become ``UnavailableError``, Meta's error JSON becomes
``ProviderError`` carrying Meta's numeric ``code`` (the reference says to decide on the code,
never on the message text), and inputs Meta would refuse are refused locally with a
``ValidationError`` so that a bad message never costs a round trip or a rate-limit token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from projectone.domain.errors import ProviderError, UnavailableError, ValidationError
from projectone.ports.messaging import OutboundText, SendReceipt

__all__ = [
    "MAX_CALLBACK_DATA_LENGTH",
    "MAX_TEXT_BODY_LENGTH",
    "PROVIDER",
    "WhatsAppCloudSender",
]

#: Name recorded in ``ProviderError.provider`` so callers can classify by provider.
PROVIDER: Final = "whatsapp"
#: Meta refuses text bodies longer than this (code 100); we refuse them before sending.
MAX_TEXT_BODY_LENGTH: Final = 4096
#: Meta's limit for ``biz_opaque_callback_data``; longer values are refused by the API.
MAX_CALLBACK_DATA_LENGTH: Final = 512
#: How much of an unparseable answer we keep in ``ProviderError.details`` for diagnosis.
_EXCERPT_LENGTH: Final = 200


class WhatsAppCloudSender:
    """Send text messages through ``POST {base_url}/{api_version}/{phone_number_id}/messages``.

    The session is owned by the caller (the container), so connection pooling is shared with
    other adapters and closing it is not this object's business. ``timeout`` bounds the whole
    request: the morning SLA is five minutes, and a hung connection must turn into a retryable
    failure quickly rather than hold a worker.
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
    ) -> None:
        if timeout <= 0:
            raise ValidationError("timeout", timeout, "must be positive")
        if not phone_number_id:
            raise ValidationError("phone_number_id", phone_number_id, "must not be empty")
        if not access_token:
            # The token itself is never echoed into an error: it is a credential.
            raise ValidationError("access_token", "<redacted>", "must not be empty")
        # urllib rather than yarl: yarl is only a transitive dependency (through aiohttp).
        base = urlsplit(base_url)
        try:
            explicit_port = base.port  # raises ValueError for a port out of range
        except ValueError:
            explicit_port = -1
        if base.scheme not in ("http", "https") or not base.hostname or explicit_port == -1:
            raise ValidationError("base_url", base_url, "must be an absolute http(s) URL")
        self._session = session
        self._url = f"{base_url.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self._headers: Mapping[str, str] = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Errors name the host only: never the path (it holds the phone number id) nor the token.
        host = f"[{base.hostname}]" if ":" in base.hostname else base.hostname
        port = f":{explicit_port}" if explicit_port is not None else ""
        self._target = f"WhatsApp Cloud API at {host}{port}"

    @property
    def target(self) -> str:
        """What ``UnavailableError.target`` says when this sender cannot reach Meta."""
        return self._target

    async def send_text(self, message: OutboundText) -> SendReceipt:
        """Hand ``message`` to WhatsApp and return Meta's ``wamid`` for it.

        Raises ``ValidationError`` before any I/O for a message Meta would refuse,
        ``ProviderError`` when Meta answers with an error (or with something unreadable), and
        ``UnavailableError`` when no answer arrives. After a timeout the outcome is unknown:
        the API has no idempotency key, so the message may have been accepted; the status
        webhook echoing ``callback_data`` settles it later.
        """
        payload = _text_payload(message)
        try:
            async with self._session.post(
                self._url, json=payload, headers=self._headers, timeout=self._timeout
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError as exc:
            raise UnavailableError(
                self._target, "no answer within the timeout; the outcome is unknown"
            ) from exc
        except aiohttp.ClientError as exc:
            raise UnavailableError(self._target, _describe(exc)) from exc
        return _interpret(status, raw)


def _text_payload(message: OutboundText) -> dict[str, Any]:
    """Build the wire body, validating what Meta would otherwise reject with code 100/131008."""
    to = message.to.strip()
    digits = to.removeprefix("+")
    # Meta wants the country code and digits only; E.164's "+" is the one thing we strip.
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError("to", message.to, "must be a phone number in E.164 form")
    if not message.body.strip():
        raise ValidationError("body", message.body, "must not be empty")
    if len(message.body) > MAX_TEXT_BODY_LENGTH:
        raise ValidationError(
            "body",
            f"<{len(message.body)} characters>",
            f"must be at most {MAX_TEXT_BODY_LENGTH} characters",
        )
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": digits,
        "type": "text",
        "text": {"preview_url": message.preview_url, "body": message.body},
    }
    if message.callback_data is not None:
        if len(message.callback_data) > MAX_CALLBACK_DATA_LENGTH:
            raise ValidationError(
                "callback_data",
                message.callback_data,
                f"must be at most {MAX_CALLBACK_DATA_LENGTH} characters",
            )
        payload["biz_opaque_callback_data"] = message.callback_data
    return payload


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
    )


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
    excerpt = raw[:_EXCERPT_LENGTH].decode("utf-8", errors="replace")
    return ProviderError(
        PROVIDER,
        None,
        f"unexpected answer (HTTP {status}): {what}",
        http_status=status,
        details=excerpt or None,
    )


def _describe(exc: aiohttp.ClientError) -> str:
    """A short reason for an aiohttp failure that never includes the request URL or headers."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection; the outcome is unknown"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut off; the outcome is unknown"
    return f"{type(exc).__name__}; the outcome is unknown"
