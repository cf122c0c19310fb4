"""Every dashboard page: CSRF on every POST, no vendor call while a page renders, and no secret in any page.

The dashboard through the Django test client, on the in-memory fake cloud (tests/conftest.py) except
where a real connect flow is needed (the vendor emulators of tests/vendors/)."""

import json
import re

import pytest
import requests
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, Property
from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, ProviderAccount, VendorCall
from locks.providers.exceptions import CodeStorageFull
from tests.helpers.lifecycle import current, tick
from tests.locks.dashboard.pages import PROVIDERS, codes_state, panel_url, remove_url, row_fields, save_url, settings_url
from tests.vendors.igloohome import CLIENT_ID as IGLOO_ID, CLIENT_SECRET as IGLOO_SECRET, IgloohomeCloud
from tests.vendors.nuki import API_TOKEN, NukiCloud
from tests.vendors.ttlock import TTLockCloud

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


# --- CSRF --------------------------------------------------------------------------------------------------

def db_snapshot() -> dict:
    return {
        "accounts": list(ProviderAccount.objects.order_by("id").values_list("id", "status", "display_name", "token_expires_at")),
        "credentials": {account.pk: account.credentials for account in ProviderAccount.objects.all()},
        "locks": list(Lock.objects.order_by("id").values()),
        "assignments": list(LockAssignment.objects.order_by("id").values()),
        "codes": list(AccessCode.objects.order_by("id").values()),
        "properties": list(Property.objects.order_by("id").values()),
        "bookings": list(Booking.objects.order_by("id").values()),
        "vendor_calls": VendorCall.objects.count(),
    }


class TestCsrf:
    def test_every_post_endpoint_refuses_a_post_without_a_token(self, host, assigned_property, make_property, make_lock, stay, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        failed = stay(prop, arrive_in=3)
        tick()
        assert current(failed).state == CodeState.FAILED
        spare = make_property(name="Beach House")
        spare_lock = make_lock("L2", "ttlock")
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(host)
        before = db_snapshot()
        calls_before = sum(fake_cloud.calls.values())

        posts = [
            (save_url("ttlock", spare), row_fields(spare, spare_lock.pk)),
            (save_url("ttlock", prop), row_fields(prop, prop.lock_assignment.lock_id, "9", "90")),
            (remove_url("ttlock", prop), {}),
            (reverse("integrations:refresh_locks", args=["ttlock"]), {}),
            (reverse("integrations:check_lock_now", args=["ttlock", prop.lock_assignment.lock_id]), {}),
            (reverse("integrations:disconnect", args=["ttlock"]), {}),
            (settings_url(prop), {"time_zone": "Asia/Tokyo", "default_check_in_time": "", "default_check_out_time": ""}),
            (reverse("bookings:retry_code", args=[failed.pk]), {}),
            # (TTLock's and igloohome's connect POSTs have their CSRF tests in test_ttlock.py / test_igloohome.py.)
            (reverse("locks:nuki_connect"), {"token": "nuki-token"}),
        ]
        for url, data in posts:
            assert strict.post(url, data).status_code == 403, url
            assert strict.post(url, data, headers={"HX-Request": "true"}).status_code == 403, url
        assert db_snapshot() == before
        assert sum(fake_cloud.calls.values()) == calls_before

    def test_with_the_token_the_same_post_goes_through(self, host, make_property, make_lock):
        prop = make_property()
        lock = make_lock("T1", "ttlock")
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(host)
        page = strict.get(panel_url("ttlock")).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        response = strict.post(save_url("ttlock", prop), {**row_fields(prop, lock.pk), "csrfmiddlewaretoken": token})
        assert response.status_code == 302 and LockAssignment.objects.filter(property=prop, lock=lock).exists()
        # htmx sends the token in a header, taken from <body hx-headers=...>.
        header_token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
        response = strict.post(remove_url("ttlock", prop), headers={"HX-Request": "true", "X-CSRFToken": header_token})
        assert response.status_code == 200 and not LockAssignment.objects.exists()


# --- no vendor call while a page renders ------------------------------------------------------------------

@pytest.fixture
def every_provider_connected(assigned_property, make_property, make_lock, stay):
    """An account per brand with locks, assignments and codes; Nuki needs reconnecting."""
    for provider, vendor_lock_id in [("ttlock", "T1"), ("tedee", "E1"), ("nuki", "N1"), ("igloohome", "G1"), ("homeit", "H1")]:
        prop = assigned_property(provider=provider, vendor_lock_id=vendor_lock_id)
        make_lock(f"{vendor_lock_id}b", provider)
        stay(prop, arrive_in=-1, guest_name=f"Staying {provider}")
        stay(prop, arrive_in=3, guest_name=f"Upcoming {provider}")
        stay(prop, arrive_in=20, guest_name=f"Later {provider}")
    make_property(name="Beach House")
    tick()
    ProviderAccount.objects.filter(provider="nuki").update(status=AccountStatus.NEEDS_RECONNECT)
    return Property.objects.order_by("id")


def every_page(properties, connected=PROVIDERS) -> list[str]:
    urls = [reverse("home"), reverse("integrations:index"), reverse("bookings:properties"), reverse("bookings:codes")]
    urls += [panel_url(provider) for provider in PROVIDERS]
    urls += [reverse("integrations:disconnect", args=[provider]) for provider in connected]
    urls += [settings_url(prop) for prop in properties]
    return urls


class TestNoVendorCallWhilePagesRender:
    def test_no_page_calls_a_vendor(self, logged_in, every_provider_connected, fake_cloud, monkeypatch):
        def refuse(*args, **kwargs):
            raise AssertionError("a dashboard page called a vendor")

        monkeypatch.setattr(requests.Session, "request", refuse)
        monkeypatch.setattr("locks.providers.http.VendorHttp.request", refuse)
        calls_before, audit_before = dict(fake_cloud.calls), VendorCall.objects.count()
        codes_before = codes_state()

        for url in every_page(every_provider_connected):
            assert logged_in.get(url).status_code == 200, url
        for provider in PROVIDERS:  # a failed form re-renders the panel: still no vendor call
            prop = every_provider_connected.filter(lock_assignment__lock__account__provider=provider).get()
            response = logged_in.post(save_url(provider, prop), row_fields(prop, prop.lock_assignment.lock_id, "0"))
            assert response.status_code == 422
        assert dict(fake_cloud.calls) == calls_before
        assert VendorCall.objects.count() == audit_before
        assert codes_state() == codes_before


# --- secrets ---------------------------------------------------------------------------------------------------

class TestSecretsNeverShown:
    TTLOCK_PASSWORD = "correct horse battery staple"
    TEDEE = {"access_token": "tedee-access-token-aaaa1111", "refresh_token": "tedee-refresh-token-bbbb2222"}

    @pytest.fixture
    def connected_for_real(self, logged_in, host, settings, monkeypatch, make_property):
        """Connect TTLock, Nuki and igloohome through their connect views on the vendor emulators;
        Tedee's OAuth result is stored as its callback would."""
        import responses as responses_lib

        from locks.providers import registry
        from locks.providers.igloohome import IgloohomeProvider
        from locks.providers.nuki import NukiProvider
        from locks.providers.tedee import TedeeProvider
        from locks.providers.ttlock import TTLockProvider

        for slug, cls in [("ttlock", TTLockProvider), ("tedee", TedeeProvider), ("nuki", NukiProvider), ("igloohome", IgloohomeProvider)]:
            monkeypatch.setitem(registry.PROVIDER_CLASSES, slug, cls)
        settings.TTLOCK_API_URL = "https://euapi.ttlock.com"
        settings.TTLOCK_CLIENT_ID, settings.TTLOCK_CLIENT_SECRET = "tt-client-id-42", "tt-client-secret-42"
        make_property(name="Seaside Flat")

        ttlock = TTLockCloud()
        ttlock.add_user("ada@example.com", self.TTLOCK_PASSWORD)
        ttlock.add_lock(3001, "Front door")
        with ttlock:
            response = logged_in.post(reverse("locks:ttlock_connect"), {"username": "ada@example.com", "password": self.TTLOCK_PASSWORD})
        assert response.status_code == 302

        nuki = NukiCloud()
        nuki.add_lock(17_000_001, "Garden gate")
        with nuki:
            response = logged_in.post(reverse("locks:nuki_connect"), {"token": API_TOKEN})
        assert response.status_code == 302

        igloo = IgloohomeCloud()
        igloo.add_lock("IGL-1", "Cellar", bridge="IGB-1", keypad="IGK-1")
        with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
            igloo.register(mock)
            response = logged_in.post(reverse("locks:igloohome_connect"), {"client_id": IGLOO_ID, "client_secret": IGLOO_SECRET})
        assert response.status_code == 302

        ProviderAccount.objects.create(host=host, provider="tedee", display_name="Ada on Tedee", credentials=self.TEDEE)
        accounts = {account.provider: account for account in ProviderAccount.objects.filter(host=host)}
        assert set(accounts) == set(PROVIDERS) - {"homeit"} and all(
            account.status == AccountStatus.CONNECTED for account in accounts.values()
        )
        assert Lock.objects.filter(account__host=host).count() >= 3
        return accounts

    def test_no_credential_appears_in_any_page(self, logged_in, connected_for_real):
        import hashlib

        secrets = {self.TTLOCK_PASSWORD, hashlib.md5(self.TTLOCK_PASSWORD.encode()).hexdigest()}
        for account in connected_for_real.values():
            for key, value in account.credentials.items():
                if key not in ("username", "client_id", "auth", "expires_at") and isinstance(value, str) and len(value) >= 8:
                    secrets.add(value)
        assert len(secrets) >= 2 + 5  # TTLock access + refresh, Nuki token, igloohome secret (+ token), Tedee access + refresh
        properties = Property.objects.all()
        for url in every_page(properties, connected=list(connected_for_real)):
            response = logged_in.get(url)
            assert response.status_code == 200, url
            content = response.content.decode()
            for secret in secrets:
                assert secret not in content, (url, secret)
        # Not even as JSON in a page (e.g. a debug dump of the credentials field).
        for account in connected_for_real.values():
            blob = json.dumps(account.credentials)
            assert blob not in logged_in.get(panel_url(account.provider)).content.decode()
