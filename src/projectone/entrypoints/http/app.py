"""Building the aiohttp application around a container.

The container and its resources live under :class:`web.AppKey`s and are closed in
``cleanup_ctx``; middlewares give every request an id (``X-Request-ID``, taken from the caller
when it sends a sane one, and passed to the services so audit events carry it), add the
security and rate-limit headers to every answer, and turn every error into the JSON error
shape. The routes are declared once (``Endpoint``s) and the OpenAPI document served at
``/openapi.json`` is built from the same declarations.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from projectone import __version__
from projectone.container import Container, resolve, shutdown
from projectone.domain.errors import ProjectOneError, ValidationError
from projectone.entrypoints.http.advisors import advisor_endpoints
from projectone.entrypoints.http.analytics import analytics_endpoints
from projectone.entrypoints.http.content import content_endpoints
from projectone.entrypoints.http.deliveries import delivery_endpoints
from projectone.entrypoints.http.endpoints import (
    Endpoint,
    HttpError,
    openapi_document,
    path_uuid,
)
from projectone.entrypoints.http.errors import REQUEST_ID, error_response, request_id_of, status_of
from projectone.entrypoints.http.privacy import privacy_endpoints
from projectone.entrypoints.http.realtime import WEBSOCKET_DESCRIPTION, add_realtime_routes
from projectone.entrypoints.http.request_log import REQUEST_ID_VAR
from projectone.entrypoints.http.security import (
    RATE,
    AccountCache,
    guarded,
    prepare_provided,
    principal_of,
    rate_headers,
)
from projectone.entrypoints.http.webhooks import webhook_endpoints

__all__ = ["CONTAINER", "MAX_BODY_BYTES", "REQUEST_ID", "create_app", "endpoints"]

CONTAINER = web.AppKey("container", Container)
#: Bodies above this size are refused with 413 before a handler reads them.
MAX_BODY_BYTES = 1 << 20

_log = logging.getLogger("projectone.http")
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def _request_id(request: web.Request, handler: _Handler) -> web.StreamResponse:
    given = request.headers.get("X-Request-ID", "")
    request[REQUEST_ID] = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
    token = REQUEST_ID_VAR.set(request[REQUEST_ID])  # every log line of this request has it
    try:
        response = await handler(request)
    finally:
        REQUEST_ID_VAR.reset(token)
    response.headers["X-Request-ID"] = request[REQUEST_ID]
    response.headers.update(_SECURITY_HEADERS)
    decision = request.get(RATE)
    if decision is not None:
        response.headers.update(rate_headers(decision))
    return response


@web.middleware
async def _errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    request_id = request_id_of(request)
    try:
        return await handler(request)
    except HttpError as exc:
        response = error_response(exc.status, exc.code, exc.message, request_id, exc.details)
        response.headers.update(exc.headers)
        return response
    except ProjectOneError as exc:
        details: dict[str, Any] = {}
        if isinstance(exc, ValidationError):
            details = {"fields": {exc.field: exc.reason}}
        status = status_of(exc)
        if status >= 500:
            _log.error("request %s failed: %s", request_id, exc)
        return error_response(status, exc.code, " ".join(str(exc).split()), request_id, details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        response = error_response(exc.status, code, exc.reason, request_id)
        if "Allow" in exc.headers:  # a 405 names the methods that are allowed (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        _log.exception(
            "unhandled error on %s %s (request %s)", request.method, request.path, request_id
        )
        return error_response(500, "internal_error", "internal error", request_id)


async def _health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _ready(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    engine = await resolve(container.engine)
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")
    return web.json_response({"status": "ready"})


def _audit_endpoints(key: web.AppKey[Container]) -> list[Endpoint]:
    async def verify_audit(request: web.Request) -> web.StreamResponse:
        audit = await resolve(request.app[key].audit)
        report = await audit.verify_as(principal_of(request))
        return web.json_response(report.as_dict())

    async def pack_audit_events(request: web.Request) -> web.StreamResponse:
        pack_id = path_uuid(request, "pack_id", "content_pack")
        audit = await resolve(request.app[key].audit)
        events = await audit.pack_history_as(principal_of(request), pack_id)
        return web.json_response(
            {
                "events": [
                    {
                        "id": str(e.id),
                        "sequence": e.sequence,
                        "occurred_at": e.occurred_at.isoformat(),
                        "action": e.action,
                        "actor": e.actor.as_json(),
                        "changed_fields": list(e.changed_fields),
                        "reason": e.reason,
                        "request_id": e.request_id,
                        "hash": e.hash,
                    }
                    for e in events
                ]
            }
        )

    chain = {
        "type": "object",
        "required": ["ok", "count", "head_hash"],
        "properties": {
            "ok": {"type": "boolean"},
            "count": {"type": "integer"},
            "head_hash": {"type": "string"},
            "first_bad_id": {"type": ["string", "null"]},
            "first_bad_sequence": {"type": ["integer", "null"]},
            "reason": {"type": ["string", "null"]},
        },
    }
    events = {
        "type": "object",
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": {"type": "object"}}},
    }
    return [
        Endpoint(
            method="GET",
            path="/v1/audit/verify",
            handler=verify_audit,
            summary="Walk the audit hash chain (admins only)",
            tag="audit",
            rate_class="audit",
            response=chain,
            errors=(403,),
        ),
        Endpoint(
            method="GET",
            path="/v1/audit/content/{pack_id}",
            handler=pack_audit_events,
            summary="The audit events of a content pack (admins only)",
            tag="audit",
            rate_class="audit",
            response=events,
            errors=(403,),
        ),
    ]


def endpoints(key: web.AppKey[Container] = CONTAINER) -> list[Endpoint]:
    """Every documented endpoint of the API, in the order they are registered."""

    async def openapi(request: web.Request) -> web.StreamResponse:
        return web.json_response(request.app[_OPENAPI])

    public = [
        Endpoint(
            method="GET",
            path="/health",
            handler=_health,
            summary="The process is up",
            tag="service",
            public=True,
            response={"type": "object", "properties": {"status": {"type": "string"}}},
        ),
        Endpoint(
            method="GET",
            path="/ready",
            handler=_ready,
            summary="The database answers",
            tag="service",
            public=True,
            response={"type": "object", "properties": {"status": {"type": "string"}}},
            errors=(503,),
        ),
        Endpoint(
            method="GET",
            path="/openapi.json",
            handler=openapi,
            summary="This document",
            tag="service",
            public=True,
            response={"type": "object"},
        ),
    ]
    return [
        *public,
        *webhook_endpoints(key),
        *content_endpoints(key),
        *advisor_endpoints(key),
        *privacy_endpoints(key),
        *delivery_endpoints(key),
        *analytics_endpoints(key),
        *_audit_endpoints(key),
    ]


_OPENAPI = web.AppKey("openapi", dict)


def create_app(container: Container) -> web.Application:
    """The application for ``container``; closing the application closes its resources."""
    app = web.Application(middlewares=[_request_id, _errors], client_max_size=MAX_BODY_BYTES)
    app[CONTAINER] = container
    prepare_provided(app)
    declared = endpoints(CONTAINER)
    app[_OPENAPI] = {
        **openapi_document(declared, title="projectone", version=__version__),
        # OpenAPI cannot describe WebSocket messages: they are listed under an extension.
        "x-websocket": WEBSOCKET_DESCRIPTION,
    }

    async def resources(app: web.Application) -> AsyncIterator[None]:
        yield
        await shutdown(app[CONTAINER])

    app.cleanup_ctx.append(resources)
    accounts = AccountCache()
    for endpoint in declared:
        handler = guarded(endpoint, CONTAINER, accounts)
        app.router.add_route(endpoint.method, endpoint.path, handler)
    add_realtime_routes(app, CONTAINER)
    return app
