"""The interface every lock vendor adapter implements, and the values it trades in.

Adapters are the only code that knows a vendor. They take plain values (ids, UTC datetimes,
PINs) and return plain values; they raise only the errors in `exceptions`. The lifecycle
services decide what should happen and call one method per step.
"""

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from locks.providers.exceptions import OperationNotSupported
from locks.providers.pin_rules import PinRule, generic_rule


@dataclass(frozen=True)
class Capabilities:
    """What a vendor can do; the services branch on these, never on a vendor's name."""

    chosen_pins: bool = True  # we pick the PIN (False: the vendor generates it, e.g. algoPIN)
    remote_revoke: bool = True  # a code can be deleted before its end
    update_in_place: bool = True  # a code's window can be changed without re-creating it
    find_codes: bool = True  # codes can be listed, so a lost create can be found by its name
    offline_codes: bool = False  # codes are computed without reaching the lock (algoPINs)
    # Codes are records in the vendor's cloud, written whatever the lock's state; an offline lock
    # takes them when it is back (homeit's keys), so writes to it succeed rather than wait.
    writes_while_offline: bool = False
    # How long a write the vendor carried out may take to show in its code listing; a write whose
    # answer was lost is proven absent only once a listing this long after it does not show it.
    listing_delay: timedelta = timedelta(minutes=2)
    # At most a few codes may start in one slot on a lock (igloohome: three per start hour or day):
    # the services pass the slots already used (CodeSpec.used_slots) and the adapter picks a free one.
    limited_codes_per_slot: bool = False
    # Reading the lock back (issue 19): the lock's codes can be listed whole (`list_codes`), its
    # access log read for keypad uses (`code_uses`), its battery/online/capacity read (`lock_health`).
    lists_codes: bool = False
    access_log: bool = False
    reports_health: bool = False
    # The guest also gets a link that opens the door (homeit's invitation link): `IssuedCode.access_link`.
    access_links: bool = False
    # The vendor's cloud can issue a code for a lock without reaching it (TTLock's random period
    # passcodes), used when a normal code cannot reach the lock in time: `issue_offline_code`.
    offline_fallback: bool = False
    # The lock reads a code's window against its own clock at one fixed UTC offset, which does not
    # follow a daylight-saving change (TTLock's `timezoneRawOffset`); False: exact instants (locks.clocks).
    fixed_offset_clock: bool = False


@dataclass(frozen=True)
class RemoteLock:
    """A lock as the vendor reports it, with whether it can take remote time-limited codes."""

    vendor_lock_id: str
    name: str
    supports_remote_codes: bool
    unavailable_reason: str = ""
    is_online: bool | None = None
    # The lock's own clock, when the vendor reports it: an IANA zone, else a UTC offset (locks.clocks).
    time_zone: str = ""
    utc_offset_minutes: int | None = None


@dataclass(frozen=True)
class CodeSpec:
    """A code to put on a lock. `name` is deterministic (instance prefix + code id)."""

    name: str
    pin: str | None  # None when the vendor generates the PIN
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC
    time_zone: str  # the property's IANA zone, for vendors that take local times
    # Only for `limited_codes_per_slot` vendors: (lock start, lock end, variance) of the codes this
    # system already issued on the lock, whatever became of them since (an issued code keeps its slot).
    used_slots: frozenset[tuple[datetime, datetime, int]] = frozenset()


@dataclass(frozen=True)
class IssuedCode:
    """A code as it stands on the lock."""

    vendor_code_id: str
    pin: str
    starts_at: datetime
    ends_at: datetime
    name: str = ""
    usage_note: str = ""  # for the guest, e.g. igloohome: "use it within 24 hours of its start"
    warning: str = ""  # for the host, e.g. "works until 3 May, after the stay ends"
    variance: int | None = None  # which code of its start slot this is (igloohome: 1-3), for CodeSpec.used_slots
    access_link: str = ""  # a link that opens the door, for vendors with `capabilities.access_links`


@dataclass(frozen=True)
class ListedCode:
    """A code as the lock's listing shows it, ours (named with our prefix) or anyone's."""

    vendor_code_id: str
    name: str
    pin: str | None  # None when the vendor does not list PINs
    starts_at: datetime | None  # aware UTC; None: no start (a permanent code)
    ends_at: datetime | None  # aware UTC; None: no end


@dataclass(frozen=True)
class Listing:
    """A lock's codes as the vendor lists them, with the vendor's version of that list where it
    keeps one (Tedee's `listVersion`): given back as `previous`, an unchanged list costs one call."""

    codes: tuple[ListedCode, ...]
    version: str = ""
    unchanged: bool = False  # the vendor said the list is still `previous`: these are its codes


@dataclass(frozen=True)
class CodeUse:
    """One opening of the lock by a keypad code, from its access log."""

    at: datetime  # aware UTC
    vendor_code_id: str = ""  # what the log names the code by: its id, its name or its PIN
    name: str = ""
    pin: str = ""


@dataclass(frozen=True)
class LockHealth:
    """What the vendor reports of a lock's state; None where it says nothing."""

    is_online: bool | None = None
    battery_percent: int | None = None  # 0-100
    code_capacity: int | None = None  # how many codes the lock can hold
    codes_held: int | None = None


@dataclass(frozen=True)
class ConnectResult:
    """What a successful sign-in yields: the credentials to keep (tokens, never a password)."""

    credentials: dict
    expires_at: datetime | None
    display_name: str


_thread_locks: dict[tuple[str, str], threading.RLock] = {}
_thread_locks_guard = threading.Lock()


@contextmanager
def one_at_a_time_in_process(scope: str, name: str) -> Iterator[None]:
    """Serialise work on `name` (within `scope`) among the threads of this process."""
    with _thread_locks_guard:
        lock = _thread_locks.setdefault((scope, name), threading.RLock())
    with lock:
        yield


Serialise = Callable[[str, str], AbstractContextManager]
"""`serialise(scope, name)`: a context manager that runs its block one at a time per (scope, name)."""


@dataclass(frozen=True)
class CredentialField:
    """One field of a credentials sign-in form, as the vendor names it to the host."""

    name: str
    label: str
    help_text: str = ""
    secret: bool = False  # a password or key: never rendered back, never logged
    max_length: int = 254
    strip: bool = True  # blanks at either end are a paste artefact (False: they belong to it, e.g. a password)


@dataclass(frozen=True)
class CredentialsSignIn:
    """The host types credentials into Nowistay's form; `LockProvider.sign_in_with` exchanges them
    for tokens (the credentials themselves are kept only when they are the token, e.g. an API key)."""

    key: str  # unique within the provider, in URLs: "password", "api-token", "api-client"
    title: str  # e.g. "Sign in with your TTLock app account"
    fields: tuple[CredentialField, ...]


@dataclass(frozen=True)
class OAuthSignIn:
    """The host signs in on the vendor's own page (OAuth 2 authorization code, with PKCE when `pkce`)."""

    title: str  # e.g. "Sign in with Tedee"
    required_settings: tuple[str, ...]  # offered only when these settings are set (the client id...)
    pkce: bool = True
    key: str = "oauth"


SignInMethod = CredentialsSignIn | OAuthSignIn


@dataclass
class AccountSession:
    """What an adapter gets of an account: its decrypted credentials and a way to store new ones.

    `expires_at` is when the access token lapses (aware UTC; None: it does not), the one place an
    adapter reads it. `serialise` is handed down by the services (across worker processes there);
    the default serialises among this process's threads only.
    """

    account_id: int | None
    credentials: dict
    expires_at: datetime | None = None
    serialise: Serialise = one_at_a_time_in_process
    save_credentials: Callable[[dict, datetime | None], None] = field(default=lambda credentials, expires_at: None)
    # How a refresh is done for a stored account (see `refresh_credentials`): given the credentials
    # this session holds and the vendor refresh, the credentials to adopt, already stored.
    # None (no account behind the session, e.g. adapter tests): refresh and save, nothing more.
    serialised_refresh: Callable[[dict, Callable[[dict], tuple[dict, datetime | None]]], tuple[dict, datetime | None]] | None = None

    def refresh_credentials(self, refresh: Callable[[dict], tuple[dict, datetime | None]]) -> dict:
        """New credentials from `refresh(credentials) -> (credentials, expires_at)`, stored and adopted,
        with `expires_at` as the session's token expiry.

        For a stored account this is one refresh at a time per account, across workers: vendors
        that rotate refresh tokens accept each only once, so a worker that finds the account
        refreshed by another meanwhile adopts those credentials without calling the vendor.
        `serialised_refresh` returns the (credentials, expires_at) to adopt.
        """
        if self.serialised_refresh is not None:
            fresh, expires_at = self.serialised_refresh(self.credentials, refresh)
        else:
            fresh, expires_at = refresh(self.credentials)
            self.save_credentials(fresh, expires_at)
        self.credentials, self.expires_at = fresh, expires_at
        return fresh


class LockProvider(ABC):
    """One vendor's cloud, seen through one connected account."""

    slug: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: Capabilities = Capabilities()
    # How a host connects an account, in the order the connect panel offers them.
    sign_in_methods: ClassVar[tuple[SignInMethod, ...]] = ()
    connect_hint: ClassVar[str] = ""  # one line on the connect panel: how signing in works
    connect_notes: ClassVar[tuple[str, ...]] = ()  # the panel's paragraphs about signing in (default: the hint)
    connect_fine_print: ClassVar[tuple[str, ...]] = ()  # and its muted ones (what to expect, what is kept)
    eligibility_hint: ClassVar[str] = ""  # which locks can take codes, for the lock list
    # Why this vendor's codes are never confirmed on the lock, for vendors that cannot be listed.
    not_read_back_note: ClassVar[str] = ""

    @classmethod
    def sign_in_with(cls, method: str, values: dict[str, str]) -> ConnectResult:
        """Exchange the values of the credentials sign-in `method` for a ConnectResult."""
        raise OperationNotSupported(f"{cls.display_name} has no credentials sign-in “{method}”.")

    @classmethod
    def authorization_url(cls, *, state: str, code_challenge: str | None, redirect_uri: str) -> str:
        """Where to send the host for the OAuth sign-in (only providers with an OAuthSignIn)."""
        raise OperationNotSupported(f"{cls.display_name} has no OAuth sign-in.")

    @classmethod
    def exchange_code(cls, *, code: str, code_verifier: str | None, redirect_uri: str) -> ConnectResult:
        """The tokens an OAuth authorization code is worth (only providers with an OAuthSignIn)."""
        raise OperationNotSupported(f"{cls.display_name} has no OAuth sign-in.")

    @classmethod
    def sign_in_refusal(cls, error: Exception) -> str:
        """What to tell the host when a sign-in failed with `error` (a ProviderError): vendors map
        their own error codes here, so no caller reads them."""
        message = getattr(error, "message", "")
        return f"{cls.display_name} did not connect: {message}" if message else f"{cls.display_name} could not be reached."

    def __init__(self, session: AccountSession):
        self.session = session

    # The vendor's PIN rule (its package's `pins` module); Nowistay's own six digits by default.
    pin_rule: ClassVar[PinRule] = staticmethod(generic_rule)

    @classmethod
    def pin_problem(cls, pin: str) -> str | None:
        """Why this vendor would refuse this PIN, in plain words; None when it is acceptable."""
        return cls.pin_rule(pin)

    @classmethod
    def ends_on_lock(cls, spec: CodeSpec, *, now: datetime) -> datetime:
        """When a code issued for `spec` at `now` stops working on the lock: vendors that round
        windows (igloohome: whole hours) override this. Pure: no vendor call."""
        return spec.ends_at

    @classmethod
    def start_slot_note(cls, spec: CodeSpec, *, now: datetime) -> str:
        """For the host's preview: where a code issued for `spec` at `now` would start when the
        start slots in `spec.used_slots` are full; "" when it starts as wanted (only vendors with
        `limited_codes_per_slot` override this). Pure: no vendor call."""
        return ""

    @abstractmethod
    def list_locks(self) -> list[RemoteLock]:
        """Every lock of the account, each with its eligibility and reason."""

    @abstractmethod
    def create_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        """Put a new time-limited code on the lock."""

    @abstractmethod
    def update_code(self, vendor_lock_id: str, vendor_code_id: str, spec: CodeSpec) -> IssuedCode:
        """Change a code's window (and name) in place. Only when `capabilities.update_in_place`."""

    @abstractmethod
    def delete_code(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        """Remove a code. A code that is already gone counts as removed."""

    @abstractmethod
    def find_code(self, vendor_lock_id: str, name: str) -> IssuedCode | None:
        """The code this system created under `name`, after a request whose outcome is unknown."""

    def list_codes(self, vendor_lock_id: str, previous: Listing | None = None) -> Listing:
        """Every code the lock holds, whoever made it. Only when `capabilities.lists_codes`.
        `previous`: the lock's last listing, for vendors that can answer "unchanged since"."""
        raise OperationNotSupported(f"{self.display_name} codes cannot be listed.")

    def issue_offline_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        """A code the vendor's cloud computes without reaching the lock, for when a normal code cannot
        reach it in time. Only when `capabilities.offline_fallback`.

        The IssuedCode's `starts_at`/`ends_at` are the window the code really has on the lock (the
        vendor may round it, never so that the guest is shut out early), `pin` is the vendor's,
        `usage_note` tells the guest the vendor's rules (e.g. a first use within 24 hours) and
        `warning` tells the host what such a code cannot do (e.g. be deleted remotely).
        """
        raise OperationNotSupported(f"{self.display_name} cannot issue a code without reaching the lock.")

    def code_uses(self, vendor_lock_id: str, since: datetime) -> list[CodeUse]:
        """Keypad openings of the lock since `since` (oldest first). Only when `capabilities.access_log`."""
        raise OperationNotSupported(f"{self.display_name} has no access log Nowistay can read.")

    def lock_health(self, vendor_lock_id: str) -> LockHealth:
        """Battery, online state and code capacity. Only when `capabilities.reports_health`."""
        raise OperationNotSupported(f"{self.display_name} does not report a lock's health.")

    def keep_alive(self) -> None:  # noqa: B027 (a no-op by default, not abstract: most credentials never lapse idle)
        """Refresh credentials that would otherwise lapse while the account is idle (no-op by default).

        Raises ProviderAuthError when the vendor no longer accepts them.
        """
