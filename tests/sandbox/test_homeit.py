"""The sandbox's virtual homeit cloud (sandbox/vendors/homeit.py), driven over HTTP as the product
will drive it (`python -m sandbox --seed`): HAL pages, keys with a generated code and an invitation
link, the checks on what is sent, the fault switches, the guest's page behind the link and the door
page. The shapes are docs/homeit-research.md's; the test emulator (tests/vendors/homeit.py) must
answer in the same ones, which the last test checks."""

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.vendors.homeit import HomeitCloud

API_KEY = "sandbox-homeit-api-key"  # sandbox/seed.py
HAL = "application/json+hal"
PARIS = ZoneInfo("Europe/Paris")  # the seeded locks' zone
# sandbox/seed.py: homeit property ids are 530000 + the kind's suffix.
FRONT_DOOR, GARDEN_GATE, CELLAR, SHED, STUDIO, NEIGHBOUR = (str(530000 + suffix) for suffix in range(1, 7))
PROPERTY_FIELDS = {
    "id": int, "name": str, "timezone": str, "online": bool, "keypad": bool, "doors": list, "_links": dict,
}
KEY_FIELDS = {"id": int, "name": str, "type": str, "property": int, "start": str, "end": str, "link": str, "_links": dict}


def _hal_get(url: str, **params) -> requests.Response:
    return requests.get(url, params=params, headers={"X-API-Key": API_KEY}, timeout=10)


def _api(sandbox_url: str, method: str, path: str, *, key=API_KEY, timeout=10, headers=None, **kwargs) -> requests.Response:
    headers = {**({"X-API-Key": key} if key else {}), **(headers or {})}
    return requests.request(method, f"{sandbox_url}/homeit/api/v2/{path}", headers=headers, timeout=timeout, **kwargs)


def _window(days: int = 3, hours: int = 48) -> tuple[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


def _key_body(name: str, prop: str = FRONT_DOOR, **changes) -> dict:
    start, end = _window()
    return {"name": name, "property": int(prop), "start": start, "end": end, **changes}


def _codes_on(sandbox_url: str, prop: str) -> list[dict]:
    return requests.get(f"{sandbox_url}/_control/homeit/locks/{prop}/", timeout=5).json()["codes"]


def _set_faults(sandbox_url: str, prop: str, **switches) -> None:
    requests.post(f"{sandbox_url}/_control/homeit/locks/{prop}/faults/", json=switches, timeout=5).raise_for_status()


def _missing(item: dict, fields: dict) -> list[str]:
    return [
        name for name, kind in fields.items()
        if not isinstance(item.get(name), kind) or (kind is int and isinstance(item[name], bool))
    ]


def _all_pages(url: str) -> list[dict]:
    pages = []
    while url:
        answer = _hal_get(url)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == HAL
        pages.append(answer.json())
        url = pages[-1]["_links"].get("next", {}).get("href")
    return pages


@pytest.fixture
def created(sandbox_url):
    """Keys made by a test, deleted afterwards whatever happened."""
    made: list[int] = []
    yield made
    for key_id in made:
        _api(sandbox_url, "DELETE", f"keys/{key_id}")


# --- sign-in, properties -------------------------------------------------------------------------------------

def test_calls_without_the_api_key_fail_in_hal(sandbox_url):
    for key in (None, "not-the-key"):
        answer = _api(sandbox_url, "GET", "properties", key=key)
        assert answer.status_code == 401 and answer.headers["Content-Type"] == HAL
        assert answer.json()["status"] == 401
    organizations = _hal_get(f"{sandbox_url}/homeit/auth/v2/organizations").json()
    assert organizations["_embedded"]["organizations"][0]["name"] == "Demo Host (homeit)"


def test_properties_come_in_linked_pages_with_each_kind_a_host_meets(sandbox_url):
    pages = _all_pages(f"{sandbox_url}/homeit/api/v2/properties")
    assert len(pages) > 1 and "next" not in pages[-1]["_links"]  # the last page has no next link at all
    properties = {str(item["id"]): item for page in pages for item in page["_embedded"]["properties"]}
    assert set(properties) == {FRONT_DOOR, GARDEN_GATE, CELLAR, SHED, STUDIO}  # not_admin: not shared
    assert {page["total"] for page in pages} == {5}
    for item in properties.values():
        assert _missing(item, PROPERTY_FIELDS) == [], item
        assert item["_links"]["self"]["href"].endswith(f"/properties/{item['id']}")
    assert (properties[FRONT_DOOR]["online"], properties[FRONT_DOOR]["keypad"]) == (True, True)
    assert properties[SHED]["keypad"] is False  # keys there are links only
    assert properties[STUDIO]["online"] is False  # its BOX is offline
    assert _api(sandbox_url, "GET", f"properties/{NEIGHBOUR}").status_code == 404
    assert _api(sandbox_url, "GET", "properties", params={"limit": 101}).status_code == 400


# --- keys --------------------------------------------------------------------------------------------------

def test_a_key_gets_a_generated_code_and_a_link_changes_in_place_and_is_deleted(sandbox_url, created):
    answer = _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-1"))
    assert answer.status_code == 201 and answer.headers["Content-Type"] == HAL
    key = answer.json()
    created.append(key["id"])
    assert _missing(key, KEY_FIELDS) == [] and re.fullmatch(r"\d{6}", key["code"]), key
    assert key["start"].endswith("Z") and key["property"] == int(FRONT_DOOR)
    assert [code["pin"] for code in _codes_on(sandbox_url, FRONT_DOOR) if code["name"] == "nw-sbx-1"] == [key["code"]]

    found = _api(sandbox_url, "GET", "keys", params={"property": FRONT_DOOR, "name": "nw-sbx-1"}).json()
    assert [item["id"] for item in found["_embedded"]["keys"]] == [key["id"]]

    later = (datetime.fromisoformat(key["end"].replace("Z", "+00:00")) + timedelta(hours=2)).isoformat()
    changed = _api(sandbox_url, "PUT", f"keys/{key['id']}", json={"end": later}).json()
    assert (changed["code"], changed["link"], changed["start"]) == (key["code"], key["link"], key["start"])
    assert changed["end"] != key["end"]

    assert _api(sandbox_url, "DELETE", f"keys/{key['id']}").status_code == 204
    gone = _api(sandbox_url, "DELETE", f"keys/{key['id']}")
    assert gone.status_code == 404 and gone.headers["Content-Type"] == HAL


def test_a_key_on_a_property_without_keypad_is_its_link_alone(sandbox_url, created):
    key = _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-shed", SHED)).json()
    created.append(key["id"])
    assert key["code"] is None and key["link"]


@pytest.mark.parametrize(
    "changes, status",
    [
        ({"code": "123456"}, 400),  # homeit generates codes
        ({"start": "2030-06-02T13:00:00"}, 400),  # a time without its offset
        ({"end": "2020-01-01T00:00:00Z"}, 400),  # before the start, and past
        ({"property": FRONT_DOOR}, 400),  # an id is a number, not a string
        ({"property": int(NEIGHBOUR)}, 404),  # not shared with this API key
        ({"type": "permanent"}, 400),
    ],
)
def test_a_key_breaking_the_rules_is_refused_and_nothing_is_written(sandbox_url, changes, status):
    before = _codes_on(sandbox_url, FRONT_DOOR)
    answer = _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-bad", **changes))
    assert answer.status_code == status and answer.headers["Content-Type"] == HAL
    assert _codes_on(sandbox_url, FRONT_DOOR) == before


def test_bodies_must_be_json_and_filters_known(sandbox_url):
    answer = _api(sandbox_url, "POST", "keys", data="name=x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert _api(sandbox_url, "GET", "keys", params={"guest": "x"}).status_code == 400
    assert _api(sandbox_url, "GET", "keys", params={"property": NEIGHBOUR}).status_code == 404


def test_a_key_is_forgotten_once_its_end_has_passed(sandbox_url):
    start = datetime.now(UTC) - timedelta(hours=1)
    end = datetime.now(UTC) + timedelta(seconds=2)
    body = _key_body("nw-sbx-ending", start=start.isoformat(), end=end.isoformat())
    key = _api(sandbox_url, "POST", "keys", json=body).json()
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 0.5)
    assert _api(sandbox_url, "GET", f"keys/{key['id']}").status_code == 404
    assert "nw-sbx-ending" not in [code["name"] for code in _codes_on(sandbox_url, FRONT_DOOR)]


# --- faults ------------------------------------------------------------------------------------------------

def test_server_errors_and_rate_limits_answer_without_acting(sandbox_url):
    _set_faults(sandbox_url, GARDEN_GATE, server_errors=1)
    failed = _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-fault", GARDEN_GATE))
    assert failed.status_code == 503 and failed.headers["Content-Type"] == HAL
    _set_faults(sandbox_url, GARDEN_GATE, rate_limited=1, retry_after_seconds=42)
    limited = _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-fault", GARDEN_GATE))
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "42")
    assert _codes_on(sandbox_url, GARDEN_GATE) == []
    _set_faults(sandbox_url, GARDEN_GATE, timeouts=1)
    with pytest.raises(requests.ReadTimeout):
        _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-fault", GARDEN_GATE), timeout=2)
    assert _codes_on(sandbox_url, GARDEN_GATE) == []


def test_a_lost_answer_leaves_the_key_written(sandbox_url):
    _set_faults(sandbox_url, CELLAR, lose_responses=1)
    try:
        with pytest.raises(requests.ReadTimeout):
            _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-lost", CELLAR), timeout=2)
    finally:
        _set_faults(sandbox_url, CELLAR, lose_responses=0)
    assert [code["name"] for code in _codes_on(sandbox_url, CELLAR)] == ["nw-sbx-lost"]


def test_an_offline_box_still_takes_keys_but_opens_no_door(sandbox_url, created):
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(days=1)
    body = _key_body("nw-sbx-studio", STUDIO, start=start.isoformat(), end=end.isoformat())
    key = _api(sandbox_url, "POST", "keys", json=body).json()
    created.append(key["id"])
    assert key["code"]  # keys live in homeit's cloud: an offline BOX does not stop them
    session = requests.Session()
    page = session.get(key["link"], timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    said = session.post(key["link"], data={"csrfmiddlewaretoken": token, "action": "open"}, timeout=10).text
    assert "the homeit BOX of Studio (offline) is offline" in said

    door = _door_url(sandbox_url, "Studio (offline)")
    page = session.get(door, timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    moment = (datetime.now(UTC) + timedelta(hours=2)).astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")  # the form's zone
    form = {"csrfmiddlewaretoken": token, "action": "try", "pin": key["code"], "at": moment}
    verdict = session.post(door, data=form, timeout=10).text
    said = re.search(r"<strong>(.*?)</strong>", verdict, re.S).group(1)
    assert said.startswith("Only if the homeit BOX is back online"), said


# --- the guest's page and the door page ----------------------------------------------------------------------

def _door_url(sandbox_url: str, lock_name: str) -> str:
    index = requests.get(f"{sandbox_url}/", timeout=10).text
    section = index.split("<h2>homeit ")[1]
    return sandbox_url + re.search(rf'<a href="(/doors/\d+/)">{re.escape(lock_name)}</a>', section).group(1)


def test_the_invitation_link_opens_the_door_within_the_stay_and_shows_the_code(sandbox_url, created):
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    end = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    key = _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-guest", start=start, end=end)).json()
    created.append(key["id"])
    session = requests.Session()
    page = session.get(key["link"], timeout=10)
    assert page.status_code == 200 and key["code"] in page.text and "Europe/Paris (UTC+" in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    said = session.post(key["link"], data={"csrfmiddlewaretoken": token, "action": "open"}, timeout=10).text
    assert "Opened: Front door." in said
    forged = key["link"].rstrip("/")[:-3] + "xyz/"
    assert requests.get(forged, timeout=10).status_code == 404

    door = session.get(_door_url(sandbox_url, "Front door"), timeout=10).text
    row = next(line for line in door.splitlines() if "nw-sbx-guest" in line)
    assert key["code"] in row and key["link"].removeprefix(sandbox_url) in row


def test_the_index_tells_the_host_the_api_key_to_connect_with(sandbox_url):
    index = requests.get(f"{sandbox_url}/", timeout=10).text
    assert f"Connect with the API key <code>{API_KEY}</code>" in index


# --- the emulator speaks the same shapes ----------------------------------------------------------------------

def test_the_test_emulator_answers_in_the_sandboxs_shapes(sandbox_url, created, settings):
    sandbox_page = _api(sandbox_url, "GET", "properties").json()
    sandbox_key = _api(sandbox_url, "POST", "keys", json=_key_body("nw-sbx-parity")).json()
    created.append(sandbox_key["id"])

    settings.HOMEIT_API_URL = "https://api.homeit.test/v2"
    cloud = HomeitCloud()
    cloud.add_property(int(FRONT_DOOR), "Front door")
    cloud.add_property(int(GARDEN_GATE), "Garden gate")
    cloud.add_property(int(CELLAR), "Cellar")
    session = requests.Session()
    cloud.mount(session)
    headers = {"X-API-Key": cloud.api_key}
    emulated_page = session.get("https://api.homeit.test/v2/properties", headers=headers, timeout=5).json()
    body = _key_body("nw-sbx-parity")
    emulated_key = session.post("https://api.homeit.test/v2/keys", json=body, headers=headers, timeout=5).json()

    assert set(emulated_page) == set(sandbox_page) and set(emulated_page["_links"]) == set(sandbox_page["_links"])
    assert set(emulated_page["_embedded"]["properties"][0]) == set(sandbox_page["_embedded"]["properties"][0])
    assert set(emulated_key) == set(sandbox_key) and set(emulated_key["_links"]) == set(sandbox_key["_links"])
