"""Credentials are encrypted in the table, readable through the ORM, and survive key rotation."""

import base64
import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from locks.models import Provider, ProviderAccount
from nowistay import crypto
from nowistay.crypto import DecryptionError

pytestmark = pytest.mark.django_db

SECRET = "secret-token-123"
CREDENTIALS = {"access_token": SECRET, "refresh_token": "refresh-456", "expires_in": 7200}

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
WRONG_KEY = Fernet.generate_key().decode()


def raw_credentials(account) -> str:
    table = connection.ops.quote_name(ProviderAccount._meta.db_table)
    column = connection.ops.quote_name(ProviderAccount._meta.get_field("credentials").column)
    pk = connection.ops.quote_name(ProviderAccount._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {pk} = %s", [account.pk])
        (value,) = cursor.fetchone()
    return value


def assert_fernet_token(value: str) -> None:
    data = base64.urlsafe_b64decode(value.encode())
    assert data[0] == 0x80, "Fernet tokens start with version byte 0x80"
    assert len(data) >= 1 + 8 + 16 + 16 + 32  # version, timestamp, IV, one block, HMAC


@pytest.fixture
def account(host):
    return ProviderAccount.objects.create(host=host, provider=Provider.TTLOCK, credentials=CREDENTIALS)


def test_credentials_are_encrypted_in_the_table(account, settings):
    raw = raw_credentials(account)
    assert isinstance(raw, str)
    assert SECRET not in raw
    assert "access_token" not in raw
    assert "refresh-456" not in raw
    assert_fernet_token(raw)
    # It is the JSON document, encrypted with the newest configured key.
    plaintext = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode()).decrypt(raw.encode())
    assert json.loads(plaintext) == CREDENTIALS


def test_same_value_encrypts_differently_each_time(host, other_host):
    first = ProviderAccount.objects.create(host=host, provider=Provider.NUKI, credentials=CREDENTIALS)
    second = ProviderAccount.objects.create(host=other_host, provider=Provider.NUKI, credentials=CREDENTIALS)
    assert raw_credentials(first) != raw_credentials(second)


def test_orm_reads_back_the_dict(account):
    loaded = ProviderAccount.objects.get(pk=account.pk)
    assert loaded.credentials == CREDENTIALS
    assert isinstance(loaded.credentials, dict)
    assert ProviderAccount.objects.values_list("credentials", flat=True).get(pk=account.pk) == CREDENTIALS


def test_update_through_orm_stays_encrypted(account):
    account.credentials = {"access_token": "new-secret-789"}
    account.save()
    assert "new-secret-789" not in raw_credentials(account)
    assert ProviderAccount.objects.get(pk=account.pk).credentials == {"access_token": "new-secret-789"}


def test_default_empty_credentials_roundtrip(host):
    account = ProviderAccount.objects.create(host=host, provider=Provider.TEDEE)
    assert_fernet_token(raw_credentials(account))
    assert ProviderAccount.objects.get(pk=account.pk).credentials == {}


def test_key_rotation(host):
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        account = ProviderAccount.objects.create(host=host, provider=Provider.IGLOOHOME, credentials=CREDENTIALS)
        before = raw_credentials(account)
        Fernet(OLD_KEY.encode()).decrypt(before.encode())

    # A new key in front: old values still decrypt.
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert ProviderAccount.objects.get(pk=account.pk).credentials == CREDENTIALS
        out = StringIO()
        call_command("rotate_encryption_keys", stdout=out)
        assert "locks.ProviderAccount: 1 rows re-encrypted" in out.getvalue()

    after = raw_credentials(account)
    assert after != before
    assert SECRET not in after
    assert json.loads(Fernet(NEW_KEY.encode()).decrypt(after.encode())) == CREDENTIALS

    # The old key can now be dropped.
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert ProviderAccount.objects.get(pk=account.pk).credentials == CREDENTIALS

    # Without the new key, the rotated value no longer decrypts.
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]), pytest.raises(DecryptionError):
        ProviderAccount.objects.get(pk=account.pk)


def test_rotation_is_harmless_with_one_key(account):
    call_command("rotate_encryption_keys", stdout=StringIO())
    assert ProviderAccount.objects.get(pk=account.pk).credentials == CREDENTIALS


def test_wrong_key_only_raises_decryption_error(account):
    with override_settings(FIELD_ENCRYPTION_KEYS=[WRONG_KEY]):
        with pytest.raises(DecryptionError, match="cannot be decrypted with FIELD_ENCRYPTION_KEYS"):
            ProviderAccount.objects.get(pk=account.pk)
        with pytest.raises(DecryptionError):
            call_command("rotate_encryption_keys", stdout=StringIO())
    # Nothing was damaged by the failed attempts.
    assert ProviderAccount.objects.get(pk=account.pk).credentials == CREDENTIALS


def test_module_helpers_roundtrip_and_reject_tampering():
    token = crypto.encrypt("pin-123456")
    assert "pin-123456" not in token
    assert crypto.decrypt(token) == "pin-123456"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(DecryptionError):
        crypto.decrypt(tampered)
    with pytest.raises(DecryptionError):
        crypto.rotate("not a token")


def test_rotation_never_writes_back_a_value_changed_after_it_was_listed(host, monkeypatch):
    """A worker refreshing a token while the rotation runs: the fresh token must survive."""
    from locks.management.commands import rotate_encryption_keys

    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        account = ProviderAccount.objects.create(host=host, provider=Provider.TEDEE, credentials={"refresh_token": "old"})
    real_atomic = rotate_encryption_keys.transaction.atomic

    def refresh_then_atomic(*args, **kwargs):
        ProviderAccount.objects.filter(pk=account.pk).update(credentials={"refresh_token": "fresh"})
        return real_atomic(*args, **kwargs)

    monkeypatch.setattr(rotate_encryption_keys.transaction, "atomic", refresh_then_atomic)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_encryption_keys", stdout=StringIO())
    monkeypatch.undo()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert ProviderAccount.objects.get(pk=account.pk).credentials == {"refresh_token": "fresh"}
