"""Registering advisors and storing content packs."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from projectone.domain.advisor import Advisor
from projectone.domain.content import ContentPack
from projectone.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["CatalogService"]


@attrs.define
class CatalogService:
    uow_factory: UnitOfWorkFactory

    async def register(
        self, advisors: Iterable[Advisor], packs: Iterable[ContentPack] = ()
    ) -> tuple[int, int]:
        """Store ``advisors`` and ``packs`` atomically: all of them or, on any error, none.

        Returns the numbers stored.
        """
        advisors, packs = list(advisors), list(packs)
        async with self.uow_factory() as uow:
            await uow.advisors.add_many(advisors)
            await uow.content.add_many(packs)
            await uow.commit()
        return len(advisors), len(packs)

    async def advisor_count(self) -> int:
        async with self.uow_factory() as uow:
            return await uow.advisors.count()
