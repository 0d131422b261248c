"""Errors of the SQL adapter, and the translation of driver errors into domain errors."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from projectone.adapters.sqlalchemy.tables import metadata
from projectone.domain.errors import ConflictError, ProjectOneError

__all__ = ["SchemaOutdatedError", "conflict_from_integrity_error"]


class SchemaOutdatedError(ProjectOneError):
    """The database schema is not at the revision this version of projectone needs.

    Raised instead of migrating when migrating implicitly is not wanted (PostgreSQL, or SQLite
    with auto-migration switched off); ``current`` is ``None`` for a database never migrated.
    """

    code = "schema_outdated"

    def __init__(self, target: str, current: str | None, head: str) -> None:
        self.target = target
        self.current = current
        self.head = head
        at = "has no projectone schema" if current is None else f"is at revision {current}"
        super().__init__(
            f"database {target} {at}, but this version of projectone needs revision {head}; "
            f"run `projectone db upgrade --db {target}`"
        )


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<cols>.+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (?P<name>\w+)")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: \w+\.(?P<col>\w+)")


def _unique_name(table: str, columns: frozenset[str]) -> str | None:
    """The name of the PRIMARY KEY/UNIQUE constraint of ``table`` over exactly ``columns``."""
    tbl = metadata.tables.get(table)
    if tbl is None:
        return None
    for constraint in tbl.constraints:
        if not isinstance(constraint, sa.PrimaryKeyConstraint | sa.UniqueConstraint):
            continue
        cols = frozenset(c.name for c in constraint.columns)
        if cols == columns and isinstance(constraint.name, str):
            return constraint.name
    return None


def conflict_from_integrity_error(exc: IntegrityError, table: str) -> ConflictError:
    """A ``ConflictError`` naming the table and the constraint ``exc`` reports.

    PostgreSQL (psycopg) names the constraint in the error's diagnostics; SQLite only puts the
    columns (UNIQUE) or the name (CHECK) in the message, so the columns are mapped back to the
    constraint name through the table metadata, making both backends report the same key.
    """
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:
        entity = getattr(diag, "table_name", None) or table
        name = getattr(diag, "constraint_name", None)
        if name:
            return ConflictError(entity, name, _reason(name))
        column = getattr(diag, "column_name", None)
        if column:
            return ConflictError(entity, f"not_null_{column}", "a required value is missing")
        return ConflictError(entity, "integrity", str(orig).splitlines()[0])
    message = str(orig)
    if match := _SQLITE_UNIQUE.search(message):
        qualified = [part.strip() for part in match["cols"].split(",")]
        entity = qualified[0].split(".", 1)[0] if qualified else table
        columns = frozenset(part.split(".", 1)[-1] for part in qualified)
        name = _unique_name(entity, columns) or f"uq_{entity}_{'_'.join(sorted(columns))}"
        return ConflictError(entity, name, _reason(name))
    if match := _SQLITE_CHECK.search(message):
        return ConflictError(table, match["name"], _reason(match["name"]))
    if match := _SQLITE_NOT_NULL.search(message):
        return ConflictError(table, f"not_null_{match['col']}", "a required value is missing")
    if "FOREIGN KEY" in message:
        # SQLite does not say which foreign key failed.
        return ConflictError(table, "foreign_key", _reason("fk_"))
    return ConflictError(table, "integrity", message.splitlines()[0] if message else "")


def _reason(constraint: str) -> str:
    if constraint.startswith(("uq_", "pk_")):
        return "already exists"
    if constraint.startswith("fk_"):
        return "refers to a row that does not exist"
    if constraint.startswith("ck_"):
        return f"violates {constraint}"
    return f"violates {constraint}"
