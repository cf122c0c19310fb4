"""The escalation ladder's settings on a property's lock row (issue 20), and what the booking page
and the API show once steps were taken."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from locks.models import BackupCode, LadderStep, LadderStepKind, LockAssignment
from locks.services.backup_pool import tend_pools
from tests.locks.dashboard.pages import edit_url, row_fields, save_url

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def ladder_fields(prop, **values) -> dict:
    data = {f"p{prop.pk}-ladder_shown": "True"}
    data.update({f"p{prop.pk}-{name}": value for name, value in values.items()})
    return data


def ladder_of(prop) -> tuple:
    assignment = LockAssignment.objects.get(property=prop)
    return (
        assignment.warn_host_hours_before,
        assignment.send_fallback,
        assignment.fallback_hours_before,
        assignment.remind_host_at_check_in,
        assignment.backup_codes,
    )


class TestLadderSettings:
    def test_defaults_then_the_hosts_choice(self, logged_in, make_property, make_lock):
        prop = make_property()
        lock = make_lock("T1", "tedee")
        logged_in.post(save_url("tedee", prop), row_fields(prop, lock.pk))
        assert ladder_of(prop) == (24, True, 2, True, 2)
        fields = ladder_fields(prop, warn_host_hours_before="48", fallback_hours_before="4", backup_codes="3", send_fallback="on")
        response = logged_in.post(save_url("tedee", prop), {**row_fields(prop, lock.pk), **fields})
        assert response.status_code == 302
        assert ladder_of(prop) == (48, True, 4, False, 3)  # the reminder's box was left unticked

    def test_a_post_without_the_ladder_changes_none_of_it(self, logged_in, make_property, make_lock):
        prop = make_property()
        lock = make_lock("T1", "tedee")
        logged_in.post(save_url("tedee", prop), {**row_fields(prop, lock.pk), **ladder_fields(prop, warn_host_hours_before="6")})
        logged_in.post(save_url("tedee", prop), row_fields(prop, lock.pk, lead="6"))
        assert ladder_of(prop)[:2] == (6, False)

    @pytest.mark.parametrize(
        "field, value",
        [("warn_host_hours_before", "169"), ("fallback_hours_before", "-1"), ("backup_codes", "6"), ("warn_host_hours_before", "1e3\x00")],
    )
    def test_out_of_range_is_refused_with_nothing_saved(self, logged_in, make_property, make_lock, field, value):
        prop = make_property()
        lock = make_lock("T1", "tedee")
        logged_in.post(save_url("tedee", prop), row_fields(prop, lock.pk))
        response = logged_in.post(save_url("tedee", prop), {**row_fields(prop, lock.pk, lead="9"), **ladder_fields(prop, **{field: value})})
        assert response.status_code != 302
        assert ladder_of(prop) == (24, True, 2, True, 2) and LockAssignment.objects.get(property=prop).lead_days == 5

    def test_backup_codes_are_offered_only_where_the_brand_keeps_them(self, logged_in, make_property, make_lock):
        prop = make_property()
        make_lock("T1", "tedee")
        make_lock("I1", "igloohome")
        tedee_page = logged_in.get(edit_url("tedee", prop)).content.decode()
        igloohome_page = logged_in.get(edit_url("igloohome", prop)).content.decode()
        assert f'name="p{prop.pk}-backup_codes"' in tedee_page and f'name="p{prop.pk}-warn_host_hours_before"' in tedee_page
        assert f'name="p{prop.pk}-backup_codes"' not in igloohome_page  # algoPINs need no backups
        assert f'name="p{prop.pk}-warn_host_hours_before"' in igloohome_page


class TestLadderShown:
    def test_on_the_booking_page(self, logged_in, assigned_property, book):
        prop = assigned_property(provider="tedee")
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        LadderStep.objects.create(booking=booking, kind=LadderStepKind.HOST_WARNED, detail="The host was emailed: not on the lock yet.")
        page = logged_in.get(reverse("booking_pages:edit", args=[booking.pk])).content.decode()
        assert "Code late: what Nowistay did" in page and "The host was emailed: not on the lock yet." in page


class TestBackupsOnThePanel:
    def test_the_lock_says_how_many_backup_codes_are_ready_never_their_pins(self, logged_in, assigned_property, fake_cloud):
        assigned_property(provider="tedee")
        tend_pools(timezone.now())
        page = logged_in.get(reverse("integrations:panel", args=["tedee"])).content.decode()
        assert "2 backup codes ready" in page
        assert all(pin not in page for pin in BackupCode.objects.values_list("pin", flat=True))
