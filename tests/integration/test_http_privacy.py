"""A person's data rights over HTTP: export and consents, who may use them, and a withdrawn
consent to processing (the account is blocked except for these routes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest

from projectone.container import Container, build_container, resolve, shutdown
from projectone.domain.advisor import Advisor
from projectone.domain.audit import Actor
from projectone.domain.consent import ConsentPurpose
from projectone.entrypoints.http import create_app
from projectone.settings import JwtSettings, Settings
from projectone.testing.demo_data import demo_advisors
from projectone.testing.http_client import ApiClient, advisor_token, serve, staff_token

SECRET = "p" * 40
WHO = ("own", "other", "admin", "officer", None)


@attrs.define(kw_only=True)
class Api(ApiClient):
    container: Container
    me: Advisor
    other: Advisor

    async def consents(self) -> list[tuple[str, bool]]:
        privacy = await resolve(self.container.privacy)
        records = await privacy.consents(self.me.id, actor=Actor.system())
        return [(r.purpose.value, r.active) for r in records]


@pytest.fixture
async def api(sqlite_url: str) -> AsyncIterator[Api]:
    container = build_container(Settings(database_url=sqlite_url, jwt=JwtSettings(secret=SECRET)))
    now = dt.datetime.now(dt.UTC)
    me, other = demo_advisors(2, ids=container.ids(), now=now)
    await (await resolve(container.catalog)).register([me, other])
    tokens = {
        "own": advisor_token(SECRET, me),
        "other": advisor_token(SECRET, other),
        "admin": staff_token(SECRET, "admin"),
        "officer": staff_token(SECRET, "compliance_officer"),
    }
    try:
        async with serve(create_app(container)) as url, aiohttp.ClientSession() as session:
            yield Api(
                url=url, session=session, tokens=tokens, container=container, me=me, other=other
            )
    finally:
        await shutdown(container)


MATRIX: list[tuple[str, str, Any, tuple[int, int, int, int, int]]] = [
    ("GET", "/v1/advisors/{me}/export", None, (200, 404, 200, 403, 401)),
    ("GET", "/v1/advisors/{me}/consents", None, (200, 404, 200, 200, 401)),
    ("PUT", "/v1/advisors/{me}/consents/marketing", {"channel": "web"}, (200, 404, 200, 403, 401)),
    ("DELETE", "/v1/advisors/{me}/consents/analytics", {}, (200, 404, 200, 403, 401)),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "expected"),
    [
        pytest.param(m, p, b, who, statuses[i], id=f"{m} {p} as {who}")
        for m, p, b, statuses in MATRIX
        for i, who in enumerate(WHO)
    ],
)
async def test_each_privacy_route_answers_each_role_as_its_rules_say(
    api: Api, method: str, path: str, body: Any, who: str | None, expected: int
) -> None:
    status, doc, _ = await api.call(method, path.replace("{me}", str(api.me.id)), who, body)
    assert status == expected, doc
    if status >= 400:
        assert set(doc["error"]) == {"code", "message", "details"}


async def test_an_advisor_exports_their_data_as_one_document(api: Api) -> None:
    status, doc, _ = await api.call("GET", f"/v1/advisors/{api.me.id}/export", "own")
    assert status == 200
    assert doc["format"] == "projectone.subject-export/1"
    assert doc["profile"]["email"] == api.me.email
    assert {c["purpose"] for c in doc["consents"]} == {"processing", "whatsapp_optin"}


async def test_consent_is_given_and_withdrawn_with_the_changes_said(api: Api) -> None:
    path = f"/v1/advisors/{api.me.id}/consents/marketing"
    first = await api.call("PUT", path, "own", {"channel": "web"})
    assert first[0] == 200
    assert first[1]["changed"] is True
    assert first[1]["consent"]["channel"] == "web"
    again = await api.call("PUT", path, "own")  # no body: the defaults
    assert again[1] == {"changed": False, "consent": None}
    withdrawn = await api.call("DELETE", path, "own", {"reason": "no more offers"})
    assert withdrawn[1]["consent"]["end_reason"] == "withdrawn"
    assert ("marketing", False) in await api.consents()


async def test_an_unknown_purpose_or_bad_body_is_a_clear_4xx(api: Api) -> None:
    base = f"/v1/advisors/{api.me.id}/consents"
    status, doc, _ = await api.call("PUT", f"{base}/newsletters", "own", {})
    assert (status, doc["error"]["code"]) == (404, "not_found")
    status, doc, _ = await api.call("PUT", f"{base}/marketing", "own", {"channel": "Web Form!"})
    assert (status, doc["error"]["code"]) == (422, "validation_error")
    status, doc, _ = await api.call("PUT", f"{base}/marketing", "own", {"unknown": 1})
    assert status == 422
    assert ("marketing", True) not in await api.consents()


async def test_withdrawn_processing_consent_blocks_the_account_but_not_its_rights(
    api: Api,
) -> None:
    me = api.me.id
    # The account is read (and cached) before the withdrawal: the same application must not
    # go on trusting what it read.
    status, _, _ = await api.call("GET", f"/v1/advisors/{me}", "own")
    assert status == 200
    status, _, _ = await api.call("DELETE", f"/v1/advisors/{me}/consents/processing", "own")
    assert status == 200
    status, doc, _ = await api.call("GET", f"/v1/advisors/{me}", "own")
    assert (status, doc["error"]["code"]) == (403, "permission_denied")
    assert "consent" in doc["error"]["message"]
    for method, path in (("GET", "export"), ("GET", "consents")):
        status, _, _ = await api.call(method, f"/v1/advisors/{me}/{path}", "own")
        assert status == 200, path
    status, doc, _ = await api.call("PUT", f"/v1/advisors/{me}/consents/processing", "own")
    assert doc["changed"] is True
    status, _, _ = await api.call("GET", f"/v1/advisors/{me}", "own")
    assert status == 200


async def test_a_withdrawal_made_elsewhere_reaches_a_fresh_application_at_once(api: Api) -> None:
    me = api.me.id
    privacy = await resolve(api.container.privacy)
    await privacy.withdraw_consent(
        me, ConsentPurpose.PROCESSING, actor=Actor.system(), reason="letter"
    )
    # Another process (here: the service called directly) changed it; an application that has
    # not cached the account sees it on its first request.
    async with serve(create_app(api.container)) as url:
        status, _, _ = await attrs.evolve(api, url=url).call("GET", f"/v1/advisors/{me}", "own")
        assert status == 403
