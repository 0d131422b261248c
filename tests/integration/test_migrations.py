"""The migrations are the schema; engines, preparation and reachability behave for users."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.sqlalchemy import (
    SchemaOutdatedError,
    create_engine,
    current_revision,
    ensure_reachable,
    head_revision,
    is_sqlite,
    is_up_to_date,
    metadata,
    normalize_url,
    prepare,
    safe_url,
    upgrade,
)
from projectone.domain.errors import UnavailableError


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _schema_differences(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _constraint_names(connection: sa.Connection) -> dict[str, set[str]]:
    inspector = sa.inspect(connection)
    names: dict[str, set[str]] = {}
    for table in metadata.tables:
        found = {c["name"] for c in inspector.get_check_constraints(table) if c["name"]}
        found |= {c["name"] for c in inspector.get_unique_constraints(table) if c["name"]}
        found |= {c["name"] for c in inspector.get_foreign_keys(table) if c["name"]}
        names[table] = found
    return names


def _declared_constraint_names() -> dict[str, set[str]]:
    return {
        table.name: {
            str(c.name)
            for c in table.constraints
            if isinstance(c, sa.CheckConstraint | sa.UniqueConstraint | sa.ForeignKeyConstraint)
        }
        for table in metadata.tables.values()
    }


async def test_upgraded_database_matches_tables_metadata(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.connect() as conn:
        differences = await conn.run_sync(_schema_differences)
        names = await conn.run_sync(_constraint_names)
    assert differences == []
    # Autogenerate ignores CHECK constraints: compare those (and every other name) directly.
    assert names == _declared_constraint_names()


async def test_upgrade_is_idempotent_and_reports_head(engine: AsyncEngine) -> None:
    assert await current_revision(engine) is None
    assert not await is_up_to_date(engine)
    await upgrade(engine)
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    assert await is_up_to_date(engine)


async def test_prepare_migrates_an_empty_sqlite_file(sqlite_url: str, tmp_path: Path) -> None:
    engine = create_engine(sqlite_url)
    try:
        await prepare(engine, auto_migrate=True)
        assert await is_up_to_date(engine)
        await prepare(engine, auto_migrate=True)  # already at head: nothing to do
    finally:
        await engine.dispose()
    with sqlite3.connect(tmp_path / "projectone.db") as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        journal = raw.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"advisors", "content_packs", "deliveries", "alembic_version"} <= tables
    assert journal == "wal"


async def test_prepare_without_auto_migrate_refuses_an_empty_sqlite_file(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with pytest.raises(SchemaOutdatedError) as err:
            await prepare(engine, auto_migrate=False)
    finally:
        await engine.dispose()
    assert err.value.code == "schema_outdated"
    assert err.value.current is None


@pytest.mark.postgres
@pytest.mark.parametrize("auto_migrate", [True, False])
async def test_prepare_refuses_an_unmigrated_postgres_database(
    postgres_url: str, auto_migrate: bool
) -> None:
    secret_url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:pw@", 1)
    engine = create_engine(secret_url)
    try:
        with pytest.raises(SchemaOutdatedError) as err:
            await prepare(engine, auto_migrate=auto_migrate)
        assert await current_revision(engine) is None  # nothing was migrated behind our back
        await upgrade(engine)
        await prepare(engine, auto_migrate=auto_migrate)
    finally:
        await engine.dispose()
    message = str(err.value)
    assert "projectone db upgrade --db postgresql+psycopg://postgres:***@" in message
    assert ":pw@" not in message
    assert err.value.head == head_revision()


async def test_prepare_refuses_a_database_from_a_newer_projectone(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaOutdatedError) as err:
            await prepare(engine, auto_migrate=True)
    finally:
        await engine.dispose()
    assert err.value.current == "9999"


async def test_ensure_reachable_on_a_closed_port_hides_the_password() -> None:
    engine = create_engine("postgresql://u:s3cret@127.0.0.1:1/x")
    try:
        with pytest.raises(UnavailableError) as err:
            await ensure_reachable(engine)
    finally:
        await engine.dispose()
    assert "s3cret" not in str(err.value)
    assert "s3cret" not in err.value.target
    assert err.value.target == "postgresql+psycopg://u:***@127.0.0.1:1/x"
    assert err.value.reason
    assert "\n" not in err.value.reason


async def test_the_folder_of_a_sqlite_file_is_created_on_first_use(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'new-dir' / 'db.sqlite'}")
    try:
        await ensure_reachable(engine)
    finally:
        await engine.dispose()
    assert (tmp_path / "new-dir" / "db.sqlite").is_file()


def test_a_sqlite_file_that_cannot_exist_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(UnavailableError) as caught:
        create_engine(f"sqlite:///{tmp_path / 'a-file' / 'db.sqlite'}")
    assert "a-file" in caught.value.target


async def test_ensure_reachable_passes_for_a_working_database(engine: AsyncEngine) -> None:
    await ensure_reachable(engine)


async def test_sqlite_connections_enforce_foreign_keys(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("PRAGMA foreign_keys"))).scalar_one() == 1
            assert (await conn.execute(sa.text("PRAGMA busy_timeout"))).scalar_one() > 0
    finally:
        await engine.dispose()


async def test_in_memory_sqlite_keeps_one_database() -> None:
    engine = create_engine("sqlite://")
    try:
        await prepare(engine, auto_migrate=True)
        assert await is_up_to_date(engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgres://u:p@db/app", "postgresql+psycopg://u:p@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("sqlite:///var/p1.db", "sqlite+aiosqlite:///var/p1.db"),
        ("sqlite:////abs/p1.db", "sqlite+aiosqlite:////abs/p1.db"),
        ("sqlite+aiosqlite:///p1.db", "sqlite+aiosqlite:///p1.db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


def test_safe_url_and_is_sqlite() -> None:
    assert safe_url("postgres://u:s3cret@db/app") == "postgresql://u:***@db/app"
    assert safe_url("postgresql://u@db/app") == "postgresql://u@db/app"
    assert "s3cret" not in safe_url("not a url s3cret")
    assert is_sqlite("sqlite:///x.db")
    assert is_sqlite("sqlite+aiosqlite:///x.db")
    assert not is_sqlite("postgres://u@db/app")
