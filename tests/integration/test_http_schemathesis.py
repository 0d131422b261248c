"""Schemathesis against the live OpenAPI document: every operation, positive and negative input.

The application is served by aiohttp on 127.0.0.1 from a thread of its own (its own event
loop, a real database seeded with advisors and packs, real HS256 JWTs) and the schema is read
from its ``/openapi.json``. Each operation is called with generated requests, as an admin and
as an advisor, and every answer must be no 5xx, have a documented status code and content type,
and fit the documented schema. Path ids are drawn from the seeded packs as well as at random,
so that the handlers behind the 404 are reached too (packs, advisors, deliveries). Runs are
derandomized and bounded.

Meta's webhook calls need inputs a generator cannot make (the right verify token, a valid
signature over the body), so they are made by hand and checked against the document the
same way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import hypothesis
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from projectone.adapters.jwt_auth import issue_token
from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.container import build_container, resolve
from projectone.domain.access import Principal
from projectone.domain.audit import Role
from projectone.entrypoints.http import create_app
from projectone.settings import (
    JwtSettings,
    RateLimitSettings,
    Settings,
    WhatsAppSettings,
    WorkflowSettings,
)
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.queue import seed_due_deliveries
from projectone.testing.whatsapp_simulator import build_status_webhook, sign_body

SECRET = "s" * 40
APP_SECRET = "a" * 32
VERIFY_TOKEN = "verify-me"
T0 = dt.datetime.now(dt.UTC)
EN = {
    "title": "Why SIPs work",
    "body": "Investing a fixed amount every month builds a habit.",
    "disclaimer": "Mutual Fund investments are subject to market risks, read all scheme related "
    "documents carefully.",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@attrs.frozen
class Served:
    url: str
    tokens: dict[str, str]
    #: Ids of seeded entities by path parameter name (``pack_id``, ``advisor_id``…).
    ids: dict[str, tuple[str, ...]]


class _Server:
    """The application on 127.0.0.1 in a thread with its own event loop."""

    def __init__(self, database_url: str, *, postgres: bool) -> None:
        self._database_url = database_url
        self._postgres = postgres
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._served: Served | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="api-under-test", daemon=True)

    def __enter__(self) -> Served:
        self._thread.start()
        self._ready.wait(timeout=60)
        if self._error is not None:
            raise self._error
        assert self._served is not None, "the server did not start"
        return self._served

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._postgres:
            engine = create_engine(self._database_url)
            await upgrade(engine)
            await engine.dispose()
        settings = Settings(
            database_url=self._database_url,
            jwt=JwtSettings(secret=SECRET),
            whatsapp=WhatsAppSettings(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN),
            # Generous limits: the run is about the answers, not about the hourly budget.
            rate_limit=RateLimitSettings(
                advisor_basic=1_000_000,
                advisor_standard=1_000_000,
                advisor_pro=1_000_000,
                staff=1_000_000,
            ),
            # Nothing is approved without a reviewer: the review routes need pending packs.
            workflow=WorkflowSettings(
                auto_approve_basic=-1, auto_approve_standard=-1, auto_approve_pro=-1
            ),
        )
        container = build_container(settings)
        # Numbered past the advisors seed_due_deliveries makes below (0, 1, …).
        me, other = demo_advisors(2, ids=container.ids(), now=T0, start=1000)
        catalog = await resolve(container.catalog)
        await catalog.register([me, other])
        content = await resolve(container.content_api)
        mine = Principal(subject="me", role=Role.ADVISOR, advisor_id=me.id)
        theirs = Principal(subject="them", role=Role.ADVISOR, advisor_id=other.id)
        good = demo_packs([me], T0.date(), ids=container.ids(), now=T0)[0].variants
        packs = [await content.create(mine, topic="sip basics", variants={"en": EN})]
        for topic in ("goal planning", "tax saving", "retirement"):
            pending = await content.create(mine, topic=topic, variants=good)
            packs.append((await content.submit(mine, pending.id)).pack)
        packs.append(await content.create(theirs, topic="tax saving", variants={"en": EN}))
        uow_factory = await resolve(container.uow_factory)
        deliveries = await seed_due_deliveries(
            uow_factory, 2, date=T0.date(), now=T0, ids=container.ids()
        )
        runner = web.AppRunner(create_app(container))
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            now = dt.datetime.now(dt.UTC)
            ttl = dt.timedelta(hours=1)
            self._served = Served(
                url=f"http://127.0.0.1:{port}",
                tokens={
                    "admin": issue_token(
                        SECRET, subject="user-admin", role="admin", now=now, ttl=ttl
                    ),
                    "advisor": issue_token(
                        SECRET,
                        subject=f"user-advisor-{me.id}",
                        role="advisor",
                        advisor_id=me.id,
                        now=now,
                        ttl=ttl,
                    ),
                },
                ids={
                    "pack_id": tuple(str(p.id) for p in packs),
                    "advisor_id": (str(me.id), str(other.id)),
                    "delivery_id": tuple(str(d.id) for d in deliveries),
                },
            )
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()


def _settings(max_examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _schema(served: Served) -> Any:
    return schemathesis.openapi.from_url(f"{served.url}/openapi.json", timeout=10)


def _fuzz(served: Served, who: str, max_examples: int) -> list[str]:
    """Run every operation of the live schema as ``who``, positive and negative input; the
    failures found (the request that failed and why), one per operation and mode."""
    schema = _schema(served)
    headers = {"Authorization": f"Bearer {served.tokens[who]}"}
    failures: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            has_input = bool(
                len(operation.path_parameters) or len(operation.query) or len(operation.body)
            )
            # Negative input needs some input to be wrong about.
            for mode in MODES if has_input else MODES[:1]:
                options = [operation.as_strategy(mode, headers=headers)]
                for parameter in operation.path_parameters:
                    options += [
                        operation.as_strategy(
                            mode, headers=headers, path_parameters={parameter.name: known}
                        )
                        for known in served.ids.get(parameter.name, ())
                    ]

                @_settings(max_examples)
                @given(case=st.one_of(options))
                def run(case: Any) -> None:
                    case.call_and_validate(
                        base_url=served.url, session=session, checks=CHECKS, timeout=10
                    )

                try:
                    run()
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(f"{operation.label} [{who}, {mode.value}]:\n{exc}")
    return failures


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = tmp_path_factory.mktemp("schemathesis") / "projectone.db"
    with _Server(f"sqlite:///{database}", postgres=False) as running:
        yield running


def test_every_operation_answers_as_documented_for_an_admin_and_an_advisor(
    served: Served,
) -> None:
    failures = _fuzz(served, "admin", 40) + _fuzz(served, "advisor", 20)
    assert not failures, "\n\n".join(failures)


# -- Meta's calls ------------------------------------------------------------------------------

# The document does not describe Meta's inputs (the handshake's hub.* query parameters, the
# signed body of a receipt), so they are not generated: these are Meta's calls, made as Meta
# makes them, and checked the same way.
_RECEIPT = build_status_webhook(
    [
        {
            "message_id": "wamid.unknown",
            "recipient_id": "919800000001",
            "status": "read",
            "timestamp": 1_800_000_000,
        }
    ]
)
_HANDSHAKE = {
    "hub.mode": "subscribe",
    "hub.verify_token": VERIFY_TOKEN,
    "hub.challenge": "1158201444",
}
_JSON = {"Content-Type": "application/json"}


def _signed(raw: bytes) -> dict[str, str]:
    return {**_JSON, "X-Hub-Signature-256": sign_body(APP_SECRET, raw)}


@pytest.mark.parametrize(
    ("method", "query", "data", "headers"),
    [
        pytest.param(
            "GET",
            _HANDSHAKE,
            None,
            {},
            id="handshake",
        ),
        pytest.param(
            "GET", {**_HANDSHAKE, "hub.verify_token": "nope"}, None, {}, id="wrong verify token"
        ),
        pytest.param("POST", {}, _RECEIPT, _signed(_RECEIPT), id="signed receipt"),
        pytest.param("POST", {}, _RECEIPT, _JSON, id="unsigned receipt"),
        pytest.param("POST", {}, _RECEIPT, _signed(b"other"), id="wrong signature"),
        pytest.param(
            "POST",
            {},
            b"{oops",
            _signed(b"{oops"),
            id="signed, not JSON",
        ),
    ],
)
def test_metas_calls_answer_as_documented(
    served: Served,
    method: str,
    query: dict[str, str],
    data: bytes | None,
    headers: dict[str, str],
) -> None:
    operation = _schema(served)["/v1/webhooks/whatsapp"][method]
    case = operation.Case(query=query)
    with requests.Session() as session:
        case.call_and_validate(
            base_url=served.url,
            session=session,
            checks=CHECKS,
            timeout=10,
            data=data,
            headers=headers,
        )


@pytest.mark.postgres
def test_every_operation_answers_as_documented_on_postgresql(postgres_url: str) -> None:
    with _Server(postgres_url, postgres=True) as running:
        failures = _fuzz(running, "admin", 10)
    assert not failures, "\n\n".join(failures)
