"""The audit log and incident repository behave alike on the fake, SQLite and PostgreSQL; the
chain stays one line under concurrent writers on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable

import attrs
import pytest

from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.domain.audit import (
    GENESIS_HASH,
    Actor,
    ActorType,
    AuditDraft,
    Role,
    verify_chain,
)
from projectone.domain.errors import ConflictError, NotFoundError
from projectone.domain.incident import (
    IncidentSeverity,
    IncidentStatus,
    IncidentType,
    investigate,
    open_incident,
)
from projectone.ports import UnitOfWork
from projectone.testing.fakes import InMemoryUnitOfWorkFactory
from projectone.testing.keys import fixed_key_store

UowFactory = Callable[[], UnitOfWork]
T0 = dt.datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=dt.UTC)
ADMIN = Actor(type=ActorType.USER, id="admin:asha", role=Role.ADMIN)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def uow_factory(request: pytest.FixtureRequest) -> AsyncIterator[UowFactory]:
    if request.param == "memory":
        yield InMemoryUnitOfWorkFactory()
        return
    engine = create_engine(request.getfixturevalue(f"{request.param}_url"))
    try:
        await upgrade(engine)
        yield SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    finally:
        await engine.dispose()


def draft(n: int, at: dt.datetime = T0, **changes: object) -> AuditDraft:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "occurred_at": at,
        "actor": ADMIN,
        "action": "approve",
        "entity_type": "content_pack",
        "entity_id": f"pack-{n}",
        "old_values": {"status": "pending_review", "score": 12.5},
        "new_values": {"status": "approved", "note": "गारंटी नहीं", "tags": ["a", None]},
        "changed_fields": ("status",),
        "reason": None if n % 2 else f"reason {n}",
        "request_id": f"req-{n}",
    }
    fields.update(changes)
    return AuditDraft(**fields)  # type: ignore[arg-type]


async def test_appended_events_read_back_exactly_and_chain_from_genesis(
    uow_factory: UowFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.audit.head() is None
        written = await uow.audit.append([draft(1), draft(2)])
        await uow.commit()
    async with uow_factory() as uow:
        more = await uow.audit.append([draft(3, T0 + dt.timedelta(microseconds=1))])
        await uow.commit()
    async with uow_factory() as uow:
        events = list(await uow.audit.events())
        head = await uow.audit.head()
        page = await uow.audit.events(after=1, limit=1)
        history = await uow.audit.for_entity("content_pack", "pack-2")
        on_day = await uow.audit.on_day(T0.date())
        next_day = await uow.audit.on_day(T0.date() + dt.timedelta(days=1))
        before = await uow.audit.last_before(T0 + dt.timedelta(microseconds=1))
    assert events == [*written, *more]
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert verify_chain(events).ok
    assert head == events[-1]
    assert list(page) == [events[1]]
    assert list(history) == [events[1]]
    assert list(on_day) == events[:2]  # 23:59:59.999999 UTC belongs to the 20th
    assert list(next_day) == [events[2]]
    assert before == events[1]


async def test_an_append_that_is_not_committed_leaves_no_event(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await uow.audit.append([draft(1)])
    async with uow_factory() as uow:
        assert await uow.audit.head() is None


async def test_incidents_are_stored_updated_and_listed(uow_factory: UowFactory) -> None:
    change = open_incident(
        incident_id=uuid.uuid4(),
        type=IncidentType.ADMIN_REPORT,
        severity=IncidentSeverity.HIGH,
        title="Post reported by a client",
        description="A client forwarded the post to SEBI.",
        actor=ADMIN,
        now=T0,
        event_id=uuid.uuid4(),
    )
    later = investigate(change.incident, ADMIN, T0 + dt.timedelta(hours=1), uuid.uuid4())
    async with uow_factory() as uow:
        await uow.incidents.add(change.incident)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.incidents.update(later.incident)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.incidents.get(change.incident.id)
        investigating = await uow.incidents.list(status=IncidentStatus.INVESTIGATING)
        closed = await uow.incidents.list(status=IncidentStatus.CLOSED)
        with pytest.raises(NotFoundError):
            await uow.incidents.get(uuid.uuid4())
        with pytest.raises(NotFoundError):
            await uow.incidents.update(attrs.evolve(later.incident, id=uuid.uuid4()))
    assert stored == later.incident
    assert list(investigating) == [later.incident]
    assert list(closed) == []


async def test_an_incident_about_an_unknown_pack_is_a_conflict(uow_factory: UowFactory) -> None:
    change = open_incident(
        incident_id=uuid.uuid4(),
        type=IncidentType.CRITICAL_FINDING,
        severity=IncidentSeverity.CRITICAL,
        title="x",
        description="",
        actor=ADMIN,
        now=T0,
        event_id=uuid.uuid4(),
        pack_id=uuid.uuid4(),
    )
    async with uow_factory() as uow:
        with pytest.raises(ConflictError) as err:
            await uow.incidents.add(change.incident)
    # SQLite does not say which foreign key failed; every store says why.
    assert err.value.reason == "refers to a row that does not exist"


@pytest.mark.postgres
async def test_the_chain_stays_one_line_under_concurrent_writers(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=10, max_overflow=0)
    try:
        await upgrade(engine)
        factory = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())

        async def writer(w: int) -> None:
            for i in range(10):
                async with factory() as uow:
                    await uow.audit.append([draft(w * 100 + i), draft(w * 100 + i + 50)])
                    await asyncio.sleep(0)  # let the others interleave inside the transaction
                    await uow.commit()

        await asyncio.gather(*(writer(w) for w in range(8)))
        async with factory() as uow:
            events = list(await uow.audit.events(limit=10_000))
    finally:
        await engine.dispose()
    assert len(events) == 8 * 10 * 2
    assert [e.sequence for e in events] == list(range(1, 161))
    assert verify_chain(events).ok
