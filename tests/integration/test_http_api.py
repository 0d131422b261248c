"""The /v1 API over loopback: who may do what, bad input, rate limits and the OpenAPI document.

The application is served by aiohttp on 127.0.0.1 and called with a real client and real JWTs
(HS256) signed with the configured secret.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from projectone.adapters.jwt_auth import issue_token
from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.container import build_container, resolve, shutdown
from projectone.domain.access import Principal
from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.audit import Actor, Role
from projectone.domain.content import ContentStatus
from projectone.entrypoints.http import create_app
from projectone.entrypoints.http.realtime import WS_PATH
from projectone.entrypoints.http.request_log import RequestIdFilter
from projectone.settings import JwtSettings, RateLimitSettings, Settings, WorkflowSettings
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.http_client import ApiClient, advisor_token, serve, staff_token

SECRET = "s" * 40
T0 = dt.datetime.now(dt.UTC)
EN = {
    "title": "Why SIPs work",
    "body": "Investing a fixed amount every month builds a habit.",
    "disclaimer": "Mutual Fund investments are subject to market risks, read all scheme related "
    "documents carefully.",
}


@attrs.define(kw_only=True)
class Api(ApiClient):
    me: Advisor
    other: Advisor
    ids: dict[str, str]
    database_url: str
    settings: Settings

    async def count_packs(self) -> int:
        container = build_container(Settings(database_url=self.database_url))
        try:
            uow_factory = await resolve(container.uow_factory)
            async with uow_factory() as uow:
                _, total = await uow.content.page(limit=1)
            return total
        finally:
            await shutdown(container)


def _token(role: str, advisor: Advisor | None = None, **extra: Any) -> str:
    if not extra:
        return advisor_token(SECRET, advisor) if advisor else staff_token(SECRET, role)
    return issue_token(
        SECRET,
        subject=f"user-{role}-{advisor.id if advisor else 'staff'}",
        role=role,
        advisor_id=None if advisor is None else advisor.id,
        now=extra.pop("now", dt.datetime.now(dt.UTC)),
        **extra,
    )


async def _serve(
    database_url: str, *, routes: str = "", postgres: bool = False, backend: str = "memory"
) -> AsyncIterator[Api]:
    if postgres:
        engine = create_engine(database_url)
        await upgrade(engine)
        await engine.dispose()
    settings = Settings(
        database_url=database_url,
        jwt=JwtSettings(secret=SECRET),
        rate_limit=RateLimitSettings(routes=routes, backend=backend),
        # Nothing is approved without a reviewer here: the review routes need pending packs.
        workflow=WorkflowSettings(
            auto_approve_basic=-1, auto_approve_standard=-1, auto_approve_pro=-1
        ),
    )
    container = build_container(settings)
    me, other = demo_advisors(2, ids=container.ids(), now=T0)
    catalog = await resolve(container.catalog)
    await catalog.register([me, other])
    content = await resolve(container.content_api)
    mine = Principal(subject="me", role=Role.ADVISOR, advisor_id=me.id)
    theirs = Principal(subject="them", role=Role.ADVISOR, advisor_id=other.id)
    # Posts that pass the rulebook as each advisor's (name, registration, disclaimer).
    good = demo_packs([me], T0.date(), ids=container.ids(), now=T0)[0].variants
    draft = await content.create(mine, topic="sip basics", variants={"en": EN})
    pending = await content.create(mine, topic="goal planning", variants=good)
    submitted = await content.submit(mine, pending.id)
    assert submitted.pack.status is ContentStatus.PENDING_REVIEW, submitted.compliance
    other_draft = await content.create(theirs, topic="tax saving", variants={"en": EN})
    tokens = {
        "own": _token("advisor", me),
        "other": _token("advisor", other),
        "admin": _token("admin"),
        "officer": _token("compliance_officer"),
    }
    ids = {"draft": str(draft.id), "pending": str(pending.id), "other_draft": str(other_draft.id)}
    async with serve(create_app(container)) as url, aiohttp.ClientSession() as session:
        yield Api(
            url=url,
            session=session,
            tokens=tokens,
            me=me,
            other=other,
            ids=ids,
            database_url=database_url,
            settings=settings,
        )


@pytest.fixture
async def api(sqlite_url: str) -> AsyncIterator[Api]:
    async for served in _serve(sqlite_url):
        yield served


# -- the authorization matrix -------------------------------------------------------------------

# (method, path, body) × who → status. "own" is the advisor whose draft and pending pack these
# are, "other" another advisor; None is no token at all.
WHO = ("own", "other", "admin", "officer", None)
MATRIX: list[tuple[str, str, Any, tuple[int, int, int, int, int]]] = [
    ("GET", "/v1/content/{draft}", None, (200, 404, 200, 200, 401)),
    ("PUT", "/v1/content/{draft}", {"variants": {"en": EN}}, (200, 404, 200, 403, 401)),
    ("POST", "/v1/content/{draft}/submit", None, (200, 404, 200, 200, 401)),
    ("GET", "/v1/content/{draft}/history", None, (200, 404, 200, 200, 401)),
    ("POST", "/v1/content", {"topic": "sip", "variants": {"en": EN}}, (201, 201, 422, 422, 401)),
    (
        "POST",
        "/v1/content",
        {"topic": "sip", "variants": {"en": EN}, "advisor_id": "{me}"},
        (201, 404, 201, 201, 401),
    ),
    ("POST", "/v1/content/check", {"variants": {"en": EN}}, (200, 200, 422, 422, 401)),
    (
        "POST",
        "/v1/content/check",
        {"variants": {"en": EN}, "advisor_id": "{me}"},
        (200, 404, 200, 200, 401),
    ),
    ("GET", "/v1/content", None, (200, 200, 200, 200, 401)),
    ("GET", "/v1/content?advisor_id={me}", None, (200, 404, 200, 200, 401)),
    ("GET", "/v1/review/queue", None, (403, 403, 200, 200, 401)),
    ("POST", "/v1/review/{pending}/approve", {}, (403, 404, 200, 200, 401)),
    ("POST", "/v1/review/{pending}/reject", {"note": "no"}, (403, 404, 200, 200, 401)),
    (
        "POST",
        "/v1/review/bulk",
        {"decisions": [{"pack_id": "{pending}", "approve": True}]},
        (403, 403, 200, 200, 401),
    ),
    ("GET", "/v1/analytics/dashboard", None, (200, 200, 200, 200, 401)),
    ("GET", "/v1/analytics/dashboard?advisor_id={me}", None, (200, 404, 200, 200, 401)),
    ("GET", "/v1/audit/verify", None, (403, 403, 200, 403, 401)),
    ("GET", "/v1/audit/content/{draft}", None, (403, 403, 200, 403, 401)),
]


def _fill(value: Any, api: Api) -> Any:
    names = {**api.ids, "me": str(api.me.id)}
    if isinstance(value, str):
        for name, text in names.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, api) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, api) for v in value]
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "expected"),
    [
        pytest.param(m, p, b, who, statuses[i], id=f"{m} {p} as {who}")
        for m, p, b, statuses in MATRIX
        for i, who in enumerate(WHO)
    ],
)
async def test_every_route_answers_each_role_as_its_rules_say(
    api: Api, method: str, path: str, body: Any, who: str | None, expected: int
) -> None:
    status, doc, headers = await api.call(method, _fill(path, api), who, _fill(body, api))
    assert status == expected, doc
    assert headers["X-Request-ID"]
    if status >= 400:
        assert set(doc) == {"error", "request_id"}
        assert set(doc["error"]) == {"code", "message", "details"}
    if who is not None and status != 401:
        assert int(headers["X-RateLimit-Remaining"]) >= 0


async def test_an_advisor_lists_only_their_own_packs(api: Api) -> None:
    _, mine, _ = await api.call("GET", "/v1/content", "own")
    _, everything, _ = await api.call("GET", "/v1/content?limit=1", "admin")
    assert {p["advisor_id"] for p in mine["items"]} == {str(api.me.id)}
    assert mine["total"] == 2
    assert everything["total"] == 3
    assert len(everything["items"]) == 1


async def test_the_dashboard_counts_an_advisors_own_content_and_staff_see_everyone(
    api: Api,
) -> None:
    _, mine, _ = await api.call("GET", "/v1/analytics/dashboard", "own")
    assert mine["advisor_id"] == str(api.me.id)
    assert mine["content"]["created"] == 2
    assert mine["approval"]["submitted"] == 1
    assert mine["approval"]["pending_review"] == 1
    assert mine["deliveries"]["total"] == 0
    assert mine["sla"]["planned"] == 0
    _, everyone, _ = await api.call("GET", "/v1/analytics/dashboard", "admin")
    assert everyone["advisor_id"] is None
    assert everyone["content"]["created"] == 3


async def test_another_advisors_pack_is_not_found_whatever_the_method(api: Api) -> None:
    other = api.ids["other_draft"]
    for method, path, body in [
        ("GET", f"/v1/content/{other}", None),
        ("PUT", f"/v1/content/{other}", {"variants": {"en": EN}}),
        ("POST", f"/v1/content/{other}/submit", None),
        ("GET", f"/v1/content/{other}/history", None),
    ]:
        status, doc, _ = await api.call(method, path, "own", body)
        assert (status, doc["error"]["code"]) == (404, "not_found")
    _, pack, _ = await api.call("GET", f"/v1/content/{other}", "other")
    assert pack["status"] == "draft"  # untouched


async def test_changes_made_through_the_api_carry_the_request_id_into_the_audit_trail(
    api: Api,
) -> None:
    status, _, _ = await api.call(
        "POST",
        f"/v1/content/{api.ids['draft']}/submit",
        "own",
        headers={"X-Request-ID": "req-42"},
    )
    assert status == 200
    _, doc, _ = await api.call("GET", f"/v1/content/{api.ids['draft']}/history", "own")
    assert "req-42" in [event["request_id"] for event in doc["events"]]


# -- tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("Bearer ", "no token"),
        ("Basic dXNlcjpwYXNz", "another scheme"),
        ("Bearer not.a.jwt", "garbage"),
        ("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.", "none"),
    ],
)
async def test_a_request_without_a_valid_token_is_401(api: Api, header: str, why: str) -> None:
    status, doc, _ = await api.call("GET", "/v1/content", None, headers={"Authorization": header})
    assert status == 401, why
    assert doc["error"]["code"] == "unauthenticated"


async def test_an_expired_or_foreign_token_is_401(api: Api) -> None:
    api.tokens["expired"] = _token(
        "admin", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), ttl=dt.timedelta(minutes=5)
    )
    api.tokens["foreign"] = issue_token(
        "f" * 40, subject="x", role="admin", now=dt.datetime.now(dt.UTC)
    )
    api.tokens["ghost"] = _token("advisor", attrs.evolve(api.me, id=uuid.uuid4()))
    for who in ("expired", "foreign", "ghost"):
        status, doc, _ = await api.call("GET", "/v1/content", who)
        assert (status, doc["error"]["code"]) == (401, "unauthenticated"), who


async def test_a_suspended_advisor_account_is_refused_with_403(sqlite_url: str) -> None:
    async for api in _serve(sqlite_url):
        container = build_container(api.settings)
        try:
            catalog = await resolve(container.catalog)
            await catalog.set_status(
                api.other.id, AdvisorStatus.SUSPENDED, Actor.system(), reason="unpaid"
            )
        finally:
            await shutdown(container)
        status, doc, _ = await api.call("GET", "/v1/content", "other")
        assert (status, doc["error"]["code"]) == (403, "permission_denied")
        assert "suspended" in doc["error"]["message"]
        status, _, _ = await api.call("GET", "/v1/content", "own")
        assert status == 200


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("POST", "/v1/content", {"data": b"{not json"}, 415, "unsupported_media_type"),
        (
            "POST",
            "/v1/content",
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/v1/content",
            {"body": {"topic": "sip", "variants": {"en": EN}, "colour": "red"}},
            422,
            "validation_error",
        ),
        ("POST", "/v1/content", {"body": {"topic": "sip"}}, 422, "validation_error"),
        (
            "POST",
            "/v1/content",
            {"body": {"topic": "x" * 5000, "variants": {"en": EN}}},
            422,
            "validation_error",
        ),
        (
            "POST",
            "/v1/content",
            {"body": {"topic": "sip", "variants": {"fr": EN}}},
            422,
            "validation_error",
        ),
        (
            "POST",
            "/v1/content",
            {"body": {"topic": 42, "variants": {"en": EN}}},
            422,
            "validation_error",
        ),
        ("POST", "/v1/content", {"body": [1, 2]}, 422, "validation_error"),
        (
            "POST",
            "/v1/content",
            {"data": b"[" * 100_000, "headers": {"Content-Type": "application/json"}},
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/v1/content",
            {"data": b" " * (1 << 21), "headers": {"Content-Type": "application/json"}},
            413,
            "payload_too_large",
        ),
        ("GET", "/v1/content?status=lost", {}, 422, "validation_error"),
        ("GET", "/v1/content?limit=-1", {}, 422, "validation_error"),
        ("GET", "/v1/content?limit=99999999999999", {}, 422, "validation_error"),
        ("GET", "/v1/content?offset=abc", {}, 422, "validation_error"),
        ("GET", "/v1/content?advisor_id=12", {}, 422, "validation_error"),
        ("GET", "/v1/content/not-a-uuid", {}, 404, "not_found"),
        ("GET", f"/v1/audit/content/{uuid.UUID(int=5)}", {"who": "admin"}, 404, "not_found"),
        (
            "GET",
            "/v1/analytics/dashboard?since=2026-02-01&until=2026-01-01",
            {},
            422,
            "validation_error",
        ),
        (
            "GET",
            "/v1/analytics/dashboard?since=2026-01-01&until=2026-12-31",
            {},
            422,
            "validation_error",
        ),
        ("GET", "/v1/analytics/dashboard?since=yesterday", {}, 422, "validation_error"),
        ("DELETE", "/v1/content", {}, 405, "method_not_allowed"),
    ],
)
async def test_bad_input_is_a_4xx_json_error_and_writes_nothing(
    api: Api, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    before = await api.count_packs()
    got, doc, _ = await api.call(
        method,
        path,
        kwargs.get("who", "own"),
        kwargs.get("body"),
        data=kwargs.get("data"),
        headers=kwargs.get("headers"),
    )
    assert (got, doc["error"]["code"]) == (status, code), doc
    assert await api.count_packs() == before


async def test_a_field_error_names_the_field(api: Api) -> None:
    _, doc, _ = await api.call(
        "POST", "/v1/content", "own", {"topic": "sip", "variants": {"en": EN}, "colour": "red"}
    )
    assert doc["error"]["details"] == {"fields": {"colour": "unknown field"}}
    _, doc, _ = await api.call("GET", "/v1/content?limit=0", "own")
    assert list(doc["error"]["details"]["fields"]) == ["limit"]
    _, doc, _ = await api.call(
        "POST", "/v1/content", "own", {"topic": "sip", "variants": {"en": {**EN, "title": " "}}}
    )
    assert list(doc["error"]["details"]["fields"]) == ["variants.en.title"]


# -- rate limits --------------------------------------------------------------------------------


async def test_a_route_class_limit_refuses_with_429_and_retry_after(sqlite_url: str) -> None:
    async for api in _serve(sqlite_url, routes="content.check=2"):
        body = {"variants": {"en": EN}}
        seen = []
        for _ in range(3):
            status, doc, headers = await api.call("POST", "/v1/content/check", "own", body)
            seen.append((status, headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]))
        assert seen[:2] == [(200, "2", "1"), (200, "2", "0")]
        assert seen[2][0] == 429
        assert doc["error"]["code"] == "rate_limited"
        assert int(headers["Retry-After"]) >= 1
        # Other route classes, and other advisors, have their own windows.
        status, _, headers = await api.call("GET", "/v1/content", "own")
        assert status == 200
        assert headers["X-RateLimit-Limit"] == "1000"
        status, _, _ = await api.call("POST", "/v1/content/check", "other", body)
        assert status == 200


async def test_api_processes_share_limits_through_redis(sqlite_url: str) -> None:
    async for api in _serve(sqlite_url, routes="content.check=2", backend="redis"):
        second = create_app(build_container(api.settings))
        async with serve(second) as other_url:
            body = {"variants": {"en": EN}}
            status, _, _ = await api.call("POST", "/v1/content/check", "own", body)
            assert status == 200
            first_url, api.url = api.url, other_url
            status, _, headers = await api.call("POST", "/v1/content/check", "own", body)
            assert (status, headers["X-RateLimit-Remaining"]) == (200, "0")
            api.url = first_url
            status, _, _ = await api.call("POST", "/v1/content/check", "own", body)
            assert status == 429


# -- the OpenAPI document -----------------------------------------------------------------------


async def test_the_openapi_document_lists_exactly_the_served_routes(api: Api) -> None:
    status, doc, _ = await api.call("GET", "/openapi.json", None)
    assert status == 200
    assert doc["openapi"] == "3.1.0"
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    app = create_app(build_container(Settings(database_url="sqlite://")))
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        and route.resource.canonical != WS_PATH
    }
    assert documented == served
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert operation["responses"], (method, path)
            protected = operation["security"] != []
            assert protected == path.startswith(
                (
                    "/v1/content",
                    "/v1/review",
                    "/v1/audit",
                    "/v1/advisors",
                    "/v1/deliveries",
                    "/v1/analytics",
                )
            )
    assert set(doc["x-websocket"]) == {WS_PATH}


async def test_the_api_runs_on_postgresql_too(postgres_url: str) -> None:
    async for api in _serve(postgres_url, postgres=True):
        status, doc, _ = await api.call("GET", "/v1/content?status=draft", "admin")
        assert (status, doc["total"]) == (200, 2)
        status, _, _ = await api.call("GET", f"/v1/content/{api.ids['other_draft']}", "own")
        assert status == 404
        status, doc, _ = await api.call(
            "POST", f"/v1/review/{api.ids['pending']}/approve", "officer", {"note": "fine"}
        )
        assert (status, doc["status"]) == (200, ContentStatus.APPROVED.value)


async def test_log_lines_written_during_a_request_carry_its_request_id(sqlite_url: str) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    keep.addFilter(RequestIdFilter())
    log = logging.getLogger("projectone.test.request_log")
    log.addHandler(keep)
    log.setLevel(logging.INFO)

    async def noisy(_: web.Request) -> web.Response:
        log.info("inside")
        return web.json_response({})

    app = create_app(build_container(Settings(database_url=sqlite_url)))
    app.router.add_get("/noisy", noisy)
    try:
        async with (
            serve(app) as url,
            aiohttp.ClientSession() as session,
            session.get(f"{url}/noisy", headers={"X-Request-ID": "req-77"}) as answer,
        ):
            assert answer.headers["X-Request-ID"] == "req-77"
        log.info("outside")
    finally:
        log.removeHandler(keep)
    assert [(r.getMessage(), r.request_id) for r in records] == [  # type: ignore[attr-defined]
        ("inside", "req-77"),
        ("outside", "-"),
    ]
