"""GET /api/v1/locks/, /locks/{id}/ and /assignments/: the host's locks and assignments as the models
hold them, another host's answering 404 (or absent), never a credential."""

import json
from datetime import datetime

import pytest

from bookings.api.services import api_token_create
from locks.models import Lock, ProviderAccount
from tests.bookings.api.test_api import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def locks(assigned_property, make_lock, other_host):
    prop = assigned_property(vendor_lock_id="L1", lead_days=3, margin_minutes=45)
    spare = make_lock(vendor_lock_id="L2")
    Lock.objects.filter(pk=spare.pk).update(
        is_online=False, offline_since=datetime.fromisoformat("2026-06-01 10:00:00+00:00"), battery_percent=12
    )
    theirs = make_lock(vendor_lock_id="L9", provider="nuki", account_host=other_host)
    return prop, spare, theirs


def test_the_hosts_locks_with_their_health_and_assignment(host_api, locks):
    prop, spare, theirs = locks
    body = host_api.get("/locks/").json()
    assert body["count"] == 2
    assigned, free = body["items"]  # by name: Door L1, Door L2
    assert assigned["assignment"] == {"property": prop.pk, "property_name": "Flat L1"}
    assert (assigned["provider"], assigned["brand"], assigned["account_status"]) == ("ttlock", "TTLock", "connected")
    assert free["assignment"] is None
    assert (free["online"], free["offline_since"], free["battery_percent"]) == (False, "2026-06-01T10:00:00Z", 12)


def test_one_lock_and_another_hosts_is_404(host_api, locks):
    prop, spare, theirs = locks
    assert host_api.get(f"/locks/{spare.pk}/").json()["name"] == "Door L2"
    assert host_api.get(f"/locks/{theirs.pk}/").status_code == 404
    assert host_api.get("/locks/999999/").status_code == 404
    assert host_api.get(f"/locks/{spare.pk}/", token=None).status_code == 401


def test_a_lock_never_shows_a_credential(host_api, locks):
    ProviderAccount.objects.update(credentials={"access_token": "secret-token-123", "refresh_token": "secret-refresh"})
    text = json.dumps([host_api.get("/locks/").json(), host_api.get("/assignments/").json()])
    assert "secret" not in text and "token" not in text


def test_assignments_with_their_settings(host_api, locks, client, snapshot_document, other_host):
    prop, spare, theirs = locks
    (item,) = host_api.get("/assignments/").json()["items"]
    assert item["property"] == prop.pk and item["lock_name"] == "Door L1"
    assert (item["lead_days"], item["margin_minutes"], item["code_source"]) == (3, 45, "random")
    other = Api(client, snapshot_document, api_token_create(host=other_host, name="Other")[1])
    assert other.get("/assignments/").json() == {"items": [], "count": 0}
