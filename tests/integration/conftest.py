"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.sqlalchemy import create_engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database of each kind (not migrated)."""
    engine = create_engine(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield engine
    finally:
        await engine.dispose()
