"""Throwaway PostgreSQL databases for benchmarks and embedders' tests: created under a fresh
name on a server reachable at ``admin_url`` (a database to connect to for CREATE/DROP), and
dropped with ``FORCE`` afterwards."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from projectone.adapters.sqlalchemy import create_engine

__all__ = ["ADMIN_URL", "create_throwaway", "drop_throwaway"]

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def create_throwaway(
    prefix: str = "projectone_bench", admin_url: str = ADMIN_URL
) -> tuple[str, str]:
    """(name, URL) of a new empty database."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    return name, admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_throwaway(name: str, admin_url: str = ADMIN_URL) -> None:
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(admin_url: str, statement: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await admin.dispose()
