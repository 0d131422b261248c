"""Routes as data: each endpoint is declared once, and both the aiohttp router and the OpenAPI
document are built from that declaration, so the two cannot drift.

An :class:`Endpoint` names its method and path, its handler, who may call it (public, or any
authenticated principal), its rate-limit class, its request body (an attrs class: the JSON
schema is derived from it and the body is structured into it by cattrs, unknown fields
refused), its query parameters and its answer's schema.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import types
import typing
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, Union

import attrs
import cattrs
from aiohttp import web
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

from projectone.domain.errors import NotFoundError, ProjectOneError, ValidationError
from projectone.services.paging import MAX_OFFSET, MAX_PAGE, Page

__all__ = [
    "ERROR_SCHEMA",
    "PAGING",
    "Endpoint",
    "HttpError",
    "Query",
    "json_schema",
    "openapi_document",
    "page_response",
    "path_uuid",
    "query_date",
    "query_enum",
    "query_int",
    "query_page",
    "query_uuid",
    "read_body",
]

B = TypeVar("B")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "request_id"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        },
        "request_id": {"type": "string"},
    },
}


class HttpError(ProjectOneError):
    """An HTTP-level refusal with its own status and stable code (malformed JSON, a wrong
    content type, a rate limit…), raised by the HTTP layer only."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        super().__init__(message)


@attrs.frozen(kw_only=True)
class Query:
    """A query parameter: its name, JSON schema, and whether it is required."""

    name: str
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False


@attrs.frozen(kw_only=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    #: ``None``: anyone may call it; otherwise a bearer token is required.
    public: bool = False
    #: Requests of one class share a rate limit (``PROJECTONE_RATE_LIMIT_ROUTES``).
    rate_class: str = "default"
    body: type | None = None
    query: tuple[Query, ...] = ()
    status: int = 200
    response: Mapping[str, Any] | None = None
    #: The media type of the success answer (the webhook handshake answers plain text).
    response_type: str = "application/json"
    #: A body the handler reads itself (documentation only; ``body`` is structured).
    raw_body: Mapping[str, Any] | None = None
    #: Error statuses worth documenting beyond the ones every endpoint may answer.
    errors: tuple[int, ...] = ()
    #: Path parameters that are not ids: their JSON schema (the others are UUIDs).
    path_schemas: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    #: Open to an advisor who withdrew consent to processing (their data rights: giving the
    #: consent back, reading their consents, exporting their data).
    without_processing_consent: bool = False

    @property
    def operation_id(self) -> str:
        return getattr(self.handler, "__name__", "operation").strip("_")


# -- bodies -------------------------------------------------------------------------------------

_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(uuid.UUID, lambda v, _: _uuid(v))
_converter.register_structure_hook(dt.date, lambda v, _: _date(v))


def _uuid(value: object) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("must be a UUID string")
    return uuid.UUID(value)


def _date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise ValueError("must be a date YYYY-MM-DD")
    return dt.date.fromisoformat(value)


def _strict_str(value: object, _: type) -> str:
    # cattrs would turn 42 into "42": a number where text belongs is the caller's mistake.
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _strict_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


def _strict_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


_converter.register_structure_hook(str, _strict_str)
_converter.register_structure_hook(int, _strict_int)
_converter.register_structure_hook(bool, _strict_bool)


async def read_body(request: web.Request, kind: type[B]) -> B:
    """The request's JSON body structured into ``kind``: 415 for another content type, 400
    for malformed JSON, 422 with one entry per offending field otherwise."""
    if request.content_type != "application/json":
        raise HttpError(
            415,
            "unsupported_media_type",
            f"the body must be application/json, not {request.content_type or 'missing'}",
        )
    raw = await request.read()
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HttpError(400, "malformed_json", "the body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise HttpError(422, "validation_error", "the body must be a JSON object")
    try:
        return _converter.structure(doc, kind)
    except ClassValidationError as exc:
        raise HttpError(
            422,
            "validation_error",
            "the body does not fit the schema",
            details={"fields": _field_errors(exc)},
        ) from None
    except ForbiddenExtraKeysError as exc:
        raise HttpError(
            422,
            "validation_error",
            "the body has unknown fields",
            details={"fields": dict.fromkeys(sorted(exc.extra_fields), "unknown field")},
        ) from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _field_errors(exc: BaseException) -> dict[str, str]:
    messages = cattrs.transform_error(exc, path="$")
    fields: dict[str, str] = {}
    for line in messages:
        reason, _, where = line.rpartition(" @ ")
        path = where.removeprefix("$.").removeprefix("$")
        extra = re.fullmatch(r"extra fields found \((.*)\)", reason)
        if extra:
            # One entry per unknown field, named where it is, like every other error.
            for name in extra.group(1).split(", "):
                fields[f"{path}.{name}" if path else name] = "unknown field"
            continue
        fields[path or "body"] = reason
    return fields


def path_uuid(request: web.Request, name: str, entity: str) -> uuid.UUID:
    """A path id; one that is not a UUID names nothing, so it is not found (404)."""
    text = request.match_info[name]
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFoundError(entity, text) from None


# -- JSON schema from attrs classes --------------------------------------------------------------


def json_schema(kind: Any) -> dict[str, Any]:
    """The JSON schema of a body type: attrs classes, str, int, bool, UUID, date, enums,
    lists, string-keyed (or enum-keyed) dicts and optionals."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        inner = (
            json_schema(options[0])
            if len(options) == 1
            else {"anyOf": [json_schema(o) for o in options]}
        )
        return {"anyOf": [inner, {"type": "null"}]} if type(None) in args else inner
    if origin in (list, Sequence, tuple):
        return {"type": "array", "items": json_schema(args[0])}
    if origin in (dict, Mapping):
        key, value = args
        schema: dict[str, Any] = {"type": "object", "additionalProperties": json_schema(value)}
        if isinstance(key, type) and issubclass(key, enum.Enum):
            schema["propertyNames"] = {"enum": [m.value for m in key]}
        return schema
    if isinstance(kind, type) and attrs.has(kind):
        hints = typing.get_type_hints(kind)
        properties = {}
        required = []
        for field in attrs.fields(kind):
            # Constraints the server enforces (non-empty text, list sizes) are declared on the
            # field, so the document promises no more than the server accepts.
            properties[field.name] = {
                **json_schema(hints[field.name]),
                **field.metadata.get("schema", {}),
            }
            if field.default is attrs.NOTHING:
                required.append(field.name)
        out: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            out["required"] = required
        return out
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return {"type": "string", "enum": [m.value for m in kind]}
    simple = {
        str: {"type": "string"},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        uuid.UUID: {"type": "string", "format": "uuid"},
        dt.date: {"type": "string", "format": "date"},
    }
    if kind in simple:
        return dict(simple[kind])
    raise TypeError(f"no JSON schema for {kind!r}")


# -- the OpenAPI document ------------------------------------------------------------------------

_PATH_PARAM = re.compile(r"\{(\w+)\}")
_ERROR_NAMES = {
    400: "Malformed request",
    401: "Missing or invalid bearer token",
    403: "Not allowed for this role, or the account may not be used",
    404: "Not found (or not yours)",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid input",
    429: "Rate limit exceeded",
}


def openapi_document(endpoints: Sequence[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints``."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "operationId": endpoint.operation_id,
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "responses": _responses(endpoint),
        }
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": dict(
                    endpoint.path_schemas.get(name, {"type": "string", "format": "uuid"})
                ),
            }
            for name in _PATH_PARAM.findall(endpoint.path)
        ]
        parameters += [
            {
                "name": q.name,
                "in": "query",
                "required": q.required,
                "schema": dict(q.schema),
                **({"description": q.description} if q.description else {}),
            }
            for q in endpoint.query
        ]
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": json_schema(endpoint.body)}},
            }
        elif endpoint.raw_body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": dict(endpoint.raw_body)}},
            }
        operation["security"] = [] if endpoint.public else [{"bearerAuth": []}]
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": "OK"}
    if endpoint.response is not None:
        answer["content"] = {endpoint.response_type: {"schema": dict(endpoint.response)}}
    responses: dict[str, Any] = {str(endpoint.status): answer}
    statuses = set(endpoint.errors)
    if not endpoint.public:
        # 403 too: an advisor whose account is suspended, cancelled or without consent to
        # processing is refused on every route (docs/http.md), whatever the route's own rules.
        statuses |= {401, 403, 429}
    if endpoint.body is not None:
        statuses |= {400, 413, 415, 422}
    if _PATH_PARAM.search(endpoint.path):
        statuses.add(404)
    if endpoint.query:
        statuses.add(422)
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": _ERROR_NAMES.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]`` (422 naming it otherwise)."""
    text = request.query.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise ValidationError(name, text, f"must be a whole number from {low} to {high}")
    return int(text)


def query_enum(request: web.Request, name: str, kind: type[enum.Enum]) -> Any:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ValidationError(name, text, f"must be one of {allowed}") from None


def query_uuid(request: web.Request, name: str) -> uuid.UUID | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationError(name, text, "must be a UUID") from None


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def query_date(request: web.Request, name: str) -> dt.date | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        if _DAY.fullmatch(text) is None:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(name, text, "must be a date YYYY-MM-DD") from None


#: The ``limit`` and ``offset`` query parameters every list takes.
PAGING = (
    Query(name="limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
    Query(name="offset", schema={"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}),
)


def query_page(request: web.Request) -> tuple[int, int]:
    """``limit`` (default 50) and ``offset`` (default 0) from the query, bounds checked."""
    return (
        query_int(request, "limit", 50, 1, MAX_PAGE),
        query_int(request, "offset", 0, 0, MAX_OFFSET),
    )


def page_response(page: Page[Any], doc: Callable[[Any], Mapping[str, Any]]) -> web.Response:
    """A page as the API answers every list: items, total, limit, offset."""
    return web.json_response(
        {
            "items": [doc(item) for item in page.items],
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
        }
    )
