import os
import subprocess
import sys
from datetime import date, time

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from hypothesis import settings as hypothesis_settings

# Load the URLconf (and the API's pydantic schemas) now: imported first inside freeze_time, they
# would be built from freezegun's fake datetime class and fail.
import nowistay.urls  # noqa: F401
from bookings.models import Booking, BookingStatus, PmsSource, Property
from locks import services as lifecycle
from locks.models import Lock, LockAssignment, ProviderAccount
from locks.providers import registry
from locks.providers.base import Capabilities
from locks.providers.fake import FakeCloud, fake_provider_class
from messaging import services as messaging_services
from messaging.models import MessageTemplate, OffsetUnit, TriggerKind
from sandbox.demo_sign_ins import vendor_settings
from tests.helpers.contract import ALGOPIN
from tests.helpers.guest_messages import ARRIVAL, DEPARTURE, GUEST
from tests.helpers.processes import free_port, wait_until
from tests.helpers.repository import ROOT

# Hypothesis's per-example deadline is a timing assertion: on a loaded CI machine it fails tests
# that are correct. Speed is measured by the scripts in benchmarks/, never asserted here.
hypothesis_settings.register_profile("nowistay", deadline=None)
hypothesis_settings.load_profile("nowistay")


@pytest.fixture
def host(db):
    return get_user_model().objects.create_user(username="host", email="host@example.com", password="host-password-123")


@pytest.fixture
def other_host(db):
    return get_user_model().objects.create_user(username="other-host", password="other-password-123")


@pytest.fixture
def make_property(host):
    def make(**overrides):
        fields = {
            "host": host,
            "name": "Seaside Flat",
            "time_zone": "Europe/Paris",
            "pms_source": PmsSource.NOWISTAY,
            "ai_assistant_active": True,
        }
        fields.update(overrides)
        return Property.objects.create(**fields)

    return make


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the default language, whatever language the test before it left active."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """PBKDF2's deliberate slowness only slows the suite down; tests never depend on the hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_pause_between_tedee_reads(monkeypatch):
    """A busy Tedee device is asked again after a pause (TedeeReadBack.detail_retry_pause): not in tests."""
    from locks.providers.tedee.read_back import TedeeReadBack

    monkeypatch.setattr(TedeeReadBack, "detail_retry_pause", 0)


# --- no SMS or WhatsApp provider is ever called by a test ---------------------------------------------
PROVIDER_GUARD = "http://channel-provider-not-mocked.invalid"


class _RefusingAdapter(requests.adapters.BaseAdapter):
    """Answers every request to PROVIDER_GUARD with a connection error, and keeps its URL."""

    def __init__(self, calls: list):
        super().__init__()
        self.calls = calls

    def send(self, request, **kwargs):
        self.calls.append(request.url)
        raise requests.ConnectionError("a channel provider was called in a test: emulate it with `responses`")

    def close(self):
        pass


@pytest.fixture(autouse=True)
def no_channel_provider_called(settings):
    """The SMS and WhatsApp channels point at an address that refuses everything, with no
    credentials (so not set up) unless a test sets them; a call that still reaches it fails the
    test at teardown. Channel tests give their own URLs and emulate them with `responses`."""
    from messaging.channels import base

    settings.TWILIO_API_URL, settings.WHATSAPP_API_URL = f"{PROVIDER_GUARD}/twilio", f"{PROVIDER_GUARD}/whatsapp"
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID",
                 "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_TEMPLATE_NAME", "WHATSAPP_APP_SECRET",
                 "WHATSAPP_VERIFY_TOKEN"):
        setattr(settings, name, "")
    calls: list[str] = []
    base._session.mount(PROVIDER_GUARD, _RefusingAdapter(calls))  # the session both providers' requests use
    yield calls
    base._session.adapters.pop(PROVIDER_GUARD, None)
    assert not calls, f"a test called a channel provider: {calls}"


@pytest.fixture(autouse=True)
def vendor_rate_limits_off(settings):
    """The vendor rate limiter (locks.providers.rate_limits) counts in real time, and a frozen clock
    never frees its window: off, except in the tests of it, which turn it on (`rate_limited`)."""
    settings.LOCKS_RATE_LIMITS_ENABLED = False


@pytest.fixture
def rate_limited(settings, monkeypatch):
    """The vendor rate limiter on, counting in this process's memory from zero, with `limit(vendor,
    app=..., account=...)` setting a vendor's limits (none for the others)."""
    from limits.storage import MemoryStorage

    from locks.providers import rate_limits

    # The memory storage's sweeper thread reads the real clock (freezegun leaves `threading` alone)
    # and would drop counts a frozen clock still holds; a moving window does not need it to count.
    monkeypatch.setattr(MemoryStorage, "_MemoryStorage__expire_events", lambda self: None)
    settings.LOCKS_RATE_LIMITS_ENABLED = True
    settings.REDIS_URL = ""
    settings.LOCKS_VENDOR_RATE_LIMITS = {}
    rate_limits.forget_counts()

    def limit(vendor: str, *, app: str = "", account: str = "") -> None:
        settings.LOCKS_VENDOR_RATE_LIMITS = {**settings.LOCKS_VENDOR_RATE_LIMITS, vendor: {"app": app, "account": account}}

    yield limit
    rate_limits.forget_counts()


@pytest.fixture(autouse=True)
def no_failed_refresh_shared_between_tests():
    """A failed token refresh is shared with the account's other workers for a few seconds, through
    the cache (locks.services.vendor_accounts): one test's failure is not the next test's answer."""
    from django.core.cache import cache

    yield
    cache.clear()


# --- lock lifecycle fixtures -------------------------------------------------------------------



def fake_standing_in_for(slug: str, cloud: FakeCloud, capabilities: Capabilities = Capabilities()):
    """A fake cloud behind the vendor's own face: the host's pages show its name and its sign-in."""
    fake, real = fake_provider_class(slug, cloud, capabilities), registry.provider_class(slug)
    declared = ("display_name", "sign_in_methods", "connect_hint", "connect_notes", "connect_fine_print", "eligibility_hint")
    declared += ("not_read_back_note",)
    signing_in = ("sign_in_with", "authorization_url", "exchange_code", "sign_in_refusal")
    for name in declared + signing_in:
        setattr(fake, name, getattr(real, name))
    return fake


@pytest.fixture
def fake_cloud(monkeypatch):
    cloud = FakeCloud()
    classes = {
        "ttlock": fake_standing_in_for("ttlock", cloud),
        "tedee": fake_standing_in_for("tedee", cloud),
        "nuki": fake_standing_in_for("nuki", cloud),
        "igloohome": fake_standing_in_for("igloohome", cloud, ALGOPIN),
        "homeit": fake_standing_in_for("homeit", cloud, registry.provider_class("homeit").capabilities),
    }
    monkeypatch.setattr(registry, "PROVIDER_CLASSES", classes)
    return cloud


@pytest.fixture
def make_lock(host, fake_cloud):
    def make(vendor_lock_id="L1", provider="ttlock", account_host=None, **cloud_attributes):
        account, _ = ProviderAccount.objects.get_or_create(
            host=account_host or host, provider=provider, defaults={"display_name": f"{provider} account"}
        )
        fake_cloud.add_lock(vendor_lock_id, **cloud_attributes)
        return Lock.objects.create(
            account=account, vendor_lock_id=vendor_lock_id, name=f"Door {vendor_lock_id}", supports_remote_codes=True
        )

    return make


@pytest.fixture
def assigned_property(make_property, make_lock):
    """A Paris property with a TTLock lock assigned (lead 5 days, margin 30 minutes)."""

    def make(time_zone="Europe/Paris", provider="ttlock", vendor_lock_id="L1", **assignment):
        prop = make_property(time_zone=time_zone, name=f"Flat {vendor_lock_id}")
        lock = make_lock(vendor_lock_id=vendor_lock_id, provider=provider)
        LockAssignment.objects.create(property=prop, lock=lock, **assignment)
        return prop

    return make


@pytest.fixture
def book(db):
    def make(prop, arrival: date, departure: date, status=BookingStatus.CONFIRMED, **fields):
        fields.setdefault("guest_name", "Grace Guest")
        fields.setdefault("guest_phone", "+33 6 12 34 56 78")
        return Booking.objects.create(property=prop, arrival_date=arrival, departure_date=departure, status=status, **fields)

    return make


# --- guest messages carrying the door code (tests/messaging/test_sending.py, production settings) --------
@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Run `work` and then its on-commit callbacks (codes_ready, enqueued tasks, sends)."""

    def run(work):
        with django_capture_on_commit_callbacks(execute=True):
            return work()

    return run


@pytest.fixture
def send(after_commit):
    """One messaging beat pass."""
    return lambda: after_commit(lambda: messaging_services.run_pass(dispatch=messaging_services.process_inline))


@pytest.fixture
def door_code(host):
    def make(**fields):
        defaults = dict(
            host=host, name="Door code", trigger=TriggerKind.BEFORE_CHECK_IN, offset=1, offset_unit=OffsetUnit.DAYS,
            send_at=time(10), subject="Your door code for {{property_name}}",
            body="Hello {{guest_name}}, your code is {{smartlock_code}} ({{code_valid_from}} to {{code_valid_until}}).",
        )
        defaults.update(fields)
        return MessageTemplate.objects.create(**defaults)

    return make


@pytest.fixture
def stay(assigned_property, book, after_commit, fake_cloud):
    """A confirmed Paris booking arriving 11 June with the lifecycle told about it (lead 5 days,
    so its code is due at once: with the lock online it is active when this returns)."""

    def make(provider="ttlock", lock_online=True, **fields):
        prop = assigned_property(provider=provider)
        fake_cloud.locks["L1"].online = lock_online
        fields.setdefault("guest_email", GUEST)
        booking = book(prop, ARRIVAL, DEPARTURE, **fields)
        after_commit(lambda: lifecycle.booking_created(booking=booking))
        return booking

    return make


# --- sandbox process and a real worker (end-to-end tests) -------------------------------------------

@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory):
    port = free_port()
    database = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3"
    env = {**os.environ, "SANDBOX_DATABASE_URL": f"sqlite:///{database}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--seed"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(url + "/", timeout=1).ok, "the sandbox to start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def vendors_on_sandbox(settings, sandbox_url):
    """Every vendor URL pointed at the sandbox, as `make run` does (sandbox/demo_sign_ins.py)."""
    for name, value in vendor_settings(sandbox_url).items():
        setattr(settings, name, value)
    return sandbox_url


def _close_thread_connection(**kwargs):
    connection.close()  # worker threads outlive the test; their connections must not


@pytest.fixture
def worker(settings):
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from nowistay.celery import app

    app.conf.task_always_eager = False
    task_postrun.connect(_close_thread_connection)
    try:
        with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        task_postrun.disconnect(_close_thread_connection)
        connection.close()




# --- account security ----------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def staff_force_login_is_verified(monkeypatch):
    """`force_login` stands for a completed sign-in. For staff that includes the second factor the
    admin requires (accounts.admin_site), so a staff user logged in this way gets a confirmed
    authenticator and a verified session. Tests of the admin's refusal sign in through the forms."""
    from django.test.client import ClientMixin

    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if user.is_staff:
            from django_otp import DEVICE_ID_SESSION_KEY
            from django_otp.plugins.otp_totp.models import TOTPDevice

            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
                user=user, name="test", confirmed=True
            )
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


@pytest.fixture(autouse=True)
def client_login_passes_a_request(monkeypatch):
    """The sign-in throttle (django-axes) needs the request of every password check; the test
    client's `login` has none, so it gets one from the test client's address (as axes' docs advise)."""
    from django.http import HttpRequest
    from django.test.client import ClientMixin

    original = ClientMixin.login

    def login(self, **credentials):
        if "request" not in credentials:
            request = HttpRequest()
            request.META["REMOTE_ADDR"] = "127.0.0.1"
            credentials["request"] = request
        return original(self, **credentials)

    monkeypatch.setattr(ClientMixin, "login", login)
