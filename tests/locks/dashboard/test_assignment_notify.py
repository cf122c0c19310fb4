"""The two email choices of a property's row (issue 19): told when a guest first enters, and when a
code was not used by the end of check-in day. Offered only for brands whose access log Nowistay
reads, saved with the row like its other settings."""

import re
from dataclasses import replace

import pytest

from locks.models import LockAssignment
from locks.providers import registry
from tests.locks.dashboard.pages import edit_url, row_fields, row_html, row_url, save_url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

FIRST_ENTRY = "Email me when a guest first enters"
UNUSED = "Email me when a code was not used by the end of check-in day"


@pytest.fixture
def reads_access_log(fake_cloud, monkeypatch):
    """TTLock's access log is read (its real adapter says so once the read-back lands)."""
    fake = registry.provider_class("ttlock")
    monkeypatch.setattr(fake, "capabilities", replace(fake.capabilities, access_log=True))


def notify(prop, first_entry: bool, unused: bool) -> dict:
    data = {}
    if first_entry:
        data[f"p{prop.pk}-notify_first_entry"] = "on"
    if unused:
        data[f"p{prop.pk}-notify_unused_code"] = "on"
    return data


def choices(prop) -> tuple[bool, bool]:
    assignment = LockAssignment.objects.get(property=prop)
    return assignment.notify_first_entry, assignment.notify_unused_code


def test_the_row_offers_both_choices_labelled_as_the_model(reads_access_log, logged_in, assigned_property):
    prop = assigned_property()
    row = row_html(logged_in.get(edit_url("ttlock", prop)).content.decode(), prop)
    assert FIRST_ENTRY in row and UNUSED in row
    assert f'name="p{prop.pk}-notify_first_entry"' in row
    assert not re.search(r'name="p\d+-notify_[a-z_]+"[^>]*checked', row)  # neither ticked (the ladder's boxes are)


def test_saving_the_row_saves_the_choices_and_shows_them_ticked(reads_access_log, logged_in, assigned_property):
    prop = assigned_property()
    lock_id = LockAssignment.objects.get(property=prop).lock_id
    response = logged_in.post(save_url("ttlock", prop), {**row_fields(prop, lock_id), **notify(prop, True, True)})
    assert response.status_code == 302 and choices(prop) == (True, True)
    row = row_html(logged_in.get(edit_url("ttlock", prop)).content.decode(), prop)
    assert len(re.findall(r'name="p\d+-notify_[a-z_]+"[^>]*checked', row)) == 2

    response = logged_in.post(
        save_url("ttlock", prop), {**row_fields(prop, lock_id), **notify(prop, False, True)}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and choices(prop) == (False, True)
    assert "emails: unused code" in response.content.decode()  # the row's summary, after an htmx save
    editor = logged_in.get(row_url("ttlock", prop, edit=True), headers={"HX-Request": "true"}).content.decode()
    assert len(re.findall(r'name="p\d+-notify_[a-z_]+"[^>]*checked', editor)) == 1


def test_a_new_assignment_takes_the_choices(reads_access_log, logged_in, make_property, make_lock):
    prop, lock = make_property(), make_lock("T1")
    response = logged_in.post(save_url("ttlock", prop), {**row_fields(prop, lock.pk), **notify(prop, True, False)})
    assert response.status_code == 302 and choices(prop) == (True, False)


def test_a_refused_row_saves_no_choice(reads_access_log, logged_in, assigned_property):
    prop = assigned_property()
    lock_id = LockAssignment.objects.get(property=prop).lock_id
    response = logged_in.post(save_url("ttlock", prop), {**row_fields(prop, lock_id, lead="99"), **notify(prop, True, True)})
    assert response.status_code == 422 and choices(prop) == (False, False)


def test_a_brand_without_an_access_log_offers_neither_and_keeps_them(logged_in, assigned_property):
    prop = assigned_property()
    LockAssignment.objects.filter(property=prop).update(notify_first_entry=True)
    row = row_html(logged_in.get(edit_url("ttlock", prop)).content.decode(), prop)
    assert FIRST_ENTRY not in row and UNUSED not in row
    lock_id = LockAssignment.objects.get(property=prop).lock_id
    response = logged_in.post(save_url("ttlock", prop), {**row_fields(prop, lock_id), **notify(prop, False, True)})
    assert response.status_code == 302 and choices(prop) == (True, False)
