"""Personal data at rest, erasure and retention on the real databases (SQLite and PostgreSQL),
through the container as the application wires it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from dependency_injector import providers

from projectone.adapters.clock import SystemClock, UuidGenerator
from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.adapters.sqlalchemy.tables import audit_events, data_keys, deliveries
from projectone.container import Container, build_container, resolve, shutdown
from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.ai import AiStage, CachedAnswer
from projectone.domain.audit import Actor, ActorType, AuditDraft, Role, change_event
from projectone.domain.errors import (
    KeyStoreError,
    NotFoundError,
    SubjectErasedError,
    WrongMasterKeyError,
)
from projectone.domain.inbound import InboundMessage
from projectone.services.privacy import PrivacyService
from projectone.settings import PrivacySettings, Settings
from projectone.testing.builders import reviewed
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.fakes import ManualClock
from projectone.testing.keys import fixed_key_store, fixed_master_key

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ADMIN = Actor(type=ActorType.USER, id="admin:dpo", role=Role.ADMIN)
TODAY = dt.date(2026, 11, 24)


class _Ids:
    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    engine = create_engine(url)
    try:
        await upgrade(engine, key_store=fixed_key_store())
    finally:
        await engine.dispose()
    return url


def _settings(url: str, key: str | None = None) -> Settings:
    return Settings(database_url=url, privacy=PrivacySettings(master_key=key or fixed_master_key()))


@pytest.fixture
async def container(url: str) -> AsyncIterator[Container]:
    container = build_container(_settings(url))
    try:
        yield container
    finally:
        await shutdown(container)


async def _seed(container: Container, *, phone_in_content: bool = True) -> tuple[Advisor, Advisor]:
    """Two advisors, each with an approved pack for today (its call to action giving their
    name and number, unless told not to), a planned delivery each, and an inbound message."""
    now = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)
    ids = _Ids()
    advisors = demo_advisors(2, ids=ids, now=now, start=700)
    packs = []
    for advisor, pack in zip(advisors, demo_packs(advisors, TODAY, ids=ids, now=now), strict=True):
        cta = f"Call {advisor.name} on {advisor.whatsapp_number} today."
        variants = {
            language: attrs.evolve(variant, cta=cta if phone_in_content else "Call me today.")
            for language, variant in pack.variants.items()
        }
        packs.append(reviewed(attrs.evolve(pack, variants=variants, approved_hash=None)))
    catalog = await resolve(container.catalog)
    await catalog.register(advisors, packs)
    morning = await resolve(container.morning)
    await morning.plan_morning(TODAY)
    uow_factory = await resolve(container.uow_factory)
    async with uow_factory() as uow:
        await uow.inbound.add_new(
            [
                InboundMessage(
                    id=uuid.uuid4(),
                    provider_message_id=f"wamid.in{n}",
                    from_number=a.whatsapp_number,
                    advisor_id=a.id,
                    type="text",
                    body=f"STOP, this is {a.name}",
                    sent_at=now,
                    received_at=now,
                )
                for n, a in enumerate(advisors)
            ]
        )
        await uow.commit()
    return advisors[0], advisors[1]


def _file_bytes(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def _pg_dump(url: str) -> bytes:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run(
        ["pg_dump", "--data-only", libpq], check=True, capture_output=True, timeout=60
    ).stdout


def _raw(url: str) -> bytes:
    return _pg_dump(url) if url.startswith("postgres") else _file_bytes(url)


def _contact_forms(advisor: Advisor) -> list[bytes]:
    """Every spelling of the advisor's email and number, none of which may be stored in the
    clear. (The name is on the advisor's own posts, as SEBI requires, until they are erased.)"""
    digits = advisor.whatsapp_number.removeprefix("+")
    return [
        advisor.email.encode(),
        advisor.whatsapp_number.encode(),
        digits.encode(),
        digits[-10:].encode(),
    ]


def _forms(advisor: Advisor) -> list[bytes]:
    return [advisor.name.encode(), *_contact_forms(advisor)]


async def test_no_email_or_phone_number_is_stored_in_the_clear(url: str) -> None:
    container = build_container(_settings(url))
    try:
        advisor, other = await _seed(container, phone_in_content=False)
    finally:
        await shutdown(container)  # SQLite: the last connection folds the WAL into the file
    raw = _raw(url)
    for form in [*_contact_forms(advisor), *_contact_forms(other)]:
        assert form not in raw, form
    # ...while the application reads everything back.
    container = build_container(_settings(url))
    try:
        uow_factory = await resolve(container.uow_factory)
        async with uow_factory() as uow:
            assert await uow.advisors.get(advisor.id) == advisor
            found = await uow.advisors.ids_by_whatsapp([advisor.whatsapp_number])
            assert found == {advisor.whatsapp_number: advisor.id}
            (delivery,) = (await uow.deliveries.page(advisor_id=advisor.id))[0]
            assert delivery.to == advisor.whatsapp_number
            (message,) = await uow.inbound.for_advisor(advisor.id)
            assert message.body == f"STOP, this is {advisor.name}"
    finally:
        await shutdown(container)


async def test_an_email_differing_only_in_case_is_taken(container: Container) -> None:
    advisor, _ = await _seed(container)
    twin = demo_advisors(1, ids=_Ids(), now=advisor.created_at, start=900)[0]
    twin = attrs.evolve(twin, email=advisor.email.upper())
    catalog = await resolve(container.catalog)
    with pytest.raises(Exception, match="email_index"):
        await catalog.register([twin])


async def test_erasure_leaves_no_personal_data_and_keeps_the_records(
    container: Container, url: str
) -> None:
    advisor, other = await _seed(container)
    privacy = await resolve(container.privacy)
    before: Any = await privacy.export_subject_data(advisor.id, actor=ADMIN)
    assert before["profile"]["email"] == advisor.email

    uow_factory = await resolve(container.uow_factory)
    async with uow_factory() as uow:
        # A cached AI draft written for them (drafts carry the advisor's name).
        await uow.ai_cache.put(
            CachedAnswer(
                key="c" * 64,
                stage=AiStage.GENERATION,
                model="gpt-test",
                prompt_version="generate_v1",
                document={"variants": {"en": {"body": f"By {advisor.name}"}}},
                created_at=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
                expires_at=dt.datetime(2026, 12, 8, tzinfo=dt.UTC),
                advisor_id=advisor.id,
            )
        )
        await uow.commit()
    report = await privacy.erase_subject(advisor.id, actor=ADMIN, reason="DPDP request")
    assert report.counts.ai_answers_deleted == 1
    assert report.counts.data_keys_destroyed == 1
    assert report.counts.content_packs_redacted == 1
    assert report.counts.inbound_messages_deleted == 1
    assert report.counts.deliveries_expired == 1

    after: Any = await privacy.export_subject_data(advisor.id, actor=ADMIN)
    text = json.dumps(after, ensure_ascii=False)
    for form in _forms(advisor):
        assert form.decode() not in text
    assert after["subject"] == {"advisor_id": str(advisor.id), "erased": True}
    assert len(after["content"]) == 1
    assert "[erased]" in text
    assert len(after["deliveries"]) == 1
    assert after["deliveries"][0]["to"] is None
    # The other advisor is untouched.
    assert (await privacy.profile(other.id, actor=ADMIN)).email == other.email

    audit = await resolve(container.audit)
    assert (await audit.verify()).ok
    morning = await resolve(container.morning)
    assert (await morning.sla_summary(TODAY)).planned == 2  # the SLA report still counts it
    async with uow_factory() as uow:
        assert len(await uow.deliveries.for_date(TODAY)) == 2
        with pytest.raises(SubjectErasedError):
            await uow.advisors.get(advisor.id)
        reachable = await uow.advisors.list_reachable()
        assert advisor.id not in {a.id for a in reachable.advisors}
        events = await uow.audit.for_entity("advisor", str(advisor.id))
    assert events[-1].action == "privacy.erase"
    # Nor anywhere in the store: the content text was redacted, the rest shredded or gone.
    await shutdown(container)
    raw = _raw(url)
    for form in _forms(advisor):
        assert form not in raw, form


async def test_erasing_twice_or_an_unknown_advisor_is_a_typed_error(container: Container) -> None:
    advisor, _ = await _seed(container)
    privacy = await resolve(container.privacy)
    await privacy.erase_subject(advisor.id, actor=ADMIN)
    with pytest.raises(SubjectErasedError) as err:
        await privacy.erase_subject(advisor.id, actor=ADMIN)
    assert err.value.code == "subject_erased"
    with pytest.raises(NotFoundError):
        await privacy.erase_subject(uuid.uuid4(), actor=ADMIN)


class _FailingAudit:
    """Wraps a unit of work so that its audit log refuses the erasure's event (the last step
    before commit): everything before it must roll back."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory

    def __call__(self) -> Any:
        uow = self._factory()

        class Wrapped:
            async def __aenter__(self) -> Any:
                inner = await uow.__aenter__()

                async def refuse(drafts: list[AuditDraft]) -> Any:
                    raise RuntimeError("disk full")

                inner.audit.append = refuse
                return inner

            async def __aexit__(self, *exc: Any) -> None:
                await uow.__aexit__(*exc)

        return Wrapped()


async def test_a_failed_erasure_changes_nothing(container: Container, url: str) -> None:
    advisor, _ = await _seed(container)
    privacy = await resolve(container.privacy)
    before = await privacy.export_subject_data(advisor.id, actor=ADMIN)
    uow_factory = await resolve(container.uow_factory)
    broken = PrivacyService(
        _FailingAudit(uow_factory),
        SystemClock(),
        UuidGenerator(),
        policy_version="2026-11",
    )
    with pytest.raises(RuntimeError, match="disk full"):
        await broken.erase_subject(advisor.id, actor=ADMIN)
    after = await privacy.export_subject_data(advisor.id, actor=ADMIN)
    for doc in (before, after):
        doc.pop("generated_at")
    assert after == before


async def test_a_wrong_master_key_is_refused_by_name(url: str) -> None:
    container = build_container(_settings(url))
    try:
        advisor, _ = await _seed(container)
    finally:
        await shutdown(container)
    wrong = build_container(_settings(url, fixed_master_key("another key")))
    try:
        privacy = await resolve(wrong.privacy)
        with pytest.raises(WrongMasterKeyError) as err:
            await privacy.export_subject_data(advisor.id, actor=ADMIN)
        assert err.value.expected == fixed_key_store().key_id
    finally:
        await shutdown(wrong)


async def test_a_process_with_another_master_key_writes_nothing(url: str) -> None:
    container = build_container(_settings(url))
    try:
        await _seed(container)
    finally:
        await shutdown(container)
    wrong = build_container(_settings(url, fixed_master_key("another key")))
    try:
        newcomer = demo_advisors(1, ids=_Ids(), now=dt.datetime.now(dt.UTC), start=950)
        catalog = await resolve(wrong.catalog)
        with pytest.raises(WrongMasterKeyError):
            await catalog.register(newcomer)
        uow_factory = await resolve(wrong.uow_factory)
        async with uow_factory() as uow:
            assert await uow.advisors.count() == 2
    finally:
        await shutdown(wrong)


async def test_a_missing_data_key_is_a_typed_error_naming_the_advisor(
    container: Container, url: str
) -> None:
    advisor, _ = await _seed(container)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(data_keys.delete().where(data_keys.c.subject_id == advisor.id))
    finally:
        await engine.dispose()
    fresh = build_container(_settings(url))  # no key cached from the seeding
    try:
        privacy = await resolve(fresh.privacy)
        with pytest.raises(KeyStoreError) as err:
            await privacy.export_subject_data(advisor.id, actor=ADMIN)
        assert err.value.subject == advisor.id
        with pytest.raises(KeyStoreError):
            await privacy.erase_subject(advisor.id, actor=ADMIN)
    finally:
        await shutdown(fresh)


async def test_withdrawing_whatsapp_opt_in_stops_the_next_plan(container: Container) -> None:
    advisor, other = await _seed(container)
    privacy = await resolve(container.privacy)
    await privacy.withdraw_consent(advisor.id, "whatsapp_optin", actor=ADMIN)
    morning = await resolve(container.morning)
    # Tomorrow nobody has a pack and the library is empty: whom the plan considered shows in
    # who it left without content.
    result = await morning.plan_morning(TODAY + dt.timedelta(days=1))
    assert set(result.without_content) == {other.id}
    history = await privacy.consents(advisor.id, actor=ADMIN)
    assert [
        (r.purpose.value, r.active) for r in history if r.purpose.value == "whatsapp_optin"
    ] == [("whatsapp_optin", False)]
    # Today's message, queued before the withdrawal, is not sent either.
    uow_factory = await resolve(container.uow_factory)
    async with uow_factory() as uow:
        today = {d.advisor_id: d for d in await uow.deliveries.for_date(TODAY)}
    assert today[advisor.id].status.value == "expired"
    assert today[advisor.id].error_code == "consent_withdrawn"
    assert today[other.id].status.value == "queued"


async def test_purge_deletes_processing_logs_past_three_years_and_records_each_run(
    container: Container, url: str
) -> None:
    advisor, _ = await _seed(container)
    uow_factory = await resolve(container.uow_factory)
    async with uow_factory() as uow:
        (delivery,) = (await uow.deliveries.page(advisor_id=advisor.id))[0]
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery.id)
                .values(scheduled_for=dt.datetime(2022, 1, 1, tzinfo=dt.UTC))
            )
    finally:
        await engine.dispose()

    privacy = await resolve(container.privacy)
    dry = await privacy.purge(dry_run=True)
    assert dry.counts.deliveries == 1
    async with uow_factory() as uow:
        assert len((await uow.deliveries.page(advisor_id=advisor.id))[0]) == 1
    done = await privacy.purge(dry_run=False)
    assert done.counts.deliveries == 1
    assert done.counts.audit_events == 0  # every event is within its seven years
    async with uow_factory() as uow:
        assert list((await uow.deliveries.page(advisor_id=advisor.id))[0]) == []
        runs = await uow.audit.for_entity("retention", "purge")
    assert [r.new_values["dry_run"] for r in runs] == [True, False]  # type: ignore[index]
    audit = await resolve(container.audit)
    assert (await audit.verify()).ok


async def test_the_database_refuses_to_delete_an_audit_event_under_retention(url: str) -> None:
    container = build_container(_settings(url))
    try:
        await _seed(container)
    finally:
        await shutdown(container)
    engine = create_engine(url)
    try:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.delete(audit_events))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.update(audit_events).values(reason="x"))
    finally:
        await engine.dispose()


async def test_an_old_chain_prefix_is_purged_and_what_remains_verifies_from_the_anchor(
    url: str,
) -> None:
    """A store whose first events are past their seven years: purge deletes exactly those,
    records the anchor, and verification walks from it."""
    container = build_container(_settings(url))
    try:
        uow_factory = await resolve(container.uow_factory)
        long_ago = dt.datetime(2018, 1, 5, 9, 0, tzinfo=dt.UTC)
        async with uow_factory() as uow:
            await uow.audit.append(
                [
                    change_event(
                        action="note",
                        entity_type="system",
                        entity_id=f"old-{n}",
                        old=None,
                        new={"n": n},
                        actor=Actor.system(),
                        now=long_ago + dt.timedelta(minutes=n),
                        event_id=uuid.uuid4(),
                    )
                    for n in range(3)
                ]
            )
            await uow.commit()
        await _seed(container)
        privacy = await resolve(container.privacy)
        done = await privacy.purge(dry_run=False)
        assert done.counts.audit_events == 3
        audit = await resolve(container.audit)
        report = await audit.verify()
        assert report.ok, report
        # Digests of days before the anchor describe what was purged on purpose.
        purged_day = await audit.digest(long_ago.date())
        assert (await audit.verify_with_digests([purged_day])).ok
        async with uow_factory() as uow:
            (first,) = await uow.audit.events(after=0, limit=1)
        assert first.sequence == 4
    finally:
        await shutdown(container)


async def test_purge_erases_an_account_cancelled_more_than_six_months_ago(url: str) -> None:
    clock = ManualClock(dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC))
    container = build_container(_settings(url))
    container.clock.override(providers.Object(clock))
    try:
        advisor, other = await _seed(container)
        catalog = await resolve(container.catalog)
        await catalog.set_status(advisor.id, AdvisorStatus.CANCELLED, ADMIN, reason="closed")
        privacy = await resolve(container.privacy)
        clock.set(dt.datetime(2026, 7, 9, 9, 0, tzinfo=dt.UTC))  # not yet six months
        assert (await privacy.purge(dry_run=False)).erased == ()
        clock.set(dt.datetime(2026, 7, 11, 9, 0, tzinfo=dt.UTC))
        report = await privacy.purge(dry_run=False)
        assert report.erased == (advisor.id,)
        assert report.counts.erased_advisors == 1
        assert (await privacy.profile(advisor.id, actor=ADMIN)).erased_at is not None
        assert (await privacy.profile(other.id, actor=ADMIN)).erased_at is None
        audit = await resolve(container.audit)
        assert (await audit.verify()).ok
    finally:
        await shutdown(container)
