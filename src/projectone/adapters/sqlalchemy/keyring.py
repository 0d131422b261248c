"""Sealing personal fields: per-person data keys in ``data_keys``, AES-GCM, keyed hashes.

A sealed value is ``"v1." + base64(nonce ‖ ciphertext ‖ tag)``, encrypted with the subject's
data key and bound (associated data) to the subject and the field, so a sealed value moved to
another person's row or another column does not open. Data keys are created when a subject
first needs one, wrapped by the ``KeyStore``, and cached unwrapped per process (``KeyRing``):
the worker's hot path decrypts a number per delivery and must not call the key store for it.

Erasing a person deletes their ``data_keys`` row and evicts it from this process's cache. Other
processes may still hold it in theirs, which is why erasure also removes every value sealed
under it (``SqlSubjectRepository.erase``): the key's destruction is what makes copies (backups,
logs of the database) unreadable, not what makes the live rows go.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import uuid
from collections import OrderedDict
from collections.abc import Iterable

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncConnection

from projectone.adapters.sqlalchemy._ids import id_in
from projectone.adapters.sqlalchemy.tables import data_keys
from projectone.domain.errors import KeyStoreError, WrongMasterKeyError
from projectone.ports.privacy import KeyStore

__all__ = [
    "SEALED_PREFIX",
    "KeyRing",
    "SubjectKeys",
    "blind",
    "normalize_email",
    "normalize_phone",
    "open_sealed",
    "seal",
    "sender_subject",
]

SEALED_PREFIX = "v1."
_NONCE = 12
_CHUNK = 500


def _aad(subject: uuid.UUID, field: str) -> bytes:
    return subject.bytes + field.encode()


def seal(cipher: AESGCM, subject: uuid.UUID, field: str, text: str) -> str:
    nonce = os.urandom(_NONCE)
    body = cipher.encrypt(nonce, text.encode(), _aad(subject, field))
    return SEALED_PREFIX + base64.b64encode(nonce + body).decode("ascii")


def open_sealed(cipher: AESGCM, subject: uuid.UUID, field: str, token: str) -> str:
    if not token.startswith(SEALED_PREFIX):
        raise KeyStoreError(f"{field} is not a sealed value", subject)
    try:
        raw = base64.b64decode(token[len(SEALED_PREFIX) :], validate=True)
        return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], _aad(subject, field)).decode()
    except (InvalidTag, ValueError):
        raise KeyStoreError(f"{field} does not open under its data key", subject) from None


def normalize_email(value: str) -> str:
    # Mailbox names are case-insensitive in practice; one person, one account.
    return value.strip().casefold()


def normalize_phone(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def blind(lookup_key: bytes, kind: str, normalized: str) -> str:
    """The keyed hash an equality lookup uses: hex HMAC-SHA256 of ``kind`` and the value."""
    return hmac.new(lookup_key, f"{kind}\0{normalized}".encode(), hashlib.sha256).hexdigest()


def sender_subject(phone_index: str) -> uuid.UUID:
    """The subject of a number we do not know (an inbound message from a stranger): derived
    from the number's keyed hash, so all their messages share one data key, and it can be
    erased on its own."""
    return uuid.UUID(bytes=bytes.fromhex(phone_index)[:16])


class KeyRing:
    """The process-wide part: the key store, the lookup key and unwrapped data keys (LRU)."""

    def __init__(self, store: KeyStore, *, capacity: int = 50_000) -> None:
        self.store = store
        self._capacity = capacity
        self._ciphers: OrderedDict[uuid.UUID, AESGCM] = OrderedDict()
        self._lookup: bytes | None = None
        #: Whether the stored data keys were found to be wrapped by this master key.
        self.store_checked = False

    async def lookup_key(self) -> bytes:
        if self._lookup is None:
            self._lookup = await self.store.lookup_key()
        return self._lookup

    def cached(self, subject: uuid.UUID) -> AESGCM | None:
        cipher = self._ciphers.get(subject)
        if cipher is not None:
            self._ciphers.move_to_end(subject)
        return cipher

    def remember(self, subject: uuid.UUID, cipher: AESGCM) -> None:
        self._ciphers[subject] = cipher
        self._ciphers.move_to_end(subject)
        while len(self._ciphers) > self._capacity:
            self._ciphers.popitem(last=False)

    def forget(self, subject: uuid.UUID) -> None:
        self._ciphers.pop(subject, None)

    def clear(self) -> None:
        self._ciphers.clear()


class SubjectKeys:
    """Data keys within one unit of work (its connection and transaction)."""

    def __init__(self, conn: AsyncConnection, ring: KeyRing) -> None:
        self._conn = conn
        self._ring = ring

    async def index(self, kind: str, value: str) -> str:
        """The keyed hash of an email (``kind="email"``) or phone number (``"phone"``)."""
        normalized = normalize_email(value) if kind == "email" else normalize_phone(value)
        return blind(await self._ring.lookup_key(), kind, normalized)

    async def ciphers(self, subjects: Iterable[uuid.UUID]) -> dict[uuid.UUID, AESGCM]:
        """The data keys of ``subjects`` that exist (an erased subject's is absent)."""
        found: dict[uuid.UUID, AESGCM] = {}
        missing: list[uuid.UUID] = []
        for subject in dict.fromkeys(subjects):
            cipher = self._ring.cached(subject)
            if cipher is None:
                missing.append(subject)
            else:
                found[subject] = cipher
        store = self._ring.store
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            rows = await self._conn.execute(
                sa.select(
                    data_keys.c.subject_id, data_keys.c.wrapped_key, data_keys.c.master_key_id
                ).where(id_in(self._conn, data_keys.c.subject_id, chunk))
            )
            for subject, wrapped, key_id in rows:
                if key_id != store.key_id:
                    raise WrongMasterKeyError(key_id, store.key_id)
                key = await store.unwrap(base64.b64decode(wrapped), str(subject))
                cipher = AESGCM(key)
                self._ring.remember(subject, cipher)
                found[subject] = cipher
        return found

    async def require(self, subjects: Iterable[uuid.UUID]) -> dict[uuid.UUID, AESGCM]:
        """``ciphers``, with ``KeyStoreError`` naming the first subject that has none."""
        wanted = list(dict.fromkeys(subjects))
        found = await self.ciphers(wanted)
        for subject in wanted:
            if subject not in found:
                raise KeyStoreError("no data key", subject)
        return found

    async def ensure(
        self, subjects: Iterable[uuid.UUID], now: dt.datetime
    ) -> dict[uuid.UUID, AESGCM]:
        """The data keys of ``subjects``, creating those that do not exist yet."""
        wanted = list(dict.fromkeys(subjects))
        found = await self.ciphers(wanted)
        new = [s for s in wanted if s not in found]
        if not new:
            return found
        store = self._ring.store
        if not self._ring.store_checked:
            # A process started with another master key must not add keys under it: the
            # database would then hold data no single key opens (and the rightful key would
            # refuse to go on). Checked once per process, before its first new key.
            other = await self._conn.execute(
                sa.select(data_keys.c.master_key_id)
                .where(data_keys.c.master_key_id != store.key_id)
                .limit(1)
            )
            stranger = other.scalar_one_or_none()
            if stranger is not None:
                raise WrongMasterKeyError(str(stranger), store.key_id)
            self._ring.store_checked = True
        rows = []
        created: dict[uuid.UUID, AESGCM] = {}
        for subject in new:
            key = AESGCM.generate_key(bit_length=256)
            wrapped = await store.wrap(key, str(subject))
            rows.append(
                {
                    "subject_id": subject,
                    "wrapped_key": base64.b64encode(wrapped).decode("ascii"),
                    "master_key_id": store.key_id,
                    "created_at": now.astimezone(dt.UTC),
                }
            )
            created[subject] = AESGCM(key)
        await self._conn.execute(data_keys.insert(), rows)
        # Not cached: if this transaction rolls back, another may create a different key for
        # the same subject, and a cached copy of this one would then open nothing. The next
        # unit of work reads the committed key back.
        found.update(created)
        return found

    async def destroy(self, subject: uuid.UUID) -> int:
        result = await self._conn.execute(
            data_keys.delete().where(data_keys.c.subject_id == subject)
        )
        self._ring.forget(subject)
        return max(result.rowcount, 0)
