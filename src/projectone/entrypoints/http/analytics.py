"""``/v1/analytics/dashboard``: an advisor's content, approval, delivery and SLA figures."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from projectone.container import Container
from projectone.entrypoints.http.endpoints import Endpoint, Query, query_date, query_uuid
from projectone.entrypoints.http.security import principal_of, provided
from projectone.services.analytics_api import MAX_DAYS_ALL, MAX_DAYS_ONE, AnalyticsApi

__all__ = ["DASHBOARD_SCHEMA", "analytics_endpoints"]

_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
_RATIO = {"type": ["number", "null"]}
DASHBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["advisor_id", "since", "until", "content", "approval", "deliveries", "sla"],
    "properties": {
        "advisor_id": {"type": ["string", "null"], "format": "uuid"},
        "since": {"type": "string", "format": "date"},
        "until": {"type": "string", "format": "date"},
        "content": {
            "type": "object",
            "properties": {"created": {"type": "integer"}, "by_status": _COUNTS},
        },
        "approval": {
            "type": "object",
            "properties": {
                "submitted": {"type": "integer"},
                "approved": {"type": "integer"},
                "rejected": {"type": "integer"},
                "pending_review": {"type": "integer"},
                "approval_ratio": _RATIO,
                "median_hours_to_review": _RATIO,
            },
        },
        "deliveries": {
            "type": "object",
            "properties": {
                "total": {"type": "integer"},
                "by_status": _COUNTS,
                "by_channel": _COUNTS,
                "fallbacks": {"type": "integer"},
            },
        },
        "sla": {"type": "object"},
    },
}


def analytics_endpoints(key: web.AppKey[Container]) -> list[Endpoint]:
    async def dashboard(request: web.Request) -> web.StreamResponse:
        api: AnalyticsApi = await provided(request, key, "analytics_api")
        result = await api.dashboard(
            principal_of(request),
            advisor_id=query_uuid(request, "advisor_id"),
            since=query_date(request, "since"),
            until=query_date(request, "until"),
        )
        return web.json_response(result.as_dict())

    day = {"type": "string", "format": "date"}
    return [
        Endpoint(
            method="GET",
            path="/v1/analytics/dashboard",
            handler=dashboard,
            summary=(
                "Content, approval, delivery and SLA figures for a date range (India days; "
                f"default the last 30). Advisors: their own, up to {MAX_DAYS_ONE} days; staff: "
                f"one advisor, or everyone over at most {MAX_DAYS_ALL} days"
            ),
            tag="analytics",
            query=(
                Query(name="advisor_id", schema={"type": "string", "format": "uuid"}),
                Query(name="since", schema=day, description="first day, YYYY-MM-DD"),
                Query(name="until", schema=day, description="last day, YYYY-MM-DD"),
            ),
            response=DASHBOARD_SCHEMA,
            errors=(404,),
        )
    ]
