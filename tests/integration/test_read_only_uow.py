"""Read-only units of work (what the API's reads use) on SQLite and PostgreSQL.

They read what a unit of work that may write reads, run ``SELECT`` statements only, refuse to
commit, do not take SQLite's write lock (a read proceeds while a writer holds it), and give
their connection back to the pool as they found it. Plus the PostgreSQL pool's ping of idle
connections, which replaces ``pool_pre_ping``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.adapters.sqlalchemy import engine as engine_module
from projectone.adapters.sqlalchemy.engine import READ_ONLY
from projectone.domain import ContentPack, InvalidTransitionError, NotFoundError, UnavailableError
from projectone.domain.timezone import IST
from projectone.services.reading import reader_of
from projectone.testing.fakes import InMemoryUnitOfWorkFactory
from projectone.testing.keys import fixed_key_store

T0 = dt.datetime(2025, 3, 1, 9, 30, tzinfo=IST)


def make_pack() -> ContentPack:
    return ContentPack(
        id=uuid.uuid4(),
        advisor_id=None,
        topic="SIP basics",
        variants={"en": {"title": "SIPs", "body": "Invest regularly."}},
        created_at=T0,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def migrated(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(request.getfixturevalue(f"{request.param}_url"))
    try:
        await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def factory(migrated: AsyncEngine) -> SqlAlchemyUnitOfWorkFactory:
    return SqlAlchemyUnitOfWorkFactory(migrated, fixed_key_store())


async def test_a_read_only_unit_of_work_reads_what_was_committed(
    factory: SqlAlchemyUnitOfWorkFactory,
) -> None:
    pack = make_pack()
    async with factory() as uow:
        await uow.content.add(pack)
        await uow.commit()
    async with factory.read_only() as uow:
        assert await uow.content.get(pack.id) == pack
        with pytest.raises(NotFoundError):
            await uow.content.get(uuid.uuid4())
        items, total = await uow.content.page(limit=10)
    assert (list(items), total) == ([pack], 1)


async def test_a_read_only_unit_of_work_refuses_writes_and_commit(
    factory: SqlAlchemyUnitOfWorkFactory,
) -> None:
    async with factory.read_only() as uow:
        with pytest.raises(InvalidTransitionError, match="read-only"):
            await uow.content.add(make_pack())
        with pytest.raises(InvalidTransitionError, match="read-only"):
            await uow.commit()
    async with factory() as uow:
        _, total = await uow.content.page(limit=10)
    assert total == 0


async def test_the_connection_goes_back_to_the_pool_as_it_was(
    factory: SqlAlchemyUnitOfWorkFactory, migrated: AsyncEngine
) -> None:
    async with factory.read_only() as uow:
        await uow.content.page(limit=1)
    # The next user of the (pooled) connection writes and commits as usual.
    pack = make_pack()
    async with factory() as uow:
        await uow.content.add(pack)
        await uow.commit()
    async with migrated.connect() as conn:
        assert READ_ONLY not in conn.info
        if migrated.dialect.name == "postgresql":
            level = await conn.get_isolation_level()
            assert level != "AUTOCOMMIT"
    async with factory() as uow:
        assert await uow.content.get(pack.id) == pack


async def test_a_sqlite_read_does_not_wait_for_a_writer(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        await upgrade(engine)
        factory = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
        pack = make_pack()
        async with factory() as uow:
            await uow.content.add(pack)
            await uow.commit()
        async with factory() as writer:  # BEGIN IMMEDIATE: holds the write lock
            await writer.content.add(make_pack())
            async with asyncio.timeout(2), factory.read_only() as reader:
                # Without the write lock the read neither waits (busy_timeout is 5 s) nor sees
                # the writer's uncommitted pack.
                assert await reader.content.get(pack.id) == pack
                _, total = await reader.content.page(limit=10)
                assert total == 1
    finally:
        await engine.dispose()


def test_services_read_through_read_only_units_of_work_when_offered(
    sqlite_url: str,
) -> None:
    sql = SqlAlchemyUnitOfWorkFactory(create_engine(sqlite_url), fixed_key_store())
    assert reader_of(sql) == sql.read_only
    fake = InMemoryUnitOfWorkFactory()
    assert reader_of(fake) is fake


async def _terminate(postgres_url: str, backend_pid: int) -> None:
    """End server process ``backend_pid`` from another connection, as a server restart or a
    dropped network path would."""
    other = create_engine(postgres_url)
    try:
        async with other.connect() as conn:
            await conn.execute(sa.text(f"SELECT pg_terminate_backend({int(backend_pid)})"))
    finally:
        await other.dispose()


@pytest.mark.postgres
async def test_postgres_pings_a_connection_idle_in_the_pool_and_replaces_a_dead_one(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        # The server drops the pooled connection (as a restart would).
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        await _terminate(postgres_url, first)
        # Given back moments ago, it would be handed out unpinged: pretend it sat idle.
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        async with engine.connect() as conn:
            second = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_connection_lost_mid_unit_of_work_is_unavailable_and_the_next_one_works(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url)
    factory = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    try:
        await upgrade(engine)
        async with factory() as uow:
            conn = uow._open("read")  # the unit of work's own connection
            pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
            await _terminate(postgres_url, pid)
            with pytest.raises(UnavailableError) as caught:
                await uow.content.get(uuid.uuid4())
        assert caught.value.outcome_unknown
        assert "password" not in str(caught.value)
        # The lost connection was thrown away with the pool: the next unit of work reads.
        async with factory() as uow:
            with pytest.raises(NotFoundError):
                await uow.content.get(uuid.uuid4())
    finally:
        await engine.dispose()
