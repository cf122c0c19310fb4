"""The booking list shows each code's typed errors and warnings without a query per booking: the same
number of queries for 2 bookings as for 6, findings and failing codes included."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, FindingKind, LockFinding
from locks.providers.exceptions import LockOffline
from tests.helpers.lifecycle import tick

pytestmark = pytest.mark.django_db

NOW = "2026-06-10 08:00:00"


def make_bookings(count: int, prop, book, fake_cloud) -> None:
    """`count` bookings (11-13 June): every other code fails with the lock offline, the others are
    active, each with a finding that it was missing on the lock."""
    with freeze_time(NOW):
        for index in range(count):
            if index % 2:
                fake_cloud.fail_next("create_code", LockOffline("The gateway is offline."))
            booking = book(prop, date(2026, 6, 11), date(2026, 6, 13), guest_name=f"Guest {index}")
            services.booking_created(booking=booking)
            tick()
        for code in AccessCode.objects.filter(state="active"):
            LockFinding.objects.create(lock=code.lock, access_code=code, kind=FindingKind.MISSING_ON_LOCK, detail="Put back.")


def queries_of_the_list(host_api) -> tuple[int, list[dict]]:
    with freeze_time(NOW):
        host_api.get("/bookings/")  # the token's first use of the minute records it: not counted
    with freeze_time(NOW), CaptureQueriesContext(connection) as captured:
        response = host_api.get("/bookings/", page_size=100)
    assert response.status_code == 200
    return len(captured), [item["code"] for item in response.json()["items"]]


def test_the_list_costs_the_same_queries_for_2_and_6_bookings(host_api, assigned_property, book, fake_cloud):
    prop = assigned_property()
    make_bookings(2, prop, book, fake_cloud)
    small, codes = queries_of_the_list(host_api)
    assert sorted(error["code"] for code in codes for error in code["errors"]) == ["lock_offline", "missing_on_lock"]
    make_bookings(4, prop, book, fake_cloud)
    large, codes = queries_of_the_list(host_api)
    assert len(codes) == 6
    assert large == small


def test_the_query_count_is_pinned_at_two_sizes(host_api, assigned_property, book, fake_cloud, django_assert_num_queries):
    prop = assigned_property()
    make_bookings(3, prop, book, fake_cloud)
    count, _ = queries_of_the_list(host_api)
    make_bookings(2, prop, book, fake_cloud)
    with freeze_time(NOW), django_assert_num_queries(count):
        response = host_api.get("/bookings/", page_size=100)
    assert response.json()["count"] == 5
