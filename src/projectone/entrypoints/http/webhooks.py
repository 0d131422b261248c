"""``/v1/webhooks/whatsapp``: Meta's verification handshake and its signed receipts."""

from __future__ import annotations

from aiohttp import web

from projectone.adapters.whatsapp_webhook import verify_handshake
from projectone.container import Container, resolve
from projectone.entrypoints.http.errors import error_response, request_id_of

__all__ = ["WEBHOOK_PATH", "add_webhook_routes"]

WEBHOOK_PATH = "/v1/webhooks/whatsapp"


def add_webhook_routes(app: web.Application, key: web.AppKey[Container]) -> None:
    async def handshake(request: web.Request) -> web.StreamResponse:
        settings = request.app[key].settings()
        challenge = verify_handshake(dict(request.query), settings.whatsapp.verify_token or "")
        if challenge is None:
            return error_response(
                403,
                "permission_denied",
                "the verification token does not match",
                request_id_of(request),
            )
        return web.Response(text=challenge, content_type="text/plain")

    async def receive(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        receipts = await resolve(request.app[key].receipts)
        result = await receipts.ingest(raw, request.headers.get("X-Hub-Signature-256"))
        return web.json_response(
            {
                "applied": result.applied,
                "unchanged": result.unchanged,
                "unknown": result.unknown,
                "rejected": result.rejected,
                "inbound_messages": result.inbound_messages,
                "duplicates": result.duplicates,
            }
        )

    app.router.add_get(WEBHOOK_PATH, handshake)
    app.router.add_post(WEBHOOK_PATH, receive)
