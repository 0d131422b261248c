"""The edge code the HTTP adapters share: calling a provider and reading foreign bodies.

* :func:`provider_target` checks a configured base URL and names the provider for errors by
  host and port only, never by path or credentials.
* :func:`post_json` sends one request and turns every aiohttp failure (timeout, refused
  connection, cut-off answer) into ``UnavailableError``; :func:`unreadable_answer` is the
  ``ProviderError`` for an answer that cannot be understood, keeping its start for diagnosis.
* :func:`load_strict_json` reads JSON the way a webhook receiver must: no ``NaN`` or
  ``Infinity``, no duplicate keys, nothing nested beyond what the parser can hold; every
  refusal is a :class:`JsonRefused` with a one-line reason. Callers decode UTF-8 themselves
  (``json.loads`` on bytes would also guess UTF-16 and UTF-32).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

import aiohttp

from projectone.domain.errors import ProviderError, UnavailableError, ValidationError
from projectone.domain.failure import Classification

__all__ = [
    "EXCERPT_LENGTH",
    "JsonRefused",
    "json_type",
    "load_strict_json",
    "post_json",
    "provider_target",
    "quote",
    "unreadable_answer",
]

#: How much of an unreadable answer is kept in ``ProviderError.details`` for diagnosis.
EXCERPT_LENGTH: Final = 200
# How much of a foreign value a reason quotes: enough to recognise it in a log, not enough to
# copy a large or hostile payload into one.
_QUOTE_LENGTH: Final = 60


def provider_target(base_url: str, provider: str) -> str:
    """``"<provider> at host:port"`` for ``base_url``, which must be an absolute http(s) URL
    (``ValidationError`` on ``base_url`` otherwise)."""
    # urllib rather than yarl: yarl is only a transitive dependency (through aiohttp).
    base = urlsplit(base_url)
    try:
        explicit_port = base.port  # raises ValueError for a port out of range
    except ValueError:
        explicit_port = -1
    if base.scheme not in ("http", "https") or not base.hostname or explicit_port == -1:
        raise ValidationError("base_url", base_url, "must be an absolute http(s) URL")
    host = f"[{base.hostname}]" if ":" in base.hostname else base.hostname
    port = f":{explicit_port}" if explicit_port is not None else ""
    return f"{provider} at {host}{port}"


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    payload: Mapping[str, Any],
    *,
    headers: Mapping[str, str],
    client_timeout: aiohttp.ClientTimeout,
    target: str,
    allow_redirects: bool = True,
) -> tuple[int, bytes]:
    """POST ``payload`` as JSON and return the answer's status and raw body.

    No answer (a timeout, a refused or dropped connection, a body cut off) raises
    ``UnavailableError`` naming ``target``; the reason never includes the URL or headers.
    """
    try:
        async with session.post(
            url,
            json=payload,
            headers=headers,
            timeout=client_timeout,
            allow_redirects=allow_redirects,
        ) as response:
            return response.status, await response.read()
    except TimeoutError as exc:
        raise UnavailableError(
            target, "no answer within the timeout; the outcome is unknown"
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        # No connection, so no request: sending again cannot duplicate anything.
        raise UnavailableError(target, _describe(exc), outcome_unknown=False) from exc
    except aiohttp.ClientError as exc:
        raise UnavailableError(target, _describe(exc)) from exc


def _describe(exc: aiohttp.ClientError) -> str:
    """A short reason for an aiohttp failure that never includes the request URL or headers."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection; the outcome is unknown"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut off; the outcome is unknown"
    return f"{type(exc).__name__}; the outcome is unknown"


def unreadable_answer(
    provider: str,
    status: int,
    what: str,
    raw: bytes,
    *,
    classification: Classification | None = None,
) -> ProviderError:
    """A ``ProviderError`` without a provider code: the answer could not be understood.

    ``details`` keeps the start of the answer, decoded leniently, for diagnosis.
    """
    return ProviderError(
        provider,
        None,
        f"unexpected answer (HTTP {status}): {what}",
        http_status=status,
        details=raw[:EXCERPT_LENGTH].decode("utf-8", errors="replace") or None,
        classification=classification,
    )


# -- strict JSON ------------------------------------------------------------------------------


class JsonRefused(ValueError):
    """Text that is not strict JSON; ``reason`` says why in one line, ``nested`` whether it
    was refused for its depth (the text is then too deep to quote usefully)."""

    def __init__(self, reason: str, *, nested: bool = False) -> None:
        self.reason = reason
        self.nested = nested
        super().__init__(reason)


def load_strict_json(text: str, *, detail_limit: int = 200) -> object:
    """``json.loads`` of ``text``, refusing what strict JSON does not allow.

    Raises :class:`JsonRefused`: ``is not valid JSON (…)`` for a syntax error, ``NaN`` or
    ``Infinity``, a duplicate key or another ``ValueError`` of the parser (such as an integer
    beyond ``int()``'s digit limit, its message cut to ``detail_limit`` characters), and ``is
    nested too deeply`` past the recursion limit.
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except _StrictJsonError as exc:
        raise JsonRefused(f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise JsonRefused("is nested too deeply", nested=True) from None
    except ValueError as exc:  # e.g. an integer beyond int()'s digit limit
        raise JsonRefused(f"is not valid JSON ({_one_line(exc, detail_limit)})") from None


class _StrictJsonError(ValueError):
    """Internal: valid for Python's json module, not for strict JSON."""


def _refuse_constant(name: str) -> NoReturn:
    raise _StrictJsonError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two values for one key would make what we read depend on which one a parser keeps.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _StrictJsonError(f"duplicate key {quote(key)}")
        result[key] = value
    return result


def quote(value: object) -> str:
    """A short, one-line rendering of a foreign value for an error or rejection reason."""
    shown = repr(value)
    if len(shown) > _QUOTE_LENGTH:
        shown = shown[: _QUOTE_LENGTH - 1] + "…"
    return shown


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """``exc``'s message with its whitespace folded to single spaces, at most ``limit`` long."""
    return " ".join(str(exc).split())[:limit]


def json_type(value: object, *, array: str = "an array") -> str:
    """What kind of JSON value ``value`` is, for a reason (``"a string"``, ``"null"``, …);
    ``array`` names a list the way the caller's messages do."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return array
    return "an object"
