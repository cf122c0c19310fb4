"""End to end against the virtual Nuki Web cloud (sandbox/vendors/nuki.py): the sandbox process,
the real adapter (locks.providers.nuki) and the real connect services and views over HTTP.

The connect, wire and adapter tests need only the sandbox process and run everywhere. The booking
lifecycle tests run a real Celery worker and, like tests/sandbox/test_e2e.py, need REDIS_URL and a
PostgreSQL DATABASE_URL.

Poll delays: after each write the adapter reads the codes back after NukiProvider.readback_delays
(1, 2, 4 s). The sandbox applies changes at once, so the first read-back already confirms and
each write costs one delay; the worker tests shorten the delays anyway with
`monkeypatch.setattr(NukiProvider, "readback_delays", FAST_READBACK)` (a class attribute, read by
every adapter instance, including those the in-process worker threads build), and the adapter
tests build their providers with `sleep=lambda seconds: None`.
"""

import dataclasses
import os
import re
from datetime import UTC, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from locks.providers import nuki
from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import CodeRejected, LockNotFound, LockOffline, OperationNotSupported, OutcomeUnknown
from locks.providers.http import VendorHttp
from tests.helpers.processes import wait_until

# sandbox/seed.py: the Nuki demo account and its locks (ids 2**34 + suffix: above 32 bits).
DEMO_LOGIN = "demo-host@nowistay.example"
API_TOKEN = "sandbox-nuki-api-token"  # the account's password field: API token and sign-in password
DISPLAY_NAME = "Demo Host (Nuki)"
FRONT_DOOR = "17179869185"  # eligible
GARDEN_GATE = "17179869186"  # no_gateway
CELLAR = "17179869187"  # old_passcodes: the first-generation Keypad
SHED = "17179869188"  # no_keypad
STUDIO = "17179869189"  # offline
NEIGHBOUR = "17179869190"  # not_admin
OFFICE = "17179869184"  # no_subscription: Smart Hosting ended
FAST_READBACK = (0.05, 0.2, 0.5)

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # whitenoise without collectstatic

# The worker tests' conditions, as tests/sandbox/test_e2e.py's pytestmark.
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL) for the real worker")
needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL): the worker's threads share the test database",
)


def _codes_on(sandbox_url: str, lock_id: str) -> list[dict]:
    return requests.get(f"{sandbox_url}/_control/nuki/locks/{lock_id}/", timeout=5).json()["codes"]


def _set_faults(sandbox_url: str, lock_id: str, **switches) -> None:
    requests.post(f"{sandbox_url}/_control/nuki/locks/{lock_id}/faults/", json=switches, timeout=5).raise_for_status()


def _api(sandbox_url: str, method: str, path: str, token: str = API_TOKEN, **kwargs) -> requests.Response:
    return requests.request(method, f"{sandbox_url}/nuki/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10, **kwargs)


def _provider(**http) -> nuki.NukiProvider:
    """The real adapter on the demo API token, without sleeping between read-backs."""
    session = AccountSession(account_id=None, credentials={"auth": nuki.API_TOKEN, "access_token": API_TOKEN})
    return nuki.NukiProvider(session, http=VendorHttp("Nuki", **http), sleep=lambda seconds: None)


def _spec(name: str, pin: str, days: int = 1, nights: int = 2) -> CodeSpec:
    start = (timezone.now() + timedelta(days=days)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return CodeSpec(name=name, pin=pin, starts_at=start, ends_at=start + timedelta(days=nights), time_zone="Europe/Paris")


def _moved(spec: CodeSpec, **changes) -> CodeSpec:
    return dataclasses.replace(spec, **changes)


def _keypad_body(name: str, code: int, start: str = "2027-01-10T14:00:00Z", end: str = "2027-01-12T10:00:00Z") -> dict:
    return {
        "name": name, "type": 13, "code": code, "allowedFromDate": start, "allowedUntilDate": end,
        "allowedWeekDays": 127, "allowedFromTime": 0, "allowedUntilTime": 0, "remoteAllowed": False,
    }


# --- connecting ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_api_token_connect_reads_the_account_and_its_locks(vendors_on_sandbox, host):
    account = nuki_connect_with_api_token(host=host, token=API_TOKEN)

    assert account.display_name == DISPLAY_NAME
    assert account.credentials == {"auth": nuki.API_TOKEN, "access_token": API_TOKEN}
    locks = {lock.vendor_lock_id: (lock.supports_remote_codes, lock.is_online) for lock in account.locks.all()}
    # Eligibility is the adapter's: a paired keypad (either generation). Without a bridge Nuki Web
    # cannot reach a lock (serverState 4): eligible, offline. The not-admin lock is not listed.
    assert locks == {
        FRONT_DOOR: (True, True),
        GARDEN_GATE: (True, False),
        CELLAR: (True, True),
        SHED: (False, True),
        STUDIO: (True, False),
        OFFICE: (False, True),
    }
    assert account.locks.get(vendor_lock_id=SHED).unavailable_reason == nuki.NO_KEYPAD
    assert account.locks.get(vendor_lock_id=OFFICE).unavailable_reason == nuki.NO_SUBSCRIPTION

    from locks.connect.services import ConnectError

    with pytest.raises(ConnectError) as refused:
        nuki_connect_with_api_token(host=host, token="not-the-token")
    assert refused.value.message == NukiConnectError.WRONG_TOKEN


class NukiConnectError:
    """What the host reads when a Nuki sign-in did not connect, word for word."""

    WRONG_TOKEN = (
        "Nuki did not accept this API token. Copy it again from Nuki Web (Menu > API); a token stops "
        "working when it is deleted or when the Nuki Web password changes."
    )
    CANCELLED = "You cancelled the Nuki sign-in, so nothing was connected."


def nuki_connect_with_api_token(*, host, token):
    """The Nuki sign-in by a pasted API token, through the generic connect service."""
    from locks.connect.services import connect_with_credentials

    return connect_with_credentials(host=host, provider="nuki", method="api-token", values={"token": token})


def _start_oauth(client, host) -> str:
    """The app's "Sign in with Nuki": where it sends the host (the sandbox's authorize URL)."""
    client.force_login(host)
    response = client.get(reverse("locks:nuki_connect_oauth"))
    assert response.status_code == 302
    return response["Location"]


def _sign_in_form(browser: requests.Session, authorize_url: str) -> str:
    page = browser.get(authorize_url, timeout=5)
    assert page.status_code == 200 and "Nuki Web" in page.text
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]


def _back_to_app(client, location: str):
    """Follow the sandbox's redirect into the app (the test client plays the browser there)."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver"
    return client.get(parts.path, {key: values[0] for key, values in parse_qs(parts.query).items()})


@pytest.mark.django_db
def test_oauth_connect_headless_through_the_views(vendors_on_sandbox, host, client):
    from locks.models import ProviderAccount
    from locks.services.vendor_accounts import provider_for_account

    sandbox = vendors_on_sandbox
    authorize_url = _start_oauth(client, host)
    assert authorize_url.startswith(f"{sandbox}/nuki/oauth/authorize?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["response_type"] == ["code"] and query["client_id"] == ["sandbox-client"]

    browser = requests.Session()
    token = _sign_in_form(browser, authorize_url)
    form = {"csrfmiddlewaretoken": token, "email": DEMO_LOGIN, "action": "sign_in"}
    wrong = browser.post(authorize_url, data={**form, "password": "wrong"}, allow_redirects=False, timeout=5)
    assert wrong.status_code == 200 and "Wrong email or password" in wrong.text

    signed_in = browser.post(authorize_url, data={**form, "password": API_TOKEN}, allow_redirects=False, timeout=5)
    assert signed_in.status_code == 302
    returned = parse_qs(urlsplit(signed_in.headers["Location"]).query)
    assert returned["state"] == query["state"] and returned["code"]
    response = _back_to_app(client, signed_in.headers["Location"])
    assert response.status_code == 302 and response["Location"] == reverse("integrations:panel", args=["nuki"])

    account = ProviderAccount.objects.get(host=host, provider="nuki")
    assert account.display_name == DISPLAY_NAME
    assert account.credentials["auth"] == nuki.OAUTH and account.credentials["refresh_token"]
    assert account.locks.filter(supports_remote_codes=True).count() == 4

    # The code is single use.
    token_url = f"{sandbox}/nuki/oauth/token"
    client_form = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
    exchange = {**client_form, "grant_type": "authorization_code", "code": returned["code"][0], "redirect_uri": query["redirect_uri"][0]}
    replay = requests.post(token_url, data=exchange, timeout=5)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

    # The refresh grant rotates the refresh token; the new access token works.
    first_refresh = account.credentials["refresh_token"]
    provider_for_account(account).keep_alive()
    account.refresh_from_db()
    assert account.credentials["refresh_token"] != first_refresh
    assert _api(sandbox, "GET", "account", token=account.credentials["access_token"]).json()["name"] == DISPLAY_NAME
    reused = requests.post(token_url, data={**client_form, "grant_type": "refresh_token", "refresh_token": first_refresh}, timeout=5)
    assert reused.status_code == 400
    current = {"grant_type": "refresh_token", "refresh_token": account.credentials["refresh_token"]}
    wrong_client = requests.post(token_url, data={**client_form, "client_secret": "nope", **current}, timeout=5)
    assert wrong_client.status_code == 401 and wrong_client.json()["error"] == "invalid_client"


@pytest.mark.django_db
def test_oauth_cancel_connects_nothing(vendors_on_sandbox, host, client):
    from locks.models import ProviderAccount

    authorize_url = _start_oauth(client, host)
    browser = requests.Session()
    token = _sign_in_form(browser, authorize_url)
    cancelled = browser.post(authorize_url, data={"csrfmiddlewaretoken": token, "action": "cancel"}, allow_redirects=False, timeout=5)
    assert cancelled.status_code == 302
    assert parse_qs(urlsplit(cancelled.headers["Location"]).query)["error"] == ["access_denied"]

    response = _back_to_app(client, cancelled.headers["Location"])
    assert response.status_code == 400  # the Nuki panel again, saying why
    assert escape(NukiConnectError.CANCELLED) in response.content.decode()
    assert not ProviderAccount.objects.filter(host=host, provider="nuki").exists()


def test_sign_in_page_refuses_unknown_clients(sandbox_url):
    params = {"response_type": "code", "client_id": "someone", "redirect_uri": "https://evil.example/cb"}
    response = requests.get(f"{sandbox_url}/nuki/oauth/authorize", params=params, allow_redirects=False, timeout=5)
    assert response.status_code == 400


# --- the wire -----------------------------------------------------------------------------------------------

def test_wire_format_and_refusals(sandbox_url):
    sandbox = sandbox_url
    assert _api(sandbox, "GET", "account", token="nope").status_code == 401
    assert requests.get(f"{sandbox}/nuki/smartlock", timeout=5).status_code == 401

    listed = _api(sandbox, "GET", "smartlock")
    assert f'"smartlockId": {FRONT_DOOR},' in listed.text  # a JSON number, not a string
    ids = [lock["smartlockId"] for lock in listed.json()]
    assert all(isinstance(value, int) and value > 2**32 for value in ids) and int(NEIGHBOUR) not in ids
    assert _api(sandbox, "GET", f"smartlock/{NEIGHBOUR}").status_code == 403
    assert _api(sandbox, "GET", "smartlock/17179869999").status_code == 404

    # PIN rules, duplicates and keypads are checked when the write arrives.
    for bad in (123456, 102345, 34567, 3456789):
        refused = _api(sandbox, "PUT", f"smartlock/{CELLAR}/auth", json=_keypad_body("bad", bad))
        assert refused.status_code == 400 and "'code'" in refused.json()["detailMessage"], bad
    assert _api(sandbox, "PUT", f"smartlock/{CELLAR}/auth", json=_keypad_body("wire-1", 345678)).status_code == 204
    duplicate = _api(sandbox, "PUT", f"smartlock/{CELLAR}/auth", json=_keypad_body("wire-2", 345678))
    assert duplicate.status_code == 409 and duplicate.json()["detailMessage"] == "'code' exists already"
    no_keypad = _api(sandbox, "PUT", f"smartlock/{SHED}/auth", json=_keypad_body("wire-3", 345679))
    assert no_keypad.status_code == 400 and "'type'" in no_keypad.json()["detailMessage"]

    (auth,) = _api(sandbox, "GET", f"smartlock/{CELLAR}/auth", params={"types": "13"}).json()
    assert re.fullmatch(r"[0-9a-f]{24}", auth["id"]) and auth["code"] == 345678 and auth["smartlockId"] == int(CELLAR)
    assert (auth["allowedFromDate"], auth["allowedUntilDate"]) == ("2027-01-10T14:00:00.000Z", "2027-01-12T10:00:00.000Z")
    assert "error" not in auth and {item["type"] for item in _api(sandbox, "GET", f"smartlock/{CELLAR}/auth").json()} == {0, 13}
    # A partial update clears the dates it leaves out [N-UPD]: the code then has no window.
    assert _api(sandbox, "POST", f"smartlock/{CELLAR}/auth/{auth['id']}", json={"name": "wire-1"}).status_code == 204
    (cleared,) = _api(sandbox, "GET", f"smartlock/{CELLAR}/auth", params={"types": "13"}).json()
    assert "allowedFromDate" not in cleared and "allowedUntilDate" not in cleared
    assert _api(sandbox, "DELETE", f"smartlock/{CELLAR}/auth/{auth['id']}").status_code == 204
    assert _api(sandbox, "DELETE", f"smartlock/{CELLAR}/auth/{auth['id']}").status_code == 404
    assert _codes_on(sandbox, CELLAR) == []

    # A lock unreachable when the write arrives: accepted (queued), then listed with the bridge's error.
    _set_faults(sandbox, CELLAR, offline=True)
    try:
        assert _api(sandbox, "PUT", f"smartlock/{CELLAR}/auth", json=_keypad_body("wire-4", 456789)).status_code == 204
        (failed,) = _api(sandbox, "GET", f"smartlock/{CELLAR}/auth", params={"types": "13"}).json()
        assert failed["name"] == "wire-4" and failed["error"]
        assert _codes_on(sandbox, CELLAR) == []
        assert _api(sandbox, "DELETE", f"smartlock/{CELLAR}/auth/{failed['id']}").status_code == 204
        assert _api(sandbox, "GET", f"smartlock/{CELLAR}/auth", params={"types": "13"}).json() == []
    finally:
        _set_faults(sandbox, CELLAR, offline=False)


# --- the real adapter -------------------------------------------------------------------------------------------

def test_adapter_creates_updates_finds_and_deletes_codes(sandbox_url, vendors_on_sandbox):
    provider = _provider()
    spec = _spec("nw-adapter-1", "345678")

    issued = provider.create_code(CELLAR, spec)
    assert (issued.pin, issued.starts_at, issued.ends_at) == ("345678", spec.starts_at, spec.ends_at)
    (on_lock,) = _codes_on(sandbox_url, CELLAR)
    assert (on_lock["id"], on_lock["pin"], on_lock["starts_at"]) == (issued.vendor_code_id, "345678", spec.starts_at.isoformat())

    with pytest.raises(CodeRejected):
        provider.create_code(CELLAR, _spec("nw-adapter-2", "345678"))

    longer = _moved(spec, ends_at=spec.ends_at + timedelta(days=1))
    updated = provider.update_code(CELLAR, issued.vendor_code_id, longer)
    assert updated.vendor_code_id == issued.vendor_code_id and updated.ends_at == longer.ends_at
    assert _codes_on(sandbox_url, CELLAR)[0]["ends_at"] == longer.ends_at.isoformat()
    assert provider.find_code(CELLAR, spec.name) == updated

    provider.delete_code(CELLAR, issued.vendor_code_id)
    assert _codes_on(sandbox_url, CELLAR) == []
    provider.delete_code(CELLAR, issued.vendor_code_id)  # already gone: fine
    assert provider.find_code(CELLAR, spec.name) is None

    with pytest.raises(OperationNotSupported):
        provider.create_code(SHED, _spec("nw-adapter-3", "345678"))
    with pytest.raises(LockOffline):
        provider.create_code(STUDIO, _spec("nw-adapter-4", "345678"))
    with pytest.raises(LockOffline):
        provider.create_code(GARDEN_GATE, _spec("nw-adapter-5", "345678"))
    with pytest.raises(LockNotFound):
        provider.create_code(NEIGHBOUR, _spec("nw-adapter-6", "345678"))


def test_adapter_sees_the_bridge_fail_when_the_lock_goes_offline_after_its_check(sandbox_url, vendors_on_sandbox, monkeypatch):
    provider = _provider()
    checked = provider._lock

    def check_then_offline(vendor_lock_id, *, need_keypad):
        device = checked(vendor_lock_id, need_keypad=need_keypad)
        _set_faults(sandbox_url, vendor_lock_id, offline=True)
        return device

    try:
        monkeypatch.setattr(provider, "_lock", check_then_offline)
        with pytest.raises(LockOffline):
            provider.create_code(CELLAR, _spec("nw-bridge-1", "567891"))
        # The failed authorization was removed by the adapter; nothing reached the lock.
        assert _api(sandbox_url, "GET", f"smartlock/{CELLAR}/auth", params={"types": "13"}).json() == []
        assert _codes_on(sandbox_url, CELLAR) == []

        monkeypatch.setattr(provider, "_lock", checked)
        _set_faults(sandbox_url, CELLAR, offline=False)
        spec = _spec("nw-bridge-2", "567891")
        issued = provider.create_code(CELLAR, spec)
        monkeypatch.setattr(provider, "_lock", check_then_offline)
        with pytest.raises(LockOffline):
            provider.update_code(CELLAR, issued.vendor_code_id, _moved(spec, ends_at=spec.ends_at + timedelta(days=2)))
        assert _codes_on(sandbox_url, CELLAR)[0]["ends_at"] == spec.ends_at.isoformat()  # the lock kept the old window
        with pytest.raises(LockOffline):
            provider.delete_code(CELLAR, issued.vendor_code_id)
        assert len(_codes_on(sandbox_url, CELLAR)) == 1

        monkeypatch.setattr(provider, "_lock", checked)
        _set_faults(sandbox_url, CELLAR, offline=False)
        provider.delete_code(CELLAR, issued.vendor_code_id)
        assert _codes_on(sandbox_url, CELLAR) == []
    finally:
        _set_faults(sandbox_url, CELLAR, offline=False)


def test_adapter_after_a_lost_answer_finds_the_code(sandbox_url, vendors_on_sandbox):
    provider = _provider(timeout=1.5)
    spec = _spec("nw-lost-1", "678912")
    _set_faults(sandbox_url, CELLAR, lose_responses=1)
    try:
        with pytest.raises(OutcomeUnknown):
            provider.create_code(CELLAR, spec)
        found = provider.find_code(CELLAR, spec.name)
        assert found is not None and (found.pin, found.starts_at, found.ends_at) == ("678912", spec.starts_at, spec.ends_at)
        provider.delete_code(CELLAR, found.vendor_code_id)
    finally:
        _set_faults(sandbox_url, CELLAR, lose_responses=0)
    assert _codes_on(sandbox_url, CELLAR) == []


# --- bookings through the worker ------------------------------------------------------------------------------

@pytest.fixture
def fast_readback(monkeypatch):
    monkeypatch.setattr(nuki.NukiProvider, "readback_delays", FAST_READBACK)


@needs_redis
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_nuki_booking_to_door_through_worker_and_sandbox(
    vendors_on_sandbox, fast_readback, worker, make_property, book, django_capture_on_commit_callbacks
):
    from bookings.models import BookingStatus
    from locks import services
    from locks.models import AccessCode, CodeState

    sandbox = vendors_on_sandbox
    prop = make_property(time_zone="Europe/Paris")
    account = nuki_connect_with_api_token(host=prop.host, token=API_TOKEN)
    lock = account.locks.get(vendor_lock_id=FRONT_DOOR)
    assert lock.supports_remote_codes
    services.lock_assignment_set(prop=prop, lock=lock)

    # Booking created → the code is on the virtual lock with the exact window.
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(prop, today + timedelta(days=1), today + timedelta(days=3))
        services.booking_created(booking=booking)
    wait_until(lambda: len(_codes_on(sandbox, FRONT_DOOR)) == 1, "the code on the lock")
    code = AccessCode.objects.get(booking=booking, is_current=True)
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the code to be active")
    code.refresh_from_db()
    (on_lock,) = _codes_on(sandbox, FRONT_DOOR)
    assert on_lock["pin"] == code.pin and on_lock["name"] == code.vendor_name and on_lock["id"] == code.vendor_code_id
    assert (on_lock["starts_at"], on_lock["ends_at"]) == (code.starts_at.isoformat(), code.ends_at.isoformat())

    # Dates changed → same PIN, new window.
    with django_capture_on_commit_callbacks(execute=True):
        booking.departure_date = today + timedelta(days=4)
        booking.save()
        services.booking_changed(booking=booking)
    code.refresh_from_db()
    wait_until(
        lambda: _codes_on(sandbox, FRONT_DOOR)[0]["ends_at"] == AccessCode.objects.get(pk=code.pk).ends_at.isoformat(), "the new window"
    )
    # The worker reads the change back before it records it and lets the code go: wait for that,
    # so the cancellation below is an event of its own (one arriving while the step is still in
    # flight finds the code claimed; its task is skipped and the next scheduler pass takes it).
    wait_until(
        lambda: AccessCode.objects.filter(pk=code.pk, state=CodeState.ACTIVE, claim_token="", lock_ends_at=code.ends_at).exists(),
        "the update to be recorded",
    )
    (on_lock,) = _codes_on(sandbox, FRONT_DOOR)
    assert (on_lock["pin"], on_lock["id"]) == (code.pin, code.vendor_code_id)
    assert (on_lock["starts_at"], on_lock["ends_at"]) == (code.starts_at.isoformat(), code.ends_at.isoformat())

    # Cancelled → gone.
    with django_capture_on_commit_callbacks(execute=True):
        booking.status = BookingStatus.CANCELLED
        booking.save()
        services.booking_cancelled(booking=booking)
    wait_until(lambda: _codes_on(sandbox, FRONT_DOOR) == [], "the code to be removed")
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.REVOKED, "the code to be revoked")


@needs_redis
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_nuki_offline_lock_is_retried_and_created_once_back(
    vendors_on_sandbox, fast_readback, worker, make_property, book, django_capture_on_commit_callbacks
):
    from locks import services, tasks
    from locks.models import AccessCode, CodeState

    sandbox = vendors_on_sandbox
    prop = make_property(time_zone="Europe/Paris", name="Offline flat")
    account = nuki_connect_with_api_token(host=prop.host, token=API_TOKEN)
    services.lock_assignment_set(prop=prop, lock=account.locks.get(vendor_lock_id=FRONT_DOOR))
    _set_faults(sandbox, FRONT_DOOR, offline=True)
    try:
        today = timezone.localdate()
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(prop, today + timedelta(days=1), today + timedelta(days=2))
            services.booking_created(booking=booking)
        code = AccessCode.objects.get(booking=booking, is_current=True)
        wait_until(lambda: AccessCode.objects.get(pk=code.pk).attempts >= 1, "a failed attempt")
        code.refresh_from_db()
        assert code.state == CodeState.CREATING and "offline" in code.last_error.lower()
        assert _codes_on(sandbox, FRONT_DOOR) == []
    finally:
        _set_faults(sandbox, FRONT_DOOR, offline=False)

    AccessCode.objects.filter(pk=code.pk).update(next_attempt_at=timezone.now())  # the hour has passed
    tasks.scheduler_pass.delay()
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the retry to succeed")
    assert len(_codes_on(sandbox, FRONT_DOOR)) == 1
