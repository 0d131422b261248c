"""``/v1/deliveries``: list and read deliveries, plan a morning, retry a failed send."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from aiohttp import web

from projectone.container import Container
from projectone.domain.delivery import Channel, DeliveryStatus, SlaOutcome, Variant
from projectone.domain.language import Language
from projectone.entrypoints.http.endpoints import (
    PAGING,
    Endpoint,
    Query,
    page_response,
    path_uuid,
    query_date,
    query_enum,
    query_page,
    query_uuid,
    read_body,
)
from projectone.entrypoints.http.security import principal_of, provided
from projectone.services.delivery_api import MAX_PLAN_AHEAD_DAYS, DeliveryApi, DeliveryView
from projectone.services.morning import PlanResult

__all__ = ["DELIVERY_SCHEMA", "PLAN_SCHEMA", "delivery_doc", "delivery_endpoints", "plan_doc"]


@attrs.frozen(kw_only=True)
class Schedule:
    date: dt.date


_ID = {"type": "string", "format": "uuid"}
_NULLABLE_ID = {"type": ["string", "null"], "format": "uuid"}
_STAMP = {"type": "string", "format": "date-time"}
_NULLABLE_STAMP = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_TEXT = {"type": ["string", "null"]}
DELIVERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "advisor_id",
        "pack_id",
        "date",
        "language",
        "channel",
        "variant",
        "to",
        "status",
        "attempts",
        "scheduled_for",
        "sla_target",
        "sla",
        "next_attempt_at",
        "queued_at",
        "fallback",
        "masked",
    ],
    "properties": {
        "id": _ID,
        "advisor_id": _ID,
        "pack_id": _ID,
        "date": {"type": "string", "format": "date"},
        "language": {"type": "string", "enum": [lang.value for lang in Language]},
        "channel": {"type": "string", "enum": [c.value for c in Channel]},
        "variant": {"type": "string", "enum": [v.value for v in Variant]},
        "to": {"type": "string", "description": "E.164; masked for compliance officers"},
        "content_hash": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in DeliveryStatus]},
        "attempts": {"type": "integer"},
        "scheduled_for": _STAMP,
        "sla_target": _STAMP,
        "sla": {"type": "string", "enum": [o.value for o in SlaOutcome]},
        "next_attempt_at": _STAMP,
        "queued_at": _STAMP,
        "sent_at": _NULLABLE_STAMP,
        "delivered_at": _NULLABLE_STAMP,
        "read_at": _NULLABLE_STAMP,
        "failed_at": _NULLABLE_STAMP,
        "provider_message_id": _NULLABLE_TEXT,
        "error_code": _NULLABLE_TEXT,
        "error_message": _NULLABLE_TEXT,
        "failure_class": _NULLABLE_TEXT,
        "backup_of": _NULLABLE_ID,
        "fallback": {"type": "boolean"},
        "duplicate_message_ids": {"type": "array", "items": {"type": "string"}},
        "masked": {"type": "boolean"},
    },
}
_PAGE_SCHEMA = {
    "type": "object",
    "required": ["items", "total", "limit", "offset"],
    "properties": {
        "items": {"type": "array", "items": DELIVERY_SCHEMA},
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
    },
}
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "date",
        "planned",
        "already_planned",
        "total",
        "fallbacks",
        "without_content",
        "pulled",
        "unreadable",
    ],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "planned": {"type": "integer", "description": "deliveries this request created"},
        "already_planned": {"type": "integer", "description": "advisors planned before"},
        "total": {"type": "integer"},
        "fallbacks": {"type": "integer", "description": "of planned, with a fallback pack"},
        "without_content": {
            "type": "array",
            "items": _ID,
            "description": "advisors left with nothing to send",
        },
        "pulled": {
            "type": "array",
            "items": _ID,
            "description": "packs the current rulebook now blocks, pulled from the morning",
        },
        "unreadable": {
            "type": "array",
            "items": _ID,
            "description": "advisors left out: their personal data does not open (a data key "
            "missing or damaged); the others were planned",
        },
    },
}


def _stamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def delivery_doc(view: DeliveryView) -> dict[str, Any]:
    d = view.delivery
    return {
        "id": str(d.id),
        "advisor_id": str(d.advisor_id),
        "pack_id": str(d.pack_id),
        "date": d.date.isoformat(),
        "language": d.language.value,
        "channel": d.channel.value,
        "variant": d.variant.value,
        "to": view.to,
        "content_hash": d.content_hash,
        "status": d.status.value,
        "attempts": d.attempts,
        "scheduled_for": d.scheduled_for.isoformat(),
        "sla_target": d.sla_target.isoformat(),
        "sla": view.sla.value,
        "next_attempt_at": d.next_attempt_at.isoformat(),
        "queued_at": d.queued_at.isoformat(),
        "sent_at": _stamp(d.sent_at),
        "delivered_at": _stamp(d.delivered_at),
        "read_at": _stamp(d.read_at),
        "failed_at": _stamp(d.failed_at),
        "provider_message_id": d.provider_message_id,
        "error_code": d.error_code,
        "error_message": d.error_message,
        "failure_class": d.failure_class,
        "backup_of": None if d.backup_of is None else str(d.backup_of),
        "fallback": d.fallback,
        "duplicate_message_ids": list(d.duplicate_message_ids),
        "masked": view.masked,
    }


def plan_doc(result: PlanResult) -> dict[str, Any]:
    return {
        "date": result.date.isoformat(),
        "planned": result.planned,
        "already_planned": result.already_planned,
        "total": result.total,
        "fallbacks": result.fallbacks,
        "without_content": [str(i) for i in result.without_content],
        "pulled": [str(i) for i in result.pulled],
        "unreadable": [str(i) for i in result.unreadable],
    }


def delivery_endpoints(key: web.AppKey[Container]) -> list[Endpoint]:
    async def api(request: web.Request) -> DeliveryApi:
        return await provided(request, key, "delivery_api")  # type: ignore[no-any-return]

    async def list_deliveries(request: web.Request) -> web.StreamResponse:
        limit, offset = query_page(request)
        page = await (await api(request)).list_deliveries(
            principal_of(request),
            advisor_id=query_uuid(request, "advisor_id"),
            date=query_date(request, "date"),
            status=query_enum(request, "status", DeliveryStatus),
            channel=query_enum(request, "channel", Channel),
            variant=query_enum(request, "variant", Variant),
            limit=limit,
            offset=offset,
        )
        return page_response(page, delivery_doc)

    async def get_delivery(request: web.Request) -> web.StreamResponse:
        delivery_id = path_uuid(request, "delivery_id", "delivery")
        view = await (await api(request)).get(principal_of(request), delivery_id)
        return web.json_response(delivery_doc(view))

    async def schedule_deliveries(request: web.Request) -> web.StreamResponse:
        body = await read_body(request, Schedule)
        result = await (await api(request)).schedule(principal_of(request), body.date)
        return web.json_response(plan_doc(result))

    async def retry_delivery(request: web.Request) -> web.StreamResponse:
        delivery_id = path_uuid(request, "delivery_id", "delivery")
        view = await (await api(request)).retry(principal_of(request), delivery_id)
        return web.json_response(delivery_doc(view))

    def enum_query(name: str, kind: Any, description: str) -> Query:
        return Query(
            name=name,
            schema={"type": "string", "enum": [m.value for m in kind]},
            description=description,
        )

    delivery = "/v1/deliveries/{delivery_id}"
    return [
        Endpoint(
            method="GET",
            path="/v1/deliveries",
            handler=list_deliveries,
            summary=(
                "List deliveries, latest scheduled first, with filters and pagination "
                "(advisors: their own only)"
            ),
            tag="deliveries",
            query=(
                Query(
                    name="advisor_id",
                    schema={"type": "string", "format": "uuid"},
                    description="one advisor's (another advisor's is 404 for an advisor)",
                ),
                Query(
                    name="date",
                    schema={"type": "string", "format": "date"},
                    description="the morning (YYYY-MM-DD) the deliveries are for",
                ),
                enum_query("status", DeliveryStatus, "in this status"),
                enum_query("channel", Channel, "on this channel"),
                enum_query("variant", Variant, "of this kind"),
                *PAGING,
            ),
            response=_PAGE_SCHEMA,
            errors=(404,),
        ),
        Endpoint(
            method="POST",
            path="/v1/deliveries/schedule",
            handler=schedule_deliveries,
            summary=(
                "Plan a morning's deliveries now (staff only): one WhatsApp post per active, "
                "opted-in advisor, with fallbacks; idempotent. The date is today (India) up "
                f"to {MAX_PLAN_AHEAD_DAYS} days ahead"
            ),
            tag="deliveries",
            rate_class="deliveries.write",
            body=Schedule,
            response=PLAN_SCHEMA,
            errors=(403, 409),
        ),
        Endpoint(
            method="GET",
            path=delivery,
            handler=get_delivery,
            summary="A delivery, with its SLA outcome as of now",
            tag="deliveries",
            response=DELIVERY_SCHEMA,
        ),
        Endpoint(
            method="POST",
            path=f"{delivery}/retry",
            handler=retry_delivery,
            summary=(
                "Queue a failed or expired WhatsApp delivery again, due now (staff, or the "
                "advisor it is for); 409 with the reason when a retry cannot help: past the "
                "SMS cutoff of its morning, SMS backup already sent, advisor opted out, pack "
                "changed, or the last outcome unknown"
            ),
            tag="deliveries",
            rate_class="deliveries.write",
            response=DELIVERY_SCHEMA,
            errors=(409,),
        ),
    ]
