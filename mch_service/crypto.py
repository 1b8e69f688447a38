"""Encryption at rest and keyed hashes for personal data.

Everything derives from the root secret (``MCH_SECRET_KEY``) with HKDF, one sub-key per
purpose, so one secret is all an operator has to keep safe:

* ``seal``/``open_sealed``: AES-256-GCM over zlib-compressed bytes. A sealed blob starts with a
  format byte and a 4-byte key fingerprint, so data written under an earlier root secret
  (listed in ``MCH_PREVIOUS_SECRET_KEYS``) stays readable after a rotation.
* ``keyed_hash``: HMAC-SHA256, for matching and searching on identifiers (resident ID numbers,
  MRNs) without storing them in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import zlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_FORMAT = 1
_HEADER = 1 + 4 + 12  # format, key fingerprint, nonce


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mch-service", info=purpose).derive(
        secret.encode()
    )


@dataclass(frozen=True)
class _DataKey:
    fingerprint: bytes
    aead: AESGCM


class DecryptionError(Exception):
    pass


class Crypto:
    def __init__(self, secret_key: str, previous_secret_keys: list[str] | tuple[str, ...] = ()):
        keys = [self._data_key(s) for s in (secret_key, *previous_secret_keys)]
        self._current = keys[0]
        self._by_fingerprint = {k.fingerprint: k for k in reversed(keys)}
        self._hash_key = _derive(secret_key, b"keyed-hash")

    @staticmethod
    def _data_key(secret: str) -> _DataKey:
        key = _derive(secret, b"data-encryption")
        fingerprint = hashlib.sha256(key).digest()[:4]
        return _DataKey(fingerprint, AESGCM(key))

    def seal(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        body = self._current.aead.encrypt(nonce, zlib.compress(plaintext, 1), associated_data)
        return bytes([_FORMAT]) + self._current.fingerprint + nonce + body

    def open_sealed(self, blob: bytes, associated_data: bytes = b"") -> bytes:
        if len(blob) < _HEADER or blob[0] != _FORMAT:
            raise DecryptionError("not a sealed blob")
        key = self._by_fingerprint.get(bytes(blob[1:5]))
        if key is None:
            raise DecryptionError(
                "sealed with a key that is neither MCH_SECRET_KEY nor in MCH_PREVIOUS_SECRET_KEYS"
            )
        nonce = bytes(blob[5:17])
        return zlib.decompress(key.aead.decrypt(nonce, bytes(blob[17:]), associated_data))

    def is_current(self, blob: bytes) -> bool:
        return bytes(blob[1:5]) == self._current.fingerprint

    def keyed_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()
