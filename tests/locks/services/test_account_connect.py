"""Storing a sign-in (`account_connect`): only a vendor of the registry, and a reconnection takes the
account's token lock before its row lock, in the order of the gateway's serialised refresh (token
lock, then the row), so the two cannot deadlock on PostgreSQL."""

from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError
from django.db.models.query import QuerySet

from locks.models import AccountStatus, ProviderAccount
from locks.providers.base import ConnectResult
from locks.services import accounts, connections, serialise
from locks.services.connections import account_connect

pytestmark = pytest.mark.django_db

RESULT = ConnectResult(credentials={"access_token": "new-token-0123456789"}, expires_at=None, display_name="ada@example.com")


@pytest.fixture
def lock_order(monkeypatch):
    """Every token lock and row lock taken, in order: ("token", name) and ("row", model name)."""
    taken = []
    real_token_lock, real_row_lock = serialise.one_at_a_time, QuerySet.select_for_update

    @contextmanager
    def token_lock(scope, name):
        if scope == serialise.ACCOUNT_TOKEN_SCOPE:
            taken.append(("token", name))
        with real_token_lock(scope, name):
            yield

    def row_lock(queryset, *args, **kwargs):
        taken.append(("row", queryset.model.__name__))
        return real_row_lock(queryset, *args, **kwargs)

    for module in (connections, accounts):
        monkeypatch.setattr(module, "one_at_a_time", token_lock, raising=False)
    monkeypatch.setattr(QuerySet, "select_for_update", row_lock)
    return taken


def test_a_reconnection_takes_the_token_lock_before_the_row_lock(assigned_property, host, fake_cloud, lock_order):
    assigned_property()
    account = ProviderAccount.objects.get(provider="ttlock")
    ProviderAccount.objects.filter(pk=account.pk).update(status=AccountStatus.NEEDS_RECONNECT)
    account_connect(host=host, provider="ttlock", result=RESULT)
    account.refresh_from_db()
    assert account.status == AccountStatus.CONNECTED and account.credentials == RESULT.credentials
    first_row_lock = lock_order.index(("row", "ProviderAccount"))
    assert ("token", str(account.pk)) in lock_order[:first_row_lock]


def test_a_first_connection_stores_the_account(host, fake_cloud, lock_order):
    account = account_connect(host=host, provider="ttlock", result=RESULT)
    assert ProviderAccount.objects.get().pk == account.pk and account.status == AccountStatus.CONNECTED


def test_a_vendor_outside_the_registry_is_refused_before_anything_is_stored(host, fake_cloud):
    with pytest.raises(ValidationError):
        account_connect(host=host, provider="no-such-vendor", result=RESULT)
    assert not ProviderAccount.objects.exists()
