"""``/v1/advisors/{advisor_id}/export`` and ``…/consents``: a person's data rights over HTTP
(DPDP right of access, consent and its withdrawal; docs/privacy.md).

These routes stay open to an advisor who withdrew consent to processing: it is how they see
what is held about them and how they give the consent back. Erasure and the retention purge
are operator actions, from the CLI or the library, not routes.
"""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from projectone.container import Container
from projectone.domain.consent import ConsentEnd, ConsentPurpose, ConsentRecord
from projectone.domain.errors import NotFoundError
from projectone.entrypoints.http.endpoints import Endpoint, path_uuid, read_body
from projectone.entrypoints.http.errors import request_id_of
from projectone.entrypoints.http.security import principal_of, provided
from projectone.services.privacy import PrivacyService

__all__ = ["CONSENT_SCHEMA", "privacy_endpoints"]


@attrs.frozen(kw_only=True)
class GiveConsent:
    """How the consent was obtained (``channel``), and under which privacy policy version
    (the configured one when left out)."""

    channel: str = attrs.field(
        default="api", metadata={"schema": {"minLength": 1, "maxLength": 32}}
    )
    policy_version: str = attrs.field(default="", metadata={"schema": {"maxLength": 32}})


@attrs.frozen(kw_only=True)
class WithdrawConsent:
    reason: str = attrs.field(default="", metadata={"schema": {"maxLength": 500}})


_STAMP = {"type": ["string", "null"], "format": "date-time"}
_PURPOSES = [p.value for p in ConsentPurpose]
_ENDS = [e.value for e in ConsentEnd]
CONSENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "purpose", "policy_version", "channel", "given_at", "active"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "purpose": {"type": "string", "enum": _PURPOSES},
        "policy_version": {"type": "string"},
        "channel": {"type": "string"},
        "given_at": {"type": "string", "format": "date-time"},
        "ended_at": _STAMP,
        "end_reason": {
            "type": ["string", "null"],
            "enum": ["withdrawn", "superseded", "erased", None],
        },
        "active": {"type": "boolean"},
    },
}
_CHANGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["changed", "consent"],
    "properties": {
        "changed": {"type": "boolean", "description": "false when nothing was recorded"},
        "consent": {"oneOf": [CONSENT_SCHEMA, {"type": "null"}]},
    },
}
_HISTORY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["advisor_id", "consents"],
    "properties": {
        "advisor_id": {"type": "string", "format": "uuid"},
        "consents": {"type": "array", "items": CONSENT_SCHEMA},
    },
}
_EXPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "generated_at", "subject", "profile"],
    "properties": {
        "format": {"type": "string", "const": "projectone.subject-export/1"},
        "generated_at": {"type": "string", "format": "date-time"},
        "subject": {"type": "object"},
        "profile": {"type": "object"},
        "consents": {"type": "array"},
        "content": {"type": "array"},
        "deliveries": {"type": "array"},
        "inbound_messages": {"type": "array"},
        "ai_jobs": {"type": "array"},
        "audit_events": {"type": "array"},
    },
}


def _purpose(request: web.Request) -> ConsentPurpose:
    text = request.match_info["purpose"]
    try:
        return ConsentPurpose(text)
    except ValueError:
        raise NotFoundError("consent purpose", text) from None


def _change(record: ConsentRecord | None) -> web.StreamResponse:
    return web.json_response(
        {"changed": record is not None, "consent": None if record is None else record.as_dict()}
    )


def privacy_endpoints(key: web.AppKey[Container]) -> list[Endpoint]:
    async def service(request: web.Request) -> PrivacyService:
        return await provided(request, key, "privacy")  # type: ignore[no-any-return]

    async def export_advisor_data(request: web.Request) -> web.StreamResponse:
        advisor_id = path_uuid(request, "advisor_id", "advisor")
        actor = principal_of(request).actor
        doc = await (await service(request)).export_subject_data(advisor_id, actor=actor)
        return web.json_response(doc)

    async def list_consents(request: web.Request) -> web.StreamResponse:
        advisor_id = path_uuid(request, "advisor_id", "advisor")
        actor = principal_of(request).actor
        records = await (await service(request)).consents(advisor_id, actor=actor)
        return web.json_response(
            {"advisor_id": str(advisor_id), "consents": [r.as_dict() for r in records]}
        )

    async def give_consent(request: web.Request) -> web.StreamResponse:
        advisor_id = path_uuid(request, "advisor_id", "advisor")
        purpose = _purpose(request)
        # The body is optional: every field has a default.
        body = await read_body(request, GiveConsent) if request.body_exists else GiveConsent()
        record = await (await service(request)).give_consent(
            advisor_id,
            purpose,
            actor=principal_of(request).actor,
            channel=body.channel,
            policy_version=body.policy_version or None,
            request_id=request_id_of(request),
        )
        return _change(record)

    async def withdraw_consent(request: web.Request) -> web.StreamResponse:
        advisor_id = path_uuid(request, "advisor_id", "advisor")
        purpose = _purpose(request)
        body = (
            await read_body(request, WithdrawConsent) if request.body_exists else WithdrawConsent()
        )
        record = await (await service(request)).withdraw_consent(
            advisor_id,
            purpose,
            actor=principal_of(request).actor,
            reason=body.reason or None,
            request_id=request_id_of(request),
        )
        return _change(record)

    advisor = "/v1/advisors/{advisor_id}"
    purpose = {"purpose": {"type": "string", "enum": _PURPOSES}}
    return [
        Endpoint(
            method="GET",
            path=f"{advisor}/export",
            handler=export_advisor_data,
            summary=(
                "Everything held about the advisor as one JSON document (DPDP right of "
                "access; docs/privacy.md). The advisor themself or an admin"
            ),
            tag="privacy",
            rate_class="privacy.export",
            response=_EXPORT_SCHEMA,
            errors=(403,),
            without_processing_consent=True,
        ),
        Endpoint(
            method="GET",
            path=f"{advisor}/consents",
            handler=list_consents,
            summary="The advisor's consent history, oldest first (the advisor or staff)",
            tag="privacy",
            response=_HISTORY_SCHEMA,
            errors=(403,),
            without_processing_consent=True,
        ),
        Endpoint(
            method="PUT",
            path=f"{advisor}/consents/{{purpose}}",
            handler=give_consent,
            summary=(
                "Give consent to a purpose under the current (or given) policy version; "
                "giving consent to processing lifts the block on the account. The advisor "
                "or an admin; audited (changed: false when it was already given)"
            ),
            tag="privacy",
            rate_class="privacy.consent",
            body=GiveConsent,
            response=_CHANGE_SCHEMA,
            errors=(403,),
            path_schemas=purpose,
            without_processing_consent=True,
        ),
        Endpoint(
            method="DELETE",
            path=f"{advisor}/consents/{{purpose}}",
            handler=withdraw_consent,
            summary=(
                "Withdraw consent to a purpose: processing blocks the account, whatsapp_optin "
                "stops the morning messages (queued ones expire). The advisor or an admin; "
                "audited (changed: false when none was held)"
            ),
            tag="privacy",
            rate_class="privacy.consent",
            body=WithdrawConsent,
            response=_CHANGE_SCHEMA,
            errors=(403,),
            path_schemas=purpose,
            without_processing_consent=True,
        ),
    ]
