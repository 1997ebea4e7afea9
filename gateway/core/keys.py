"""The keys that keep the stores from being re-identification tables. Pure: no I/O.

Every store (pseudonyms, governance) holds a small keyring: named data keys, each wrapped (AES-256-GCM) under a
key-encryption key derived from the gateway secret. Everything else a store holds is made with a data key:

- an *index* is a keyed hash (HMAC-SHA-256, 128 bits) of a real value, used where a real value must be looked
  up but never read back (forward maps, opt-out matching);
- a *sealed* value is the real value encrypted with AES-256-GCM, bound by its associated data to the row that
  holds it, used where the gateway must read the real value back (reverse maps, UID routing, the ledger).

A copy of a store without the secret therefore yields no real identifier, and a sealed value moved to another
row no longer opens. Changing the secret rewraps the keyring and nothing else (`Keyring.rewrap`), which is why
no pseudonym that was already disclosed changes: pseudonyms are derived from data keys, not from the secret.

A data key's first value is derived from the secret and its name (for pseudonyms, `key-v<version>`, exactly the
key the gateway derived before it had a keyring), so a store written before the keyring existed keeps deriving
the same pseudonyms, and a lost store re-derives them until the secret is changed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.errors import KeyMismatch

_NONCE = 12
_INDEX_BYTES = 16  # 128 bits: two real values sharing an index is as likely as guessing the key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _context(parts: tuple[str, ...]) -> bytes:
    # NUL cannot occur in a DICOM value, a scope name or a kind, so the joined parts are unambiguous.
    return "\0".join(parts).encode("utf-8")


def pseudonym_key_name(key_version: int) -> str:
    return f"key-v{key_version}"


class Keyring:
    """Wraps and unwraps data keys under the secret. Holds the secret, so it keeps it out of repr."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the gateway secret must be at least 16 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return "Keyring(secret=<hidden>)"

    @cached_property
    def _kek(self) -> AESGCM:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dicomweb-gateway keyring")
        return AESGCM(hkdf.derive(self._secret))

    def first_key(self, name: str) -> bytes:
        """The value a data key takes when its store first creates it."""
        return hmac.new(self._secret, name.encode("utf-8"), hashlib.sha256).digest()

    def wrap(self, name: str, data_key: bytes) -> str:
        nonce = os.urandom(_NONCE)
        return _b64(nonce + self._kek.encrypt(nonce, data_key, _context(("keyring", name))))

    def unwrap(self, name: str, wrapped: str) -> bytes:
        try:
            raw = _unb64(wrapped)
            return self._kek.decrypt(raw[:_NONCE], raw[_NONCE:], _context(("keyring", name)))
        except (InvalidTag, ValueError):
            raise KeyMismatch() from None

    def proposal(self, name: str) -> str:
        """What a store keeps for `name` unless it already holds a wrapped key under that name."""
        return self.wrap(name, self.first_key(name))

    def rewrap(self, keys: dict[str, str], new: Keyring) -> dict[str, str]:
        """The same data keys wrapped under `new`: every index, sealed value and pseudonym stays valid."""
        return {name: new.wrap(name, self.unwrap(name, wrapped)) for name, wrapped in keys.items()}


class DataKey:
    """One data key's two uses: indexes (keyed hashes) and sealed values (AEAD), each with its own subkey."""

    def __init__(self, data_key: bytes) -> None:
        self.raw = data_key
        self._index_key = hmac.new(data_key, b"index", hashlib.sha256).digest()
        self._seal = AESGCM(hmac.new(data_key, b"seal", hashlib.sha256).digest())

    def __repr__(self) -> str:
        return "DataKey(<hidden>)"

    def subkey(self, purpose: str) -> bytes:
        """Key material for one further use of this data key, independent of its other subkeys."""
        return hmac.new(self.raw, purpose.encode("utf-8"), hashlib.sha256).digest()

    def index(self, *parts: str) -> str:
        return _b64(hmac.new(self._index_key, _context(parts), hashlib.sha256).digest()[:_INDEX_BYTES])

    def seal(self, value: str, *row: str) -> str:
        """`value` encrypted; it opens only with the same `row` parts (the row's scope, kind and key)."""
        nonce = os.urandom(_NONCE)
        return _b64(nonce + self._seal.encrypt(nonce, value.encode("utf-8"), _context(row)))

    def open(self, sealed: str, *row: str) -> str:
        try:
            raw = _unb64(sealed)
            return self._seal.decrypt(raw[:_NONCE], raw[_NONCE:], _context(row)).decode("utf-8")
        except (InvalidTag, ValueError, UnicodeDecodeError):
            raise KeyMismatch() from None
