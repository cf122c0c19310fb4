"""The homeit adapter: properties as locks, keys as codes (a generated keypad code and a link).

Facts, sources and the decisions taken where homeit's docs are silent: the package docstring.
"""

import logging

import requests
from django.utils.translation import gettext_noop

from locks.providers.base import (
    AccountSession,
    Capabilities,
    CodeSpec,
    ConnectResult,
    CredentialField,
    CredentialsSignIn,
    IssuedCode,
    LockProvider,
    RemoteLock,
)
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    LockNotFound,
    OperationNotSupported,
    OutcomeUnknown,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    TransientProviderError,
    VendorUnavailable,
)
from locks.providers.homeit.wire import (
    ACCEPT,
    API_KEY_HEADER,
    KEY_TYPE,
    MAX_PAGES,
    VENDOR,
    Key,
    answer_json,
    api_key_problem,
    api_url,
    auth_url,
    clean_text,
    next_page,
    page_items,
    property_id_or_none,
    raise_for_status,
    read_key,
    read_property,
    to_the_second,
    wire_time,
)
from locks.providers.http import VendorHttp, shared_http

logger = logging.getLogger(__name__)

API_KEY_SIGN_IN = "api-key"
OFFLINE_WARNING = "The homeit BOX at this property is offline: the key is saved in homeit and opens the doors once the BOX is back online."
NO_KEYPAD_REFUSAL = "This homeit property has no keypad, so its keys carry no code to type."
NOT_A_PROPERTY = "homeit does not know this property; it is no longer in this account."
KEY_GONE = "The key is no longer in homeit."
KEY_WITHDRAWN = "homeit's key had lost its code, so it was withdrawn; a new key is needed."
LINK_ONLY_LEFT = "homeit gave a key without a code and it could not be withdrawn yet; it is looked for and removed."


class HomeitProvider(LockProvider):
    """homeit keys on the properties one API key may see."""

    slug = "homeit"
    display_name = "homeit"
    capabilities = Capabilities(
        chosen_pins=False,
        remote_revoke=True,
        update_in_place=True,
        find_codes=True,
        offline_codes=False,
        writes_while_offline=True,
        access_links=True,
    )
    sign_in_methods = (
        CredentialsSignIn(
            key=API_KEY_SIGN_IN,
            title=gettext_noop("Connect with a homeit API key"),
            fields=(
                CredentialField(
                    name="api_key",
                    label=gettext_noop("API key"),
                    help_text=gettext_noop("An API key of your homeit organization; Nowistay keeps it encrypted."),
                    secret=True,
                    max_length=254,
                ),
            ),
        ),
    )
    connect_hint = gettext_noop("Paste an API key of your homeit organization; each of its properties appears as a lock.")
    # Its key listing exists but its fields are not documented publicly: not trusted to confirm a key.
    not_read_back_note = gettext_noop("homeit keys are not read back from the lock, so they cannot be confirmed there")
    eligibility_hint = (
        gettext_noop("Properties with a keypad take codes: homeit picks each guest's code, and the guest also gets "
        "homeit's invitation link. Properties without a keypad cannot be used.")
    )

    def __init__(self, session: AccountSession, *, http: VendorHttp | None = None):
        super().__init__(session)
        self.http = http or shared_http(VENDOR)

    # --- signing in ------------------------------------------------------------------------------------

    @classmethod
    def sign_in_with(cls, method: str, values: dict[str, str], *, http: VendorHttp | None = None) -> ConnectResult:
        """Prove the API key on the Core API (what Nowistay uses), then name the account after its
        organization; the key itself is what is kept."""
        if method != API_KEY_SIGN_IN:
            return super().sign_in_with(method, values)
        api_key = (values.get("api_key") or "").strip()
        problem = api_key_problem(api_key)
        if problem:
            raise ProviderAuthError(problem, vendor_code="api_key")
        provider = cls(AccountSession(account_id=None, credentials={"api_key": api_key}), http=http)
        provider._first_page(api_url("/properties"), "properties")
        return ConnectResult(credentials={"api_key": api_key}, expires_at=None, display_name=provider._organization_name())

    @classmethod
    def sign_in_refusal(cls, error: Exception) -> str:
        if isinstance(error, ProviderAuthError) and error.vendor_code == "api_key":
            return error.message
        if isinstance(error, ProviderAuthError):
            return "homeit did not accept this API key: check that it was copied whole and has not been revoked."
        if isinstance(error, RateLimited):
            return "homeit asked us to slow down; try again in a minute."
        if isinstance(error, TransientProviderError):
            return "homeit could not be reached; try again in a few minutes."
        return super().sign_in_refusal(error)

    def _organization_name(self) -> str:
        """The organization's name for the dashboard; "homeit" when it cannot be read (a connection
        is not refused over a name)."""
        try:
            organizations = self._first_page(auth_url("/organizations"), "organizations")
        except ProviderError as error:
            logger.info("homeit organization not read (%s); the account is named homeit", error.kind)
            return "homeit"
        name = clean_text(organizations[0].get("name")) if organizations else ""
        return name or "homeit"

    def keep_alive(self) -> None:
        """API keys do not lapse; one read tells early whether the key was revoked."""
        self._first_page(api_url("/properties"), "properties")

    @classmethod
    def pin_problem(cls, pin: str) -> str | None:
        # homeit generates every key's code (chosen_pins False): no PIN of ours is ever sent, so none is refused.
        return None

    # --- properties --------------------------------------------------------------------------------------

    def list_locks(self) -> list[RemoteLock]:
        locks: dict[str, RemoteLock] = {}
        for item in self._pages(api_url("/properties"), "properties", on_property=False):
            lock = read_property(item)
            if lock is not None:
                locks.setdefault(lock.vendor_lock_id, lock)
        return list(locks.values())

    def _property(self, vendor_lock_id: str) -> dict:
        property_id = property_id_or_none(vendor_lock_id)
        if property_id is None:
            raise LockNotFound(NOT_A_PROPERTY)
        response = self._send("GET", api_url(f"/properties/{property_id}"))
        raise_for_status(response)
        body = answer_json(response)
        if not isinstance(body, dict):
            raise VendorUnavailable("homeit answered the property with something unexpected.")
        return body

    # --- keys ------------------------------------------------------------------------------------------------

    def create_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        """A temporary key named `spec.name`; homeit picks its code (spec.pin is never sent)."""
        _check_name(spec.name)
        found = self._property(vendor_lock_id)
        if found.get("keypad") is not True:
            raise CodeRejected(NO_KEYPAD_REFUSAL)
        body = {"name": spec.name, "type": KEY_TYPE, "property": int(vendor_lock_id), **_window(spec)}
        response = self._send("POST", api_url("/keys"), json=body)
        raise_for_status(response, key_write=True, creating=True)
        key = read_key(answer_json(response))
        if key is None:
            raise OutcomeUnknown("homeit's answer could not be read; the key may have been created all the same.")
        logger.info("homeit key %s created on property %s", key.key_id, vendor_lock_id)
        if key.code is None:
            self._withdraw_link_only(vendor_lock_id, key)
            raise CodeRejected(NO_KEYPAD_REFUSAL)
        warning = OFFLINE_WARNING if found.get("online") is False else ""
        return _issued(key, warning=warning)

    def update_code(self, vendor_lock_id: str, vendor_code_id: str, spec: CodeSpec) -> IssuedCode:
        """Move the key's window (and name) in place; its code and link stay."""
        _check_name(spec.name)
        if not vendor_code_id.isascii() or not vendor_code_id.isdigit():
            self._property(vendor_lock_id)
            raise CodeNotFound(KEY_GONE)
        wanted = _window(spec)
        response = self._send("PUT", api_url(f"/keys/{vendor_code_id}"), json={"name": spec.name, **wanted})
        if response.status_code == 404:
            self._property(vendor_lock_id)  # LockNotFound when the property went with it
            raise CodeNotFound(KEY_GONE)
        raise_for_status(response, key_write=True)
        key = read_key(answer_json(response)) or self._key(vendor_lock_id, vendor_code_id)
        if key.code is None:  # whatever its window, its link alone opens the doors
            self._withdraw_link_only(vendor_lock_id, key)
            # Gone now, its link and code with it: the lifecycle forgets them and makes a new key
            # (refused, and the host told, where the property has no keypad any more).
            raise CodeNotFound(KEY_WITHDRAWN)
        if (key.starts_at, key.ends_at) != (to_the_second(spec.starts_at), to_the_second(spec.ends_at)):
            # UNVERIFIED that PUT takes dates: an answer with another window is not believed.
            raise OperationNotSupported("homeit did not move the key's dates; a new key is needed instead.")
        return _issued(key)

    def delete_code(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        """Remove the key; one already gone (homeit deletes keys after their end [H-FAQ]) counts as removed."""
        if not vendor_code_id.isascii() or not vendor_code_id.isdigit():
            self._property(vendor_lock_id)
            return
        response = self._send("DELETE", api_url(f"/keys/{vendor_code_id}"))
        if response.status_code == 404:
            self._property(vendor_lock_id)  # LockNotFound when the property went with it
            return
        raise_for_status(response)
        logger.info("homeit key %s deleted on property %s", vendor_code_id, vendor_lock_id)

    def find_code(self, vendor_lock_id: str, name: str) -> IssuedCode | None:
        """The key this system created under `name` (exactly) on the property, after a lost answer.
        A key of ours without a code is withdrawn on sight and not returned: nothing usable is there."""
        property_id = property_id_or_none(vendor_lock_id)
        if property_id is None:
            raise LockNotFound(NOT_A_PROPERTY)
        if clean_text(name, limit=len(name)) != name:
            return None  # a name we could never have given a key
        for item in self._pages(api_url("/keys"), "keys", params={"property": property_id, "name": name}):
            key = read_key(item)
            if key is not None and key.name == name and key.property_id == vendor_lock_id:
                if key.code is None:
                    self._withdraw_link_only(vendor_lock_id, key)
                    continue
                return _issued(key)
        return None

    def _key(self, vendor_lock_id: str, vendor_code_id: str) -> Key:
        response = self._send("GET", api_url(f"/keys/{vendor_code_id}"))
        if response.status_code == 404:
            self._property(vendor_lock_id)
            raise CodeNotFound(KEY_GONE)
        raise_for_status(response)
        key = read_key(answer_json(response))
        if key is None:
            raise VendorUnavailable("homeit answered the key with something unexpected.")
        return key

    def _withdraw_link_only(self, vendor_lock_id: str, key: Key) -> None:
        """A key without a code (the keypad went away meanwhile) is deleted again: its link alone
        would open the doors, and Nowistay issues codes. When the delete fails the key is still live,
        so the outcome is unknown: the lifecycle looks for it by name (`find_code`) and withdraws it."""
        try:
            self.delete_code(vendor_lock_id, key.key_id)
        except ProviderError as error:
            logger.warning("homeit link-only key %s on property %s not withdrawn: %s", key.key_id, vendor_lock_id, error.kind)
            raise OutcomeUnknown(LINK_ONLY_LEFT) from error

    # --- HTTP ------------------------------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, params: dict | None = None, json: dict | None = None) -> requests.Response:
        api_key = self.session.credentials.get("api_key")
        if api_key_problem(api_key):
            raise ProviderAuthError("No usable homeit API key is saved for this account; reconnect it.")
        headers = {API_KEY_HEADER: api_key, "Accept": ACCEPT}
        return self.http.request(method, url, params=params, json=json, headers=headers)

    def _first_page(self, url: str, resource: str) -> list[dict]:
        response = self._send("GET", url)
        raise_for_status(response, on_property=False)
        return page_items(answer_json(response), resource)

    def _pages(self, url: str, resource: str, *, params: dict | None = None, on_property: bool = True) -> list[dict]:
        """Every item of a HAL list, following `_links.next` (never building page parameters)."""
        items: list[dict] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self._send("GET", url, params=params)
            raise_for_status(response, on_property=on_property)
            body = answer_json(response)
            items.extend(page_items(body, resource))
            following = next_page(body, response.url or url)
            if following is None:
                return items
            if following in seen:
                break
            seen.add(following)
            url, params = following, None
        raise VendorUnavailable(f"homeit's {resource} list did not come to an end.")


def _check_name(name: str) -> None:
    if not name or clean_text(name, limit=len(name)) != name:
        raise CodeRejected("The key's name has characters homeit would not take.")


def _window(spec: CodeSpec) -> dict:
    return {"start": wire_time(spec.starts_at, spec.time_zone), "end": wire_time(spec.ends_at, spec.time_zone)}


def _issued(key: Key, *, warning: str = "") -> IssuedCode:
    return IssuedCode(
        vendor_code_id=key.key_id,
        pin=key.code or "",
        starts_at=key.starts_at,
        ends_at=key.ends_at,
        name=key.name,
        warning=warning,
        access_link=key.link,
    )
