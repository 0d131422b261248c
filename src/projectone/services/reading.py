"""Units of work for reading: what the read paths of the API services open.

A unit of work factory may offer read-only units of work through a ``read_only`` method (the
SQL one does: on SQLite they do not take the database's one write lock, so concurrent reads
do not queue behind each other and behind writers; their ``commit`` refuses). Services that
only read use :func:`reader_of` to get them, and the factory itself when it has none (the
in-memory fakes), so nothing changes for a factory that does not offer them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = ["OffersReadOnly", "reader_of"]


@runtime_checkable
class OffersReadOnly(Protocol):
    """A unit of work factory that also makes read-only units of work."""

    def read_only(self) -> UnitOfWork: ...


def reader_of(factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    """``factory.read_only`` when ``factory`` offers it, else ``factory``."""
    if isinstance(factory, OffersReadOnly):
        return factory.read_only
    return factory
