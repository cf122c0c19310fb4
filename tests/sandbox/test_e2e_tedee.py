"""The virtual Tedee cloud (sandbox/vendors/tedee.py) driven by the real adapter and the real views.

The sandbox runs as its own process (the `sandbox_url` fixture); the adapter reaches it over HTTP
only because the vendor URL settings point there (`vendors_on_sandbox`). The sign-in is headless:
`requests` plays the host's browser on the sandbox's HTML sign-in page.

The OAuth and adapter tests run anywhere (SQLite is fine: the sandbox keeps its own database); the
two booking-to-door tests need a real Celery worker, so PostgreSQL and Redis, like
tests/sandbox/test_e2e.py.
"""

import html
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from locks.connect.oauth import SESSION_KEY, pkce_challenge
from locks.models import AccountStatus, ProviderAccount
from locks.providers import tedee
from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    LockNotFound,
    LockOffline,
    OutcomeUnknown,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from tests.helpers.processes import wait_until

DEMO_LOGIN, DEMO_PASSWORD = "demo-host@nowistay.example", "sandbox-tedee"
DEMO_NAME = "Demo Host (Tedee) (demo-host@nowistay.example)"
# sandbox/seed.py: Tedee ids are 41000 + the kind's suffix.
FRONT_DOOR, NO_GATEWAY, OLD_KEYPAD, NO_KEYPAD, OFFLINE, NOT_ADMIN = "41001", "41002", "41003", "41004", "41005", "41006"
REDIRECT_URI = "http://nowistay.test/locks/connect/tedee/callback/"
TEST_ALIAS = "sbx-test-"  # codes these tests put on the virtual locks directly, removed after each test

needs_worker = pytest.mark.skipif(
    not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("postgres")),
    reason="needs Redis (REDIS_URL) for the real worker and PostgreSQL (DATABASE_URL): its threads share the test database",
)
pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # whitenoise without collectstatic


# --- the host's browser on the sandbox sign-in page --------------------------------------------------

def sandbox_sign_in(
    authorize_url: str, *, email: str = DEMO_LOGIN, password: str = DEMO_PASSWORD, cancel: bool = False
) -> requests.Response:
    """Open the sign-in page, fill the form (or press Cancel) and return the answer, unfollowed."""
    with requests.Session() as browser:
        page = browser.get(authorize_url, timeout=5)
        assert page.status_code == 200, page.text
        assert 'name="email"' in page.text and 'name="password"' in page.text and 'value="cancel"' in page.text
        action = html.unescape(re.search(r'<form method="post" action="([^"]*)"', page.text).group(1))
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        form = {"csrfmiddlewaretoken": csrf, "email": email, "password": password, "action": "cancel" if cancel else "sign_in"}
        return browser.post(urljoin(page.url, action), data=form, allow_redirects=False, timeout=5)


def redirect_query(response: requests.Response, redirect_uri: str) -> dict:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def authorize_url(verifier: str, state: str = "st-1", redirect_uri: str = REDIRECT_URI) -> str:
    return tedee.authorize_url(state=state, code_challenge=pkce_challenge(verifier), redirect_uri=redirect_uri)


def sign_in_for_credentials() -> dict:
    """A headless sign-in through the adapter's own functions: tokens for the demo account."""
    verifier = secrets.token_urlsafe(32)
    query = redirect_query(sandbox_sign_in(authorize_url(verifier)), REDIRECT_URI)
    return tedee.exchange_code(code=query["code"], code_verifier=verifier, redirect_uri=REDIRECT_URI).credentials


def connect_through_views(client, host) -> ProviderAccount:
    """Log the host in, start at /locks/connect/tedee/, sign in at the sandbox, come back."""
    client.force_login(host)
    start = client.get(reverse("locks:tedee_connect"))
    assert start.status_code == 302
    assert start["Location"].startswith(tedee.authorize_endpoint() + "?")
    callback_url = client.session[SESSION_KEY]["redirect_uri"]
    query = redirect_query(sandbox_sign_in(start["Location"]), callback_url)
    back = client.get(reverse("locks:tedee_callback"), query)
    assert back.status_code == 302 and back["Location"] == reverse("integrations:panel", args=["tedee"]), back.content.decode()
    return ProviderAccount.objects.get(host=host, provider="tedee")


def codes_on(sandbox_url: str, lock_id: str) -> list[dict]:
    return requests.get(f"{sandbox_url}/_control/tedee/locks/{lock_id}/", timeout=5).json()["codes"]


def set_faults(sandbox_url: str, lock_id: str, **switches) -> None:
    response = requests.post(f"{sandbox_url}/_control/tedee/locks/{lock_id}/faults/", json=switches, timeout=5)
    assert response.ok, response.text


# --- the sign-in: authorize page, token endpoint, the real connect views ---------------------------------

@pytest.mark.django_db
def test_headless_oauth_connect_through_the_real_views(vendors_on_sandbox, client, host):
    account = connect_through_views(client, host)

    assert account.status == AccountStatus.CONNECTED and account.display_name == DEMO_NAME
    assert tedee.jwt_claims(account.credentials["access_token"])["email"] == DEMO_LOGIN
    locks = {lock.vendor_lock_id: lock for lock in account.locks.all()}
    assert set(locks) == {FRONT_DOOR, NO_GATEWAY, OLD_KEYPAD, NO_KEYPAD, OFFLINE, NOT_ADMIN}
    eligible = {lock_id for lock_id, lock in locks.items() if lock.supports_remote_codes}
    assert eligible == {FRONT_DOOR, OLD_KEYPAD, OFFLINE}  # offline is live state, never a reason
    assert "Tedee Bridge" in locks[NO_GATEWAY].unavailable_reason
    assert "No Tedee Keypad" in locks[NO_KEYPAD].unavailable_reason
    assert "not the owner or an administrator" in locks[NOT_ADMIN].unavailable_reason
    assert locks[OFFLINE].is_online is False and locks[NO_GATEWAY].is_online is False
    assert locks[FRONT_DOOR].is_online is True and locks[FRONT_DOOR].vendor_time_zone == "Europe/Paris"
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_cancel_comes_back_with_access_denied_and_connects_nothing(vendors_on_sandbox, client, host):
    client.force_login(host)
    start = client.get(reverse("locks:tedee_connect"))
    callback_url = client.session[SESSION_KEY]["redirect_uri"]
    query = redirect_query(sandbox_sign_in(start["Location"], password="", cancel=True), callback_url)
    assert query["error"] == "access_denied" and query["state"] == client.session[SESSION_KEY]["state"]
    assert "code" not in query and "AADB2C90091" in query["error_description"]

    back = client.get(reverse("locks:tedee_callback"), query)
    assert back.status_code == 400 and "cancelled" in back.content.decode()
    assert not ProviderAccount.objects.filter(host=host).exists()


def test_a_wrong_password_shows_the_form_again_and_sends_nothing_back(vendors_on_sandbox):
    answer = sandbox_sign_in(authorize_url(secrets.token_urlsafe(32)), password="not-the-password")
    assert answer.status_code == 200 and "password is incorrect" in answer.text
    assert "Location" not in answer.headers
    answer = sandbox_sign_in(authorize_url(secrets.token_urlsafe(32)), email="nobody@nowistay.example")
    assert answer.status_code == 200 and "password is incorrect" in answer.text


def test_an_unknown_client_or_redirect_uri_gets_an_error_page_not_a_redirect(vendors_on_sandbox, settings):
    settings.TEDEE_CLIENT_ID = "someone-else"
    answer = requests.get(authorize_url(secrets.token_urlsafe(32)), allow_redirects=False, timeout=5)
    assert answer.status_code == 400 and "client_id" in answer.text
    settings.TEDEE_CLIENT_ID = "sandbox-client"
    answer = requests.get(authorize_url(secrets.token_urlsafe(32), redirect_uri="javascript:alert(1)"), allow_redirects=False, timeout=5)
    assert answer.status_code == 400


def test_an_authorize_request_without_pkce_is_sent_back_with_an_error(vendors_on_sandbox):
    url = authorize_url(secrets.token_urlsafe(32), state="st-9").replace("code_challenge_method=S256", "code_challenge_method=plain")
    query = redirect_query(requests.get(url, allow_redirects=False, timeout=5), REDIRECT_URI)
    assert query["error"] == "invalid_request" and query["state"] == "st-9"


def test_the_token_endpoint_checks_the_verifier_the_redirect_uri_and_uses_a_code_once(vendors_on_sandbox):
    verifier = secrets.token_urlsafe(32)
    query = redirect_query(sandbox_sign_in(authorize_url(verifier, state="st-2")), REDIRECT_URI)
    assert query["state"] == "st-2"
    with pytest.raises(ProviderAuthError):
        tedee.exchange_code(code=query["code"], code_verifier=secrets.token_urlsafe(32), redirect_uri=REDIRECT_URI)
    with pytest.raises(ProviderAuthError):
        tedee.exchange_code(code=query["code"], code_verifier=verifier, redirect_uri="http://elsewhere.test/cb/")
    with pytest.raises(ProviderAuthError):
        tedee.exchange_code(code=query["code"] + "x", code_verifier=verifier, redirect_uri=REDIRECT_URI)

    result = tedee.exchange_code(code=query["code"], code_verifier=verifier, redirect_uri=REDIRECT_URI)
    assert result.display_name == DEMO_NAME
    claims = tedee.jwt_claims(result.credentials["access_token"])
    assert {"name", "email", "oid", "exp"} <= set(claims) and "Device.ReadWrite" in claims["scp"].split()
    assert result.expires_at > datetime.now(UTC) + timedelta(minutes=30)

    with pytest.raises(ProviderAuthError):  # a code is good for one redemption only
        tedee.exchange_code(code=query["code"], code_verifier=verifier, redirect_uri=REDIRECT_URI)


def test_the_token_answer_has_tedees_shape_and_a_wrong_secret_is_refused(vendors_on_sandbox, settings):
    verifier = secrets.token_urlsafe(32)
    query = redirect_query(sandbox_sign_in(authorize_url(verifier)), REDIRECT_URI)
    form = {
        "grant_type": "authorization_code", "client_id": "sandbox-client", "client_secret": "wrong",
        "code": query["code"], "code_verifier": verifier, "redirect_uri": REDIRECT_URI,
    }
    refused = requests.post(tedee.token_endpoint(), data=form, timeout=5)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    answer = requests.post(tedee.token_endpoint(), data={**form, "client_secret": "sandbox-secret"}, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], str)  # a string, as Tedee's sample
    assert body["refresh_token_expires_in"] == 1209600 and "id_token" not in body  # no openid asked for


def test_refresh_issues_working_tokens_and_a_bad_token_is_401(vendors_on_sandbox):
    credentials = sign_in_for_credentials()
    renewed, _ = tedee.refresh_tokens(credentials)
    assert renewed["access_token"] != credentials["access_token"] and renewed["refresh_token"] != credentials["refresh_token"]
    assert tedee.TedeeProvider(AccountSession(1, renewed)).list_locks()
    assert tedee.TedeeProvider(AccountSession(1, credentials)).list_locks()  # B2C tokens live until they expire

    answer = requests.get(tedee.api_url("my/lock"), headers={"Authorization": "Bearer not.a.token"}, timeout=5)
    assert answer.status_code == 401 and "invalid_token" in answer.headers["WWW-Authenticate"]
    assert requests.get(tedee.api_url("my/lock"), timeout=5).status_code == 401

    with pytest.raises(ProviderAuthError):
        tedee.refresh_tokens({**credentials, "refresh_token": "tdr-never-issued"})
    # A forged access token and a dead refresh token: the adapter asks the host to reconnect.
    stale = {**credentials, "access_token": credentials["access_token"] + "x", "refresh_token": "tdr-never-issued"}
    with pytest.raises(ProviderAuthError):
        tedee.TedeeProvider(AccountSession(1, stale)).list_locks()


# --- the PIN endpoints through the adapter -------------------------------------------------------------

@pytest.fixture
def provider(vendors_on_sandbox):
    adapter = tedee.TedeeProvider(AccountSession(1, sign_in_for_credentials()))
    yield adapter
    set_faults(vendors_on_sandbox, FRONT_DOOR, offline=False, server_errors=0, rate_limited=0, lose_responses=0)
    for code in codes_on(vendors_on_sandbox, FRONT_DOOR):
        if code["name"].startswith(TEST_ALIAS):
            adapter.delete_code(FRONT_DOOR, code["id"])


def spec(name: str, pin: str, days: int = 2) -> CodeSpec:
    starts = datetime(2031, 3, 1, 14, 0, tzinfo=UTC)
    return CodeSpec(
        name=TEST_ALIAS + name, pin=pin, starts_at=starts, ends_at=starts + timedelta(days=days, hours=-4), time_zone="Europe/Paris"
    )


def test_a_pin_is_created_read_updated_and_deleted_with_its_exact_window(vendors_on_sandbox, provider):
    sandbox = vendors_on_sandbox
    issued = provider.create_code(FRONT_DOOR, spec("crud", "582947"))
    (on_lock,) = [c for c in codes_on(sandbox, FRONT_DOOR) if c["name"] == TEST_ALIAS + "crud"]
    assert on_lock["id"] == issued.vendor_code_id and on_lock["pin"] == "582947"
    assert (on_lock["starts_at"], on_lock["ends_at"]) == ("2031-03-01T14:00:00+00:00", "2031-03-03T10:00:00+00:00")

    found = provider.find_code(FRONT_DOOR, TEST_ALIAS + "crud")
    assert (found.vendor_code_id, found.pin, found.starts_at, found.ends_at) == (
        issued.vendor_code_id,
        "582947",
        issued.starts_at,
        issued.ends_at,
    )
    assert provider.find_code(FRONT_DOOR, TEST_ALIAS + "nobody") is None

    longer = spec("crud", None, days=5)
    updated = provider.update_code(FRONT_DOOR, issued.vendor_code_id, longer)
    assert updated.pin == "582947" and updated.vendor_code_id == issued.vendor_code_id
    (on_lock,) = [c for c in codes_on(sandbox, FRONT_DOOR) if c["name"] == TEST_ALIAS + "crud"]
    assert on_lock["pin"] == "582947" and on_lock["ends_at"] == "2031-03-06T10:00:00+00:00"

    provider.delete_code(FRONT_DOOR, issued.vendor_code_id)
    assert not [c for c in codes_on(sandbox, FRONT_DOOR) if c["name"] == TEST_ALIAS + "crud"]
    provider.delete_code(FRONT_DOOR, issued.vendor_code_id)  # 404 on the PIN, the lock answers: gone is success
    with pytest.raises(CodeNotFound):
        provider.update_code(FRONT_DOOR, issued.vendor_code_id, longer)


def test_the_wire_answers_in_tedees_envelope_with_tedees_statuses(vendors_on_sandbox, provider):
    headers = {"Authorization": f"Bearer {provider.session.credentials['access_token']}", "Content-Type": "application/json-patch+json"}
    body = tedee.pin_body(TEST_ALIAS + "wire", "918273", datetime(2031, 4, 1, tzinfo=UTC), datetime(2031, 4, 3, tzinfo=UTC))

    created = requests.post(tedee.api_url(f"my/lock/{FRONT_DOOR}/pin"), json=body, headers=headers, timeout=5)
    assert created.status_code == 201
    assert created.json() == {"result": {"id": created.json()["result"]["id"]}, "success": True, "errorMessages": [], "statusCode": 201}
    pin_id = created.json()["result"]["id"]
    details = requests.get(tedee.api_url(f"my/lock/{FRONT_DOOR}/pin/{pin_id}"), headers=headers, timeout=5).json()["result"]
    assert details == {**body, "id": pin_id}

    listed = requests.get(tedee.api_url(f"my/lock/{FRONT_DOOR}/pin"), headers=headers, timeout=5).json()["result"]
    assert {"id": pin_id, "alias": TEST_ALIAS + "wire"} in listed["pins"]
    unchanged = requests.get(
        tedee.api_url(f"my/lock/{FRONT_DOOR}/pin"), params={"listVersion": listed["listVersion"]}, headers=headers, timeout=5
    )
    assert unchanged.status_code == 304

    def post(**changes):
        return requests.post(tedee.api_url(f"my/lock/{FRONT_DOOR}/pin"), json={**body, **changes}, headers=headers, timeout=5)

    duplicate = post(alias=TEST_ALIAS + "dup")
    assert duplicate.status_code == 406 and duplicate.json()["errorMessages"] == ["Pin already exists."]
    for refused in ("1234", "123456789", "12345", "54321", "112211", "12a456"):  # Tedee's PIN rules
        answer = post(pin=refused)
        assert answer.status_code == 400 and answer.json()["success"] is False, refused
    assert post(pin=918273).status_code == 400  # the PIN is a string
    assert requests.get(tedee.api_url(f"my/lock/{FRONT_DOOR}/pin/999999"), headers=headers, timeout=5).status_code == 404
    assert requests.get(tedee.api_url("my/lock/49999"), headers=headers, timeout=5).status_code == 404
    assert requests.post(tedee.api_url(f"my/lock/{NOT_ADMIN}/pin"), json=body, headers=headers, timeout=5).status_code == 403
    for unreachable in (NO_GATEWAY, NO_KEYPAD, OFFLINE):
        answer = requests.post(tedee.api_url(f"my/lock/{unreachable}/pin"), json=body, headers=headers, timeout=5)
        assert answer.status_code == 428 and answer.json()["statusCode"] == 428

    updated = requests.put(
        tedee.api_url(f"my/lock/{FRONT_DOOR}/pin/{pin_id}"),
        json={**body, "endDate": "2031-04-05T00:00:00.000Z"},
        headers=headers,
        timeout=5,
    )
    assert updated.status_code == 204 and updated.content == b""
    deleted = requests.delete(tedee.api_url(f"my/lock/{FRONT_DOOR}/pin/{pin_id}"), headers=headers, timeout=5)
    assert deleted.status_code == 204
    assert requests.delete(tedee.api_url(f"my/lock/{FRONT_DOOR}/pin/{pin_id}"), headers=headers, timeout=5).status_code == 404


def test_each_lock_kind_answers_pin_calls_as_tedee_would(provider):
    with pytest.raises(CodeRejected):  # 406: the lock already holds it
        provider.create_code(FRONT_DOOR, spec("one", "730519"))
        provider.create_code(FRONT_DOOR, spec("two", "730519"))
    for unreachable in (NO_GATEWAY, NO_KEYPAD, OFFLINE):
        with pytest.raises(LockOffline):
            provider.create_code(unreachable, spec("x", "640285"))
    with pytest.raises(LockNotFound):  # 403: not the owner or an administrator
        provider.create_code(NOT_ADMIN, spec("x", "640285"))
    with pytest.raises(LockNotFound):
        provider.create_code("49999", spec("x", "640285"))
    assert provider.create_code(OLD_KEYPAD, spec("old", "640285")).pin == "640285"
    provider.delete_code(OLD_KEYPAD, provider.find_code(OLD_KEYPAD, TEST_ALIAS + "old").vendor_code_id)


def test_fault_switches_answer_in_tedees_terms(vendors_on_sandbox, provider):
    sandbox = vendors_on_sandbox
    set_faults(sandbox, FRONT_DOOR, rate_limited=1, retry_after_seconds=7)
    with pytest.raises(RateLimited) as limited:
        provider.create_code(FRONT_DOOR, spec("limited", "571938"))
    assert limited.value.retry_after == 7

    set_faults(sandbox, FRONT_DOOR, server_errors=1)
    with pytest.raises(VendorUnavailable):
        provider.create_code(FRONT_DOOR, spec("5xx", "571938"))

    set_faults(sandbox, FRONT_DOOR, offline=True)
    with pytest.raises(LockOffline):
        provider.create_code(FRONT_DOOR, spec("offline", "571938"))
    set_faults(sandbox, FRONT_DOOR, offline=False)
    assert not [c for c in codes_on(sandbox, FRONT_DOOR) if c["name"].startswith(TEST_ALIAS)]

    # A lost answer: the PIN is on the lock, the adapter cannot know; find_code finds it.
    set_faults(sandbox, FRONT_DOOR, lose_responses=1)
    with pytest.raises(OutcomeUnknown):
        provider.create_code(FRONT_DOOR, spec("lost", "571938"))
    found = provider.find_code(FRONT_DOOR, TEST_ALIAS + "lost")
    assert found is not None and found.pin == "571938"

    # A lost 204: the delete happened all the same.
    set_faults(sandbox, FRONT_DOOR, lose_responses=1)
    with pytest.raises(OutcomeUnknown):
        provider.delete_code(FRONT_DOOR, found.vendor_code_id)
    assert provider.find_code(FRONT_DOOR, TEST_ALIAS + "lost") is None


# --- booking to door: the worker, the adapter, the sandbox ------------------------------------------------

@pytest.mark.django_db(transaction=True)
@needs_worker
def test_tedee_booking_to_door_through_worker_and_sandbox(
    vendors_on_sandbox, worker, client, host, make_property, book, django_capture_on_commit_callbacks
):
    from bookings.models import BookingStatus
    from locks import services
    from locks.models import AccessCode, CodeState

    sandbox = vendors_on_sandbox
    account = connect_through_views(client, host)
    prop = make_property(time_zone="Europe/Paris", name="Tedee flat")
    services.lock_assignment_set(prop=prop, lock=account.locks.get(vendor_lock_id=FRONT_DOOR))

    def ours() -> list[dict]:
        name = AccessCode.objects.get(pk=code.pk).vendor_name
        return [c for c in codes_on(sandbox, FRONT_DOOR) if c["name"] == name]

    # Booking created → the PIN is on the virtual lock with the exact window.
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(prop, today + timedelta(days=1), today + timedelta(days=3))
        services.booking_created(booking=booking)
    code = AccessCode.objects.get(booking=booking, is_current=True)
    wait_until(lambda: len(ours()) == 1, "the PIN on the lock")
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the code to be active")
    code.refresh_from_db()
    (on_lock,) = ours()
    assert on_lock["pin"] == code.pin and on_lock["id"] == code.vendor_code_id
    assert (on_lock["starts_at"], on_lock["ends_at"]) == (code.starts_at.isoformat(), code.ends_at.isoformat())

    # Dates changed → same PIN (same PIN id: updated in place), new window.
    with django_capture_on_commit_callbacks(execute=True):
        booking.departure_date = today + timedelta(days=4)
        booking.save()
        services.booking_changed(booking=booking)
    code.refresh_from_db()
    wait_until(lambda: [c["ends_at"] for c in ours()] == [AccessCode.objects.get(pk=code.pk).ends_at.isoformat()], "the new window")
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the update to settle")
    code.refresh_from_db()
    (on_lock,) = ours()
    assert on_lock["pin"] == code.pin and on_lock["id"] == code.vendor_code_id
    assert (on_lock["starts_at"], on_lock["ends_at"]) == (code.starts_at.isoformat(), code.ends_at.isoformat())

    # Cancelled → gone.
    with django_capture_on_commit_callbacks(execute=True):
        booking.status = BookingStatus.CANCELLED
        booking.save()
        services.booking_cancelled(booking=booking)
    wait_until(lambda: ours() == [], "the PIN to be removed")
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.REVOKED, "the code to be revoked")


@pytest.mark.django_db(transaction=True)
@needs_worker
def test_tedee_offline_lock_is_retried_and_created_once_back(
    vendors_on_sandbox, worker, client, host, make_property, book, django_capture_on_commit_callbacks
):
    from bookings.models import BookingStatus
    from locks import services, tasks
    from locks.models import AccessCode, CodeState

    sandbox = vendors_on_sandbox
    account = connect_through_views(client, host)
    prop = make_property(time_zone="Europe/Paris", name="Offline Tedee flat")
    services.lock_assignment_set(prop=prop, lock=account.locks.get(vendor_lock_id=FRONT_DOOR))
    set_faults(sandbox, FRONT_DOOR, offline=True)
    try:
        today = timezone.localdate()
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(prop, today + timedelta(days=1), today + timedelta(days=2))
            services.booking_created(booking=booking)
        code = AccessCode.objects.get(booking=booking, is_current=True)
        wait_until(lambda: AccessCode.objects.get(pk=code.pk).attempts >= 1, "a failed attempt")
        code.refresh_from_db()
        assert code.state == CodeState.CREATING and code.last_error_kind == "lock_offline"
        assert not [c for c in codes_on(sandbox, FRONT_DOOR) if c["name"] == code.vendor_name]
    finally:
        set_faults(sandbox, FRONT_DOOR, offline=False)

    AccessCode.objects.filter(pk=code.pk).update(next_attempt_at=timezone.now())  # the retry is due
    tasks.scheduler_pass.delay()
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the retry to succeed")
    code.refresh_from_db()
    (on_lock,) = [c for c in codes_on(sandbox, FRONT_DOOR) if c["name"] == code.vendor_name]
    assert on_lock["pin"] == code.pin
    assert (on_lock["starts_at"], on_lock["ends_at"]) == (code.starts_at.isoformat(), code.ends_at.isoformat())

    # Leave the shared virtual lock as found: the booking's end removes its PIN.
    with django_capture_on_commit_callbacks(execute=True):
        booking.status = BookingStatus.CANCELLED
        booking.save()
        services.booking_cancelled(booking=booking)
    wait_until(lambda: not [c for c in codes_on(sandbox, FRONT_DOOR) if c["name"] == code.vendor_name], "the PIN to be removed")
