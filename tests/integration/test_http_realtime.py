"""/v1/ws over loopback: authentication, what each principal is pushed, and how it ends.

The application is served on 127.0.0.1 and reached with aiohttp's WebSocket client and real
HS256 JWTs. Changes are written through a second container with its own engine, as another
API process or a delivery worker would: the socket learns of them from the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from dependency_injector import providers

from projectone.adapters.jwt_auth import issue_token
from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.container import Container, build_container, resolve, shutdown
from projectone.domain.access import Principal
from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.audit import Actor, Role
from projectone.domain.consent import ConsentPurpose
from projectone.domain.content import ContentPack, ContentStatus
from projectone.domain.delivery import Delivery
from projectone.domain.errors import UnavailableError
from projectone.domain.language import Language
from projectone.domain.timezone import IST
from projectone.entrypoints.http import CONTAINER, create_app
from projectone.entrypoints.http.realtime import (
    CLOSE_FORBIDDEN,
    REALTIME,
    WEBSOCKET_DESCRIPTION,
    WS_PATH,
    add_realtime_routes,
)
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from projectone.settings import JwtSettings, Settings, WorkflowSettings
from projectone.testing.demo_data import demo_advisors, demo_packs

SECRET = "r" * 40
# A guard against a hang, not a timing assertion: every awaited message comes within a poll.
WAIT = 15.0


class Outage:
    """The served process's unit of work factory, which the test can break."""

    def __init__(self, real: UnitOfWorkFactory) -> None:
        self.real = real
        self.down = False

    def __call__(self) -> UnitOfWork:
        if self.down:
            raise UnavailableError("database", "connection refused (test outage)")
        return self.real()


@attrs.define
class Live:
    base: str
    session: aiohttp.ClientSession
    app: web.Application
    runner: web.AppRunner
    writer: Container
    outage: Outage
    me: Advisor
    other: Advisor
    mine: ContentPack
    theirs: ContentPack
    stopped: bool = False

    def token(self, role: str, advisor: Advisor | None = None, **extra: Any) -> str:
        return issue_token(
            SECRET,
            subject=f"user-{role}-{advisor.id if advisor else 'staff'}",
            role=role,
            advisor_id=None if advisor is None else advisor.id,
            now=extra.pop("now", dt.datetime.now(dt.UTC)),
            **extra,
        )

    async def connect(self, query: str = "") -> aiohttp.ClientWebSocketResponse:
        return await self.session.ws_connect(f"{self.base}{WS_PATH}{query}")

    async def ready(self, who: Advisor | None, query: str = "") -> aiohttp.ClientWebSocketResponse:
        token = self.token("advisor" if who else "admin", who)
        sep = "&" if query else "?"
        ws = await self.connect(f"{query}{sep}token={token}")
        first = await message(ws)
        assert first["type"] == "ready", first
        return ws

    async def submit(self, advisor: Advisor, pack: ContentPack) -> None:
        content = await resolve(self.writer.content_api)
        principal = Principal(subject="writer", role=Role.ADVISOR, advisor_id=advisor.id)
        result = await content.submit(principal, pack.id)
        assert result.pack.status is ContentStatus.PENDING_REVIEW, result.compliance

    async def plan(self, advisor: Advisor, pack: ContentPack) -> Delivery:
        """A delivery for today (India) written by the other process."""
        ids = self.writer.ids()
        delivery = Delivery.plan(
            id=ids.new_id(),
            advisor_id=advisor.id,
            pack_id=pack.id,
            date=dt.datetime.now(IST).date(),
            send_time=dt.time(6, 0),
            language=Language.EN,
            to=advisor.whatsapp_number,
            content_hash=pack.content_hash,
            now=dt.datetime.now(dt.UTC),
        )
        uow_factory = await resolve(self.writer.uow_factory)
        async with uow_factory() as uow:
            await uow.deliveries.add(delivery)
            await uow.commit()
        return delivery

    async def send(self, delivery: Delivery, message_id: str) -> Delivery:
        """The delivery worker's claim and send, written by the other process."""
        now = dt.datetime.now(dt.UTC)
        sent = delivery.start_sending(now).mark_sent(message_id, now)
        uow_factory = await resolve(self.writer.uow_factory)
        async with uow_factory() as uow:
            await uow.deliveries.update(sent)
            await uow.commit()
        return sent


async def message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type is aiohttp.WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    doc: dict[str, Any] = json.loads(msg.data)
    return doc


async def until(
    ws: aiohttp.ClientWebSocketResponse, *wanted: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Every message up to the one after which each of ``wanted`` has matched one."""
    seen: list[dict[str, Any]] = []
    pending = list(wanted)
    while pending:
        doc = await message(ws)
        seen.append(doc)
        pending = [w for w in pending if not w(doc)]
    return seen


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type is aiohttp.WSMsgType.CLOSE, (msg.type, msg.data)
    return int(msg.data), str(msg.extra)


def content_of(pack: ContentPack, status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: (
        m["type"] == "content.status" and m["pack_id"] == str(pack.id) and m["status"] == status
    )


def delivery_of(delivery: Delivery, status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: (
        m["type"] == "delivery.status"
        and m["delivery_id"] == str(delivery.id)
        and m["status"] == status
    )


def mentions(messages: list[dict[str, Any]], *things: object) -> bool:
    text = json.dumps(messages)
    return any(str(thing) in text for thing in things)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def live(request: pytest.FixtureRequest) -> AsyncIterator[Live]:
    url = request.getfixturevalue(f"{request.param}_url")
    if request.param == "postgres":
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
    settings = Settings(
        database_url=url,
        jwt=JwtSettings(secret=SECRET, leeway_seconds=0),
        # Submitted packs wait for a reviewer: their status is predictable.
        workflow=WorkflowSettings(
            auto_approve_basic=-1, auto_approve_standard=-1, auto_approve_pro=-1
        ),
    )
    container = build_container(settings)
    now = dt.datetime.now(dt.UTC)
    me, other = demo_advisors(2, ids=container.ids(), now=now)
    catalog = await resolve(container.catalog)
    await catalog.register([me, other])
    content = await resolve(container.content_api)
    good = demo_packs([me], now.date(), ids=container.ids(), now=now)[0].variants
    mine = await content.create(
        Principal(subject="me", role=Role.ADVISOR, advisor_id=me.id), topic="sip", variants=good
    )
    theirs_good = demo_packs([other], now.date(), ids=container.ids(), now=now)[0].variants
    theirs = await content.create(
        Principal(subject="them", role=Role.ADVISOR, advisor_id=other.id),
        topic="tax",
        variants=theirs_good,
    )
    real = await resolve(container.uow_factory)
    outage = Outage(real)
    container.uow_factory.override(providers.Object(outage))
    app = create_app(container)
    add_realtime_routes(app, CONTAINER, interval=0.05, auth_timeout=0.5, max_connections=3)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    writer = build_container(settings)
    try:
        async with aiohttp.ClientSession() as session:
            served = Live(
                f"http://127.0.0.1:{port}",
                session,
                app,
                runner,
                writer,
                outage,
                me,
                other,
                mine,
                theirs,
            )
            yield served
    finally:
        await shutdown(writer)
        if not served.stopped:
            await runner.cleanup()


# -- authentication ----------------------------------------------------------------------------


async def test_a_token_in_the_url_authenticates(live: Live) -> None:
    ws = await live.connect(f"?token={live.token('advisor', live.me)}")
    ready = await message(ws)
    assert ready["type"] == "ready"
    assert ready["advisor_id"] == str(live.me.id)
    assert isinstance(ready["sequence"], int)
    assert ready["sequence"] >= 2
    await ws.close()


async def test_a_first_auth_message_authenticates(live: Live) -> None:
    ws = await live.connect()
    await ws.send_json({"type": "auth", "token": live.token("admin")})
    ready = await message(ws)
    assert ready == {"type": "ready", "advisor_id": None, "sequence": ready["sequence"]}
    await ws.close()


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("garbage in the url", "bearer token"),
        ("expired in the url", "bearer token"),
        ("garbage as a message", "bearer token"),
        ("no auth message", "within"),
        ("another first message", "auth"),
        ("a binary first message", "auth"),
    ],
)
async def test_without_a_valid_token_the_socket_closes_with_4401(
    live: Live, how: str, reason: str
) -> None:
    expired = live.token("advisor", live.me, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    query = {"garbage in the url": "?token=not.a.jwt", "expired in the url": f"?token={expired}"}
    ws = await live.connect(query.get(how, ""))
    if how == "garbage as a message":
        await ws.send_json({"type": "auth", "token": "not.a.jwt"})
    elif how == "another first message":
        await ws.send_json({"type": "subscribe"})
    elif how == "a binary first message":
        await ws.send_bytes(b"\x00")
    code, text = await closed_with(ws)
    assert code == 4401
    assert reason in text


async def test_a_token_that_expires_closes_the_socket_with_4401(live: Live) -> None:
    # Valid for about two more seconds (no leeway here): the next poll after that closes.
    now = dt.datetime.now(dt.UTC)
    token = live.token("advisor", live.me, now=now - dt.timedelta(minutes=15, seconds=-2))
    ws = await live.connect(f"?token={token}")
    assert (await message(ws))["type"] == "ready"
    code, text = await closed_with(ws)
    assert (code, "expired" in text) == (4401, True)


async def test_a_plain_get_is_told_to_upgrade(live: Live) -> None:
    async with live.session.get(f"{live.base}{WS_PATH}") as response:
        assert response.status == 426
        assert (await response.json())["error"]["code"] == "upgrade_required"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?advisor_id={other}", 4404),
        ("?advisor_id=not-a-uuid", 4400),
        ("?after=-1", 4400),
    ],
)
async def test_bad_query_parameters_close_the_socket(live: Live, query: str, code: int) -> None:
    token = live.token("advisor", live.me)
    filled = query.replace("{other}", str(live.other.id))
    ws = await live.connect(f"{filled}&token={token}")
    assert (await closed_with(ws))[0] == code


async def test_one_principal_may_hold_a_bounded_number_of_sockets(live: Live) -> None:
    open_ = [await live.ready(live.me) for _ in range(3)]
    ws = await live.connect(f"?token={live.token('advisor', live.me)}")
    assert (await closed_with(ws))[0] == 4429
    other = await live.ready(live.other)  # another principal is not affected
    for socket in (*open_, other):
        await socket.close()


# -- what is pushed, to whom -------------------------------------------------------------------


async def test_an_advisor_receives_their_own_changes_and_never_another_advisors(
    live: Live,
) -> None:
    ws = await live.ready(live.me)
    # Everything of the other advisor is written first: had it leaked, it would arrive
    # before (or with) the advisor's own changes.
    await live.submit(live.other, live.theirs)
    their_delivery = await live.send(await live.plan(live.other, live.theirs), "wamid.them")
    own = await live.plan(live.me, live.mine)
    await live.submit(live.me, live.mine)
    sent = await live.send(own, "wamid.me")
    seen = await until(ws, content_of(live.mine, "pending_review"), delivery_of(sent, "sent"))
    assert not mentions(seen, live.other.id, live.theirs.id, their_delivery.id)
    change = next(m for m in seen if content_of(live.mine, "pending_review")(m))
    assert change["advisor_id"] == str(live.me.id)
    assert change["version"] == 1
    assert change["action"] == "submit"
    assert isinstance(change["sequence"], int)
    delivered = next(m for m in seen if delivery_of(sent, "sent")(m))
    assert delivered == {
        "type": "delivery.status",
        "delivery_id": str(sent.id),
        "advisor_id": str(live.me.id),
        "pack_id": str(live.mine.id),
        "date": sent.date.isoformat(),
        "channel": "whatsapp",
        "variant": "post",
        "status": "sent",
        "at": delivered["at"],
        "error_code": None,
    }
    assert dt.datetime.fromisoformat(delivered["at"]) == sent.sent_at
    await ws.close()


async def test_staff_receive_every_advisors_changes(live: Live) -> None:
    ws = await live.ready(None)
    await live.submit(live.me, live.mine)
    theirs = await live.plan(live.other, live.theirs)
    await until(ws, content_of(live.mine, "pending_review"), delivery_of(theirs, "queued"))
    await ws.close()


async def test_staff_may_follow_one_advisor(live: Live) -> None:
    ws = await live.ready(None, f"?advisor_id={live.other.id}")
    await live.submit(live.me, live.mine)
    mine = await live.plan(live.me, live.mine)
    await live.submit(live.other, live.theirs)
    seen = await until(ws, content_of(live.theirs, "pending_review"))
    assert not mentions(seen, live.mine.id, mine.id)
    await ws.close()


async def test_a_client_resumes_after_the_last_sequence_it_saw(live: Live) -> None:
    # From the start of the chain: the draft's creation is replayed, at its current status.
    ws = await live.ready(live.me, "?after=0")
    seen = await until(ws, content_of(live.mine, "draft"))
    assert seen[-1]["action"] == "create"
    assert not mentions(seen, live.theirs.id)
    await ws.close()


# -- how it ends -------------------------------------------------------------------------------


async def test_a_client_close_ends_the_poll_loop(live: Live) -> None:
    ws = await live.ready(live.me)
    realtime = live.app[REALTIME]
    assert realtime.connections == {f"advisor:{live.me.id}": 1}
    await ws.close()
    assert ws.close_code == 1000
    for _ in range(500):
        if not realtime.connections and not realtime.sockets:
            break
        await asyncio.sleep(0.01)
    assert realtime.connections == {}
    assert len(realtime.sockets) == 0


async def test_a_database_error_closes_with_1011_and_the_server_carries_on(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await live.ready(live.me)
    with caplog.at_level(logging.ERROR, logger="projectone.http.realtime"):
        live.outage.down = True
        code, text = await closed_with(ws)
        live.outage.down = False
    assert code == 1011
    assert "reconnect" in text
    assert any("change feed" in r.getMessage() for r in caplog.records)
    async with live.session.get(f"{live.base}/health") as response:
        assert response.status == 200
    again = await live.ready(live.me)
    await again.close()


async def test_shutting_the_server_down_closes_open_sockets_with_1001(live: Live) -> None:
    ws = await live.ready(live.me)
    live.stopped = True
    await live.runner.cleanup()
    assert (await closed_with(ws))[0] == 1001


def test_the_description_names_every_message_and_close_code() -> None:
    doc = WEBSOCKET_DESCRIPTION[WS_PATH]
    assert set(doc["server_messages"]) == {"ready", "content.status", "delivery.status"}
    assert set(doc["client_messages"]) == {"auth"}
    assert {"1011", "4400", "4401", "4404", "4429"} <= set(doc["close_codes"])
    json.dumps(WEBSOCKET_DESCRIPTION)  # plain JSON, fit for the OpenAPI document


def test_adding_the_route_again_changes_its_settings_instead() -> None:
    # So that a test may set a short interval on an app whose create_app added the route.
    app = create_app(build_container(Settings(database_url="sqlite://")))
    first = add_realtime_routes(app, CONTAINER)
    again = add_realtime_routes(app, CONTAINER, interval=0.2, max_connections=1)
    assert again is first
    assert (first.interval, first.max_connections, first.cache.ttl) == (0.2, 1, 0.1)
    routes = [
        route
        for route in app.router.routes()
        if route.method == "GET" and route.resource is not None
        if route.resource.canonical == WS_PATH
    ]
    assert len(routes) == 1
    with pytest.raises(ValueError, match="must be > 0"):
        add_realtime_routes(app, CONTAINER, interval=0)


async def test_an_open_subscription_ends_with_4403_once_consent_to_processing_is_withdrawn(
    live: Live,
) -> None:
    add_realtime_routes(live.app, CONTAINER, interval=0.05, account_recheck=0.1)
    ws = await live.connect(f"?token={live.token('advisor', live.me)}")
    assert (await message(ws))["type"] == "ready"
    privacy = await resolve(live.writer.privacy)
    await privacy.withdraw_consent(
        live.me.id, ConsentPurpose.PROCESSING, actor=Actor.system(), reason="by letter"
    )
    code, text = await closed_with(ws)
    assert code == CLOSE_FORBIDDEN
    assert "consent" in text


async def test_a_suspended_advisor_account_is_closed_with_4403(live: Live) -> None:
    catalog = await resolve(live.writer.catalog)
    await catalog.set_status(live.other.id, AdvisorStatus.SUSPENDED, Actor.system())
    ws = await live.connect(f"?token={live.token('advisor', live.other)}")
    code, text = await closed_with(ws)
    assert code == CLOSE_FORBIDDEN
    assert "suspended" in text
