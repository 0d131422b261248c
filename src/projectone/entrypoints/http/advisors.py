"""``/v1/advisors``: an advisor's profile, preferences and WhatsApp integration."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from aiohttp import web

from projectone.container import Container
from projectone.domain.advisor import AdvisorStatus, AdvisorType, Tier, parse_send_time
from projectone.domain.language import Language
from projectone.entrypoints.http.endpoints import Endpoint, path_uuid, read_body
from projectone.entrypoints.http.errors import request_id_of
from projectone.entrypoints.http.security import principal_of, provided
from projectone.services.advisor_api import AdvisorApi, AdvisorProfile, WhatsAppIntegration

__all__ = [
    "ADVISOR_SCHEMA",
    "WHATSAPP_SCHEMA",
    "advisor_doc",
    "advisor_endpoints",
    "send_time_text",
    "whatsapp_doc",
]


@attrs.frozen(kw_only=True)
class UpdatePreferences:
    """Only the fields sent change; at least one is required."""

    languages: list[Language] = attrs.Factory(list)
    send_time: str = ""


@attrs.frozen(kw_only=True)
class SetWhatsApp:
    number: str
    opted_in: bool


_TIME = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"}
_STAMP = {"type": ["string", "null"], "format": "date-time"}
ADVISOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "name",
        "type",
        "registration_no",
        "email",
        "whatsapp_number",
        "languages",
        "send_time",
        "tier",
        "status",
        "whatsapp_opt_in",
        "whatsapp_opt_in_at",
        "receives_whatsapp",
        "created_at",
        "masked",
    ],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "type": {"type": "string", "enum": [t.value for t in AdvisorType]},
        "registration_no": {"type": "string"},
        "email": {"type": "string", "description": "masked for compliance officers"},
        "whatsapp_number": {"type": "string", "description": "masked for compliance officers"},
        "languages": {
            "type": "array",
            "items": {"type": "string", "enum": [lang.value for lang in Language]},
            "description": "most preferred first",
        },
        "send_time": {**_TIME, "description": "HH:MM in Asia/Kolkata"},
        "tier": {"type": "string", "enum": [t.value for t in Tier]},
        "status": {"type": "string", "enum": [s.value for s in AdvisorStatus]},
        "whatsapp_opt_in": {"type": "boolean"},
        "whatsapp_opt_in_at": _STAMP,
        "receives_whatsapp": {
            "type": "boolean",
            "description": "active and opted in: the morning run plans for this advisor",
        },
        "created_at": {"type": "string", "format": "date-time"},
        "masked": {"type": "boolean", "description": "whether email and number are masked"},
    },
}
WHATSAPP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["advisor_id", "number", "opted_in", "opted_in_at", "receives", "masked"],
    "properties": {
        "advisor_id": {"type": "string", "format": "uuid"},
        "number": {"type": "string", "description": "E.164; masked for compliance officers"},
        "opted_in": {"type": "boolean"},
        "opted_in_at": _STAMP,
        "receives": {
            "type": "boolean",
            "description": "active and opted in: the morning run plans for this advisor",
        },
        "masked": {"type": "boolean"},
    },
}


def send_time_text(value: dt.time) -> str:
    """``HH:MM`` (``HH:MM:SS`` for the rare send time with seconds)."""
    return value.isoformat(timespec="seconds" if value.second else "minutes")


def _stamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def advisor_doc(profile: AdvisorProfile) -> dict[str, Any]:
    return {
        "id": str(profile.id),
        "name": profile.name,
        "type": profile.type.value,
        "registration_no": profile.registration_no,
        "email": profile.email,
        "whatsapp_number": profile.whatsapp_number,
        "languages": [lang.value for lang in profile.languages],
        "send_time": send_time_text(profile.send_time),
        "tier": profile.tier.value,
        "status": profile.status.value,
        "whatsapp_opt_in": profile.whatsapp_opt_in_at is not None,
        "whatsapp_opt_in_at": _stamp(profile.whatsapp_opt_in_at),
        "receives_whatsapp": profile.receives_whatsapp,
        "created_at": profile.created_at.isoformat(),
        "masked": profile.masked,
    }


def whatsapp_doc(integration: WhatsAppIntegration) -> dict[str, Any]:
    return {
        "advisor_id": str(integration.advisor_id),
        "number": integration.number,
        "opted_in": integration.opted_in,
        "opted_in_at": _stamp(integration.opted_in_at),
        "receives": integration.receives,
        "masked": integration.masked,
    }


def advisor_endpoints(key: web.AppKey[Container]) -> list[Endpoint]:
    async def api(request: web.Request) -> AdvisorApi:
        return await provided(request, key, "advisor_api")  # type: ignore[no-any-return]

    async def get_advisor(request: web.Request) -> web.StreamResponse:
        advisor_id = path_uuid(request, "advisor_id", "advisor")
        profile = await (await api(request)).get(principal_of(request), advisor_id)
        return web.json_response(advisor_doc(profile))

    async def update_preferences(request: web.Request) -> web.StreamResponse:
        advisor_id = path_uuid(request, "advisor_id", "advisor")
        body = await read_body(request, UpdatePreferences)
        # Which fields were sent (an empty list is sent, and refused, not left out).
        given = set(await request.json())
        profile = await (await api(request)).update_preferences(
            principal_of(request),
            advisor_id,
            languages=body.languages if "languages" in given else None,
            send_time=parse_send_time(body.send_time) if "send_time" in given else None,
            request_id=request_id_of(request),
        )
        return web.json_response(advisor_doc(profile))

    async def get_whatsapp(request: web.Request) -> web.StreamResponse:
        advisor_id = path_uuid(request, "advisor_id", "advisor")
        integration = await (await api(request)).whatsapp(principal_of(request), advisor_id)
        return web.json_response(whatsapp_doc(integration))

    async def set_whatsapp(request: web.Request) -> web.StreamResponse:
        advisor_id = path_uuid(request, "advisor_id", "advisor")
        body = await read_body(request, SetWhatsApp)
        integration = await (await api(request)).set_whatsapp(
            principal_of(request),
            advisor_id,
            number=body.number,
            opted_in=body.opted_in,
            request_id=request_id_of(request),
        )
        return web.json_response(whatsapp_doc(integration))

    advisor = "/v1/advisors/{advisor_id}"
    return [
        Endpoint(
            method="GET",
            path=advisor,
            handler=get_advisor,
            summary=(
                "An advisor account (advisors: their own; staff: any). Email and WhatsApp "
                "number are masked for compliance officers"
            ),
            tag="advisors",
            response=ADVISOR_SCHEMA,
        ),
        Endpoint(
            method="PATCH",
            path=f"{advisor}/preferences",
            handler=update_preferences,
            summary=(
                "Change languages (most preferred first) and/or send time (HH:MM, "
                "Asia/Kolkata); fields left out stay. The advisor or an admin; audited"
            ),
            tag="advisors",
            rate_class="advisors.write",
            body=UpdatePreferences,
            response=ADVISOR_SCHEMA,
            errors=(403, 409),
        ),
        Endpoint(
            method="GET",
            path=f"{advisor}/whatsapp",
            handler=get_whatsapp,
            summary="The WhatsApp integration: number, opt-in, whether mornings are planned",
            tag="advisors",
            response=WHATSAPP_SCHEMA,
        ),
        Endpoint(
            method="PUT",
            path=f"{advisor}/whatsapp",
            handler=set_whatsapp,
            summary=(
                "Set the WhatsApp number (E.164) and opt-in: opting in stamps the consent "
                "time, opting out clears it and stops planning. The advisor or an admin; "
                "audited (409 when another advisor has the number)"
            ),
            tag="advisors",
            rate_class="advisors.whatsapp",
            body=SetWhatsApp,
            response=WHATSAPP_SCHEMA,
            errors=(403, 409),
        ),
    ]
