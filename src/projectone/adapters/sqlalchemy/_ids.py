"""``column IN ids`` written the cheap way for each database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["id_in"]


def id_in(
    conn: AsyncConnection, column: sa.ColumnElement[Any], ids: Sequence[uuid.UUID]
) -> sa.ColumnElement[bool]:
    """``column IN ids``. On PostgreSQL as ``= ANY(array)``: one bound parameter instead of one
    per id. An expanded ``IN`` makes a statement text of its own for every list length, which
    the driver then parses again (it caches only short, repeated texts), per id on the
    worker's hot path (hundreds of ids a batch)."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(sa.Uuid())))
    return column.in_(ids)
