"""The host-facing pages: login, dashboard scoped to the host, logout, health check, admin gate."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus, PmsSource, Property

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Log in</h1>" in content
    assert 'name="username"' in content and 'name="password"' in content
    assert "csrfmiddlewaretoken" in content


def test_login_with_form_redirects_home(client, host):
    response = client.post(reverse("login"), {"username": "host", "password": "host-password-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_login_with_wrong_password_shows_error(client, host):
    response = client.post(reverse("login"), {"username": "host", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "errorlist" in response.content.decode()


def test_home_redirects_anonymous_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_host_sees_own_properties_only(client, host, other_host, make_property):
    mine = make_property(name="Montmartre Loft")
    ineligible = make_property(name="Lisbon Flat", pms_source=PmsSource.DIRECT_OTA, time_zone="Europe/Lisbon")
    theirs = Property.objects.create(host=other_host, name="Someone Else's Chalet", time_zone="Europe/Zurich")
    today = timezone.localdate()
    Booking.objects.create(
        property=mine, guest_name="Alice Martin", arrival_date=today + timedelta(days=2),
        departure_date=today + timedelta(days=5), status=BookingStatus.CONFIRMED,
    )
    Booking.objects.create(
        property=theirs, guest_name="Zed Stranger", arrival_date=today + timedelta(days=2),
        departure_date=today + timedelta(days=5), status=BookingStatus.CONFIRMED,
    )

    client.force_login(host)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    content = response.content.decode()
    assert mine.name in content
    assert ineligible.name in content
    assert "Alice Martin" in content
    assert theirs.name not in content
    assert "Zed Stranger" not in content
    assert set(response.context["properties"]) == {mine, ineligible}
    assert "No lock assigned" in content
    assert "Not eligible" in content


def test_other_host_sees_only_theirs(client, host, other_host, make_property):
    make_property(name="Montmartre Loft")
    Property.objects.create(host=other_host, name="Someone Else's Chalet", time_zone="Europe/Zurich")
    client.force_login(other_host)
    content = client.get(reverse("home")).content.decode()
    assert "Someone Else's Chalet" in content or "Someone Else&#x27;s Chalet" in content
    assert "Montmartre Loft" not in content


def test_logout_via_post(client, host):
    client.force_login(host)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_logout_via_get_is_refused(client, host):
    client.force_login(host)
    response = client.get(reverse("logout"))
    assert response.status_code == 405
    assert client.get(reverse("home")).status_code == 200  # still logged in


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_admin_redirects_non_staff_host_to_admin_login(client, host):
    client.force_login(host)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    response = client.get("/admin/bookings/property/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_reachable_by_staff(client, django_user_model):
    staff = django_user_model.objects.create_user(username="staff", password="staff-pw-12345", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_home_lists_each_lock_brand_with_a_link_to_its_panel(client, host):
    from locks.models import ProviderAccount

    ProviderAccount.objects.create(host=host, provider="tedee", display_name="Ada (ada@example.com)")
    client.force_login(host)
    content = client.get("/").content.decode()
    for url in ("/integrations/ttlock/", "/integrations/tedee/", "/integrations/nuki/", "/integrations/igloohome/"):
        assert f'href="{url}"' in content
    assert "Ada (ada@example.com)" in content and "Not connected" in content
