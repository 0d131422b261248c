"""One JSON shape for every error: ``{"error": {"code", "message", "details"}, "request_id"}``.

The code is the stable ``code`` of the projectone error (``validation_error``, ``not_found``,
``unauthenticated``…), never a Python class name or a traceback.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from projectone.domain.errors import (
    ConfigurationError,
    ConflictError,
    InvalidTransitionError,
    KeyStoreError,
    NotFoundError,
    PermissionDeniedError,
    ProjectOneError,
    UnauthenticatedError,
    UnavailableError,
    ValidationError,
)

__all__ = ["REQUEST_ID", "error_response", "request_id_of", "status_of"]

#: Where the request-id middleware keeps the request's id on the ``web.Request``.
REQUEST_ID = web.RequestKey("request_id", str)


def request_id_of(request: web.Request) -> str:
    value = request.get(REQUEST_ID)
    return value if isinstance(value, str) else ""


_STATUS: tuple[tuple[type[ProjectOneError], int], ...] = (
    (UnauthenticatedError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidTransitionError, 409),
    (ValidationError, 422),
    (UnavailableError, 503),
    (ConfigurationError, 500),
    # Data that cannot be decrypted is the operator's problem, never the caller's.
    (KeyStoreError, 500),
)


def status_of(exc: ProjectOneError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    details: dict[str, Any] | None = None,
) -> web.Response:
    body = {
        "error": {"code": code, "message": message, "details": details or {}},
        "request_id": request_id,
    }
    return web.json_response(body, status=status)
