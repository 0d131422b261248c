"""The SQL unit of work: one connection, one transaction, all the repositories."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from projectone.adapters.sqlalchemy.engine import READ_ONLY
from projectone.adapters.sqlalchemy.errors import conflict_from_integrity_error
from projectone.adapters.sqlalchemy.keyring import KeyRing, SubjectKeys
from projectone.adapters.sqlalchemy.privacy_store import SqlConsentRepository, SqlSubjectRepository
from projectone.adapters.sqlalchemy.repositories import (
    CONFLICT_MARK,
    SqlAdvisorRepository,
    SqlAiCache,
    SqlAiJobRepository,
    SqlAuditLog,
    SqlContentRepository,
    SqlDeliveryRepository,
    SqlFallbackRepository,
    SqlInboundMessageRepository,
    SqlIncidentRepository,
)
from projectone.domain.errors import InvalidTransitionError
from projectone.ports.ai import AiCache, AiJobRepository
from projectone.ports.privacy import ConsentRepository, KeyStore, SubjectRepository
from projectone.ports.repositories import (
    AdvisorRepository,
    AuditLog,
    ContentRepository,
    DeliveryRepository,
    FallbackRepository,
    InboundMessageRepository,
    IncidentRepository,
)

__all__ = ["SqlAlchemyUnitOfWork", "SqlAlchemyUnitOfWorkFactory"]


class SqlAlchemyUnitOfWork:
    """``async with SqlAlchemyUnitOfWork(engine) as uow: ...; await uow.commit()``.

    Entering checks out a connection and begins a transaction; leaving without ``commit`` (or
    with an exception) rolls it back. ``commit`` may be called more than once: work after a
    commit runs in a new transaction.

    A ``ConflictError`` raised by a repository has already rolled the transaction back; until
    ``rollback`` is called to acknowledge that, ``commit`` raises ``InvalidTransitionError``,
    so code that catches the conflict and carries on cannot commit half a change.

    ``read_only=True`` makes a unit of work for reading: only ``SELECT`` statements run (any
    other raises ``InvalidTransitionError``, as ``commit`` does), each on its own, without a
    transaction (SQLite: no ``BEGIN IMMEDIATE``, so no wait for the database's one write
    lock, and reads do not queue behind each other and behind writers; PostgreSQL:
    autocommit, no BEGIN and ROLLBACK round trips). Each statement sees what was committed
    when it started: what PostgreSQL's default READ COMMITTED gives every statement of a
    transaction anyway; on SQLite two statements (a page and its total) may see two commits.
    """

    # Typed as the ports: the UnitOfWork protocol's attributes are mutable, hence invariant.
    advisors: AdvisorRepository
    content: ContentRepository
    deliveries: DeliveryRepository
    audit: AuditLog
    incidents: IncidentRepository
    fallbacks: FallbackRepository
    inbound: InboundMessageRepository
    ai_jobs: AiJobRepository
    ai_cache: AiCache
    consents: ConsentRepository
    subjects: SubjectRepository

    def __init__(self, engine: AsyncEngine, keys: KeyRing, *, read_only: bool = False) -> None:
        self._engine = engine
        self._ring = keys
        self._read_only = read_only
        self._autocommit_reads = engine.dialect.name == "postgresql"
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        if self._conn is not None:
            raise InvalidTransitionError("unit of work", "open", "enter")
        conn = await self._engine.connect()
        try:
            # info belongs to the pooled DBAPI connection: clear what an earlier user left.
            info = conn.info
            info.pop(CONFLICT_MARK, None)
            if self._read_only:
                info[READ_ONLY] = True  # read by the hooks in engine.py
                if self._autocommit_reads:
                    # Reset by the pool when the connection is given back.
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
            else:
                info.pop(READ_ONLY, None)
            await conn.begin()
        except BaseException:
            conn.info.pop(READ_ONLY, None)
            await conn.close()
            raise
        self._conn = conn
        keys = SubjectKeys(conn, self._ring)
        self.advisors = SqlAdvisorRepository(conn, keys)
        self.content = SqlContentRepository(conn)
        self.deliveries = SqlDeliveryRepository(conn, keys)
        self.audit = SqlAuditLog(conn)
        self.incidents = SqlIncidentRepository(conn)
        self.fallbacks = SqlFallbackRepository(conn)
        self.inbound = SqlInboundMessageRepository(conn, keys)
        self.ai_jobs = SqlAiJobRepository(conn)
        self.ai_cache = SqlAiCache(conn)
        self.consents = SqlConsentRepository(conn)
        self.subjects = SqlSubjectRepository(conn, keys)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.invalidated:
                # The connection was lost (and thrown away, with its info): SQLAlchemy still
                # holds the transaction open, which closing alone refuses to end.
                await conn.rollback()
            else:
                info = conn.info
                info.pop(CONFLICT_MARK, None)
                info.pop(READ_ONLY, None)
        finally:
            # Closing rolls back an open transaction itself, and then the pool skips its own
            # reset: one ROLLBACK round trip instead of two (rollback() here, then the pool's).
            await conn.close()

    def _open(self, action: str) -> AsyncConnection:
        if self._conn is None:
            raise InvalidTransitionError("unit of work", "closed", action)
        return self._conn

    async def commit(self) -> None:
        conn = self._open("commit")
        if self._read_only:
            raise InvalidTransitionError(
                "unit of work", "read-only", "commit", "open a unit of work that may write"
            )
        if conn.info.get(CONFLICT_MARK):
            raise InvalidTransitionError(
                "unit of work",
                "rolled back",
                "commit",
                "a write conflicted and everything before it was discarded; call rollback()",
            )
        if not conn.in_transaction():
            return
        try:
            await conn.commit()
        except IntegrityError as exc:
            # Deferred constraints would surface here; the transaction is gone either way.
            if conn.in_transaction():
                await conn.rollback()
            raise conflict_from_integrity_error(exc, "unknown") from exc

    async def rollback(self) -> None:
        conn = self._open("rollback")
        conn.info.pop(CONFLICT_MARK, None)
        if conn.in_transaction():
            await conn.rollback()


class SqlAlchemyUnitOfWorkFactory:
    """A ``UnitOfWorkFactory``: each call returns a fresh unit of work on ``engine``.

    ``key_store`` holds the master key that wraps each person's data key: personal fields are
    sealed on the way in and opened on the way out (``keyring.py``). There is no default, so
    nothing is ever stored unsealed because a caller forgot to pass one.
    """

    def __init__(self, engine: AsyncEngine, key_store: KeyStore) -> None:
        self.engine = engine
        self.keys = KeyRing(key_store)

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.keys)

    def read_only(self) -> SqlAlchemyUnitOfWork:
        """A unit of work for reading only (see :class:`SqlAlchemyUnitOfWork`); this bound
        method is itself a ``UnitOfWorkFactory``."""
        return SqlAlchemyUnitOfWork(self.engine, self.keys, read_only=True)
