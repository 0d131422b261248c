"""Master keys for tests and examples: never for data that matters."""

from __future__ import annotations

import base64
import hashlib

from projectone.adapters.local_keys import LocalKeyStore

__all__ = ["fixed_key_store", "fixed_master_key"]


def fixed_master_key(seed: str = "projectone tests") -> str:
    """A master key derived from ``seed``, as ``PROJECTONE_PRIVACY_MASTER_KEY`` takes it: the
    same in every process, so a database written by one opens in another."""
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode("ascii")


def fixed_key_store(seed: str = "projectone tests") -> LocalKeyStore:
    """A key store over :func:`fixed_master_key`."""
    return LocalKeyStore.from_text(fixed_master_key(seed))
