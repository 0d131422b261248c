"""Running the alembic migrations from code, against an ``AsyncEngine``.

Alembic is configured programmatically (no ``alembic.ini``): the scripts ship inside the
package, and the async connection's sync facade is handed to ``env.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.sqlalchemy.engine import safe_url
from projectone.adapters.sqlalchemy.errors import SchemaOutdatedError

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_up_to_date",
    "prepare",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None, key_store: object = None) -> Config:
    """An alembic ``Config`` for the packaged scripts, optionally bound to ``connection``.
    ``key_store``: the master key for revisions that seal existing personal data (0005)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    if key_store is not None:
        config.attributes["key_store"] = key_store
    return config


def head_revision() -> str:
    """The newest revision this version of projectone ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships at least one revision
        raise RuntimeError("no migration scripts found in " + str(MIGRATIONS_DIR))
    return head


def _upgrade(connection: Connection, revision: str, key_store: object) -> None:
    command.upgrade(alembic_config(connection, key_store), revision)


def _downgrade(connection: Connection, revision: str, key_store: object) -> None:
    command.downgrade(alembic_config(connection, key_store), revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head", *, key_store: object = None) -> None:
    """Migrate the database of ``engine`` to ``revision``, in one transaction.

    On SQLite, foreign keys are switched off around the transaction, as SQLite's own procedure
    for schema changes asks: a migration that rebuilds a table (batch mode: copy, drop,
    rename) would otherwise fail on the rows of other tables that reference it. Before the
    transaction commits, ``PRAGMA foreign_key_check`` must come back empty.

    ``key_store`` (a ``LocalKeyStore``) is the master key revision 0005 seals existing personal
    data with; without it the key is loaded from the environment as the application does.
    """
    await _migrate(engine, _upgrade, revision, key_store)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the database of ``engine`` back to ``revision``, like :func:`upgrade`. What the
    later revisions added (tables, columns) is dropped with its data."""
    await _migrate(engine, _downgrade, revision, None)


async def _migrate(
    engine: AsyncEngine,
    step: Callable[[Connection, str, object], None],
    revision: str,
    key_store: object,
) -> None:
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            await conn.run_sync(_sqlite_foreign_keys, False)
        try:
            async with conn.begin():
                await conn.run_sync(step, revision, key_store)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                await conn.run_sync(_sqlite_foreign_keys, True)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # Straight on the driver's connection: the PRAGMA is a no-op inside a transaction, and
    # going through SQLAlchemy would begin one.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def is_up_to_date(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()


async def prepare(engine: AsyncEngine, *, auto_migrate: bool, key_store: object = None) -> None:
    """Make sure the schema is at head before the application uses ``engine``.

    An embedded SQLite database is migrated in place when ``auto_migrate`` is true: it belongs
    to this process, and a fresh install must work with no setup. A PostgreSQL database is
    shared by many processes and upgraded as a deliberate operation, so it is never migrated
    here: ``SchemaOutdatedError`` tells the operator to run ``projectone db upgrade``. The
    same error is raised for SQLite when ``auto_migrate`` is false, and for a database at a
    revision this version does not know (migrated by a newer projectone).
    """
    head = head_revision()
    current = await current_revision(engine)
    if current == head:
        return
    known = current is None or _is_known(current)
    if known and auto_migrate and engine.dialect.name == "sqlite":
        await upgrade(engine, key_store=key_store)
        return
    raise SchemaOutdatedError(safe_url(engine.url), current, head)


def _is_known(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises its own CommandError/ResolutionError subclasses
        return False
