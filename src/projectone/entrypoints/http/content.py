"""``/v1/content`` and ``/v1/review``: drafts, submission, checks and the review queue."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
from aiohttp import web

from projectone.container import Container
from projectone.domain.audit import AuditEvent
from projectone.domain.content import ContentPack, ContentStatus, ContentType
from projectone.domain.language import Language
from projectone.entrypoints.http.endpoints import (
    PAGING,
    Endpoint,
    Query,
    page_response,
    path_uuid,
    query_enum,
    query_int,
    query_page,
    query_uuid,
    read_body,
)
from projectone.entrypoints.http.errors import request_id_of
from projectone.entrypoints.http.security import principal_of, provided
from projectone.services.compliance import ComplianceResult
from projectone.services.content_api import ContentApi
from projectone.services.paging import MAX_PAGE
from projectone.services.workflow import ReviewDecision

__all__ = ["PACK_SCHEMA", "content_endpoints", "pack_doc"]


_VARIANTS = {"schema": {"minProperties": 1}}


@attrs.frozen(kw_only=True)
class VariantBody:
    title: str = attrs.field(metadata={"schema": {"minLength": 1, "pattern": r"\S"}})
    body: str = attrs.field(metadata={"schema": {"minLength": 1, "pattern": r"\S"}})
    cta: str = ""
    disclaimer: str = ""


@attrs.frozen(kw_only=True)
class CreateContent:
    topic: str = attrs.field(
        metadata={"schema": {"minLength": 1, "maxLength": 200, "pattern": r"\S"}}
    )
    variants: dict[Language, VariantBody] = attrs.field(metadata=_VARIANTS)
    advisor_id: uuid.UUID | None = None
    type: ContentType = ContentType.DAILY_POST


@attrs.frozen(kw_only=True)
class UpdateDraft:
    variants: dict[Language, VariantBody] = attrs.field(metadata=_VARIANTS)


@attrs.frozen(kw_only=True)
class CheckContent:
    variants: dict[Language, VariantBody] = attrs.field(metadata=_VARIANTS)
    advisor_id: uuid.UUID | None = None


@attrs.frozen(kw_only=True)
class Approve:
    note: str | None = attrs.field(default=None, metadata={"schema": {"pattern": r"\S"}})


@attrs.frozen(kw_only=True)
class Reject:
    note: str = attrs.field(metadata={"schema": {"minLength": 1, "pattern": r"\S"}})


@attrs.frozen(kw_only=True)
class Decision:
    pack_id: uuid.UUID
    approve: bool
    note: str | None = None


@attrs.frozen(kw_only=True)
class BulkReview:
    decisions: list[Decision] = attrs.field(
        metadata={"schema": {"minItems": 1, "maxItems": MAX_PAGE}}
    )


def _variants(given: dict[Language, VariantBody]) -> dict[Language, dict[str, str]]:
    return {language: attrs.asdict(variant) for language, variant in given.items()}


_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_ID = {"type": ["string", "null"], "format": "uuid"}
PACK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "advisor_id", "status", "version", "topic", "type", "variants"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "advisor_id": _NULLABLE_ID,
        "status": {"type": "string", "enum": [s.value for s in ContentStatus]},
        "version": {"type": "integer"},
        "parent_id": _NULLABLE_ID,
        "topic": {"type": "string"},
        "type": {"type": "string", "enum": [t.value for t in ContentType]},
        "variants": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "body": {"type": "string"},
                    "cta": {"type": "string"},
                    "disclaimer": {"type": "string"},
                },
            },
        },
        "scheduled_date": {"type": ["string", "null"], "format": "date"},
        "created_at": {"type": "string", "format": "date-time"},
        "risk_score": {"type": ["integer", "null"]},
        "compliance_verdict": _NULLABLE_STRING,
        "findings": {"type": "array", "items": {"type": "string"}},
        "requires_human": {"type": "boolean"},
        "escalated": {"type": "boolean"},
        "review_note": _NULLABLE_STRING,
        "content_hash": {"type": "string"},
        "approved_hash": _NULLABLE_STRING,
    },
}
_PAGE_SCHEMA = {
    "type": "object",
    "required": ["items", "total", "limit", "offset"],
    "properties": {
        "items": {"type": "array", "items": PACK_SCHEMA},
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
    },
}
_CHECK_SCHEMA = {
    "type": "object",
    "required": ["verdict", "risk_score", "violations", "rulebook_version", "ai_review"],
    "properties": {
        "verdict": {"type": "string", "enum": ["pass", "review", "block"]},
        "risk_score": {"type": "integer"},
        "violations": {"type": "array", "items": {"type": "object"}},
        "rulebook_version": {"type": "string"},
        "ai_review": {"type": "string"},
    },
}
_SUBMIT_SCHEMA = {
    "type": "object",
    "required": ["pack", "compliance", "auto_approved", "blocked"],
    "properties": {
        "pack": PACK_SCHEMA,
        "compliance": _CHECK_SCHEMA,
        "auto_approved": {"type": "boolean"},
        "blocked": {"type": "boolean"},
        "incident_id": _NULLABLE_ID,
    },
}
_EVENTS_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "properties": {"events": {"type": "array", "items": {"type": "object"}}},
}
_BULK_SCHEMA = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["pack_id", "ok"],
                "properties": {
                    "pack_id": {"type": "string", "format": "uuid"},
                    "ok": {"type": "boolean"},
                    "pack": {"anyOf": [PACK_SCHEMA, {"type": "null"}]},
                    "error": {"type": ["object", "null"]},
                },
            },
        }
    },
}


def pack_doc(pack: ContentPack) -> dict[str, Any]:
    return {
        "id": str(pack.id),
        "advisor_id": None if pack.advisor_id is None else str(pack.advisor_id),
        "status": pack.status.value,
        "version": pack.version,
        "parent_id": None if pack.parent_id is None else str(pack.parent_id),
        "topic": pack.topic,
        "type": pack.type.value,
        "variants": {lang.value: v.as_dict() for lang, v in pack.variants.items()},
        "scheduled_date": None if pack.scheduled_date is None else pack.scheduled_date.isoformat(),
        "created_at": pack.created_at.isoformat(),
        "risk_score": pack.risk_score,
        "compliance_verdict": pack.compliance_verdict,
        "findings": list(pack.findings),
        "requires_human": pack.requires_human,
        "escalated": pack.escalated,
        "review_note": pack.review_note,
        "content_hash": pack.content_hash,
        "approved_hash": pack.approved_hash,
    }


def _check_doc(result: ComplianceResult) -> dict[str, Any]:
    full = result.as_dict()
    return {
        "verdict": full["verdict"],
        "risk_score": full["risk_score"],
        "violations": full["violations"],
        "rulebook_version": full["rulebook_version"],
        "ai_review": full["ai_review"],
    }


def _event_doc(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.isoformat(),
        "action": event.action,
        "actor": event.actor.as_json(),
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "request_id": event.request_id,
    }


def content_endpoints(key: web.AppKey[Container]) -> list[Endpoint]:
    async def api(request: web.Request) -> ContentApi:
        return await provided(request, key, "content_api")  # type: ignore[no-any-return]

    async def create_content(request: web.Request) -> web.StreamResponse:
        body = await read_body(request, CreateContent)
        pack = await (await api(request)).create(
            principal_of(request),
            topic=body.topic,
            variants=_variants(body.variants),
            advisor_id=body.advisor_id,
            type=body.type,
            request_id=request_id_of(request),
        )
        return web.json_response(pack_doc(pack), status=201)

    async def list_content(request: web.Request) -> web.StreamResponse:
        limit, offset = query_page(request)
        page = await (await api(request)).list_packs(
            principal_of(request),
            advisor_id=query_uuid(request, "advisor_id"),
            status=query_enum(request, "status", ContentStatus),
            limit=limit,
            offset=offset,
        )
        return page_response(page, pack_doc)

    async def get_content(request: web.Request) -> web.StreamResponse:
        pack_id = path_uuid(request, "pack_id", "content_pack")
        pack = await (await api(request)).get(principal_of(request), pack_id)
        return web.json_response(pack_doc(pack))

    async def update_content(request: web.Request) -> web.StreamResponse:
        pack_id = path_uuid(request, "pack_id", "content_pack")
        body = await read_body(request, UpdateDraft)
        pack = await (await api(request)).update_draft(
            principal_of(request),
            pack_id,
            _variants(body.variants),
            request_id=request_id_of(request),
        )
        return web.json_response(pack_doc(pack))

    async def submit_content(request: web.Request) -> web.StreamResponse:
        pack_id = path_uuid(request, "pack_id", "content_pack")
        result = await (await api(request)).submit(
            principal_of(request), pack_id, request_id=request_id_of(request)
        )
        return web.json_response(
            {
                "pack": pack_doc(result.pack),
                "compliance": _check_doc(result.compliance),
                "auto_approved": result.auto_approved,
                "blocked": result.blocked,
                "incident_id": None if result.incident_id is None else str(result.incident_id),
            }
        )

    async def check_content(request: web.Request) -> web.StreamResponse:
        body = await read_body(request, CheckContent)
        result = await (await api(request)).check(
            principal_of(request), _variants(body.variants), advisor_id=body.advisor_id
        )
        return web.json_response(_check_doc(result))

    async def content_history(request: web.Request) -> web.StreamResponse:
        pack_id = path_uuid(request, "pack_id", "content_pack")
        events = await (await api(request)).history(principal_of(request), pack_id)
        return web.json_response({"events": [_event_doc(e) for e in events]})

    async def review_queue(request: web.Request) -> web.StreamResponse:
        limit = query_int(request, "limit", 50, 1, MAX_PAGE)
        packs = await (await api(request)).review_queue(principal_of(request), limit)
        return web.json_response(
            {
                "items": [pack_doc(p) for p in packs],
                "total": len(packs),
                "limit": limit,
                "offset": 0,
            }
        )

    async def approve_content(request: web.Request) -> web.StreamResponse:
        pack_id = path_uuid(request, "pack_id", "content_pack")
        body = await read_body(request, Approve)
        pack = await (await api(request)).approve(
            principal_of(request), pack_id, body.note, request_id=request_id_of(request)
        )
        return web.json_response(pack_doc(pack))

    async def reject_content(request: web.Request) -> web.StreamResponse:
        pack_id = path_uuid(request, "pack_id", "content_pack")
        body = await read_body(request, Reject)
        pack = await (await api(request)).reject(
            principal_of(request), pack_id, body.note, request_id=request_id_of(request)
        )
        return web.json_response(pack_doc(pack))

    async def bulk_review(request: web.Request) -> web.StreamResponse:
        body = await read_body(request, BulkReview)
        decisions = [
            ReviewDecision(pack_id=d.pack_id, approve=d.approve, note=d.note)
            for d in body.decisions
        ]
        results = await (await api(request)).bulk_review(
            principal_of(request), decisions, request_id=request_id_of(request)
        )
        return web.json_response(
            {
                "results": [
                    {
                        "pack_id": str(item.pack_id),
                        "ok": item.ok,
                        "pack": None if item.pack is None else pack_doc(item.pack),
                        "error": None
                        if item.ok
                        else {"code": item.error_code, "message": item.error},
                    }
                    for item in results
                ]
            }
        )

    pack = "/v1/content/{pack_id}"
    paging = PAGING
    return [
        Endpoint(
            method="POST",
            path="/v1/content",
            handler=create_content,
            summary="Create a draft (for your own advisor account; staff name the advisor)",
            tag="content",
            rate_class="content.write",
            body=CreateContent,
            status=201,
            response=PACK_SCHEMA,
            errors=(404,),
        ),
        Endpoint(
            method="GET",
            path="/v1/content",
            handler=list_content,
            summary="List packs, newest first, with filters and pagination",
            tag="content",
            query=(
                Query(
                    name="status",
                    schema={"type": "string", "enum": [s.value for s in ContentStatus]},
                ),
                Query(name="advisor_id", schema={"type": "string", "format": "uuid"}),
                *paging,
            ),
            response=_PAGE_SCHEMA,
            errors=(404,),
        ),
        Endpoint(
            method="GET",
            path=pack,
            handler=get_content,
            summary="A pack",
            tag="content",
            response=PACK_SCHEMA,
        ),
        Endpoint(
            method="PUT",
            path=pack,
            handler=update_content,
            summary="Change a draft (an approved pack gets a new draft version)",
            tag="content",
            rate_class="content.write",
            body=UpdateDraft,
            response=PACK_SCHEMA,
            errors=(403, 409),
        ),
        Endpoint(
            method="POST",
            path=f"{pack}/submit",
            handler=submit_content,
            summary="Check a draft against the rulebook and send it to review",
            tag="content",
            rate_class="content.write",
            response=_SUBMIT_SCHEMA,
            errors=(403, 409),
        ),
        Endpoint(
            method="POST",
            path="/v1/content/check",
            handler=check_content,
            summary="Check content without saving it",
            tag="content",
            rate_class="content.check",
            body=CheckContent,
            response=_CHECK_SCHEMA,
            errors=(404,),
        ),
        Endpoint(
            method="GET",
            path=f"{pack}/history",
            handler=content_history,
            summary="The audit events of a pack",
            tag="content",
            response=_EVENTS_SCHEMA,
        ),
        Endpoint(
            method="GET",
            path="/v1/review/queue",
            handler=review_queue,
            summary="Packs waiting for review, riskiest first (reviewers only)",
            tag="review",
            query=(paging[0],),
            response=_PAGE_SCHEMA,
            errors=(403,),
        ),
        Endpoint(
            method="POST",
            path="/v1/review/{pack_id}/approve",
            handler=approve_content,
            summary="Approve a pack waiting for review (reviewers only)",
            tag="review",
            rate_class="review",
            body=Approve,
            response=PACK_SCHEMA,
            errors=(403, 409),
        ),
        Endpoint(
            method="POST",
            path="/v1/review/{pack_id}/reject",
            handler=reject_content,
            summary="Reject a pack waiting for review, with a note (reviewers only)",
            tag="review",
            rate_class="review",
            body=Reject,
            response=PACK_SCHEMA,
            errors=(403, 409),
        ),
        Endpoint(
            method="POST",
            path="/v1/review/bulk",
            handler=bulk_review,
            summary="Approve or reject many packs; each decision stands on its own",
            tag="review",
            rate_class="review",
            body=BulkReview,
            response=_BULK_SCHEMA,
            errors=(403,),
        ),
    ]
