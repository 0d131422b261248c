"""/v1/advisors and /v1/deliveries over loopback: who may do what, bad input, what is written.

Served like tests/integration/test_http_api.py: aiohttp on 127.0.0.1, a real client, real HS256
JWTs, a real database (SQLite; PostgreSQL once).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest

from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.container import Container, build_container, resolve
from projectone.domain.advisor import Advisor
from projectone.domain.content import ContentPack, ContentStatus
from projectone.domain.delivery import Delivery, DeliveryStatus, Variant
from projectone.domain.send_policy import OUTCOME_UNKNOWN
from projectone.domain.timezone import IST
from projectone.entrypoints.http import create_app
from projectone.ports.unit_of_work import UnitOfWorkFactory
from projectone.settings import JwtSettings, Settings
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.http_client import ApiClient, advisor_token, serve, staff_token

SECRET = "s" * 40
#: An id nothing has (fixed, so test ids are the same in every collecting process).
UNKNOWN = uuid.UUID("00000000-0000-4000-8000-00000000dead")
WHO = ("own", "other", "admin", "officer", None)


@attrs.define(kw_only=True)
class Api(ApiClient):
    container: Container
    uow_factory: UnitOfWorkFactory
    me: Advisor
    other: Advisor
    ids: dict[str, str]
    today: dt.date

    async def state(self) -> tuple[Any, ...]:
        """Everything these routes could write: both advisors, every delivery, the audit head."""
        async with self.uow_factory() as uow:
            advisors = (await uow.advisors.get(self.me.id), await uow.advisors.get(self.other.id))
            deliveries, _ = await uow.deliveries.page(limit=200)
            head = await uow.audit.head()
        return advisors, tuple(deliveries), None if head is None else head.sequence

    async def advisor_events(self, advisor: Advisor) -> list[Any]:
        async with self.uow_factory() as uow:
            return list(await uow.audit.for_entity("advisor", str(advisor.id)))

    async def delivery(self, key: str) -> Delivery:
        async with self.uow_factory() as uow:
            return await uow.deliveries.get(uuid.UUID(self.ids[key]))

    async def add(self, *deliveries: Delivery) -> None:
        async with self.uow_factory() as uow:
            await uow.deliveries.add_many(deliveries)
            await uow.commit()


def _token(role: str, advisor: Advisor | None = None) -> str:
    return advisor_token(SECRET, advisor) if advisor else staff_token(SECRET, role)


def _planned(
    advisor: Advisor,
    pack: ContentPack,
    *,
    day: dt.date,
    scheduled_for: dt.datetime,
    variant: Variant = Variant.POST,
) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        advisor_id=advisor.id,
        pack_id=pack.id,
        date=day,
        language=next(iter(pack.variants)),
        variant=variant,
        to=advisor.whatsapp_number,
        content_hash=pack.content_hash,
        scheduled_for=scheduled_for,
        queued_at=scheduled_for - dt.timedelta(hours=1),
    )


def _failed(advisor: Advisor, pack: ContentPack, *, day: dt.date, at: dt.datetime) -> Delivery:
    """A WhatsApp delivery the provider refused (re-engagement needed: no automatic retry)."""
    planned = _planned(advisor, pack, day=day, scheduled_for=at)
    return planned.start_sending(at).mark_failed(
        "131047", "Re-engagement message", at, failure_class="reengagement_required"
    )


async def _serve(database_url: str, *, postgres: bool = False) -> AsyncIterator[Api]:
    if postgres:
        engine = create_engine(database_url)
        await upgrade(engine)
        await engine.dispose()
    container = build_container(Settings(database_url=database_url, jwt=JwtSettings(secret=SECRET)))
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(IST).date()
    me, other = demo_advisors(2, ids=container.ids(), now=now)
    mine, theirs = demo_packs([me, other], today, ids=container.ids(), now=now)
    catalog = await resolve(container.catalog)
    await catalog.register([me, other], [mine, theirs])
    uow_factory = await resolve(container.uow_factory)
    # Due in an hour: a retry is well before the SMS cutoff of its morning.
    soon = now + dt.timedelta(hours=1)
    failed = _failed(me, mine, day=today, at=soon)
    other_failed = _failed(other, theirs, day=today, at=soon)
    late = _failed(me, mine, day=today - dt.timedelta(days=1), at=now - dt.timedelta(days=1))
    sent = (
        _planned(me, mine, day=today, scheduled_for=soon, variant=Variant.STATUS)
        .start_sending(soon)
        .mark_sent("wamid.SENT", soon)
    )
    api_ids = {
        "failed": str(failed.id),
        "other_failed": str(other_failed.id),
        "late": str(late.id),
        "sent": str(sent.id),
        "me": str(me.id),
        "other": str(other.id),
    }
    async with uow_factory() as uow:
        await uow.deliveries.add_many([failed, other_failed, late, sent])
        await uow.commit()
    tokens = {
        "own": _token("advisor", me),
        "other": _token("advisor", other),
        "admin": _token("admin"),
        "officer": _token("compliance_officer"),
    }
    async with serve(create_app(container)) as url, aiohttp.ClientSession() as session:
        yield Api(
            url=url,
            session=session,
            tokens=tokens,
            container=container,
            uow_factory=uow_factory,
            me=me,
            other=other,
            ids=api_ids,
            today=today,
        )


@pytest.fixture
async def api(sqlite_url: str) -> AsyncIterator[Api]:
    async for served in _serve(sqlite_url):
        yield served


def _fill(value: Any, api: Api) -> Any:
    names = {
        **api.ids,
        "me_number": api.me.whatsapp_number,
        "today": api.today.isoformat(),
    }
    if isinstance(value, str):
        for name, text in names.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, api) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, api) for v in value]
    return value


# -- the authorization matrix -------------------------------------------------------------------

# (method, path, body) × (own advisor, another advisor, admin, compliance officer, no token).
MATRIX: list[tuple[str, str, Any, tuple[int, int, int, int, int]]] = [
    ("GET", "/v1/advisors/{me}", None, (200, 404, 200, 200, 401)),
    (
        "PATCH",
        "/v1/advisors/{me}/preferences",
        {"send_time": "07:15"},
        (200, 404, 200, 403, 401),
    ),
    ("GET", "/v1/advisors/{me}/whatsapp", None, (200, 404, 200, 200, 401)),
    (
        "PUT",
        "/v1/advisors/{me}/whatsapp",
        {"number": "{me_number}", "opted_in": False},
        (200, 404, 200, 403, 401),
    ),
    ("GET", "/v1/deliveries", None, (200, 200, 200, 200, 401)),
    ("GET", "/v1/deliveries?advisor_id={me}", None, (200, 404, 200, 200, 401)),
    ("GET", "/v1/deliveries/{failed}", None, (200, 404, 200, 200, 401)),
    ("POST", "/v1/deliveries/{failed}/retry", None, (200, 404, 200, 200, 401)),
    ("POST", "/v1/deliveries/schedule", {"date": "{today}"}, (403, 403, 200, 200, 401)),
]


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
    before = await api.state()
    status, doc, headers = await api.call(method, _fill(path, api), who, _fill(body, api))
    assert status == expected, doc
    assert headers["X-Request-ID"]
    if status >= 400:
        assert set(doc) == {"error", "request_id"}
        assert set(doc["error"]) == {"code", "message", "details"}
        assert await api.state() == before  # a refused request writes nothing
    if who is not None and status != 401:
        assert int(headers["X-RateLimit-Remaining"]) >= 0


async def test_another_advisors_things_are_not_found_whatever_the_route(api: Api) -> None:
    other, theirs = api.ids["other"], api.ids["other_failed"]
    before = await api.state()
    for method, path, body in [
        ("GET", f"/v1/advisors/{other}", None),
        ("PATCH", f"/v1/advisors/{other}/preferences", {"languages": ["en"]}),
        ("GET", f"/v1/advisors/{other}/whatsapp", None),
        ("PUT", f"/v1/advisors/{other}/whatsapp", {"number": "+919999999999", "opted_in": True}),
        ("GET", f"/v1/deliveries/{theirs}", None),
        ("POST", f"/v1/deliveries/{theirs}/retry", None),
        ("GET", f"/v1/deliveries?advisor_id={other}", None),
    ]:
        status, doc, _ = await api.call(method, path, "own", body)
        assert (status, doc["error"]["code"]) == (404, "not_found"), (method, path)
    assert await api.state() == before


# -- advisors -----------------------------------------------------------------------------------


async def test_personal_data_is_shown_to_the_advisor_and_admins_and_masked_for_officers(
    api: Api,
) -> None:
    path = f"/v1/advisors/{api.me.id}"
    _, mine, _ = await api.call("GET", path, "own")
    _, admin, _ = await api.call("GET", path, "admin")
    _, officer, _ = await api.call("GET", path, "officer")
    assert mine == admin
    assert (mine["email"], mine["whatsapp_number"], mine["masked"]) == (
        api.me.email,
        api.me.whatsapp_number,
        False,
    )
    number = api.me.whatsapp_number
    assert officer["whatsapp_number"] == number[:3] + "•" * (len(number) - 7) + number[-4:]
    assert officer["email"] == f"{api.me.email[0]}•••@example.in"
    assert officer["masked"] is True
    assert {
        k: v for k, v in officer.items() if k not in ("email", "whatsapp_number", "masked")
    } == {k: v for k, v in mine.items() if k not in ("email", "whatsapp_number", "masked")}
    assert mine["id"] == str(api.me.id)
    assert mine["languages"] == [lang.value for lang in api.me.languages]
    assert mine["send_time"] == api.me.send_time.strftime("%H:%M")
    assert mine["receives_whatsapp"] is mine["whatsapp_opt_in"] is True
    _, whatsapp, _ = await api.call("GET", f"{path}/whatsapp", "officer")
    assert whatsapp["number"] == officer["whatsapp_number"]
    assert (whatsapp["opted_in"], whatsapp["receives"], whatsapp["masked"]) == (True, True, True)


async def test_preferences_change_what_is_sent_and_are_audited_with_the_request_id(
    api: Api,
) -> None:
    path = f"/v1/advisors/{api.me.id}/preferences"
    before = await api.advisor_events(api.me)
    status, doc, _ = await api.call(
        "PATCH",
        path,
        "own",
        {"languages": ["mr", "en"], "send_time": "07:15"},
        headers={"X-Request-ID": "req-prefs-1"},
    )
    assert status == 200, doc
    assert (doc["languages"], doc["send_time"]) == (["mr", "en"], "07:15")
    _, again, _ = await api.call("GET", f"/v1/advisors/{api.me.id}", "own")
    assert again == doc
    events = (await api.advisor_events(api.me))[len(before) :]
    assert [(e.action, e.request_id) for e in events] == [("change_preferences", "req-prefs-1")]
    assert events[0].actor.id == f"advisor:{api.me.id}"
    assert events[0].new_values is not None
    assert events[0].new_values["send_time"] == "07:15:00"
    # Only what is sent changes; the same values again change (and record) nothing.
    status, doc, _ = await api.call("PATCH", path, "admin", {"send_time": "07:15"})
    assert (status, doc["languages"]) == (200, ["mr", "en"])
    assert len(await api.advisor_events(api.me)) == len(before) + 1


async def test_opting_out_stops_planning_and_opting_in_again_stamps_a_new_consent(
    api: Api,
) -> None:
    path = f"/v1/advisors/{api.me.id}/whatsapp"
    number = api.me.whatsapp_number
    status, doc, _ = await api.call("PUT", path, "own", {"number": number, "opted_in": False})
    assert status == 200, doc
    assert (doc["opted_in"], doc["opted_in_at"], doc["receives"]) == (False, None, False)

    tomorrow = api.today + dt.timedelta(days=1)
    packs = demo_packs([api.me, api.other], tomorrow, ids=api.container.ids(), now=_now())
    async with api.uow_factory() as uow:
        await uow.content.add_many(packs)
        await uow.commit()
    status, plan, _ = await api.call(
        "POST", "/v1/deliveries/schedule", "admin", {"date": tomorrow.isoformat()}
    )
    assert status == 200, plan
    assert (plan["planned"], plan["already_planned"], plan["without_content"]) == (1, 0, [])
    _, page, _ = await api.call("GET", f"/v1/deliveries?date={tomorrow}", "admin")
    assert [d["advisor_id"] for d in page["items"]] == [str(api.other.id)]

    started = _now()
    status, doc, _ = await api.call("PUT", path, "admin", {"number": number, "opted_in": True})
    assert (status, doc["opted_in"], doc["receives"]) == (200, True, True)
    assert dt.datetime.fromisoformat(doc["opted_in_at"]) >= started
    # Staying opted in keeps the consent on record; a new number needs (and records) a new one.
    _, same, _ = await api.call("PUT", path, "own", {"number": number, "opted_in": True})
    assert same["opted_in_at"] == doc["opted_in_at"]
    _, moved, _ = await api.call("PUT", path, "own", {"number": "+919812345678", "opted_in": True})
    assert moved["number"] == "+919812345678"
    assert moved["opted_in_at"] > doc["opted_in_at"]
    events = [e for e in await api.advisor_events(api.me) if e.action == "change_whatsapp"]
    assert len(events) == 3
    assert "whatsapp_number" in events[-1].changed_fields
    assert "+919812345678" not in json.dumps([e.new_values for e in events])
    assert number not in json.dumps([e.old_values for e in events])


async def test_another_advisors_number_is_a_conflict_and_writes_nothing(api: Api) -> None:
    before = await api.state()
    status, doc, _ = await api.call(
        "PUT",
        f"/v1/advisors/{api.me.id}/whatsapp",
        "own",
        {"number": api.other.whatsapp_number, "opted_in": True},
    )
    assert (status, doc["error"]["code"]) == (409, "conflict")
    assert "another advisor" in doc["error"]["message"]
    assert await api.state() == before


# -- deliveries ---------------------------------------------------------------------------------


async def test_an_advisor_lists_only_their_own_deliveries_with_filters_and_pages(api: Api) -> None:
    _, mine, _ = await api.call("GET", "/v1/deliveries", "own")
    assert {d["advisor_id"] for d in mine["items"]} == {str(api.me.id)}
    assert mine["total"] == 3
    _, everything, _ = await api.call("GET", "/v1/deliveries?limit=1&offset=1", "admin")
    assert (everything["total"], len(everything["items"]), everything["limit"]) == (4, 1, 1)
    _, failed, _ = await api.call("GET", f"/v1/deliveries?status=failed&date={api.today}", "own")
    assert [d["id"] for d in failed["items"]] == [api.ids["failed"]]
    _, statuses, _ = await api.call("GET", "/v1/deliveries?variant=status", "admin")
    assert [d["id"] for d in statuses["items"]] == [api.ids["sent"]]
    _, texts, _ = await api.call("GET", "/v1/deliveries?channel=sms", "admin")
    assert texts["total"] == 0
    _, theirs, _ = await api.call("GET", f"/v1/deliveries?advisor_id={api.other.id}", "officer")
    assert [d["id"] for d in theirs["items"]] == [api.ids["other_failed"]]
    assert theirs["items"][0]["masked"] is True
    assert theirs["items"][0]["to"].endswith(api.other.whatsapp_number[-4:])
    assert api.other.whatsapp_number not in json.dumps(theirs)


async def test_a_delivery_shows_its_state_error_and_sla(api: Api) -> None:
    status, doc, _ = await api.call("GET", f"/v1/deliveries/{api.ids['late']}", "own")
    assert status == 200
    assert (doc["status"], doc["error_code"], doc["failure_class"], doc["sla"]) == (
        "failed",
        "131047",
        "reengagement_required",
        "missed",
    )
    assert (doc["channel"], doc["variant"], doc["to"], doc["masked"]) == (
        "whatsapp",
        "post",
        api.me.whatsapp_number,
        False,
    )
    assert doc["date"] == (api.today - dt.timedelta(days=1)).isoformat()


async def test_a_retry_queues_a_failed_delivery_again_as_a_fresh_attempt(api: Api) -> None:
    started = _now()
    status, doc, _ = await api.call("POST", f"/v1/deliveries/{api.ids['failed']}/retry", "own")
    assert status == 200, doc
    assert (doc["status"], doc["provider_message_id"], doc["failed_at"], doc["attempts"]) == (
        "queued",
        None,
        None,
        1,
    )
    assert doc["error_code"] == "131047"  # the last error stays on record
    stored = await api.delivery("failed")
    assert stored.status is DeliveryStatus.QUEUED
    assert started <= stored.next_attempt_at <= _now()
    # Queued now: a second retry has nothing to retry.
    status, doc, _ = await api.call("POST", f"/v1/deliveries/{api.ids['failed']}/retry", "admin")
    assert (status, doc["error"]["code"]) == (409, "invalid_transition")


async def test_a_retry_that_cannot_help_is_refused_with_why_and_writes_nothing(api: Api) -> None:
    failed = await api.delivery("failed")
    cases = [("late", "too late"), ("sent", "only a failed or expired")]
    for key, why in cases:
        before = await api.state()
        status, doc, _ = await api.call("POST", f"/v1/deliveries/{api.ids[key]}/retry", "admin")
        assert (status, doc["error"]["code"]) == (409, "invalid_transition"), key
        assert why in doc["error"]["message"]
        assert await api.state() == before

    # The SMS backup already carries it: WhatsApp again would send the post twice.
    backup = failed.sms_backup(id=uuid.uuid4(), now=_now())
    await api.add(backup)
    before = await api.state()
    status, doc, _ = await api.call("POST", f"/v1/deliveries/{api.ids['failed']}/retry", "own")
    assert (status, "SMS backup" in doc["error"]["message"]) == (409, True)
    status, doc, _ = await api.call("POST", f"/v1/deliveries/{backup.id}/retry", "own")
    assert (status, "only a WhatsApp" in doc["error"]["message"]) == (409, True)
    assert await api.state() == before

    # An advisor who opted out is not messaged again.
    other = api.ids["other_failed"]
    number = api.other.whatsapp_number
    await api.call(
        "PUT",
        f"/v1/advisors/{api.other.id}/whatsapp",
        "other",
        {"number": number, "opted_in": False},
    )
    before = await api.state()
    status, doc, _ = await api.call("POST", f"/v1/deliveries/{other}/retry", "other")
    assert (status, "opted out" in doc["error"]["message"]) == (409, True)
    assert await api.state() == before


async def test_a_retry_never_risks_a_duplicate_nor_sends_what_is_no_longer_approved(
    api: Api,
) -> None:
    failed = await api.delivery("failed")
    async with api.uow_factory() as uow:
        pack = await uow.content.get(failed.pack_id)
    # Its outcome unknown, the message may have reached the advisor already.
    at = failed.scheduled_for
    unknown = (
        _planned(api.me, pack, day=api.today + dt.timedelta(days=1), scheduled_for=at)
        .start_sending(at)
        .expire(at, code=OUTCOME_UNKNOWN, message="no answer, no receipt")
    )
    await api.add(unknown)
    before = await api.state()
    status, doc, _ = await api.call("POST", f"/v1/deliveries/{unknown.id}/retry", "admin")
    assert (status, "outcome is unknown" in doc["error"]["message"]) == (409, True)
    assert await api.state() == before
    # A pack archived since planning is not what may be sent any more.
    async with api.uow_factory() as uow:
        await uow.content.update_statuses([attrs.evolve(pack, status=ContentStatus.ARCHIVED)])
        await uow.commit()
    before = await api.state()
    status, doc, _ = await api.call("POST", f"/v1/deliveries/{failed.id}/retry", "own")
    assert (status, "withdrawn" in doc["error"]["message"]) == (409, True)
    assert await api.state() == before


async def test_scheduling_plans_a_morning_once(api: Api) -> None:
    tomorrow = (api.today + dt.timedelta(days=1)).isoformat()
    status, first, _ = await api.call(
        "POST", "/v1/deliveries/schedule", "officer", {"date": tomorrow}
    )
    assert status == 200, first
    # Nothing approved for tomorrow and no fallback library: both advisors go without.
    assert (first["date"], first["planned"], first["total"]) == (tomorrow, 0, 0)
    assert sorted(first["without_content"]) == sorted([str(api.me.id), str(api.other.id)])
    _, today, _ = await api.call(
        "POST", "/v1/deliveries/schedule", "admin", {"date": api.today.isoformat()}
    )
    assert (today["planned"], today["already_planned"], today["total"]) == (0, 2, 2)


# -- bad input ----------------------------------------------------------------------------------

_PREFS = "/v1/advisors/{me}/preferences"
_WHATSAPP = "/v1/advisors/{me}/whatsapp"
_SCHEDULE = "/v1/deliveries/schedule"


@pytest.mark.parametrize(
    ("method", "path", "who", "kwargs", "status", "fields"),
    [
        ("GET", "/v1/advisors/not-a-uuid", "admin", {}, 404, None),
        ("GET", f"/v1/advisors/{UNKNOWN}", "admin", {}, 404, None),
        ("GET", f"/v1/advisors/{UNKNOWN}/whatsapp", "admin", {}, 404, None),
        (
            "PATCH",
            "/v1/advisors/12/preferences",
            "admin",
            {"body": {"send_time": "07:00"}},
            404,
            None,
        ),
        (
            "PUT",
            f"/v1/advisors/{UNKNOWN}/whatsapp",
            "admin",
            {"body": {"number": "+919812345678", "opted_in": True}},
            404,
            None,
        ),
        ("GET", "/v1/deliveries/not-a-uuid", "admin", {}, 404, None),
        ("GET", f"/v1/deliveries/{UNKNOWN}", "admin", {}, 404, None),
        ("POST", "/v1/deliveries/nope/retry", "admin", {}, 404, None),
        ("POST", f"/v1/deliveries/{UNKNOWN}/retry", "admin", {}, 404, None),
        ("GET", "/v1/deliveries?status=lost", "own", {}, 422, ["status"]),
        ("GET", "/v1/deliveries?channel=fax", "own", {}, 422, ["channel"]),
        ("GET", "/v1/deliveries?variant=story", "own", {}, 422, ["variant"]),
        ("GET", "/v1/deliveries?date=2025-13-01", "own", {}, 422, ["date"]),
        ("GET", "/v1/deliveries?date=20250101", "own", {}, 422, ["date"]),
        ("GET", "/v1/deliveries?limit=0", "own", {}, 422, ["limit"]),
        ("GET", "/v1/deliveries?limit=201", "own", {}, 422, ["limit"]),
        ("GET", "/v1/deliveries?offset=-1", "own", {}, 422, ["offset"]),
        ("GET", "/v1/deliveries?advisor_id=12", "admin", {}, 422, ["advisor_id"]),
        ("PATCH", _PREFS, "own", {"body": {"colour": "red"}}, 422, ["colour"]),
        ("PATCH", _PREFS, "own", {"body": {}}, 422, ["preferences"]),
        ("PATCH", _PREFS, "own", {"body": {"send_time": "7am"}}, 422, ["send_time"]),
        ("PATCH", _PREFS, "own", {"body": {"send_time": "24:00"}}, 422, ["send_time"]),
        ("PATCH", _PREFS, "own", {"body": {"send_time": None}}, 422, ["send_time"]),
        ("PATCH", _PREFS, "own", {"body": {"send_time": 700}}, 422, ["send_time"]),
        ("PATCH", _PREFS, "own", {"body": {"languages": ["fr"]}}, 422, None),
        ("PATCH", _PREFS, "own", {"body": {"languages": []}}, 422, ["languages"]),
        ("PATCH", _PREFS, "own", {"body": {"languages": ["en", "en"]}}, 422, ["languages"]),
        ("PATCH", _PREFS, "own", {"body": {"languages": "en"}}, 422, None),
        ("PATCH", _PREFS, "own", {"body": {"languages": None}}, 422, None),
        ("PATCH", _PREFS, "own", {"body": [1]}, 422, None),
        ("PATCH", _PREFS, "own", {"data": b"{"}, 415, None),
        (
            "PATCH",
            _PREFS,
            "own",
            {"data": b"{", "headers": {"Content-Type": "application/json"}},
            400,
            None,
        ),
        (
            "PUT",
            _WHATSAPP,
            "own",
            {"body": {"number": "98765 43210", "opted_in": True}},
            422,
            ["number"],
        ),
        ("PUT", _WHATSAPP, "own", {"body": {"number": "+919812345678"}}, 422, ["opted_in"]),
        (
            "PUT",
            _WHATSAPP,
            "own",
            {"body": {"number": "+919812345678", "opted_in": "yes"}},
            422,
            ["opted_in"],
        ),
        (
            "PUT",
            _WHATSAPP,
            "own",
            {"body": {"number": 919812345678, "opted_in": True}},
            422,
            ["number"],
        ),
        (
            "PUT",
            _WHATSAPP,
            "own",
            {"body": {"number": "+919812345678", "opted_in": True, "waba": 1}},
            422,
            ["waba"],
        ),
        ("POST", _SCHEDULE, "admin", {"body": {}}, 422, ["date"]),
        ("POST", _SCHEDULE, "admin", {"body": {"date": "tomorrow"}}, 422, ["date"]),
        ("POST", _SCHEDULE, "admin", {"body": {"date": "2020-01-01"}}, 422, ["date"]),
        ("POST", _SCHEDULE, "admin", {"body": {"date": "2999-01-01"}}, 422, ["date"]),
        ("POST", _SCHEDULE, "admin", {"body": {"date": "{today}", "force": True}}, 422, ["force"]),
        ("DELETE", "/v1/deliveries", "admin", {}, 405, None),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_bad_input_is_a_4xx_json_error_naming_the_field_and_writes_nothing(
    api: Api,
    method: str,
    path: str,
    who: str,
    kwargs: dict[str, Any],
    status: int,
    fields: list[str] | None,
) -> None:
    before = await api.state()
    got, doc, _ = await api.call(
        method,
        _fill(path, api),
        who,
        _fill(kwargs.get("body"), api),
        data=kwargs.get("data"),
        headers=kwargs.get("headers"),
    )
    assert got == status, doc
    assert set(doc) == {"error", "request_id"}
    if status == 404:
        assert doc["error"]["code"] == "not_found"
    if status == 422:
        assert doc["error"]["code"] == "validation_error"
    if fields is not None:
        assert sorted(doc["error"]["details"]["fields"]) == fields
    assert await api.state() == before


# -- the OpenAPI document -----------------------------------------------------------------------


async def test_every_new_route_is_documented_with_its_body_query_and_answer(api: Api) -> None:
    _, doc, _ = await api.call("GET", "/openapi.json", None)
    paths = doc["paths"]
    expected = {
        ("/v1/advisors/{advisor_id}", "get"),
        ("/v1/advisors/{advisor_id}/preferences", "patch"),
        ("/v1/advisors/{advisor_id}/whatsapp", "get"),
        ("/v1/advisors/{advisor_id}/whatsapp", "put"),
        ("/v1/deliveries", "get"),
        ("/v1/deliveries/schedule", "post"),
        ("/v1/deliveries/{delivery_id}", "get"),
        ("/v1/deliveries/{delivery_id}/retry", "post"),
    }
    for path, method in expected:
        operation = paths[path][method]
        assert operation["summary"], (method, path)
        assert operation["security"] == [{"bearerAuth": []}]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer["type"] == "object", (method, path)
        assert answer["properties"], (method, path)
        assert {"401", "429"} <= set(operation["responses"])
    for path, method in [
        ("/v1/advisors/{advisor_id}/preferences", "patch"),
        ("/v1/advisors/{advisor_id}/whatsapp", "put"),
        ("/v1/deliveries/schedule", "post"),
    ]:
        body = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert body["additionalProperties"] is False
    schedule = paths["/v1/deliveries/schedule"]["post"]["requestBody"]["content"]
    assert schedule["application/json"]["schema"]["required"] == ["date"]
    listing = {p["name"] for p in paths["/v1/deliveries"]["get"]["parameters"]}
    assert listing == {"advisor_id", "date", "status", "channel", "variant", "limit", "offset"}
    assert "403" in paths["/v1/deliveries/schedule"]["post"]["responses"]
    assert "409" in paths["/v1/deliveries/{delivery_id}/retry"]["post"]["responses"]


# -- PostgreSQL ---------------------------------------------------------------------------------


async def test_the_routes_run_on_postgresql_too(postgres_url: str) -> None:
    async for api in _serve(postgres_url, postgres=True):
        status, doc, _ = await api.call(
            "GET", f"/v1/deliveries?advisor_id={api.me.id}&status=failed", "officer"
        )
        assert (status, doc["total"]) == (200, 2)
        status, doc, _ = await api.call("POST", f"/v1/deliveries/{api.ids['failed']}/retry", "own")
        assert (status, doc["status"]) == (200, "queued")
        status, doc, _ = await api.call(
            "PATCH", f"/v1/advisors/{api.me.id}/preferences", "admin", {"languages": ["hi"]}
        )
        assert (status, doc["languages"]) == (200, ["hi"])
        before = await api.state()
        status, doc, _ = await api.call(
            "PUT",
            f"/v1/advisors/{api.me.id}/whatsapp",
            "own",
            {"number": api.other.whatsapp_number, "opted_in": True},
        )
        assert (status, doc["error"]["code"]) == (409, "conflict")
        assert await api.state() == before
        status, doc, _ = await api.call(
            "POST", "/v1/deliveries/schedule", "admin", {"date": api.today.isoformat()}
        )
        assert (status, doc["already_planned"]) == (200, 2)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
