"""The igloohome adapter: hourly and daily algoPINs for one host's API client (client-credentials grant)."""

import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests
from django.utils import timezone
from django.utils.translation import gettext_noop

from locks.providers.base import (
    AccountSession,
    Capabilities,
    CodeSpec,
    ConnectResult,
    IssuedCode,
    LockProvider,
)
from locks.providers.exceptions import (
    CodeRejected,
    OperationNotSupported,
    OutcomeUnknown,
    ProviderError,
)
from locks.providers.http import VendorHttp, shared_http
from locks.providers.igloohome.client import VENDOR, IgloohomeRequests
from locks.providers.igloohome.locks import IgloohomeLockListing
from locks.providers.igloohome.sign_in import (
    API_CLIENT,
    CONNECT_FINE_PRINT,
    CONNECT_HINT,
    CONNECT_NOTES,
    ELIGIBILITY_HINT,
    METHODS,
    refusal as sign_in_refusal_text,
)
from locks.providers.igloohome.slots import AlgoPinWindow, algopin_window, free_variances, slot_candidates, wire_time, zone_named
from locks.providers.igloohome.words import (
    full_slots_words,
    hour_words,
    moved_start_warning,
    outlives_stay_warning,
    past_words,
    usage_note,
)

logger = logging.getLogger(__name__)


ACCESS_NAME_MAX = 32


def _now() -> datetime:
    return timezone.now()


# --- the adapter -----------------------------------------------------------------------------------


def _http() -> VendorHttp:
    return shared_http(VENDOR)


class IgloohomeProvider(IgloohomeLockListing, IgloohomeRequests, LockProvider):
    """igloohome hourly and daily algoPINs, for one host's API client (client-credentials grant)."""

    slug = "igloohome"
    display_name = "igloohome"
    capabilities = Capabilities(
        chosen_pins=False,
        remote_revoke=False,
        update_in_place=False,
        find_codes=False,
        offline_codes=True,
        limited_codes_per_slot=True,
    )

    sign_in_methods = METHODS
    connect_hint = CONNECT_HINT
    not_read_back_note = gettext_noop("igloohome codes cannot be read back from the lock")  # algoPINs: computed, never listed
    connect_notes = CONNECT_NOTES
    connect_fine_print = CONNECT_FINE_PRINT
    eligibility_hint = ELIGIBILITY_HINT

    def __init__(self, session: AccountSession, *, http: VendorHttp | None = None, clock: Callable[[], datetime] | None = None):
        super().__init__(session)
        self.http = http or _http()
        self.now = clock or _now

    # --- connecting -------------------------------------------------------------------------------

    @classmethod
    def sign_in(cls, *, client_id: str, client_secret: str, http: VendorHttp | None = None, clock=None) -> ConnectResult:
        """Prove the API client's id and secret by fetching a token; what to keep if they work."""
        session = AccountSession(account_id=None, credentials={"client_id": client_id, "client_secret": client_secret})
        provider = cls(session, http=http, clock=clock)
        provider._access_token(renew=True)
        return ConnectResult(
            credentials=provider.session.credentials, expires_at=provider.session.expires_at, display_name=f"API client {client_id}"
        )

    @classmethod
    def sign_in_with(cls, method: str, values: dict[str, str], *, http: VendorHttp | None = None) -> ConnectResult:
        if method != API_CLIENT:
            return super().sign_in_with(method, values)
        return cls.sign_in(client_id=values["client_id"].strip(), client_secret=values["client_secret"].strip(), http=http)

    @classmethod
    def sign_in_refusal(cls, error: Exception) -> str:
        return sign_in_refusal_text(error) if isinstance(error, ProviderError) else super().sign_in_refusal(error)

    def keep_alive(self) -> None:
        """Client credentials never lapse while idle; an expired token is renewed, which also tells
        early whether the client was revoked."""
        self._access_token()

    # --- codes ----------------------------------------------------------------------------------------

    def create_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        """An algoPIN in the first start slot with a free variance (see "A full start hour")."""
        zone = zone_named(spec.time_zone)
        now = self.now()
        wanted = algopin_window(spec.starts_at, spec.ends_at, zone, now)
        full: list[AlgoPinWindow] = []
        for window in slot_candidates(wanted, zone, now):
            for variance in free_variances(window, spec.used_slots, zone):
                response = self._request_algopin(vendor_lock_id, window, variance, spec.name, zone)
                if response is None:
                    continue
                pin, pin_id = self._issued(response)
                return IssuedCode(
                    vendor_code_id=pin_id,
                    pin=pin,
                    starts_at=window.starts_at,
                    ends_at=window.ends_at,
                    name=spec.name,
                    usage_note=usage_note(window, zone),
                    warning=" ".join(
                        filter(
                            None,
                            (
                                moved_start_warning(wanted, window, full, zone),
                                outlives_stay_warning(window, spec, zone),
                            ),
                        )
                    ),
                    variance=variance,
                )
            full.append(window)
        raise CodeRejected(f"{full_slots_words(full, zone)}, so no further code can be issued for this stay's start.")

    @classmethod
    def ends_on_lock(cls, spec: CodeSpec, *, now: datetime) -> datetime:
        try:
            return algopin_window(spec.starts_at, spec.ends_at, zone_named(spec.time_zone), now).ends_at
        except CodeRejected:
            return spec.ends_at

    @classmethod
    def start_slot_note(cls, spec: CodeSpec, *, now: datetime) -> str:
        try:
            zone = zone_named(spec.time_zone)
            wanted = algopin_window(spec.starts_at, spec.ends_at, zone, now)
        except CodeRejected:
            return ""
        full: list[AlgoPinWindow] = []
        for window in slot_candidates(wanted, zone, now):
            if free_variances(window, spec.used_slots, zone):
                if window == wanted:
                    return ""
                new_start = hour_words(window.starts_at, zone)
                return f"{full_slots_words(full, zone)}{past_words(wanted, window)}, so the new code will start at {new_start}"
            full.append(window)
        return f"{full_slots_words(full, zone)}, so no new code can be issued for this stay's start"

    def _request_algopin(
        self, vendor_lock_id: str, window: AlgoPinWindow, variance: int, name: str, zone: ZoneInfo
    ) -> requests.Response | None:
        """igloohome's answer to one algoPIN request; None when the variance was already taken."""
        path = f"/devices/{quote(vendor_lock_id, safe='')}/algopin/{window.kind}"
        body = {
            "variance": variance,
            "startDate": wire_time(window.starts_at, zone),
            "endDate": wire_time(window.ends_at, zone),
            "accessName": name[:ACCESS_NAME_MAX],
        }
        response = self._api("POST", path, json=body)
        if response.status_code == 409:  # another client used it: the next free variance is tried
            logger.info("igloohome variance %s taken on %s from %s; trying the next", variance, vendor_lock_id, body["startDate"])
            return None
        self._raise_for_status(response, on_device=True, creating=True)
        return response

    def _issued(self, response: requests.Response) -> tuple[str, str]:
        """The PIN and its id; an unreadable answer to a create may still hide an issued PIN."""
        try:
            body = response.json()
        except ValueError:
            body = None
        pin = body.get("pin") if isinstance(body, dict) else None
        pin_id = body.get("pinId") if isinstance(body, dict) else None
        pin = str(pin) if isinstance(pin, (str, int)) and not isinstance(pin, bool) else ""
        pin_id = str(pin_id) if isinstance(pin_id, (str, int)) and not isinstance(pin_id, bool) else ""
        if not (pin.isdigit() and pin_id):
            raise OutcomeUnknown("igloohome's answer could not be read; a code may have been issued all the same.")
        return pin, pin_id

    def update_code(self, vendor_lock_id: str, vendor_code_id: str, spec: CodeSpec) -> IssuedCode:
        raise OperationNotSupported("igloohome algoPINs cannot be changed remotely; a new code is issued instead.")

    def delete_code(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        raise OperationNotSupported("igloohome algoPINs cannot be revoked remotely; the code works until its end.")

    def find_code(self, vendor_lock_id: str, name: str) -> IssuedCode | None:
        raise OperationNotSupported("igloohome cannot list the algoPINs it has issued.")
