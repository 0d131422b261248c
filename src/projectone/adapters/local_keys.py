"""A ``KeyStore`` holding the master key locally: from configuration or a key file.

The master key is 32 random bytes, written as base64. It wraps each person's data key with
AES-256-GCM, the subject as associated data, so a wrapped key copied onto another person's row
does not open. The lookup key (for the keyed hashes of emails and phone numbers) is derived from
the master key with HKDF, so it needs no storage of its own and can never disagree between
processes.

Where the key comes from, in order: ``PROJECTONE_PRIVACY_MASTER_KEY`` (base64),
``PROJECTONE_PRIVACY_MASTER_KEY_FILE``, or the default file
``$XDG_DATA_HOME/projectone/master.key``, created on first use with mode 0600. The default
suits one machine; a deployment with several sets the key (or file) from its secret store, and
a process with another key is refused (``WrongMasterKeyError``) rather than let write under it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from projectone.domain.errors import ConfigurationError, KeyStoreError

__all__ = [
    "KEY_BYTES",
    "LocalKeyStore",
    "default_key_file",
    "generate_master_key",
    "load_key_store",
]

KEY_BYTES = 32
_NONCE = 12
_WRAP_VERSION = b"\x01"


def generate_master_key() -> str:
    """A new master key, as the base64 text the settings and key files hold."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def default_key_file() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "projectone" / "master.key"


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(where, "is not base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(where, f"must be {KEY_BYTES} bytes, got {len(key)}")
    return key


class LocalKeyStore:
    """``KeyStore`` over a master key held in this process."""

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes) or len(master_key) != KEY_BYTES:
            raise ConfigurationError("master key", f"must be {KEY_BYTES} bytes")
        self._aead = AESGCM(master_key)
        # An HMAC of a constant: names the key in stored rows without revealing it.
        self._key_id = hmac.new(master_key, b"projectone key id", hashlib.sha256).hexdigest()[:16]
        self._lookup = HKDF(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"projectone lookup v1"
        ).derive(master_key)

    @classmethod
    def from_text(cls, text: str, where: str = "PROJECTONE_PRIVACY_MASTER_KEY") -> LocalKeyStore:
        return cls(_decode(text, where))

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap_now(self, data_key: bytes, context: str) -> bytes:
        """``wrap`` without a coroutine, for the migration that encrypts existing rows."""
        nonce = os.urandom(_NONCE)
        return _WRAP_VERSION + nonce + self._aead.encrypt(nonce, data_key, context.encode())

    def unwrap_now(self, wrapped: bytes, context: str) -> bytes:
        if len(wrapped) < 1 + _NONCE + 16 or wrapped[:1] != _WRAP_VERSION:
            raise KeyStoreError("the wrapped data key is malformed", context)
        nonce, body = wrapped[1 : 1 + _NONCE], wrapped[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, body, context.encode())
        except InvalidTag:
            raise KeyStoreError("the wrapped data key does not open", context) from None

    async def wrap(self, data_key: bytes, context: str) -> bytes:
        return self.wrap_now(data_key, context)

    async def unwrap(self, wrapped: bytes, context: str) -> bytes:
        return self.unwrap_now(wrapped, context)

    async def lookup_key(self) -> bytes:
        return self._lookup

    def lookup_key_now(self) -> bytes:
        return self._lookup


def _read_or_create(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not each write their own key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_master_key() + "\n")
    return path.read_text(encoding="ascii")


def load_key_store(master_key: str | None, master_key_file: str | None) -> LocalKeyStore:
    """The key store the settings describe (see the module documentation for the order)."""
    if master_key:
        return LocalKeyStore.from_text(master_key)
    if master_key_file:
        path = Path(master_key_file)
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                "PROJECTONE_PRIVACY_MASTER_KEY_FILE", f"cannot read {path}: {exc}"
            ) from None
        return LocalKeyStore.from_text(text, "PROJECTONE_PRIVACY_MASTER_KEY_FILE")
    path = default_key_file()
    try:
        text = _read_or_create(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            "master key file", f"cannot read or create {path}: {exc}"
        ) from None
    return LocalKeyStore.from_text(text, str(path))
