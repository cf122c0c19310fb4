"""Migration 0011: stored accounts lose the expiry copies in their credentials, which fill
`token_expires_at`; Tedee's refresh-token times become ISO 8601 UTC. Runs on any database
(SQLite by default): the migration is data only."""

import importlib
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

MIGRATION = ("locks", "0011_token_expiry_in_one_place")
module = importlib.import_module("locks.migrations.0011_token_expiry_in_one_place")

EXPIRY = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
KEPT = datetime(2026, 7, 1, tzinfo=UTC)  # a column already filled wins over the copy in credentials
OLD_ROWS = {
    "ttlock": (
        {"access_token": "a", "refresh_token": "r", "expires_at": EXPIRY.isoformat(), "username": "ada"},
        {"access_token": "a", "refresh_token": "r", "username": "ada"},
    ),
    "nuki": (
        {"auth": "oauth", "access_token": "a", "refresh_token": "r", "expires_at": int(EXPIRY.timestamp())},
        {"auth": "oauth", "access_token": "a", "refresh_token": "r"},
    ),
    "tedee": (
        {
            "access_token": "a",
            "access_token_expires_at": int(EXPIRY.timestamp()),
            "refresh_token": "r",
            "refresh_token_issued_at": int(datetime(2026, 5, 30, tzinfo=UTC).timestamp()),
            "refresh_token_expires_at": int(datetime(2026, 6, 13, tzinfo=UTC).timestamp()),
            "redirect_uri": "https://example.com/cb",
        },
        {
            "access_token": "a",
            "refresh_token": "r",
            "refresh_token_issued_at": "2026-05-30T00:00:00+00:00",
            "refresh_token_expires_at": "2026-06-13T00:00:00+00:00",
            "redirect_uri": "https://example.com/cb",
        },
    ),
    "igloohome": (
        {
            "client_id": "c",
            "client_secret": "s",
            "access_token": "a",
            "access_token_expires_at": EXPIRY.isoformat(),
            "access_token_refresh_at": "2026-06-01T08:55:00+00:00",
        },
        {"client_id": "c", "client_secret": "s", "access_token": "a", "access_token_lifetime": 600},
    ),
}


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def previous_nodes() -> list[tuple[str, str]]:
    return sorted(MigrationExecutor(connection).loader.graph.node_map[MIGRATION].parents, key=lambda node: node.key)


@pytest.fixture
def before_the_migration(transactional_db):
    """The database as it stood before migration 0011; migrated to the latest state afterwards."""
    migrate([parent.key for parent in previous_nodes()])
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_stored_accounts_keep_their_token_expiry_in_the_column_only(before_the_migration):
    apps = MigrationExecutor(connection).loader.project_state([parent.key for parent in previous_nodes()]).apps
    OldAccount = apps.get_model("locks", "ProviderAccount")
    User = apps.get_model(*get_user_model()._meta.label.split("."))
    hosts = iter(User.objects.create(username=f"host{n}", email=f"host{n}@example.com") for n in range(10))

    def old_account(provider: str, credentials: dict, **fields):
        return OldAccount.objects.create(host=next(hosts), provider=provider, display_name=provider, credentials=credentials, **fields)

    created = {provider: old_account(provider, old) for provider, (old, _) in OLD_ROWS.items()}
    kept = old_account("ttlock", OLD_ROWS["ttlock"][0], token_expires_at=KEPT)
    api_token = old_account("nuki", {"auth": "api_token", "access_token": "t"})

    migrate([MIGRATION])
    # The model as 0011 left it: later migrations add columns the database does not have yet.
    ProviderAccount = MigrationExecutor(connection).loader.project_state([MIGRATION]).apps.get_model("locks", "ProviderAccount")

    for provider, (_, new) in OLD_ROWS.items():
        account = ProviderAccount.objects.get(pk=created[provider].pk)
        assert (account.credentials, account.token_expires_at) == (new, EXPIRY), provider
    account = ProviderAccount.objects.get(pk=kept.pk)
    assert (account.credentials, account.token_expires_at) == (OLD_ROWS["ttlock"][1], KEPT)
    account = ProviderAccount.objects.get(pk=api_token.pk)
    assert (account.credentials, account.token_expires_at) == ({"auth": "api_token", "access_token": "t"}, None)

    migrate([parent.key for parent in previous_nodes()])  # reversed: the old keys are back, in each vendor's format
    old_state = MigrationExecutor(connection).loader.project_state([parent.key for parent in previous_nodes()]).apps
    OldAccount = old_state.get_model("locks", "ProviderAccount")
    for provider, (old, _) in OLD_ROWS.items():
        assert OldAccount.objects.get(pk=created[provider].pk).credentials == old, provider
    kept_back = OldAccount.objects.get(pk=kept.pk)
    assert kept_back.credentials == {**OLD_ROWS["ttlock"][0], "expires_at": KEPT.isoformat()}
    assert OldAccount.objects.get(pk=api_token.pk).credentials == {"auth": "api_token", "access_token": "t"}


def test_a_short_igloohome_lifetime_is_recovered_from_the_old_renewal_time():
    old = {
        "access_token": "a",
        "access_token_expires_at": "2026-06-01T08:04:00+00:00",
        "access_token_refresh_at": "2026-06-01T08:02:00+00:00",
    }
    credentials, expires_at = module.in_one_place("igloohome", old)
    assert credentials == {"access_token": "a", "access_token_lifetime": 240}
    assert expires_at == datetime(2026, 6, 1, 8, 4, tzinfo=UTC)


def test_reversing_rebuilds_the_keys_the_old_adapters_read():
    """Before 0011 the adapters read these keys: without them igloohome fetched a token before every
    request, Nuki and TTLock lost their early refresh, and Tedee's keep-alive failed on ISO instants."""
    for provider, (old, new) in OLD_ROWS.items():
        assert module.in_the_old_places(provider, new, EXPIRY) == old, provider
    assert isinstance(module.in_the_old_places("tedee", OLD_ROWS["tedee"][1], EXPIRY)["refresh_token_issued_at"], int)
    assert module.in_the_old_places("nuki", {"auth": "api_token", "access_token": "t"}, None) == {"auth": "api_token", "access_token": "t"}


def test_reversing_a_short_igloohome_lifetime_gives_back_the_old_renewal_time():
    new = {"access_token": "a", "access_token_lifetime": 240}
    old = module.in_the_old_places("igloohome", new, datetime(2026, 6, 1, 8, 4, tzinfo=UTC))
    assert old == {
        "access_token": "a",
        "access_token_expires_at": "2026-06-01T08:04:00+00:00",
        "access_token_refresh_at": "2026-06-01T08:02:00+00:00",
    }
    without_lifetime = module.in_the_old_places("igloohome", {"access_token": "a"}, EXPIRY)
    assert without_lifetime["access_token_refresh_at"] == "2026-06-01T08:55:00+00:00"


def test_credentials_already_in_the_new_shape_are_left_alone():
    for provider, (_, new) in OLD_ROWS.items():
        assert module.in_one_place(provider, new)[0] == new
