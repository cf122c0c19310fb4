"""Staff admin: permissions, actions through the services, the booking's story, the health page,
and no credential, token or PIN in any admin page."""

from datetime import UTC, date, datetime

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from freezegun import freeze_time

from bookings.models import Booking
from locks import admin_health, services
from locks.models import AccessCode, AccountStatus, CodeState, FindingKind, Lock, LockFinding, ProviderAccount, UnmanagedCode, VendorCall
from locks.providers.exceptions import LockOffline
from locks.services import housekeeping
from tests.helpers.lifecycle import tick

pytestmark = pytest.mark.django_db
UTC = UTC
SECRETS = ["secret-access-token-123", "secret-refresh-token-456", "hunter2-password-md5"]


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(username="support", password="support-pass-1", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def story(assigned_property, book, fake_cloud):
    """A TTLock property whose booking has an active code (and audit rows), with secrets stored."""
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14), guest_name="Ada Guest")
        services.booking_created(booking=booking)
        tick()
    code = AccessCode.objects.get(booking=booking)
    assert code.state == CodeState.ACTIVE
    account = code.lock.account
    account.credentials = {"access_token": SECRETS[0], "refresh_token": SECRETS[1], "password_md5": SECRETS[2]}
    account.save()
    return booking, code


def test_only_staff_reach_admin(client, host, staff):
    assert client.get("/admin/").status_code == 302
    client.force_login(host)  # a host is not staff
    for url in ("/admin/", "/admin/locks/accesscode/", reverse("admin_health")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("admin_health")).status_code == 200


def test_no_secret_or_pin_on_any_admin_page(staff_client, story, host):
    from django.utils import timezone

    from bookings.api.services import api_token_create
    from messaging.models import MessageDelivery

    booking, code = story
    token, plain = api_token_create(host=host, name="PMS", read_pins=True)
    MessageDelivery.objects.create(
        booking=booking, template_name="Door code", trigger_key="on_confirmation", due_at=timezone.now(),
        pin=code.pin, subject="Your code", body=f"Your door code is {code.pin}.", recipient="guest-secret@example.com",
    )
    pages = ["/admin/", reverse("admin_health")]
    for model in django_admin.site._registry:
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        for obj in model.objects.all()[:5]:
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk]))
    checked = 0
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in [*SECRETS, code.pin, plain, token.token_hash, "guest-secret@example.com"]:
            assert secret not in html, f"{secret!r} shown on {url}"
        checked += 1
    assert checked > 10


def test_credentials_cannot_be_edited_in_admin(staff_client, story):
    booking, code = story
    account = code.lock.account
    url = reverse("admin:locks_provideraccount_change", args=[account.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="credentials"' not in page and "<form" in page
    response = staff_client.post(url, {"display_name": "changed", "credentials": "{}"})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.credentials["access_token"] == SECRETS[0] and account.display_name != "changed"


def test_booking_page_shows_its_codes_and_their_vendor_calls(staff_client, story):
    booking, code = story
    html = staff_client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    assert f"Code {code.pk}" in html and "Active" in html
    assert "create_code" in html and "Succeeded" in html and " ms" in html
    assert "Europe/Paris" in html and "UTC" in html


def test_code_page_reads_the_failure_in_plain_words(staff_client, assigned_property, book, fake_cloud):
    prop = assigned_property()
    fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."))
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        tick()
        code = AccessCode.objects.get(booking=booking)
        html = staff_client.get(reverse("admin:locks_accesscode_change", args=[code.pk])).content.decode()
    assert "retrying" in html and "gateway is offline" in html
    assert "Attempts" in html and "lock_offline" in html


def _act(client, action, code):
    return client.post(
        reverse("admin:locks_accesscode_changelist"), {"action": action, "_selected_action": [code.pk]}, follow=True
    )


def test_retry_now_action_makes_the_code_due_and_reports_per_row(staff_client, assigned_property, book, fake_cloud):
    prop = assigned_property()
    fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."))
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        tick()
        code = AccessCode.objects.get(booking=booking)
        assert code.next_attempt_at > datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
        response = _act(staff_client, "retry_now", code)
        code.refresh_from_db()
        assert code.next_attempt_at == datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
        tick()
    assert f"Code {code.pk} (Grace Guest, {prop.name}): Retrying now." in response.content.decode()
    code.refresh_from_db()
    assert code.state == CodeState.ACTIVE


def test_revoke_now_action_ends_the_access_through_the_lifecycle(staff_client, story, fake_cloud):
    booking, code = story
    with freeze_time("2026-03-12 15:00:00"):
        response = _act(staff_client, "revoke_now", code)
        tick()
    assert "Access ended" in response.content.decode()
    code.refresh_from_db()
    booking.refresh_from_db()
    assert code.state == CodeState.REVOKED and booking.access_ended_at is not None
    assert fake_cloud.codes_on("L1") == []


def test_regenerate_pin_action_gives_a_new_pin(staff_client, story, fake_cloud):
    booking, code = story
    with freeze_time("2026-03-12 15:00:00"):
        response = _act(staff_client, "regenerate_pin", code)
        tick()
    assert "new PIN" in response.content.decode()
    fresh = AccessCode.objects.get(booking=booking, is_current=True)
    assert fresh.pk != code.pk and fresh.pin != code.pin and fresh.state == CodeState.ACTIVE


def test_audit_trail_is_read_only_and_filterable(staff_client, story):
    call = VendorCall.objects.first()
    assert staff_client.post(reverse("admin:locks_vendorcall_change", args=[call.pk]), {}).status_code == 403
    assert staff_client.post(reverse("admin:locks_vendorcall_delete", args=[call.pk]), {"post": "yes"}).status_code == 403
    listing = staff_client.get(reverse("admin:locks_vendorcall_changelist"), {"provider": "ttlock", "outcome__exact": "ok"})
    assert listing.status_code == 200 and "create_code" in listing.content.decode()


def test_health_page_counts_states_lists_reconnects_retrying_codes_and_error_rates(staff_client, assigned_property, book, fake_cloud):
    prop = assigned_property()
    fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."))
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14), guest_name="Retry Rita")
        services.booking_created(booking=booking)
        tick()
        account = ProviderAccount.objects.get()
        ProviderAccount.objects.filter(pk=account.pk).update(status=AccountStatus.NEEDS_RECONNECT, last_error="TTLock refused the token.")
        html = staff_client.get(reverse("admin_health")).content.decode()
    assert "Retry Rita" in html and "TTLock refused the token." in html
    assert "100.0 %" in html  # one call, one failure


def test_health_page_leaves_requests_refused_before_sending_out_of_the_vendor_error_rate(staff_client, host):
    account = ProviderAccount.objects.create(host=host, provider="nuki", display_name="Nuki account")
    with freeze_time("2026-03-11 09:00:00"):
        for outcome in ["ok", "transient"] + ["local"] * 5:  # five PINs our own check refused in 0 ms
            VendorCall.objects.create(account=account, provider="nuki", operation="create_code", outcome=outcome, duration_ms=0)
        (nuki,) = admin_health.vendor_error_rates()
        html = staff_client.get(reverse("admin_health")).content.decode()
    assert (nuki["sent"], nuki["failed"], nuki["local"], nuki["error_rate"]) == (2, 1, 5, "50.0 %")
    assert "50.0 %" in html and "Refused before sending" in html and "outcome__exact=local" in html


def test_health_page_with_only_local_refusals_shows_no_error_rate(staff_client, host):
    account = ProviderAccount.objects.create(host=host, provider="nuki", display_name="Nuki account")
    with freeze_time("2026-03-11 09:00:00"):
        VendorCall.objects.create(account=account, provider="nuki", operation="create_code", outcome="local", duration_ms=0)
        (nuki,) = admin_health.vendor_error_rates()
    assert (nuki["sent"], nuki["failed"], nuki["error_rate"]) == (0, 0, "—")


def test_the_audit_list_names_local_refusals_in_words(staff_client, host):
    account = ProviderAccount.objects.create(host=host, provider="nuki", display_name="Nuki account")
    VendorCall.objects.create(
        account=account, provider="nuki", operation="create_code", outcome="local", error_kind="code_rejected",
        error_message="Nuki would refuse the PIN: Nuki PINs are 6 digits from 1 to 9 (the keypad has no 0).", duration_ms=0,
    )
    listing = staff_client.get(reverse("admin:locks_vendorcall_changelist"), {"outcome__exact": "local"}).content.decode()
    assert "Refused before sending" in listing and "Nuki would refuse the PIN" in listing


def test_prune_deletes_old_audit_rows_and_removes_old_guest_data(story, settings):
    booking, code = story
    settings.RETENTION_AUDIT_DAYS = 30
    settings.RETENTION_GUEST_DATA_DAYS = 60
    VendorCall.objects.update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    with freeze_time("2026-03-20 09:00:00"):
        report = housekeeping.prune()
    assert report.audit_rows_deleted >= 1 and not VendorCall.objects.exists()
    booking.refresh_from_db()
    assert booking.guest_name == "Ada Guest"  # not old enough yet
    AccessCode.objects.filter(pk=code.pk).update(state=CodeState.EXPIRED, next_attempt_at=None)
    with freeze_time("2026-06-01 09:00:00"):
        report = housekeeping.prune()
        again = housekeeping.prune()
    booking.refresh_from_db()
    code.refresh_from_db()
    assert (booking.guest_name, booking.guest_email, booking.guest_phone) == (housekeeping.REMOVED_GUEST_NAME, "", "")
    assert code.pin is None and report.bookings_anonymised == 1 and report.pins_erased == 1
    assert (again.bookings_anonymised, again.pins_erased) == (0, 0)
    assert Booking.objects.filter(pk=booking.pk).exists()


def test_staff_can_revoke_an_api_token(staff_client, host):
    from bookings.api.models import ApiToken
    from bookings.api.services import api_token_create

    token, _ = api_token_create(host=host, name="Channel manager")
    response = staff_client.post(
        reverse("admin:bookings_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert "Revoked Channel manager" in response.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_bookings_are_found_by_guest_host_and_vendor_lock_id(staff_client, story):
    booking, code = story
    for term in ("Ada Guest", booking.property.host.username, code.lock.vendor_lock_id):
        listing = staff_client.get(reverse("admin:bookings_booking_changelist"), {"q": term}).content.decode()
        assert "Ada Guest" in listing and "0 of 1 selected" in listing, term


@pytest.fixture
def viewer_client(client, db):
    """Staff allowed to read codes, not to act on them."""
    from django.contrib.auth.models import Permission

    viewer = get_user_model().objects.create_user(username="viewer", password="viewer-pass-1", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_accesscode", "view_booking", "view_lockassignment"]))
    client.force_login(viewer)
    return client


def test_staff_without_change_permission_cannot_act_on_codes(viewer_client, story):
    booking, code = story
    page = viewer_client.get(reverse("admin:locks_accesscode_changelist"))
    assert page.status_code == 200 and "revoke_now" not in page.content.decode()
    for action in ("retry_now", "revoke_now", "regenerate_pin"):
        viewer_client.post(reverse("admin:locks_accesscode_changelist"), {"action": action, "_selected_action": [code.pk], "index": 0})
    code.refresh_from_db()
    booking.refresh_from_db()
    assert code.state == CodeState.ACTIVE and code.is_current and booking.access_ended_at is None


def test_the_health_page_needs_the_permission_to_view_codes(client, viewer_client, db):
    assert viewer_client.get(reverse("admin_health")).status_code == 200
    nobody = get_user_model().objects.create_user(username="bare-staff", password="bare-pass-1", is_staff=True)
    client.force_login(nobody)
    assert client.get(reverse("admin_health")).status_code == 403


def test_lock_assignments_are_removed_through_the_lifecycle_not_deleted(staff_client, assigned_property, book, fake_cloud):
    from locks.models import LockAssignment

    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        tick()
        assignment = LockAssignment.objects.get(property=prop)
        assert staff_client.post(reverse("admin:locks_lockassignment_delete", args=[assignment.pk]), {"post": "yes"}).status_code == 403
        response = staff_client.post(
            reverse("admin:locks_lockassignment_changelist"), {"action": "remove", "_selected_action": [assignment.pk]}, follow=True
        )
        tick()
    assert "1 upcoming code(s) being revoked" in response.content.decode()
    assert not LockAssignment.objects.filter(property=prop).exists()
    assert AccessCode.objects.get(booking=booking).state == CodeState.REVOKED and fake_cloud.codes_on("L1") == []


def test_a_booking_cannot_be_moved_to_another_hosts_property_in_admin(staff_client, story, other_host):
    from bookings.models import Property

    booking, code = story
    Property.objects.create(host=other_host, name="Not yours", time_zone="Europe/Paris")
    form = staff_client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    assert "Not yours" not in form


# --- what reading the locks back finds (issue 19) -----------------------------------------------------

UNMANAGED_PIN = "918273"


@pytest.fixture
def read_back(story):
    """The story's lock read back: its health, a cleaner's code Nowistay does not manage, two findings."""
    booking, code = story
    lock = code.lock
    Lock.objects.filter(pk=lock.pk).update(
        battery_percent=18, codes_held=3, code_capacity=100, reconciled_at=datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    )
    AccessCode.objects.filter(pk=code.pk).update(
        confirmed_on_lock_at=datetime(2026, 3, 11, 9, 1, tzinfo=UTC), first_used_at=datetime(2026, 3, 12, 14, 42, tzinfo=UTC),
        last_used_at=datetime(2026, 3, 13, 8, 5, tzinfo=UTC),
    )
    cleaner = UnmanagedCode.objects.create(
        lock=lock, vendor_code_id="v-77", name="Cleaner", pin=UNMANAGED_PIN, last_seen_at=datetime(2026, 3, 12, 9, 0, tzinfo=UTC),
        starts_at=datetime(2026, 3, 1, 7, 0, tzinfo=UTC),
    )
    missing = LockFinding.objects.create(lock=lock, access_code=code, kind=FindingKind.MISSING_ON_LOCK, detail="Put back Ada's code.")
    full = LockFinding.objects.create(lock=lock, kind=FindingKind.CAPACITY_LOW, detail="97 of 100 codes held.")
    return {"lock": lock, "code": code, "cleaner": cleaner, "missing": missing, "full": full}


def test_findings_are_read_only_and_filter_by_kind_and_lock(staff_client, read_back):
    url = reverse("admin:locks_lockfinding_changelist")
    everything = staff_client.get(url).content.decode()
    assert "Put back Ada&#x27;s code." in everything and "97 of 100 codes held." in everything
    by_kind = staff_client.get(url, {"kind__exact": FindingKind.CAPACITY_LOW}).content.decode()
    assert "97 of 100 codes held." in by_kind and "Put back Ada" not in by_kind
    assert "Put back Ada" in staff_client.get(url, {"lock__id__exact": read_back["lock"].pk}).content.decode()
    assert staff_client.get(reverse("admin:locks_lockfinding_add")).status_code == 403
    change = reverse("admin:locks_lockfinding_change", args=[read_back["missing"].pk])
    page = staff_client.get(change).content.decode()
    assert "Our code was missing on the lock and was put back" in page and 'name="detail"' not in page
    assert staff_client.post(reverse("admin:locks_lockfinding_delete", args=[read_back["missing"].pk])).status_code == 403


def test_unmanaged_codes_show_name_and_window_never_the_pin(staff_client, read_back):
    url = reverse("admin:locks_unmanagedcode_changelist")
    listed = staff_client.get(url).content.decode()
    assert "Cleaner" in listed and "2026-03-01 08:00 Europe/Paris" in listed and "no end" in listed
    page = staff_client.get(reverse("admin:locks_unmanagedcode_change", args=[read_back["cleaner"].pk])).content.decode()
    assert "Cleaner" in page and "v-77" in page
    assert UNMANAGED_PIN not in listed and UNMANAGED_PIN not in page
    assert "0 results" in staff_client.get(url, {"q": UNMANAGED_PIN}).content.decode()  # the PIN is not searchable either
    assert staff_client.get(reverse("admin:locks_unmanagedcode_add")).status_code == 403


def test_the_lock_page_shows_its_health_read_only(staff_client, read_back):
    page = staff_client.get(reverse("admin:locks_lock_change", args=[read_back["lock"].pk])).content.decode()
    assert "Health and read-back" in page and "Battery percent" in page and ">18<" in page
    assert 'name="battery_percent"' not in page
    assert f"?lock__id__exact={read_back['lock'].pk}" in page


def test_the_code_page_shows_confirmation_and_uses_in_property_time(staff_client, read_back):
    page = staff_client.get(reverse("admin:locks_accesscode_change", args=[read_back["code"].pk])).content.decode()
    assert "confirmed on the lock" in page.lower() and "2026-03-11 10:01 Europe/Paris" in page
    assert "First used" in page and "2026-03-12 15:42 Europe/Paris (2026-03-12 14:42 UTC)" in page
    assert "Last used" in page and "2026-03-13 09:05 Europe/Paris" in page


def test_rotations_are_listed_read_only_without_a_pin(staff_client, story):
    booking, old = story
    with freeze_time("2026-03-11 10:00:00"):
        services.code_rotate(booking=booking, via="api")
        tick()
        listing = staff_client.get(reverse("admin:locks_coderotation_changelist")).content.decode()
    new = AccessCode.objects.get(booking=booking, is_current=True)
    assert "done: on the lock since 11:00 11 Mar" in listing and "revoked" in listing
    assert old.pin not in listing and new.pin not in listing
    assert 'href="/admin/locks/coderotation/add/"' not in listing
