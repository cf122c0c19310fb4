"""The demo's virtual accounts: one per vendor, with a lock of every kind a host meets."""

from django.db import transaction

from sandbox.models import Vendor, VirtualAccount, VirtualLock

DEMO_ACCOUNTS = {
    Vendor.TTLOCK: ("demo-host@nowistay.example", "sandbox-ttlock", "demo-host@nowistay.example"),
    Vendor.TEDEE: ("demo-host@nowistay.example", "sandbox-tedee", "Demo Host (Tedee)"),
    Vendor.NUKI: ("demo-host@nowistay.example", "sandbox-nuki-api-token", "Demo Host (Nuki)"),
    Vendor.IGLOOHOME: ("sandbox-igloohome-client", "sandbox-igloohome-secret", "Demo Host (igloohome)"),
    # homeit: the password field is the account's API key (sandbox/vendors/homeit.py).
    Vendor.HOMEIT: ("demo-host@nowistay.example", "sandbox-homeit-api-key", "Demo Host (homeit)"),
}

# (id suffix, name, kind, attributes)
LOCK_KINDS = [
    ("01", "Front door", "eligible", {}),
    ("02", "Garden gate (no gateway)", "no_gateway", {"has_gateway": False}),
    ("03", "Cellar (old keypad)", "old_passcodes", {"passcode_version": 3}),
    ("04", "Shed (no keypad)", "no_keypad", {"has_keypad": False}),
    ("05", "Studio (offline)", "offline", {"offline": True}),
    ("06", "Neighbour's door (not admin)", "not_admin", {"is_admin": False}),
]
# Locks of one vendor only: (id suffix, name, kind, attributes). Suffix "00" is neither a LOCK_KINDS
# nor an extra lock's. Nuki: Smart Hosting ended (sandbox/vendors/nuki.py, kind no_subscription).
VENDOR_LOCKS = {Vendor.NUKI: [("00", "Office (Smart Hosting ended)", "no_subscription", {})]}
NUMERIC_BASE = {Vendor.TTLOCK: 7100000, Vendor.TEDEE: 41000, Vendor.NUKI: 17179869184, Vendor.IGLOOHOME: None, Vendor.HOMEIT: 530000}


def vendor_lock_id(vendor: str, suffix: str) -> str:
    base = NUMERIC_BASE[vendor]
    # Nuki ids exceed 32 bits; igloohome ids are strings.
    return f"IGP1{suffix}A7" if base is None else str(base + int(suffix))


# Extra eligible locks (`python -m sandbox --seed --extra-locks N`) take the suffixes after LOCK_KINDS.
FIRST_EXTRA_SUFFIX = len(LOCK_KINDS) + 1


def extra_lock_suffix(index: int) -> str:
    """The id suffix of the `index`-th extra eligible lock (0-based): "07", "08", ..., "100", ..."""
    return f"{FIRST_EXTRA_SUFFIX + index:02d}"


@transaction.atomic
def seed_sandbox(extra_locks: int = 0) -> list[VirtualAccount]:
    """The demo accounts with a lock of every kind, plus `extra_locks` more eligible locks per
    account (for benchmarks that need many doors). Idempotent."""
    accounts = []
    for vendor, (login, password, display_name) in DEMO_ACCOUNTS.items():
        account, created = VirtualAccount.objects.get_or_create(
            vendor=vendor, login=login, defaults={"password": password, "display_name": display_name}
        )
        accounts.append(account)
        if created:
            for suffix, name, kind, attributes in LOCK_KINDS:
                VirtualLock.objects.create(
                    account=account, vendor_lock_id=vendor_lock_id(vendor, suffix), name=name, kind=kind, **attributes
                )
        for suffix, name, kind, attributes in VENDOR_LOCKS.get(vendor, []):
            VirtualLock.objects.get_or_create(
                account=account, vendor_lock_id=vendor_lock_id(vendor, suffix), defaults={"name": name, "kind": kind, **attributes}
            )
        for index in range(extra_locks):
            suffix = extra_lock_suffix(index)
            VirtualLock.objects.get_or_create(
                account=account, vendor_lock_id=vendor_lock_id(vendor, suffix),
                defaults={"name": f"Door {suffix}", "kind": "eligible"},
            )
    return accounts
