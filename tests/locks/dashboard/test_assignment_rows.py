"""A provider panel's "Lock assignments" rows are summaries; one opens as its form on Edit (htmx: the
row alone; without JavaScript: the panel again with ?edit=<id>). Only that row carries the dropdown
of the account's locks, so the panel stays light at hundreds of properties (issue: "Panels stay
light", 200 KiB at 500 properties; benchmarks/dashboard.py measures it)."""

import re

import pytest

from bookings.models import PmsSource, Property
from locks.dashboard.panels import ROWS_PER_PAGE
from locks.models import Lock, LockAssignment, ProviderAccount
from tests.locks.dashboard.pages import edit_url, panel_url, remove_url, row_html, row_url, save_url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

HTMX = {"HX-Request": "true"}
LOCK_SELECT = re.compile(r'<select name="p\d+-lock"')


def test_an_htmx_edit_returns_the_row_as_its_form_with_every_lock(logged_in, assigned_property, make_lock):
    prop = assigned_property(lead_days=7)
    make_lock("T2", "ttlock")
    response = logged_in.get(row_url("ttlock", prop, edit=True), headers=HTMX)
    content = response.content.decode().strip()
    assert response.status_code == 200 and "<html" not in content
    assert content.startswith(f'<li class="assignment" id="property-{prop.pk}">') and content.endswith("</li>")
    assert f'hx-post="{save_url("ttlock", prop)}"' in content and ">Cancel</a>" in content
    assert f'<select name="p{prop.pk}-lock" id="id_p{prop.pk}-lock" autofocus>' in content  # the keyboard lands in the form
    assert content.count("<option value=") >= 3 and 'value="7"' in content


def test_cancel_returns_the_row_as_its_summary(logged_in, assigned_property):
    prop = assigned_property(margin_minutes=45)
    response = logged_in.get(row_url("ttlock", prop), headers=HTMX)
    content = response.content.decode()
    assert response.status_code == 200 and not LOCK_SELECT.search(content)
    assert "<strong>Door L1</strong> · codes made 5 days before arrival · access margin 45 min" in content
    assert re.search(r'aria-label="Edit Flat L1" autofocus>Edit</a>', content)
    assert f'hx-post="{remove_url("ttlock", prop)}"' in content


def test_without_htmx_the_row_links_lead_to_the_panel(logged_in, assigned_property):
    prop = assigned_property()
    response = logged_in.get(row_url("ttlock", prop, edit=True))
    assert response.status_code == 302 and response["Location"] == f"{edit_url('ttlock', prop)}#property-{prop.pk}"
    response = logged_in.get(row_url("ttlock", prop))
    assert response.status_code == 302 and response["Location"] == f"{panel_url('ttlock')}#property-{prop.pk}"


def test_the_edit_link_opens_the_row_in_the_panel_without_javascript(logged_in, assigned_property, make_property):
    prop = assigned_property()
    other = make_property(name="Other Flat")
    content = logged_in.get(panel_url("ttlock")).content.decode()
    assert f'href="?edit={prop.pk}#property-{prop.pk}"' in row_html(content, prop)
    assert f'href="?edit={other.pk}#property-{other.pk}"' in row_html(content, other)
    assert ">Choose a lock</a>" in row_html(content, other) and not LOCK_SELECT.search(content)
    content = logged_in.get(edit_url("ttlock", prop)).content.decode()
    assert LOCK_SELECT.search(row_html(content, prop)) and not LOCK_SELECT.search(row_html(content, other))


@pytest.mark.parametrize("edit", ["abc", "0", "999999", "-1"])
def test_an_edit_of_no_row_on_the_page_opens_nothing(logged_in, assigned_property, edit):
    assigned_property()
    response = logged_in.get(panel_url("ttlock"), {"edit": edit})
    assert response.status_code == 200 and not LOCK_SELECT.search(response.content.decode())


def test_a_row_that_lost_eligibility_never_opens_as_a_form(logged_in, assigned_property):
    prop = assigned_property()
    Property.objects.filter(pk=prop.pk).update(ai_assistant_active=False)
    for response in (logged_in.get(edit_url("ttlock", prop)), logged_in.get(row_url("ttlock", prop, edit=True), headers=HTMX)):
        row = row_html(response.content.decode(), prop)
        assert "can no longer have a smart lock" in row and ">Remove</button>" in row
        assert not LOCK_SELECT.search(row) and ">Edit</a>" not in row


def test_another_hosts_row_and_an_unconnected_brand_are_404(logged_in, make_property, make_lock, other_host):
    mine = make_property()
    make_lock("T1", "ttlock")
    theirs = Property.objects.create(host=other_host, name="Theirs", time_zone="Europe/Paris", pms_source=PmsSource.NOWISTAY,
                                     ai_assistant_active=True)
    assert logged_in.get(row_url("ttlock", theirs, edit=True), headers=HTMX).status_code == 404
    assert logged_in.get(row_url("nuki", mine, edit=True), headers=HTMX).status_code == 404
    assert logged_in.post(row_url("ttlock", mine)).status_code == 405


# --- the size budget --------------------------------------------------------------------------------

PROPERTIES = 200
LOCKS = 55  # as the benchmark gives each of four brands at 200 properties (200 // 4 + 5)
ROW_BUDGET = 1024  # bytes a row may weigh on average: the summary; the dropdown alone is ~2.5 kB here
PAGE_BUDGET = 200 * 1024


@pytest.fixture
def large_ttlock_panel(host, fake_cloud):
    account = ProviderAccount.objects.create(host=host, provider="ttlock", display_name="TTLock account")
    locks = Lock.objects.bulk_create(
        [Lock(account=account, vendor_lock_id=f"T{index}", name=f"ttlock door {index:04d}", supports_remote_codes=True)
         for index in range(LOCKS)]
        + [Lock(account=account, vendor_lock_id="X", name="ttlock garage", supports_remote_codes=False,
                unavailable_reason="No keypad is paired.")]
    )
    props = Property.objects.bulk_create(
        Property(host=host, name=f"Property {index:04d}", time_zone="Europe/Paris", pms_source=PmsSource.NOWISTAY,
                 ai_assistant_active=True)
        for index in range(PROPERTIES)
    )
    # Every other row of the first page has a lock: the heavier summary (its settings and Remove).
    LockAssignment.objects.bulk_create(LockAssignment(property=props[2 * index], lock=locks[index]) for index in range(50))
    return props


def test_the_panel_at_200_properties_stays_within_its_size_budget(logged_in, large_ttlock_panel):
    content = logged_in.get(panel_url("ttlock")).content.decode()
    rows = re.findall(r'<li class="assignment" id="property-\d+">.*?\n</li>', content, re.S)
    assert len(rows) == ROWS_PER_PAGE and content.count('<p class="summary"><strong>') == 50
    assert not LOCK_SELECT.search(content)
    average = sum(len(row.encode()) for row in rows) / len(rows)
    assert average <= ROW_BUDGET, f"a row weighs {average:.0f} bytes on average (budget {ROW_BUDGET})"
    assert len(content.encode()) <= PAGE_BUDGET, f"the panel weighs {len(content.encode()) / 1024:.0f} KiB"


def test_a_row_open_for_editing_adds_the_dropdown_once(logged_in, large_ttlock_panel):
    prop = large_ttlock_panel[0]
    plain = logged_in.get(panel_url("ttlock")).content
    opened = logged_in.get(edit_url("ttlock", prop)).content
    assert len(LOCK_SELECT.findall(opened.decode())) == 1
    assert row_html(opened.decode(), prop).count("<option value=") >= LOCKS + 1
    assert len(opened) - len(plain) <= 16 * 1024  # one form and one dropdown, not one per row
