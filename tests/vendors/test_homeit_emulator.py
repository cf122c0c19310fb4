"""The homeit test emulator (tests/vendors/homeit.py) keeps the rules a homeit adapter will be
tested against: the API key, HAL pages, key fields and times, expiry, and its fault injection
(answers without acting, lost answers, writes that land late, keys listed late)."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.vendors.homeit import API_KEY, API_KEY_HEADER, HAL, HomeitCloud, api_url, auth_url

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
FLAT, SHED, STUDIO, NEIGHBOUR = 530001, 530004, 530005, 530006


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def cloud(clock):
    cloud = HomeitCloud(clock=clock)
    cloud.add_property(FLAT, "Flat 1")
    cloud.add_property(530002, "Flat 2")
    cloud.add_property(SHED, "Shed", keypad=False)
    cloud.add_property(STUDIO, "Studio", online=False)
    cloud.add_property(NEIGHBOUR, "Neighbour", shared=False)
    with cloud:
        yield cloud


def call(method: str, path: str, *, key: str | None = API_KEY, base: str | None = None, **kwargs) -> requests.Response:
    headers = {API_KEY_HEADER: key} if key else {}
    return requests.request(method, (base or api_url()) + path, headers=headers, timeout=5, **kwargs)


def new_key(prop: int = FLAT, name: str = "nw-1", start: datetime = NOW + timedelta(days=1), hours: int = 48) -> dict:
    end = start + timedelta(hours=hours)
    return {"name": name, "property": prop, "start": start.isoformat(), "end": end.isoformat()}


def test_every_call_needs_the_api_key_and_every_answer_is_hal(cloud):
    for key in (None, "wrong-key"):
        answer = call("GET", "/properties", key=key)
        assert answer.status_code == 401 and answer.headers["Content-Type"] == HAL
    assert call("GET", "/properties").headers["Content-Type"] == HAL
    cloud.revoke_api_key()
    assert call("GET", "/properties").status_code == 401


def test_lists_come_in_pages_linked_by_next_until_the_last(cloud):
    pages, url = [], api_url() + "/properties"
    while url:
        page = requests.get(url, headers={API_KEY_HEADER: API_KEY}, timeout=5).json()
        pages.append(page)
        url = page["_links"].get("next", {}).get("href")
    assert len(pages) == 2 and "next" not in pages[-1]["_links"] and "prev" in pages[-1]["_links"]
    listed = [prop["id"] for page in pages for prop in page["_embedded"]["properties"]]
    assert listed == [FLAT, 530002, SHED, STUDIO]  # the property not shared with this API key is absent
    assert {page["total"] for page in pages} == {4}
    assert call("GET", "/properties", params={"limit": 0}).status_code == 400
    assert call("GET", f"/properties/{NEIGHBOUR}").status_code == 404
    organizations = call("GET", "/organizations", base=auth_url()).json()
    assert organizations["_embedded"]["organizations"][0]["name"] == "Demo Host (homeit)"


def test_a_key_carries_a_generated_code_and_a_link_and_keeps_its_code_when_changed(cloud):
    created = call("POST", "/keys", json=new_key())
    assert created.status_code == 201
    key = created.json()
    assert key["code"].isdigit() and len(key["code"]) == 6 and key["link"].startswith("https://")
    assert (key["start"], key["end"]) == ("2026-06-02T09:00:00Z", "2026-06-04T09:00:00Z")
    changed = call("PUT", f"/keys/{key['id']}", json={"end": "2026-06-05T11:30:00+02:00"}).json()
    assert (changed["end"], changed["code"], changed["link"]) == ("2026-06-05T09:30:00Z", key["code"], key["link"])
    assert call("DELETE", f"/keys/{key['id']}").status_code == 204
    assert call("DELETE", f"/keys/{key['id']}").status_code == 404  # gone is gone
    link_only = call("POST", "/keys", json=new_key(SHED)).json()
    assert link_only["code"] is None and link_only["link"]


def test_codes_are_unique_on_a_property(cloud):
    cloud.forced_codes = ["111111", "111111", "222222"]
    first = call("POST", "/keys", json=new_key(name="a")).json()
    second = call("POST", "/keys", json=new_key(name="b")).json()
    assert (first["code"], second["code"]) == ("111111", "222222")


@pytest.mark.parametrize(
    "change, status",
    [
        ({"code": "123456"}, 400),  # homeit generates codes
        ({"start": "2026-06-02T09:00:00"}, 400),  # no offset
        ({"end": "2026-06-01T08:00:00Z"}, 400),  # before the start, and past
        ({"property": "530001"}, 400),  # an id is a number
        ({"property": NEIGHBOUR}, 404),  # not shared with this API key
        ({"type": "permanent"}, 400),
    ],
)
def test_a_key_that_breaks_the_rules_is_refused(cloud, change, status):
    assert call("POST", "/keys", json={**new_key(), **change}).status_code == status
    assert cloud.keys == {}


def test_writes_must_be_json(cloud):
    headers = {API_KEY_HEADER: API_KEY, "Content-Type": "text/plain"}
    answer = requests.post(api_url() + "/keys", data="x", headers=headers, timeout=5)
    assert answer.status_code == 415


def test_keys_are_filtered_by_property_and_name_and_unknown_filters_are_refused(cloud):
    call("POST", "/keys", json=new_key(name="nw-1"))
    call("POST", "/keys", json=new_key(name="nw-2"))
    call("POST", "/keys", json=new_key(530002, name="nw-1"))
    found = call("GET", "/keys", params={"property": FLAT, "name": "nw-2"}).json()["_embedded"]["keys"]
    assert [(key["property"], key["name"]) for key in found] == [(FLAT, "nw-2")]
    assert call("GET", "/keys", params={"guest": "x"}).status_code == 400
    assert call("GET", "/keys", params={"property": NEIGHBOUR}).status_code == 404


def test_a_key_is_deleted_once_its_end_has_passed(cloud, clock):
    key = call("POST", "/keys", json=new_key(hours=2)).json()
    clock.now = NOW + timedelta(days=1, hours=2)
    assert call("GET", f"/keys/{key['id']}").status_code == 404
    assert cloud.keys_on(FLAT) == []


def test_a_fault_answers_without_acting(cloud):
    cloud.fail_next("POST", "keys", 429, headers={"Retry-After": "30"})
    cloud.fail_next("POST", "keys", 503)
    limited = call("POST", "/keys", json=new_key())
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "30")
    assert call("POST", "/keys", json=new_key()).status_code == 503
    assert cloud.keys == {}
    assert call("POST", "/keys", json=new_key()).status_code == 201


def test_a_lost_answer_leaves_the_write_done(cloud):
    cloud.lose_next("POST", "keys")
    with pytest.raises(requests.ReadTimeout):
        call("POST", "/keys", json=new_key())
    assert [key["name"] for key in cloud.keys_on(FLAT)] == ["nw-1"]
    key_id = cloud.keys_on(FLAT)[0]["id"]
    cloud.lose_next("DELETE", "key")
    with pytest.raises(requests.ReadTimeout):
        call("DELETE", f"/keys/{key_id}")
    assert cloud.keys_on(FLAT) == []


def test_a_write_that_lands_late_is_absent_until_it_lands(cloud, clock):
    cloud.land_late_next("POST", "keys", after=timedelta(minutes=1))
    with pytest.raises(requests.ReadTimeout):
        call("POST", "/keys", json=new_key())
    assert call("GET", "/keys", params={"name": "nw-1"}).json()["_embedded"]["keys"] == []
    clock.now = NOW + timedelta(minutes=1)
    listed = call("GET", "/keys", params={"name": "nw-1"}).json()["_embedded"]["keys"]
    assert [key["name"] for key in listed] == ["nw-1"]


def test_an_accepted_key_is_listed_only_after_the_listing_delay(cloud, clock):
    cloud.unlisted_for = timedelta(seconds=40)
    key = call("POST", "/keys", json=new_key()).json()
    assert call("GET", "/keys", params={"property": FLAT}).json()["total"] == 0
    assert call("GET", f"/keys/{key['id']}").status_code == 200  # read by its id at once
    clock.now = NOW + timedelta(seconds=40)
    assert call("GET", "/keys", params={"property": FLAT}).json()["total"] == 1


def test_an_offline_box_does_not_stop_keys_which_live_in_the_cloud(cloud):
    studio = call("GET", f"/properties/{STUDIO}").json()
    assert studio["online"] is False
    assert call("POST", "/keys", json=new_key(STUDIO)).status_code == 201


def test_mount_answers_for_one_session_only():
    cloud = HomeitCloud()
    cloud.add_property(FLAT, "Flat 1")
    session = requests.Session()
    cloud.mount(session)
    answer = session.get(api_url() + "/properties", headers={API_KEY_HEADER: API_KEY}, timeout=5)
    assert answer.json()["_embedded"]["properties"][0]["id"] == FLAT
    assert cloud.calls == [("GET", "properties")]
