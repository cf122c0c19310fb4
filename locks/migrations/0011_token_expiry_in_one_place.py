"""The access token's expiry in one place: `ProviderAccount.token_expires_at`.

Adapters used to keep a copy of it inside the (encrypted) credentials, each in its own format:
TTLock `expires_at` (ISO 8601), Nuki `expires_at` (epoch seconds), Tedee `access_token_expires_at`
(epoch seconds), igloohome `access_token_expires_at` and `access_token_refresh_at` (ISO 8601).
Those keys go; their expiry fills `token_expires_at` where it is still empty. Tedee's refresh-token
times (`refresh_token_issued_at`, `refresh_token_expires_at`) become ISO 8601 UTC, the one format
of any other instant kept in credentials. igloohome renewed its token at `access_token_refresh_at`,
min(5 minutes, half the token's lifetime) before its expiry; it now keeps the lifetime in seconds
(`access_token_lifetime`), and twice the old gap gives back the same renewal time whichever of the
two the minimum was. Reversing rebuilds each vendor's old keys from `token_expires_at` (the
adapters before this migration read them: without them igloohome fetches a token before every
request, Nuki and TTLock stop refreshing ahead of the expiry, and Tedee's keep-alive cannot read ISO
instants); igloohome's renewal time is min(5 minutes, half the lifetime) before the expiry again.
"""

from datetime import UTC, datetime, timedelta

from django.db import migrations

from nowistay.crypto import DecryptionError

ACCESS_EXPIRY_KEYS = {
    "ttlock": "expires_at",
    "nuki": "expires_at",
    "tedee": "access_token_expires_at",
    "igloohome": "access_token_expires_at",
}
IGLOOHOME_REFRESH_AT = "access_token_refresh_at"
IGLOOHOME_LIFETIME = "access_token_lifetime"
TEDEE_INSTANTS = ("refresh_token_issued_at", "refresh_token_expires_at")
EPOCH_EXPIRY_PROVIDERS = ("nuki", "tedee")  # the others kept ISO 8601
IGLOOHOME_RENEWAL_MARGIN = timedelta(minutes=5)


def instant(value) -> datetime | None:
    """An instant as the adapters stored it (epoch seconds or ISO 8601), aware UTC; None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def in_one_place(provider: str, credentials: dict) -> tuple[dict, datetime | None]:
    """The credentials without the access token's expiry, and that expiry (None when absent)."""
    key = ACCESS_EXPIRY_KEYS.get(provider)
    if not isinstance(credentials, dict) or key is None:
        return credentials, None
    kept = dict(credentials)
    expires_at = instant(kept.pop(key, None))
    if provider == "igloohome":
        refresh_at = instant(kept.pop(IGLOOHOME_REFRESH_AT, None))
        if expires_at and refresh_at and expires_at > refresh_at and IGLOOHOME_LIFETIME not in kept:
            kept[IGLOOHOME_LIFETIME] = int(2 * (expires_at - refresh_at).total_seconds())
    if provider == "tedee":
        for name in TEDEE_INSTANTS:
            if isinstance(kept.get(name), (int, float)) and not isinstance(kept[name], bool):
                kept[name] = instant(kept[name]).replace(microsecond=0).isoformat()
    return kept, expires_at


def in_the_old_places(provider: str, credentials: dict, expires_at: datetime | None) -> dict:
    """The credentials as the adapters before this migration kept them: the access token's expiry
    copied back under the vendor's own key and format (the inverse of `in_one_place`)."""
    key = ACCESS_EXPIRY_KEYS.get(provider)
    if not isinstance(credentials, dict) or key is None:
        return credentials
    kept = dict(credentials)
    if provider == "igloohome":
        lifetime = kept.pop(IGLOOHOME_LIFETIME, None)
        if expires_at is not None:
            kept[IGLOOHOME_REFRESH_AT] = (expires_at - igloohome_renewal_margin(lifetime)).isoformat()
    if provider == "tedee":
        for name in TEDEE_INSTANTS:
            if isinstance(kept.get(name), str) and instant(kept[name]) is not None:
                kept[name] = int(instant(kept[name]).timestamp())
    if expires_at is not None:
        expires_at = expires_at.astimezone(UTC)
        kept[key] = int(expires_at.timestamp()) if provider in EPOCH_EXPIRY_PROVIDERS else expires_at.isoformat()
    return kept


def igloohome_renewal_margin(lifetime) -> timedelta:
    """How long before its expiry igloohome's token was renewed: min(5 minutes, half its lifetime)."""
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
        return IGLOOHOME_RENEWAL_MARGIN
    return min(IGLOOHOME_RENEWAL_MARGIN, timedelta(seconds=lifetime) / 2)


def token_expiry_in_one_place(apps, schema_editor):
    ProviderAccount = apps.get_model("locks", "ProviderAccount")
    unreadable = 0
    for pk in ProviderAccount.objects.filter(provider__in=ACCESS_EXPIRY_KEYS).values_list("pk", flat=True):
        try:
            account = ProviderAccount.objects.only("provider", "credentials", "token_expires_at").get(pk=pk)
        except DecryptionError:  # credentials no key opens: unusable anyway, left as they are
            unreadable += 1
            continue
        credentials, expires_at = in_one_place(account.provider, account.credentials)
        if credentials == account.credentials:
            continue
        ProviderAccount.objects.filter(pk=pk).update(
            credentials=credentials, token_expires_at=account.token_expires_at or expires_at
        )
    if unreadable:
        print(f"\n  {unreadable} account(s) with credentials no configured key decrypts were left as they are.")


def token_expiry_in_the_old_places(apps, schema_editor):
    ProviderAccount = apps.get_model("locks", "ProviderAccount")
    unreadable = 0
    for pk in ProviderAccount.objects.filter(provider__in=ACCESS_EXPIRY_KEYS).values_list("pk", flat=True):
        try:
            account = ProviderAccount.objects.only("provider", "credentials", "token_expires_at").get(pk=pk)
        except DecryptionError:  # credentials no key opens: unusable anyway, left as they are
            unreadable += 1
            continue
        credentials = in_the_old_places(account.provider, account.credentials, account.token_expires_at)
        if credentials != account.credentials:
            ProviderAccount.objects.filter(pk=pk).update(credentials=credentials)
    if unreadable:
        print(f"\n  {unreadable} account(s) with credentials no configured key decrypts were left as they are.")


class Migration(migrations.Migration):
    dependencies = [
        ("locks", "0010_provider_from_registry"),
    ]

    operations = [
        migrations.RunPython(token_expiry_in_one_place, token_expiry_in_the_old_places),
    ]
