"""Encryption at rest for credentials, tokens and PINs: Fernet (AES-128-CBC + HMAC) with rotation.

`cryptography`'s MultiFernet decrypts with any configured key and encrypts with the first, so a
new key is put in front of FIELD_ENCRYPTION_KEYS, `rotate_encryption_keys` re-encrypts, and the
old key is dropped afterwards.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS") from None


def rotate(token: str) -> str:
    """Re-encrypt a stored token with the newest key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS") from None


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token; Python code only ever sees the plaintext."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else self.to_python_plain(decrypt(value))

    def to_python_plain(self, plaintext: str):
        return plaintext

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt(self.serialize_plain(value))

    def serialize_plain(self, value) -> str:
        return str(value)


class EncryptedJSONField(EncryptedTextField):
    """A JSON document (credentials, tokens) stored as one Fernet token."""

    def to_python(self, value):
        return value

    def to_python_plain(self, plaintext: str):
        return json.loads(plaintext)

    def serialize_plain(self, value) -> str:
        return json.dumps(value, sort_keys=True)
