"""Tedee's HTTP statuses, translated into our error vocabulary (sources in the package docstring)."""

from locks.providers.exceptions import (
    CodeRejected,
    CodeStorageFull,
    LockNotFound,
    LockOffline,
    PinTaken,
    ProviderError,
    RateLimited,
    VendorUnavailable,
)

# --- Tedee's statuses, translated (sources in the module docstring) ----------------------------
# 404 and 401 are decided by context (see `_raise_for_status` and `_call`); 5xx is VendorUnavailable.
STATUS_ERRORS: dict[int, tuple[type[ProviderError], str]] = {
    400: (CodeRejected, "Tedee refused the PIN: it does not meet the lock's PIN rules."),
    403: (LockNotFound, "This Tedee account is no longer allowed to manage the lock's PINs."),
    406: (PinTaken, "The lock already holds this PIN."),
    408: (LockOffline, "The lock did not answer its Tedee Bridge in time."),
    409: (VendorUnavailable, "The lock is busy with another request."),
    412: (CodeStorageFull, "The lock cannot hold any more PINs."),
    422: (CodeStorageFull, "The lock cannot hold any more PINs."),
    428: (LockOffline, "The lock is disconnected from its Tedee Bridge."),
    429: (RateLimited, "Tedee asked us to slow down."),
}
# Statuses that only mean "PIN refused" on a PIN write; elsewhere they are our own mistake.
PIN_WRITE_ONLY = {400, 406}
