"""The dashboard pages run a constant number of SQL queries, whatever the number of properties,
locks, assignments, bookings and codes: the same count for 5 and for 60 eligible properties, and at
most 15. (benchmarks/dashboard.py measures the same pages at 50 and 500.)"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from benchmarks.common import sample_codes
from bookings.models import Booking, BookingStatus, PmsSource, Property
from locks.models import AccessCode, AccountStatus, Lock, LockAssignment, ProviderAccount

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

PROVIDERS = ["ttlock", "tedee", "nuki", "igloohome"]
SMALL, LARGE = 5, 60
MAX_QUERIES = 15


def build_host_world(owner, n: int) -> dict:
    """`n` eligible properties (and 2 ineligible) for `owner`, four connected accounts with a few
    locks each (one unavailable, one offline), about three quarters of the properties assigned,
    and per property a staying and an upcoming booking whose codes take every state the pages
    describe (active, scheduled, creating/retrying, failed, superseded + its replacement)."""
    now = timezone.now()
    today = timezone.localdate()
    props = Property.objects.bulk_create(
        [
            Property(
                host=owner,
                name=f"{owner.username} flat {i:03d}",
                time_zone="Europe/Paris",
                pms_source=PmsSource.NOWISTAY,
                ai_assistant_active=True,
            )
            for i in range(n)
        ]
        + [
            Property(
                host=owner,
                name=f"{owner.username} OTA flat",
                time_zone="Europe/Paris",
                pms_source=PmsSource.DIRECT_OTA,
                ai_assistant_active=True,
            ),
            Property(host=owner, name=f"{owner.username} unsubscribed flat", time_zone="Europe/Paris", ai_assistant_active=False),
        ]
    )
    eligible = props[:n]
    accounts = {
        provider: ProviderAccount.objects.create(
            host=owner, provider=provider, display_name=f"{owner.username} {provider}",
            credentials={"access_token": f"{owner.username}-{provider}-token"},
        )
        for provider in PROVIDERS
    }
    ProviderAccount.objects.filter(pk=accounts["nuki"].pk).update(status=AccountStatus.NEEDS_RECONNECT)
    per_account = n // 4 + 3
    locks = {provider: [] for provider in PROVIDERS}
    rows = []
    for provider, account in accounts.items():
        for j in range(per_account):
            rows.append(Lock(account=account, vendor_lock_id=f"{owner.pk}-{provider}-{j}", name=f"{provider} door {j}",
                             supports_remote_codes=True, is_online=(j % 5 != 1), vendor_utc_offset_minutes=60))
        rows.append(Lock(account=account, vendor_lock_id=f"{owner.pk}-{provider}-x", name=f"{provider} garage",
                         supports_remote_codes=False, unavailable_reason="No keypad is paired."))
    for lock in Lock.objects.bulk_create(rows):
        if lock.supports_remote_codes:
            locks[lock.account.provider].append(lock)
    assignments, assigned_lock = [], {}
    for i, prop in enumerate(eligible):
        if i % 5 == 4:
            continue  # a fifth without a lock
        provider = PROVIDERS[i % 4]
        lock = locks[provider][i // 4]
        assignments.append(LockAssignment(property=prop, lock=lock, lead_days=5, margin_minutes=30))
        assigned_lock[prop.pk] = lock
    LockAssignment.objects.bulk_create(assignments)

    bookings = []
    for i, prop in enumerate(props):
        bookings.append(Booking(property=prop, guest_name=f"Staying {i}", arrival_date=today - timedelta(days=1),
                                departure_date=today + timedelta(days=2), status=BookingStatus.CONFIRMED))
        bookings.append(Booking(property=prop, guest_name=f"Upcoming {i}", arrival_date=today + timedelta(days=3 + i % 10),
                                departure_date=today + timedelta(days=6 + i % 10),
                                status=BookingStatus.PENDING if i % 7 == 6 else BookingStatus.CONFIRMED))
        bookings.append(Booking(property=prop, guest_name=f"Past {i}", arrival_date=today - timedelta(days=20),
                                departure_date=today - timedelta(days=15), status=BookingStatus.CONFIRMED))
    bookings = Booking.objects.bulk_create(bookings)

    codes = sample_codes(bookings, assigned_lock, now=now, today=today)
    AccessCode.objects.bulk_create(codes)
    return {"eligible": eligible, "accounts": accounts, "bookings": bookings, "codes": len(codes)}


def measure(client, url: str):
    """The queries of one GET of `url` (after a first GET, so nothing cached once skews it)."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response, [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def two_sizes(client, host, other_host):
    """`host` with 5 eligible properties and `other_host` with 60; a measuring function per host."""
    small = build_host_world(host, SMALL)
    large = build_host_world(other_host, LARGE)

    def run(url: str):
        client.force_login(host)
        small_count, small_response, small_sql = measure(client, url)
        client.force_login(other_host)
        large_count, large_response, large_sql = measure(client, url)
        return (small_count, small_response, small_sql), (large_count, large_response, large_sql)

    return small, large, run


def assert_constant(small, large):
    (small_count, _, small_sql), (large_count, _, large_sql) = small, large
    assert small_count == large_count, "\n".join(["5 properties:", *small_sql, "", "60 properties:", *large_sql])
    assert large_count <= MAX_QUERIES, "\n".join(large_sql)


def test_the_integrations_page(two_sizes):
    small_world, large_world, run = two_sizes
    small, large = run(reverse("integrations:index"))
    assert_constant(small, large)
    cards = {card.provider: card for card in large[1].context["cards"]}
    for provider in PROVIDERS:
        assigned = LockAssignment.objects.filter(lock__account=large_world["accounts"][provider]).count()
        assert assigned >= 2 and cards[provider].assigned_count == assigned
        assert cards[provider].lock_count == LARGE // 4 + 3 + 1
    assert f"{LARGE} of your {LARGE + 2} properties can have a smart lock" in large[1].content.decode()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_panel(two_sizes, provider):
    small_world, large_world, run = two_sizes
    small, large = run(reverse("integrations:panel", args=[provider]))
    assert_constant(small, large)
    assert len(small[1].context["rows"]) == SMALL and len(large[1].context["rows"]) == LARGE
    content = large[1].content.decode()
    assert content.count('<li class="assignment" id="property-') == LARGE
    assigned = LockAssignment.objects.filter(lock__account=large_world["accounts"][provider]).count()
    assert assigned >= 2 and content.count('<p class="summary"><strong>') == assigned  # this brand's assigned rows name their lock
    assert "<select" not in content.split('<ul class="assignments">')[1]  # no row carries the dropdown until edited


@pytest.mark.parametrize("provider", ["ttlock", "igloohome"])
def test_a_provider_panel_with_a_row_open_for_editing(two_sizes, provider):
    """?edit=<id> (the Edit link without JavaScript) opens that row's form: no query more."""
    small_world, large_world, run = two_sizes
    url = reverse("integrations:panel", args=[provider])
    plain_small, plain_large = run(url)
    small, large = run(f"{url}?edit={small_world['eligible'][0].pk}")
    assert_constant(small, plain_small)
    large = run(f"{url}?edit={large_world['eligible'][0].pk}")[1]
    assert_constant(large, plain_large)
    assert len(re.findall(r'<select name="p\d+-lock"', large[1].content.decode())) == 1


def test_an_htmx_row_editor_does_not_depend_on_the_number_of_properties(two_sizes):
    """The row's Edit (htmx) fetches that one row's form, with the dropdown, in as many queries at 5 as at 60."""
    small_world, large_world, _ = two_sizes
    from django.test import Client

    counts = []
    for world in (small_world, large_world):
        client = Client()
        client.force_login(world["accounts"]["ttlock"].host)
        url = reverse("integrations:assignment_row", args=["ttlock", world["eligible"][0].pk])
        client.get(f"{url}?edit=1", headers={"HX-Request": "true"})
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{url}?edit=1", headers={"HX-Request": "true"})
        assert response.status_code == 200 and response.content.decode().count("<option") > len(world["eligible"]) // 4
        counts.append(len(captured))
    assert counts[0] == counts[1] <= MAX_QUERIES


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_disconnect_confirmation(two_sizes, provider):
    small_world, large_world, run = two_sizes
    small, large = run(reverse("integrations:disconnect", args=[provider]))
    assert_constant(small, large)
    assigned = LockAssignment.objects.filter(lock__account=large_world["accounts"][provider]).count()
    assert assigned >= 2 and len(large[1].context["preview"].assigned_properties) == assigned


def test_the_bookings_and_codes_page(two_sizes):
    small_world, large_world, run = two_sizes
    small, large = run(reverse("bookings:codes"))
    assert_constant(small, large)
    groups = large[1].context["groups"]
    assert len(groups) == LARGE + 2
    content = large[1].content.decode()
    for words in ("active: ", "will be created on ", "retrying: ", "failed: ", "Retry now"):
        assert words in content
    assert sum(len(group["rows"]) for group in groups) == 2 * (LARGE + 2)  # past stays are not listed


def test_the_properties_page(two_sizes):
    small_world, large_world, run = two_sizes
    small, large = run(reverse("bookings:properties"))
    assert_constant(small, large)
    assert large[1].content.decode().count('<tr id="property-') == LARGE + 2


def test_an_htmx_row_save_does_not_depend_on_the_number_of_properties(two_sizes):
    """Saving one row re-renders that row only: its queries do not grow with the property count."""
    small_world, large_world, _ = two_sizes

    def save(world):
        prop = next(p for p in world["eligible"] if not LockAssignment.objects.filter(property=p).exists())
        lock = Lock.objects.filter(account=world["accounts"]["ttlock"], supports_remote_codes=True, assignment__isnull=True).first()
        return prop, lock

    from django.test import Client

    counts = []
    for world in (small_world, large_world):
        client = Client()
        client.force_login(world["accounts"]["ttlock"].host)
        prop, lock = save(world)
        data = {f"p{prop.pk}-lock": lock.pk, f"p{prop.pk}-lead_days": "5", f"p{prop.pk}-margin_minutes": "30"}
        with CaptureQueriesContext(connection) as captured:
            response = client.post(reverse("integrations:assignment_save", args=["ttlock", prop.pk]), data, headers={"HX-Request": "true"})
        assert response.status_code == 200 and LockAssignment.objects.get(property=prop).lock == lock
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_the_panel_pages_its_rows_with_the_same_queries_on_every_page(client, host, make_lock):
    from locks.dashboard.panels import ROWS_PER_PAGE

    make_lock("L1", "ttlock")
    Property.objects.bulk_create(
        Property(host=host, name=f"Flat {index:03d}", time_zone="Europe/Paris", pms_source=PmsSource.NOWISTAY, ai_assistant_active=True)
        for index in range(ROWS_PER_PAGE + 20)
    )
    client.force_login(host)
    url = reverse("integrations:panel", args=["ttlock"])
    counts, rows = [], []
    for page in (1, 2):
        with CaptureQueriesContext(connection) as queries:
            content = client.get(url, {"page": page}).content.decode()
        counts.append(len(queries))
        rows.append(content.count('<li class="assignment"'))
    assert rows == [ROWS_PER_PAGE, 20]
    assert counts[0] == counts[1] <= 15
    assert "Page 2 of 2 (120 properties)" in content
    found = client.get(url, {"q": "Flat 119"}).content.decode()
    assert found.count('<li class="assignment"') == 1


def test_the_bookings_and_codes_page_is_paged_with_the_same_queries(client, host, make_property):
    from bookings.views import BOOKINGS_PER_PAGE

    prop = make_property(name="Busy Flat")
    today = timezone.localdate()
    Booking.objects.bulk_create(
        Booking(property=prop, guest_name=f"Guest {index}", arrival_date=today + timedelta(days=index),
                departure_date=today + timedelta(days=index + 1), status=BookingStatus.PENDING)
        for index in range(BOOKINGS_PER_PAGE + 50)
    )
    client.force_login(host)
    counts, rows = [], []
    for page in (1, 2):
        with CaptureQueriesContext(connection) as queries:
            content = client.get(reverse("bookings:codes"), {"page": page}).content.decode()
        counts.append(len(queries))
        rows.append(content.count('<tr id="booking-'))
    assert rows == [BOOKINGS_PER_PAGE, 50] and counts[0] == counts[1] <= 15
