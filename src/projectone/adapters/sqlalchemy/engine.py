"""Engines from user-friendly URLs, and a reachability check that reports problems safely."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import await_

from projectone.domain.errors import InvalidTransitionError, UnavailableError

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "PING_AFTER_IDLE_SECONDS",
    "READ_ONLY",
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

#: A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "projectone.idle_since"

#: Set in a connection's ``info`` by a read-only unit of work, until it gives the connection
#: back: SQLite then begins no transaction (no ``BEGIN IMMEDIATE``), and only ``SELECT``
#: statements are let through (see ``_install_read_only_guard``).
READ_ONLY = "projectone.read_only"

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
        # A read-only unit of work begins nothing: each of its SELECTs reads committed data on
        # its own (WAL), takes no write lock, so reads neither queue behind each other nor
        # behind a writer, and saves a BEGIN hand-off (~150 us a request in the HTTP bench).
        if connection.info.get(READ_ONLY):
            return
        statement = "BEGIN IMMEDIATE"
        # One call on the driver's thread (aiosqlite's execute_fetchall) instead of the three
        # of exec_driver_sql (cursor, execute, close): each is a thread hand-off (~80 us).
        driver = connection.connection.driver_connection
        if driver is None:  # never with aiosqlite; the portable way, should it ever be
            connection.exec_driver_sql(statement)
            return
        try:
            await_(driver.execute_fetchall(statement))
        except sqlite3.Error as exc:
            # The error SQLAlchemy would have raised (OperationalError for "database is locked").
            raise sa.exc.DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc


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
    elif backend == "sqlite" and _is_memory(parsed):
        # One shared connection, or every checkout would see its own empty database.
        options["poolclass"] = StaticPool
    options.update(kwargs)
    if connect_args:
        options["connect_args"] = connect_args
    engine = create_async_engine(parsed, **options)
    if backend == "sqlite":
        _install_sqlite_pragmas(engine, file_backed=not _is_memory(parsed))
    elif backend == "postgresql" and not options.get("pool_pre_ping"):
        _install_idle_ping(engine)
    _install_read_only_guard(engine)
    _install_disconnect_translation(engine)
    return engine


def _install_disconnect_translation(engine: AsyncEngine) -> None:
    """A lost connection surfaces as ``UnavailableError`` (HTTP 503, CLI exit 69), not as a
    driver error: the database went away, which callers handle like any unavailable service.
    SQLAlchemy has invalidated the connection (and the pool) by the time this runs."""
    target = safe_url(engine.url)
    password = engine.url.password

    @sa.event.listens_for(engine.sync_engine, "handle_error")
    def _lost(context: sa.engine.ExceptionContext) -> None:
        if context.is_disconnect:
            reason = _one_line(context.sqlalchemy_exception or context.original_exception, password)
            raise UnavailableError(target, reason) from context.original_exception


def _install_read_only_guard(engine: AsyncEngine) -> None:
    """A connection marked :data:`READ_ONLY` runs ``SELECT`` statements only.

    A read-only unit of work runs without a transaction (autocommit on PostgreSQL, no BEGIN
    on SQLite), so a write would not be rolled back at its end: it is refused before it
    reaches the database instead.
    """

    @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _reads_only(
        connection: sa.Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if connection.info.get(READ_ONLY) and statement.lstrip()[:7].upper() != "SELECT ":
            raise InvalidTransitionError(
                "unit of work", "read-only", "write", "open a unit of work that may write"
            )


def _install_idle_ping(engine: AsyncEngine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, for connections that sat idle in the pool only.

    A connection the server dropped (a restart, an idle timeout on the way) is found by the
    ping and replaced, all pooled connections with it, before a request gets it, as with
    ``pool_pre_ping``; a connection given back less than ``PING_AFTER_IDLE_SECONDS`` ago is
    handed out without one. The ping was a round trip on every checkout, ~90 us of CPU per
    API request (docs/benchmarks.md).
    """
    dialect = engine.dialect

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # As pool_pre_ping does: the pool replaces this connection and every older one.
            raise sa.exc.InvalidatePoolError()


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
