"""The whole error vocabulary of lock vendors. Two branches decide behaviour:

- TransientProviderError: retry later (offline hub, 5xx, timeout, busy, rate limited).
- PermanentProviderError: retrying blindly cannot mend it; each leaf says what can.

Messages are plain words a host can read; they never carry a token, secret or PIN.
"""


class ProviderError(Exception):
    """Base of every vendor failure; `message` is safe to show a host and to store."""

    def __init__(self, message: str, *, vendor_code: str | None = None):
        super().__init__(message)
        self.message = message
        self.vendor_code = vendor_code

    def __reduce__(self):  # pickles cleanly across Celery and processes
        return (_rebuild, (type(self), self.message, self.__dict__))

    @property
    def kind(self) -> str:
        """A stable name for the audit trail and metrics, e.g. 'lock_offline'."""
        return _KIND_NAMES.get(type(self), type(self).__name__)


def _rebuild(cls, message, state):
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class TransientProviderError(ProviderError):
    """Try again later; `retry_after` (seconds) when the vendor said how long to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, vendor_code: str | None = None):
        super().__init__(message, vendor_code=vendor_code)
        self.retry_after = retry_after


class LockOffline(TransientProviderError):
    """The lock, its gateway or its bridge cannot be reached right now."""


class RateLimited(TransientProviderError):
    """The vendor asked us to slow down."""


class RateLimitedLocally(RateLimited):
    """Our own rate limiter (locks.providers.rate_limits) held the request back before it left:
    nothing was sent. Not a failure: the step is taken again once `retry_after` has passed."""


class VendorUnavailable(TransientProviderError):
    """The vendor's cloud failed (5xx, malformed answer) or was busy."""


class OutcomeUnknown(TransientProviderError):
    """The request may have been carried out (timeout, connection lost after sending).

    A retry must first look for what the lost request may have created.
    """


class CodePending(TransientProviderError):
    """The vendor accepted the write and is still applying it to the lock (Nuki answers at once
    and its bridge applies later): not a failure; the code is looked for again shortly."""


class PermanentProviderError(ProviderError):
    """Retrying the same request cannot succeed."""


class ProviderAuthError(PermanentProviderError):
    """Credentials were revoked or expired beyond refresh: the account needs reconnecting."""


class CodeRejected(PermanentProviderError):
    """The vendor refused this PIN (duplicate on the lock, too simple, wrong length)."""


class PinTaken(CodeRejected):
    """The lock already holds this PIN: another code's, or ours from an earlier write that landed
    although its answer was lost (TTLock -3007, Tedee 406, Nuki "code exists already")."""


class SubscriptionRequired(PermanentProviderError):
    """The vendor refuses to manage this lock until the host subscribes to a plan (e.g. Nuki's
    Smart Hosting subscription)."""


class LockNotFound(PermanentProviderError):
    """The lock is no longer in the account, or the account lost its rights on it."""


class CodeNotFound(PermanentProviderError):
    """The code is no longer on the lock."""


class CodeStorageFull(PermanentProviderError):
    """The lock's code memory is full."""


class OperationNotSupported(PermanentProviderError):
    """The vendor cannot do this at all (e.g. revoke an offline algoPIN)."""


# vendor_code of the refusals the connect flow raises itself, before or instead of a vendor request;
# each provider's `sign_in_refusal` words them like its own.
OAUTH_CANCELLED = "oauth_cancelled"  # the host cancelled on the vendor's page (error=access_denied)
OAUTH_FAILED = "oauth_failed"  # the vendor's page answered another error
OAUTH_STATE = "oauth_state"  # a state missing, forged, replayed or expired (message: which)
OAUTH_NO_CODE = "oauth_no_code"  # an answer with neither a code nor an error
NOT_CONFIGURED = "not_configured"  # the OAuth sign-in's settings are not set on this server
LOCAL_REFUSAL = "local"  # refused before asking the vendor (a malformed value): the message says why


_KIND_NAMES = {
    LockOffline: "lock_offline",
    RateLimited: "rate_limited",
    RateLimitedLocally: "rate_limited_locally",
    VendorUnavailable: "vendor_unavailable",
    OutcomeUnknown: "outcome_unknown",
    CodePending: "pending_on_lock",
    TransientProviderError: "transient",
    ProviderAuthError: "auth",
    CodeRejected: "code_rejected",
    PinTaken: "pin_taken",
    SubscriptionRequired: "subscription_required",
    LockNotFound: "lock_not_found",
    CodeNotFound: "code_not_found",
    CodeStorageFull: "storage_full",
    OperationNotSupported: "not_supported",
    PermanentProviderError: "permanent",
}
