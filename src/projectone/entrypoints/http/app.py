"""Building the aiohttp application around a container.

The container and its resources live under :class:`web.AppKey`s and are closed in
``cleanup_ctx``; middlewares give every request an id (``X-Request-ID``, taken from the caller
when it sends a sane one) and turn every error into the JSON error shape.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from projectone.container import Container, resolve, shutdown
from projectone.domain.errors import ProjectOneError
from projectone.entrypoints.http.errors import REQUEST_ID, error_response, request_id_of, status_of
from projectone.entrypoints.http.webhooks import add_webhook_routes

__all__ = ["CONTAINER", "MAX_BODY_BYTES", "REQUEST_ID", "create_app"]

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


@web.middleware
async def _request_id(request: web.Request, handler: _Handler) -> web.StreamResponse:
    given = request.headers.get("X-Request-ID", "")
    request[REQUEST_ID] = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
    response = await handler(request)
    response.headers["X-Request-ID"] = request[REQUEST_ID]
    response.headers.update(_SECURITY_HEADERS)
    return response


@web.middleware
async def _errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    request_id = request_id_of(request)
    try:
        return await handler(request)
    except ProjectOneError as exc:
        status = status_of(exc)
        return error_response(status, exc.code, " ".join(str(exc).split()), request_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status, "http_error"
        )
        return error_response(exc.status, code, exc.reason, request_id)
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


def create_app(container: Container) -> web.Application:
    """The application for ``container``; closing the application closes its resources."""
    app = web.Application(middlewares=[_request_id, _errors], client_max_size=MAX_BODY_BYTES)
    app[CONTAINER] = container

    async def resources(app: web.Application) -> AsyncIterator[None]:
        yield
        await shutdown(app[CONTAINER])

    app.cleanup_ctx.append(resources)
    app.router.add_get("/health", _health)
    app.router.add_get("/ready", _ready)
    add_webhook_routes(app, CONTAINER)
    return app
