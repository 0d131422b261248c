"""Engines from user-friendly URLs, and a reachability check that reports problems safely."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from projectone.domain.errors import UnavailableError

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_engine",
    "ensure_reachable",
    "is_sqlite",
    "normalize_url",
    "safe_url",
]

# Long enough for a server across a network, short enough that a wrong host fails the CLI
# promptly instead of hanging for the OS default (minutes).
CONNECT_TIMEOUT_SECONDS = 5
# Writers on one SQLite file take turns; wait this long for the lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000

_ASYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite+aiosqlite"}


def _parse(url: str | URL) -> URL:
    if isinstance(url, URL):
        return url
    text = url.strip()
    # Heroku-style and libpq URLs say "postgres://", which SQLAlchemy does not know.
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    return make_url(text)


def normalize_url(url: str | URL) -> URL:
    """``url`` with an asyncio driver: ``postgresql://`` → psycopg 3, ``sqlite://`` → aiosqlite.

    A URL that already names a driver (``postgresql+psycopg://``, ``sqlite+aiosqlite://``) is
    returned unchanged.
    """
    parsed = _parse(url)
    if "+" not in parsed.drivername and parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return _parse(url).get_backend_name() == "sqlite"


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def safe_url(url: str | URL) -> str:
    """``url`` as text with the password replaced by ``***``, fit for logs and error messages."""
    try:
        return _parse(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # An unparseable URL may still hold a secret: never echo it back.
        return "<invalid database url>"


def _json_serializer(value: Any) -> str:
    # Keep Devanagari readable in the database (psql, sqlite3 shells) instead of \u escapes.
    return json.dumps(value, ensure_ascii=False)


def _install_sqlite_pragmas(engine: AsyncEngine, *, file_backed: bool) -> None:
    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (see _on_begin); the driver's implicit, DML-only BEGIN
        # would leave SELECTs outside the transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # SQLite ignores foreign keys unless asked, per connection.
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # Deleted and overwritten content is zeroed, not left in free pages: erasing a
            # person (redacted text, deleted messages) must not leave them in the file.
            cursor.execute("PRAGMA secure_delete=ON")
            if file_backed:
                # WAL lets readers proceed while one writer commits.
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front: two units of work that read then write wait
        # for each other (busy_timeout) instead of failing with SQLITE_BUSY on lock upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An ``AsyncEngine`` for ``url``; ``kwargs`` go to ``create_async_engine``.

    Accepts ``postgresql://``, ``postgres://`` and ``sqlite:///path`` as well as explicit async
    URLs. SQLite connections get foreign keys, a busy timeout and (for files) WAL journaling;
    PostgreSQL connections get a connect timeout of ``CONNECT_TIMEOUT_SECONDS``. The folder of
    a SQLite file is created if missing, so the default database works on a fresh machine
    (``UnavailableError`` if it cannot be).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite" and not _is_memory(parsed) and parsed.database:
        try:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UnavailableError(safe_url(parsed), _one_line(exc, None)) from exc
    options: dict[str, Any] = {"json_serializer": _json_serializer}
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        options["pool_pre_ping"] = True
    elif backend == "sqlite" and _is_memory(parsed):
        # One shared connection, or every checkout would see its own empty database.
        options["poolclass"] = StaticPool
    options.update(kwargs)
    if connect_args:
        options["connect_args"] = connect_args
    engine = create_async_engine(parsed, **options)
    if backend == "sqlite":
        _install_sqlite_pragmas(engine, file_backed=not _is_memory(parsed))
    return engine


def _one_line(exc: BaseException, password: str | None) -> str:
    cause: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        cause = exc.orig
    text = str(cause).strip() or type(cause).__name__
    line = " ".join(text.split())
    if password:
        line = line.replace(password, "***")
    return line


async def ensure_reachable(engine: AsyncEngine, *, wait_seconds: float = 10.0) -> None:
    """Open a connection and run ``SELECT 1``; ``UnavailableError`` if that is impossible.

    The error names the database by :func:`safe_url` and gives the driver's reason on one
    line, with the password scrubbed should a driver ever echo it.
    """
    target = safe_url(engine.url)
    try:
        async with asyncio.timeout(wait_seconds), engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except TimeoutError:
        raise UnavailableError(target, f"no answer within {wait_seconds:g} s") from None
    except (DBAPIError, OSError) as exc:
        raise UnavailableError(target, _one_line(exc, engine.url.password)) from exc
