"""Two hosts side by side: every dashboard URL that carries an id is looked up within the logged-in
host's own objects (another host's id is a 404 and changes nothing), and no page lists anything of
the other host."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from bookings.models import Booking, PmsSource, Property
from locks import services
from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, ProviderAccount, VendorCall
from locks.providers import registry
from locks.providers.exceptions import CodeStorageFull
from tests.helpers.lifecycle import current, tick

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

PROVIDERS = ["ttlock", "tedee", "nuki", "igloohome"]
HTMX = {"HX-Request": "true"}


def row_fields(prop, lock="", lead="5", margin="30") -> dict:
    return {f"p{prop.pk}-lock": lock, f"p{prop.pk}-lead_days": lead, f"p{prop.pk}-margin_minutes": margin}


def snapshot() -> dict:
    """Everything a dashboard action could change."""
    return {
        "accounts": list(
            ProviderAccount.objects.order_by("id").values(
                "id", "host_id", "provider", "status", "display_name", "token_expires_at", "last_error"
            )
        ),
        "credentials": {account.pk: account.credentials for account in ProviderAccount.objects.all()},
        "locks": list(Lock.objects.order_by("id").values()),
        "assignments": list(LockAssignment.objects.order_by("id").values()),
        "codes": list(AccessCode.objects.order_by("id").values()),
        "properties": list(Property.objects.order_by("id").values()),
        "bookings": list(Booking.objects.order_by("id").values()),
        "vendor_calls": VendorCall.objects.count(),
    }


@pytest.fixture
def world(host, other_host, make_property, make_lock, book, fake_cloud):
    """Each host: properties, accounts, locks, assignments, bookings and codes (one active, one
    failed). Only the other host has Tedee; only `host` has igloohome."""

    def build(owner, prefix, providers):
        props, locks, bookings = {}, {}, {}
        for provider in providers:
            vendor_lock_id = f"{prefix}-{provider}"
            prop = make_property(host=owner, name=f"{prefix} {provider} Flat")
            lock = make_lock(vendor_lock_id, provider, account_host=owner)
            LockAssignment.objects.create(property=prop, lock=lock)
            props[provider], locks[provider] = prop, lock
            make_lock(f"{vendor_lock_id}-spare", provider, account_host=owner)
        props["free"] = make_property(host=owner, name=f"{prefix} Free Flat")
        props["ota"] = make_property(host=owner, name=f"{prefix} OTA Flat", pms_source=PmsSource.DIRECT_OTA)
        today = timezone.localdate()
        ttlock_flat = props["ttlock"]
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        bookings["failed"] = book(ttlock_flat, today + timedelta(days=3), today + timedelta(days=5), guest_name=f"{prefix} Failing Guest")
        services.booking_confirmed(booking=bookings["failed"])
        tick()
        bookings["active"] = book(ttlock_flat, today - timedelta(days=1), today + timedelta(days=2), guest_name=f"{prefix} Staying Guest")
        services.booking_confirmed(booking=bookings["active"])
        bookings["free"] = book(props["free"], today + timedelta(days=4), today + timedelta(days=6), guest_name=f"{prefix} Free Guest")
        tick()
        assert current(bookings["failed"]).state == CodeState.FAILED
        assert current(bookings["active"]).state == CodeState.ACTIVE
        for provider in providers:
            ProviderAccount.objects.filter(host=owner, provider=provider).update(
                display_name=f"{prefix}-{provider}@example.com",
                credentials={"access_token": f"{prefix}-{provider}-access-token-0123456789"},
            )
        return {"host": owner, "props": props, "locks": locks, "bookings": bookings, "providers": providers}

    mine = build(host, "Mine", ["ttlock", "nuki", "igloohome"])
    theirs = build(other_host, "Theirs", ["ttlock", "tedee", "nuki"])
    return mine, theirs


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


def assert_404_and_nothing_changed(client, method, url, data=None, **extra):
    before = snapshot()
    response = getattr(client, method)(url, data or {}, **extra)
    assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot() == before, (method, url)
    return response


class TestIdsOfTheOtherHostAre404:
    @pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
    def test_saving_a_row_of_the_other_hosts_property(self, logged_in, world, headers):
        mine, theirs = world
        their_flat = theirs["props"]["free"]
        my_lock = mine["locks"]["ttlock"]
        LockAssignment.objects.filter(lock=my_lock).delete()  # a free lock of mine, so only the property is wrong
        url = reverse("integrations:assignment_save", args=["ttlock", their_flat.pk])
        assert_404_and_nothing_changed(logged_in, "post", url, row_fields(their_flat, my_lock.pk), headers=headers)
        # ... and the property already holding their lock: still theirs.
        their_assigned = theirs["props"]["ttlock"]
        url = reverse("integrations:assignment_save", args=["ttlock", their_assigned.pk])
        assert_404_and_nothing_changed(
            logged_in, "post", url, row_fields(their_assigned, theirs["locks"]["ttlock"].pk, "9"), headers=headers
        )
        assert LockAssignment.objects.get(property=their_assigned).lead_days == 5

    @pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
    def test_removing_the_lock_of_the_other_hosts_property(self, logged_in, world, headers):
        mine, theirs = world
        for provider in ("ttlock", "nuki"):  # both hosts have these connected
            prop = theirs["props"][provider]
            url = reverse("integrations:assignment_remove", args=[provider, prop.pk])
            assert_404_and_nothing_changed(logged_in, "post", url, headers=headers)
            assert LockAssignment.objects.filter(property=prop).exists()

    @pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
    def test_saving_my_property_with_the_other_hosts_lock(self, logged_in, world, headers):
        mine, theirs = world
        my_flat = mine["props"]["free"]
        for provider in ("ttlock", "nuki"):
            their_lock = Lock.objects.get(vendor_lock_id=f"Theirs-{provider}-spare")  # not assigned anywhere
            url = reverse("integrations:assignment_save", args=[provider, my_flat.pk])
            assert_404_and_nothing_changed(logged_in, "post", url, row_fields(my_flat, their_lock.pk), headers=headers)
            # Their assigned lock too (the refusal must not name their property either).
            response = assert_404_and_nothing_changed(
                logged_in, "post", url, row_fields(my_flat, theirs["locks"][provider].pk), headers=headers
            )
            assert theirs["props"][provider].name not in response.content.decode()
        assert not LockAssignment.objects.filter(property=my_flat).exists()

    def test_my_own_property_and_lock_still_save(self, logged_in, world):
        """The control for the 404s above: the same request with my own ids goes through."""
        mine, _ = world
        my_flat = mine["props"]["free"]
        lock = Lock.objects.get(vendor_lock_id="Mine-ttlock-spare")
        response = logged_in.post(reverse("integrations:assignment_save", args=["ttlock", my_flat.pk]), row_fields(my_flat, lock.pk))
        assert response.status_code == 302 and LockAssignment.objects.get(property=my_flat).lock == lock

    @pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
    def test_checking_the_other_hosts_lock_now(self, logged_in, world, headers):
        _, theirs = world
        for provider, lock in theirs["locks"].items():  # ttlock and nuki, brands I have too, and tedee
            url = reverse("integrations:check_lock_now", args=[provider, lock.pk])
            assert_404_and_nothing_changed(logged_in, "post", url, headers=headers)

    def test_the_settings_of_the_other_hosts_property(self, logged_in, world):
        _, theirs = world
        for prop in (theirs["props"]["ttlock"], theirs["props"]["ota"]):
            url = reverse("bookings:property_settings", args=[prop.pk])
            assert_404_and_nothing_changed(logged_in, "get", url)
            assert_404_and_nothing_changed(
                logged_in, "post", url, {"time_zone": "Asia/Tokyo", "default_check_in_time": "18:00", "default_check_out_time": "09:00"}
            )
        assert Property.objects.get(pk=theirs["props"]["ttlock"].pk).time_zone == "Europe/Paris"

    def test_retrying_the_other_hosts_booking(self, logged_in, world):
        _, theirs = world
        for key in ("failed", "active", "free"):
            url = reverse("bookings:retry_code", args=[theirs["bookings"][key].pk])
            assert_404_and_nothing_changed(logged_in, "post", url)
        assert current(theirs["bookings"]["failed"]).state == CodeState.FAILED

    def test_disconnect_and_refresh_of_a_provider_only_the_other_host_has(self, logged_in, world, fake_cloud):
        _, theirs = world
        calls_before = dict(fake_cloud.calls)
        assert_404_and_nothing_changed(logged_in, "get", reverse("integrations:disconnect", args=["tedee"]))
        assert_404_and_nothing_changed(logged_in, "post", reverse("integrations:disconnect", args=["tedee"]))
        assert_404_and_nothing_changed(logged_in, "post", reverse("integrations:refresh_locks", args=["tedee"]))
        prop = theirs["props"]["tedee"]
        assert_404_and_nothing_changed(
            logged_in,
            "post",
            reverse("integrations:assignment_save", args=["tedee", prop.pk]),
            row_fields(prop, theirs["locks"]["tedee"].pk),
        )
        assert_404_and_nothing_changed(logged_in, "post", reverse("integrations:assignment_remove", args=["tedee", prop.pk]))
        assert dict(fake_cloud.calls) == calls_before
        account = ProviderAccount.objects.get(host=theirs["host"], provider="tedee")
        assert account.status == AccountStatus.CONNECTED and account.credentials
        assert LockAssignment.objects.filter(property=prop).exists()

    def test_the_other_host_gets_the_same_404s_for_my_ids(self, client, world):
        mine, theirs = world
        client.force_login(theirs["host"])
        assert_404_and_nothing_changed(client, "get", reverse("integrations:disconnect", args=["igloohome"]))
        assert_404_and_nothing_changed(client, "post", reverse("integrations:disconnect", args=["igloohome"]))
        assert_404_and_nothing_changed(client, "post", reverse("bookings:retry_code", args=[mine["bookings"]["failed"].pk]))
        prop = mine["props"]["ttlock"]
        assert_404_and_nothing_changed(client, "post", reverse("integrations:assignment_remove", args=["ttlock", prop.pk]))
        assert_404_and_nothing_changed(client, "get", reverse("bookings:property_settings", args=[prop.pk]))

    def test_disconnecting_my_account_leaves_the_other_hosts_untouched(self, logged_in, world, fake_cloud):
        """Same provider on both sides: only my account, assignments and codes change."""
        mine, theirs = world
        theirs_before = {
            "account": ProviderAccount.objects.filter(host=theirs["host"], provider="ttlock").values().get(),
            "assignments": list(LockAssignment.objects.filter(property__host=theirs["host"]).values()),
            "codes": list(AccessCode.objects.filter(booking__property__host=theirs["host"]).values()),
        }
        response = logged_in.post(reverse("integrations:disconnect", args=["ttlock"]))
        assert response.status_code == 302
        assert ProviderAccount.objects.get(host=mine["host"], provider="ttlock").status == AccountStatus.DISCONNECTED
        assert ProviderAccount.objects.filter(host=theirs["host"], provider="ttlock").values().get() == theirs_before["account"]
        assert list(LockAssignment.objects.filter(property__host=theirs["host"]).values()) == theirs_before["assignments"]
        assert list(AccessCode.objects.filter(booking__property__host=theirs["host"]).values()) == theirs_before["codes"]


def every_page(client, world_side) -> list[tuple[str, str]]:
    urls = [reverse("home"), reverse("integrations:index"), reverse("bookings:properties"), reverse("bookings:codes")]
    for provider in PROVIDERS:
        urls.append(reverse("integrations:panel", args=[provider]))
        if provider in world_side["providers"]:
            urls.append(reverse("integrations:disconnect", args=[provider]))
    urls += [reverse("bookings:property_settings", args=[prop.pk]) for prop in world_side["props"].values()]
    pages = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append((url, response.content.decode()))
    return pages


def traces_of(side) -> set[str]:
    """Every name, id-bearing URL and secret of one host that another must never see."""
    owner = side["host"]
    traces = set()
    traces |= {escape(prop.name) for prop in Property.objects.filter(host=owner)}
    traces |= {escape(lock.name) for lock in Lock.objects.filter(account__host=owner)}
    traces |= {escape(account.display_name) for account in ProviderAccount.objects.filter(host=owner)}
    traces |= {str(v) for a in ProviderAccount.objects.filter(host=owner) for v in a.credentials.values()}
    traces |= {escape(booking.guest_name) for booking in Booking.objects.filter(property__host=owner)}
    traces |= {code.pin for code in AccessCode.objects.filter(booking__property__host=owner) if code.pin}
    for prop in Property.objects.filter(host=owner):
        traces |= {f'id="property-{prop.pk}"', f'id="group-{prop.pk}"', f"/properties/{prop.pk}/settings/"}
    for booking in Booking.objects.filter(property__host=owner):
        traces |= {f'id="booking-{booking.pk}"', f"/bookings/{booking.pk}/retry/"}
    for lock in Lock.objects.filter(account__host=owner):
        traces.add(f'<option value="{lock.pk}"')
    return traces


class TestPagesShowOnlyTheirOwner:
    @pytest.mark.parametrize("viewer", ["mine", "theirs"])
    def test_no_page_lists_anything_of_the_other_host(self, client, world, viewer):
        mine, theirs = world
        me, them = (mine, theirs) if viewer == "mine" else (theirs, mine)
        client.force_login(me["host"])
        pages = every_page(client, me)
        foreign = traces_of(them)
        assert len(foreign) > 30
        their_prefix = "Theirs" if viewer == "mine" else "Mine"
        for url, content in pages:
            for trace in foreign:
                assert trace not in content, (url, trace)
            assert f"{their_prefix} " not in content and f"{their_prefix}-" not in content, url
        # The control: my own things do show up.
        everything = "".join(content for _, content in pages)
        for prop in me["props"].values():
            assert escape(prop.name) in everything
        for booking in me["bookings"].values():
            assert escape(booking.guest_name) in everything

    def test_cards_count_only_my_locks(self, logged_in, world):
        mine, _ = world
        content = logged_in.get(reverse("integrations:index")).content.decode()
        for provider in ("ttlock", "nuki", "igloohome"):
            card = re.search(rf'<li class="card" id="card-{provider}">.*?</li>', content, re.S).group(0)
            assert f"Mine-{provider}@example.com" in card and "2 locks, 1 assigned" in card
        tedee = re.search(r'<li class="card" id="card-tedee">.*?</li>', content, re.S).group(0)
        assert "Not connected." in tedee and "Theirs" not in tedee
        assert "4 of your 5 properties can have a smart lock; 3 have one." in content

    def test_a_provider_only_the_other_host_has_shows_as_not_connected(self, logged_in, world):
        content = logged_in.get(reverse("integrations:panel", args=["tedee"])).content.decode()
        assert 'href="/locks/connect/tedee/">Connect Tedee</a>' in content
        assert "Lock assignments" not in content and "Theirs" not in content

    def test_panel_rows_and_lock_options_are_mine_only(self, logged_in, world):
        mine, theirs = world
        response = logged_in.get(reverse("integrations:panel", args=["ttlock"]))
        rows = {row.property for row in response.context["rows"]}
        assert rows == set(Property.objects.filter(host=mine["host"]).eligible_for_smart_lock())
        assert {option.lock for option in response.context["locks"]} == set(
            Lock.objects.filter(account__host=mine["host"], account__provider="ttlock")
        )

    def test_a_new_host_sees_empty_pages(self, client, world):
        newcomer = get_user_model().objects.create_user(username="newcomer", password="newcomer-pw-123")
        client.force_login(newcomer)
        codes = client.get(reverse("bookings:codes")).content.decode()
        assert "No current or upcoming bookings." in codes
        index = client.get(reverse("integrations:index")).content.decode()
        assert index.count("Not connected.") == len(registry.PROVIDER_CLASSES) and "0 of your 0 properties" in index
        assert "No properties yet." in client.get(reverse("bookings:properties")).content.decode()


class TestCrossHostPostsWithCsrf:
    def test_a_forged_post_with_a_valid_token_is_still_a_404(self, host, world):
        """A real CSRF token does not make another host's id acceptable."""
        _, theirs = world
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(host)
        page = strict.get(reverse("integrations:panel", args=["ttlock"])).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        prop = theirs["props"]["ttlock"]
        before = snapshot()
        response = strict.post(reverse("integrations:assignment_remove", args=["ttlock", prop.pk]), {"csrfmiddlewaretoken": token})
        assert response.status_code == 404 and snapshot() == before
