"""Shared fixtures: throwaway PostgreSQL databases and SQLite files.

PostgreSQL tests are marked ``postgres``. Without a server they skip locally; with ``CI`` set
they fail instead, and any ``postgres`` test skipped for another reason makes the session
fail too, so CI can never pass while silently not testing PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL_ENV = "PROJECTONE_TEST_POSTGRES_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _libpq_url(url: str) -> str:
    # psycopg speaks libpq URLs: drop a SQLAlchemy driver suffix such as "+psycopg".
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A URL of a database on the test server to run CREATE/DROP DATABASE from."""
    url = _libpq_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, OSError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = " ".join(str(exc).split())
        message = f"PostgreSQL at {shown} is not reachable ({reason}); set {POSTGRES_URL_ENV}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """The URL of a brand-new, empty database, dropped after the test."""
    name = f"projectone_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            # FORCE: a test that leaked a connection must not leave the database behind.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a not-yet-existing SQLite file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'projectone.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database of each kind (not migrated)."""
    # Imported here: conftest modules load before pytest_configure has set up the session's
    # environment, and nothing of projectone should be imported before that.
    from projectone.adapters.sqlalchemy import create_engine

    engine = create_engine(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield engine
    finally:
        await engine.dispose()


_skipped_postgres: list[str] = []


_DATA_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    # One master key for every test and every process tests start, however it is looked up:
    # the environment, or the default key file, which lives in a data folder of the session's
    # own (never the user's: tests must not create or read their real key or database).
    from projectone.testing.keys import fixed_master_key

    data_home = Path(tempfile.mkdtemp(prefix="projectone-tests-data-"))
    (data_home / "projectone").mkdir()
    (data_home / "projectone" / "master.key").write_text(fixed_master_key() + "\n")
    os.environ["XDG_DATA_HOME"] = str(data_home)
    os.environ.setdefault("PROJECTONE_PRIVACY_MASTER_KEY", fixed_master_key())
    config.stash[_DATA_HOME] = data_home


def pytest_unconfigure(config: pytest.Config) -> None:
    data_home = config.stash.get(_DATA_HOME, None)
    if data_home is not None:
        shutil.rmtree(data_home, ignore_errors=True)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords and not hasattr(report, "wasxfail"):
        _skipped_postgres.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _in_ci() and _skipped_postgres:
        terminalreporter.section("PostgreSQL tests skipped in CI", sep="!", red=True, bold=True)
        terminalreporter.line(
            f"{len(_skipped_postgres)} test(s) marked 'postgres' were skipped; with CI set "
            "they must run. Start PostgreSQL or set " + POSTGRES_URL_ENV + ":"
        )
        for nodeid in _skipped_postgres:
            terminalreporter.line(f"  {nodeid}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _in_ci() and _skipped_postgres and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
