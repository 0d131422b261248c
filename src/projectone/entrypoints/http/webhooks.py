"""``/v1/webhooks/whatsapp``: Meta's verification handshake and its signed receipts."""

from __future__ import annotations

from aiohttp import web

from projectone.adapters.whatsapp_webhook import verify_handshake
from projectone.container import Container, resolve
from projectone.entrypoints.http.endpoints import Endpoint, Query
from projectone.entrypoints.http.errors import error_response, request_id_of

__all__ = ["WEBHOOK_PATH", "webhook_endpoints"]

WEBHOOK_PATH = "/v1/webhooks/whatsapp"


def webhook_endpoints(key: web.AppKey[Container]) -> list[Endpoint]:
    """Meta's calls: public (Meta holds no token of ours), proven instead by the verify token
    (GET) and the ``X-Hub-Signature-256`` HMAC over the raw body (POST)."""

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

    counts = {
        name: {"type": "integer"}
        for name in (
            "applied",
            "unchanged",
            "unknown",
            "rejected",
            "inbound_messages",
            "duplicates",
        )
    }
    return [
        Endpoint(
            method="GET",
            path=WEBHOOK_PATH,
            handler=handshake,
            summary="Meta's verification handshake (hub.mode, hub.verify_token, hub.challenge)",
            tag="webhooks",
            public=True,
            query=(
                Query(name="hub.mode", schema={"type": "string"}, required=True),
                Query(name="hub.verify_token", schema={"type": "string"}, required=True),
                Query(name="hub.challenge", schema={"type": "string"}, required=True),
            ),
            response={"type": "string"},
            response_type="text/plain",
            errors=(403,),
        ),
        Endpoint(
            method="POST",
            path=WEBHOOK_PATH,
            handler=receive,
            summary="Signed status updates and inbound messages from Meta",
            tag="webhooks",
            public=True,
            response={"type": "object", "properties": counts},
            # Meta's payload (entry[].changes[].value), signed with X-Hub-Signature-256.
            raw_body={"type": "object", "properties": {"object": {"type": "string"}}},
            errors=(400, 401, 413, 422),
        ),
    ]
