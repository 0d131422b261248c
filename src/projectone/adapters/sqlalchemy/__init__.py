"""SQL persistence: SQLAlchemy Core over PostgreSQL (psycopg 3) or SQLite (aiosqlite).

Typical use::

    engine = create_engine("sqlite:///projectone.db")
    await ensure_reachable(engine)
    await prepare(engine, auto_migrate=True)
    uow_factory = SqlAlchemyUnitOfWorkFactory(engine)
"""

from projectone.adapters.sqlalchemy.engine import (
    create_engine,
    ensure_reachable,
    is_sqlite,
    normalize_url,
    safe_url,
)
from projectone.adapters.sqlalchemy.errors import SchemaOutdatedError
from projectone.adapters.sqlalchemy.migrate import (
    current_revision,
    downgrade,
    head_revision,
    is_up_to_date,
    prepare,
    upgrade,
)
from projectone.adapters.sqlalchemy.repositories import (
    SqlAdvisorRepository,
    SqlContentRepository,
    SqlDeliveryRepository,
)
from projectone.adapters.sqlalchemy.tables import metadata
from projectone.adapters.sqlalchemy.unit_of_work import (
    SqlAlchemyUnitOfWork,
    SqlAlchemyUnitOfWorkFactory,
)

__all__ = [
    "SchemaOutdatedError",
    "SqlAdvisorRepository",
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyUnitOfWorkFactory",
    "SqlContentRepository",
    "SqlDeliveryRepository",
    "create_engine",
    "current_revision",
    "downgrade",
    "ensure_reachable",
    "head_revision",
    "is_sqlite",
    "is_up_to_date",
    "metadata",
    "normalize_url",
    "prepare",
    "safe_url",
    "upgrade",
]
