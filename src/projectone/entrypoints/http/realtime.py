"""``/v1/ws``: a WebSocket pushing an advisor's content and delivery status changes.

Not an :class:`~projectone.entrypoints.http.endpoints.Endpoint`: OpenAPI 3.1 cannot describe
WebSocket messages, so :data:`WEBSOCKET_DESCRIPTION` describes them as data, for the OpenAPI
document's ``x-websocket`` extension. :func:`add_realtime_routes` adds the route to an
application built by ``create_app``.

The conversation:

1. The client opens ``/v1/ws`` (optionally ``?advisor_id=`` to narrow a staff subscription to
   one advisor, ``?after=<sequence>`` to resume after the last ``content.status`` it saw) and
   authenticates with the same bearer JWT as the HTTP API: either ``?token=<JWT>`` on the URL
   or, better (URLs end up in access logs), ``{"type": "auth", "token": "…"}`` as its first
   message within five seconds. Otherwise the server closes with **4401** and a reason.
2. The server answers ``{"type": "ready", "advisor_id", "sequence"}`` and from then on sends
   ``content.status`` and ``delivery.status`` messages for what the principal may see (the
   :mod:`projectone.services.change_feed` decides, one poll loop per connection).
3. The token is checked again at every poll: when it expires the server closes with 4401, and
   the client reconnects with a fresh token and ``?after=``. An advisor's account is read
   again every ``account_recheck`` seconds (a minute by default, as the HTTP API caches it): a
   suspension, a cancellation or a withdrawn consent to processing closes the socket with
   4403.

Close codes: 1000 the client closed, 1001 the server is shutting down, 1011 the change feed
failed (a database error; logged, the server carries on), 4400 a bad query parameter, 4401
not authenticated, 4403 the advisor account is suspended or cancelled or its consent to
processing withdrawn, 4404 the advisor
named is not found (or not the caller's), 4429 too many
connections of one principal to this process. The server pings every ``heartbeat`` seconds
and drops a client that does not answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
import weakref
from typing import Any, Final

from aiohttp import WSMsgType, web

from projectone.container import Container, resolve
from projectone.domain.access import Principal
from projectone.domain.content import ContentStatus
from projectone.domain.delivery import Channel, DeliveryStatus, Variant
from projectone.domain.errors import NotFoundError, PermissionDeniedError, UnauthenticatedError
from projectone.entrypoints.http.endpoints import HttpError
from projectone.ports.auth import TokenVerifier
from projectone.services.change_feed import (
    DEFAULT_INTERVAL,
    ChangeFeed,
    Cursor,
    FeedCache,
    Scope,
)

__all__ = [
    "ACCOUNT_RECHECK",
    "CLOSE_BAD_REQUEST",
    "CLOSE_FORBIDDEN",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_NOT_FOUND",
    "CLOSE_TOO_MANY",
    "CLOSE_UNAUTHENTICATED",
    "REALTIME",
    "WEBSOCKET_DESCRIPTION",
    "WS_PATH",
    "Realtime",
    "add_realtime_routes",
]

WS_PATH: Final = "/v1/ws"
CLOSE_INTERNAL_ERROR: Final = 1011
CLOSE_BAD_REQUEST: Final = 4400
CLOSE_UNAUTHENTICATED: Final = 4401
CLOSE_FORBIDDEN: Final = 4403
CLOSE_NOT_FOUND: Final = 4404
CLOSE_TOO_MANY: Final = 4429
#: Seconds a client has to send its ``auth`` message when the URL carries no token.
AUTH_TIMEOUT: Final = 5.0
#: Seconds between the server's pings.
HEARTBEAT: Final = 30.0
#: Open connections one principal may hold to one process (each one polls the database).
MAX_CONNECTIONS: Final = 5
#: Seconds between reads of a subscribed advisor's account (status, consent to processing).
ACCOUNT_RECHECK: Final = 60.0
#: A client only ever sends an ``auth`` message: a token is at most 8 KiB.
_MAX_MESSAGE = 16 * 1024
#: RFC 6455: a close frame's reason is at most 123 bytes.
_MAX_REASON = 123

_log = logging.getLogger("projectone.http.realtime")

_ID = {"type": "string", "format": "uuid"}
_NULLABLE_ID = {"type": ["string", "null"], "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}

#: The WebSocket API as data: put it in the OpenAPI document as ``x-websocket``.
WEBSOCKET_DESCRIPTION: Final[dict[str, Any]] = {
    WS_PATH: {
        "summary": "Push an advisor's content and delivery status changes",
        "description": (
            "Authenticate with ?token=<JWT> or a first message {type: auth, token} within "
            f"{AUTH_TIMEOUT:g} seconds. An advisor receives their own packs and deliveries, "
            "staff everything (or one advisor's with ?advisor_id=). Deliveries of today and "
            "yesterday (Asia/Kolkata) are watched. Resume after a reconnect with ?after=<the "
            "last content.status sequence>."
        ),
        "query": {
            "token": {"type": "string", "description": "The bearer JWT (or send auth)"},
            "advisor_id": {**_ID, "description": "Only this advisor's changes"},
            "after": {
                "type": "integer",
                "minimum": 0,
                "description": "Report content changes after this audit sequence",
            },
        },
        "client_messages": {
            "auth": {
                "type": "object",
                "required": ["type", "token"],
                "properties": {"type": {"const": "auth"}, "token": {"type": "string"}},
            }
        },
        "server_messages": {
            "ready": {
                "type": "object",
                "required": ["type", "advisor_id", "sequence"],
                "properties": {
                    "type": {"const": "ready"},
                    "advisor_id": _NULLABLE_ID,
                    "sequence": {"type": "integer"},
                },
            },
            "content.status": {
                "type": "object",
                "required": ["type", "pack_id", "status", "version", "at", "sequence"],
                "properties": {
                    "type": {"const": "content.status"},
                    "pack_id": _ID,
                    "advisor_id": _NULLABLE_ID,
                    "status": {"type": "string", "enum": [s.value for s in ContentStatus]},
                    "version": {"type": "integer"},
                    "action": {"type": "string"},
                    "at": _TIME,
                    "sequence": {"type": "integer"},
                },
            },
            "delivery.status": {
                "type": "object",
                "required": [
                    "type",
                    "delivery_id",
                    "pack_id",
                    "date",
                    "channel",
                    "status",
                    "at",
                    "error_code",
                ],
                "properties": {
                    "type": {"const": "delivery.status"},
                    "delivery_id": _ID,
                    "advisor_id": _ID,
                    "pack_id": _ID,
                    "date": {"type": "string", "format": "date"},
                    "channel": {"type": "string", "enum": [c.value for c in Channel]},
                    "variant": {"type": "string", "enum": [v.value for v in Variant]},
                    "status": {"type": "string", "enum": [s.value for s in DeliveryStatus]},
                    "at": _TIME,
                    "error_code": {"type": ["string", "null"]},
                },
            },
        },
        "close_codes": {
            "1000": "closed by the client",
            "1001": "the server is shutting down",
            "1011": "the change feed failed; reconnect with ?after=",
            str(CLOSE_BAD_REQUEST): "a query parameter is not valid",
            str(CLOSE_UNAUTHENTICATED): "missing, invalid or expired token",
            str(CLOSE_FORBIDDEN): (
                "the advisor account is suspended or cancelled, or withdrew consent to "
                "processing (checked at the start and every account_recheck seconds)"
            ),
            str(CLOSE_NOT_FOUND): "the advisor is not found (or not yours)",
            str(CLOSE_TOO_MANY): "too many connections of this principal",
        },
    }
}


def _reason(text: str) -> bytes:
    data = " ".join(text.split()).encode()
    return data[:_MAX_REASON].decode(errors="ignore").encode()


async def _close(ws: web.WebSocketResponse, code: int, reason: str) -> None:
    if not ws.closed:
        await ws.close(code=code, message=_reason(reason))


class _Refused(Exception):
    """End the conversation with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Realtime:
    """The ``/v1/ws`` handler and its per-process state: the open sockets (closed when the
    application shuts down), the connections per principal, and the reads shared by every
    connection (:class:`FeedCache`)."""

    def __init__(
        self,
        key: web.AppKey[Container],
        *,
        interval: float = DEFAULT_INTERVAL,
        auth_timeout: float = AUTH_TIMEOUT,
        heartbeat: float = HEARTBEAT,
        max_connections: int = MAX_CONNECTIONS,
        account_recheck: float = ACCOUNT_RECHECK,
    ) -> None:
        self.key = key
        self.configure(
            interval=interval,
            auth_timeout=auth_timeout,
            heartbeat=heartbeat,
            max_connections=max_connections,
            account_recheck=account_recheck,
        )
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.connections: dict[str, int] = {}

    def configure(
        self,
        *,
        interval: float = DEFAULT_INTERVAL,
        auth_timeout: float = AUTH_TIMEOUT,
        heartbeat: float = HEARTBEAT,
        max_connections: int = MAX_CONNECTIONS,
        account_recheck: float = ACCOUNT_RECHECK,
    ) -> None:
        """Set how connections opened from now on behave."""
        if (
            interval <= 0
            or auth_timeout <= 0
            or heartbeat <= 0
            or max_connections < 1
            or account_recheck <= 0
        ):
            raise ValueError(
                "interval, auth_timeout, heartbeat, max_connections and account_recheck must be > 0"
            )
        self.account_recheck = account_recheck
        self.interval = interval
        self.auth_timeout = auth_timeout
        self.heartbeat = heartbeat
        self.max_connections = max_connections
        # A day's deliveries are read once per half interval per process, not per socket.
        self.cache = FeedCache(ttl=interval / 2)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=self.heartbeat, max_msg_size=_MAX_MESSAGE)
        if not ws.can_prepare(request).ok:
            raise HttpError(
                426,
                "upgrade_required",
                f"{WS_PATH} is a WebSocket: open it with Upgrade: websocket",
                headers={"Upgrade": "websocket", "Connection": "Upgrade"},
            )
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            await self._converse(request, ws)
        except _Refused as exc:
            await _close(ws, exc.code, exc.reason)
        except Exception:
            _log.exception("WebSocket %s failed", request.path)
            with contextlib.suppress(Exception):
                await _close(ws, CLOSE_INTERNAL_ERROR, "internal error")
        finally:
            self.sockets.discard(ws)
        return ws

    async def close_all(self, _: web.Application) -> None:
        """``on_shutdown``: tell every open client the server is going away."""
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await _close(ws, 1001, "server shutting down")

    async def _converse(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        container = request.app[self.key]
        token = request.query.get("token", "").strip() or await self._auth_message(ws)
        if token is None:
            return
        verifier = await resolve(container.token_verifier)
        principal = _verify(verifier, token)
        advisor_id = _query_uuid(request, "advisor_id")
        after = _query_sequence(request, "after")
        uow_factory = await resolve(container.uow_factory)
        feed = ChangeFeed(
            uow_factory=uow_factory,
            clock=container.clock(),
            cache=self.cache,
        )
        scope = await _scope(feed, principal, advisor_id)
        who = principal.actor.id
        if self.connections.get(who, 0) >= self.max_connections:
            raise _Refused(CLOSE_TOO_MANY, f"at most {self.max_connections} connections")
        self.connections[who] = self.connections.get(who, 0) + 1
        try:
            cursor = await feed.start(scope, after=after)
            await ws.send_json(
                {
                    "type": "ready",
                    "advisor_id": None if scope.advisor_id is None else str(scope.advisor_id),
                    "sequence": cursor.sequence,
                }
            )
            pump = asyncio.create_task(self._pump(ws, feed, scope, cursor, verifier, token))
            try:
                # Nothing is expected from the client now; reading is how a close is seen
                # (and how aiohttp answers pings and runs the heartbeat).
                async for _ in ws:
                    pass
            finally:
                pump.cancel()
                await asyncio.wait([pump])
        finally:
            left = self.connections.get(who, 1) - 1
            if left > 0:
                self.connections[who] = left
            else:
                self.connections.pop(who, None)

    async def _auth_message(self, ws: web.WebSocketResponse) -> str | None:
        """The token of the first message, or ``_Refused``; ``None`` when the client left."""
        try:
            msg = await ws.receive(timeout=self.auth_timeout)
        except TimeoutError:
            raise _Refused(
                CLOSE_UNAUTHENTICATED,
                f"send ?token= or an auth message within {self.auth_timeout:g} s",
            ) from None
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return None
        doc: Any = None
        if msg.type is WSMsgType.TEXT:
            with contextlib.suppress(ValueError, RecursionError):
                doc = json.loads(msg.data)
        token = doc.get("token") if isinstance(doc, dict) and doc.get("type") == "auth" else None
        if not isinstance(token, str) or not token.strip():
            raise _Refused(
                CLOSE_UNAUTHENTICATED, 'the first message must be {"type": "auth", "token": …}'
            )
        return token.strip()

    async def _pump(
        self,
        ws: web.WebSocketResponse,
        feed: ChangeFeed,
        scope: Scope,
        cursor: Cursor,
        verifier: TokenVerifier,
        token: str,
    ) -> None:
        """The poll loop of one connection: ends with it, closes it on an expired token
        (4401), an advisor account closed or without consent to processing (4403), or a failed
        poll (1011, logged)."""
        checked = time.monotonic()
        try:
            async for polled in feed.follow(scope, cursor, interval=self.interval):
                if ws.closed:
                    return
                _verify(verifier, token)
                if (
                    scope.principal.is_advisor
                    and time.monotonic() - checked >= self.account_recheck
                ):
                    await _scope(feed, scope.principal, scope.advisor_id)
                    checked = time.monotonic()
                for change in polled.changes:
                    await ws.send_json(change.message())
        except _Refused as exc:
            await _close(ws, exc.code, exc.reason)
        except ConnectionResetError:  # the client went away mid-send
            return
        except Exception:
            _log.exception(
                "change feed of %s failed; closing its WebSocket", scope.principal.actor.id
            )
            with contextlib.suppress(Exception):
                await _close(ws, CLOSE_INTERNAL_ERROR, "change feed unavailable; reconnect")


async def _scope(feed: ChangeFeed, principal: Principal, advisor_id: uuid.UUID | None) -> Scope:
    """``feed.scope``, its refusals as close codes."""
    try:
        return await feed.scope(principal, advisor_id)
    except UnauthenticatedError as exc:
        raise _Refused(CLOSE_UNAUTHENTICATED, exc.reason) from None
    except NotFoundError:
        raise _Refused(CLOSE_NOT_FOUND, f"advisor {advisor_id} not found") from None
    except PermissionDeniedError as exc:
        raise _Refused(CLOSE_FORBIDDEN, exc.reason) from None


def _verify(verifier: TokenVerifier, token: str) -> Principal:
    try:
        return verifier.verify(token)
    except UnauthenticatedError as exc:
        raise _Refused(CLOSE_UNAUTHENTICATED, f"{exc.what}: {exc.reason}") from None


def _query_uuid(request: web.Request, name: str) -> uuid.UUID | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise _Refused(CLOSE_BAD_REQUEST, f"{name} must be a UUID") from None


def _query_sequence(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise _Refused(CLOSE_BAD_REQUEST, f"{name} must be a whole number >= 0")
    return int(text)


#: Where :func:`add_realtime_routes` keeps the handler's state on the application.
REALTIME = web.AppKey("realtime", Realtime)


def add_realtime_routes(
    app: web.Application,
    key: web.AppKey[Container],
    *,
    interval: float = DEFAULT_INTERVAL,
    auth_timeout: float = AUTH_TIMEOUT,
    heartbeat: float = HEARTBEAT,
    max_connections: int = MAX_CONNECTIONS,
    account_recheck: float = ACCOUNT_RECHECK,
) -> Realtime:
    """Add ``GET /v1/ws`` to ``app`` (its container under ``key``), polling every
    ``interval`` seconds per connection; open sockets are closed when ``app`` shuts down.
    Call it before the application starts. Called again on the same application (say by a
    test, on an application whose ``create_app`` already added the route), it changes the
    settings of the route already there instead of adding another one."""
    settings: dict[str, Any] = {
        "interval": interval,
        "auth_timeout": auth_timeout,
        "heartbeat": heartbeat,
        "max_connections": max_connections,
        "account_recheck": account_recheck,
    }
    existing = app.get(REALTIME)
    if existing is not None:
        existing.key = key
        existing.configure(**settings)
        return existing
    realtime = Realtime(key, **settings)
    app[REALTIME] = realtime
    app.router.add_get(WS_PATH, realtime.handle)
    app.on_shutdown.append(realtime.close_all)
    return realtime
