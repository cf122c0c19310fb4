"""homeit on the wire: URLs, times, HAL pages, statuses and the shapes of properties and keys.

Pure functions over plain values and `requests` answers; the facts and decisions behind them are
in the package docstring (locks/providers/homeit/__init__.py).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from django.conf import settings

from locks.providers.base import RemoteLock
from locks.providers.exceptions import (
    CodeRejected,
    LockNotFound,
    OutcomeUnknown,
    PermanentProviderError,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import retry_after_seconds

VENDOR = "homeit"
DEFAULT_API_URL = "https://api.homeit.io/v2"  # [H-CORE]
DEFAULT_AUTH_URL = "https://auth.homeit.io/v2"  # [H-AUTH]
API_KEY_HEADER = "X-API-Key"  # UNVERIFIED: the docs name an API key, not its header
ACCEPT = "application/json+hal, application/json"  # homeit's own spelling first [H-CORE]
KEY_TYPE = "temporary"  # a key with validity dates, for guests [H-WEB]

MAX_PAGES = 200  # a list longer than this many pages is not believed to end
MAX_ANSWER_BYTES = 5_000_000  # an answer this large is not read
NAME_MAX = 200  # what we keep of a property's name
API_KEY_MAX = 254  # the connect form's field length
NO_KEYPAD_REASON = "No keypad: homeit gives this property's guests an app link only, no code to type."
_API_KEY = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: what a header can carry


def api_url(path: str) -> str:
    return getattr(settings, "HOMEIT_API_URL", DEFAULT_API_URL).rstrip("/") + path


def auth_url(path: str) -> str:
    return getattr(settings, "HOMEIT_AUTH_URL", DEFAULT_AUTH_URL).rstrip("/") + path


def api_key_problem(api_key: object) -> str | None:
    """Why `api_key` cannot be an API key, in plain words; None when it may be one."""
    if not isinstance(api_key, str) or not api_key:
        return "Paste the API key from homeit's web app."
    if len(api_key) > API_KEY_MAX or not _API_KEY.fullmatch(api_key):
        return "That is not a homeit API key: it has spaces or characters an API key does not have."
    return None


def clean_text(value: object, limit: int = NAME_MAX) -> str:
    """A vendor string fit to show a host: no control characters, whitespace folded, capped."""
    if not isinstance(value, str):
        return ""
    # Control and format characters (NUL, escapes, bidi overrides that disguise a name) become spaces.
    visible = "".join(" " if unicodedata.category(character).startswith("C") else character for character in value)
    return " ".join(visible.split())[:limit]


# --- times -------------------------------------------------------------------------------------------


def zone_or_utc(name: str) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def wire_time(moment: datetime, time_zone: str) -> str:
    """ISO 8601 in the property's zone with its offset, to the second, e.g. 2026-06-02T15:00:00+02:00."""
    return moment.astimezone(zone_or_utc(time_zone)).isoformat(timespec="seconds")


def parse_time(value: object) -> datetime | None:
    """An answer's time as aware UTC; None when it is not ISO 8601 with an offset."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def to_the_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def known_zone(name: object) -> str:
    """The property's IANA zone when it is one, else ""."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    return name


# --- answers -----------------------------------------------------------------------------------------


def answer_json(response: requests.Response) -> object:
    """The answer's JSON, whatever its content type says; None when it is not JSON or too large."""
    if len(response.content) > MAX_ANSWER_BYTES:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def page_items(body: object, resource: str) -> list[dict]:
    """The items of one HAL page; VendorUnavailable when the page is not one."""
    embedded = body.get("_embedded") if isinstance(body, dict) else None
    items = embedded.get(resource, []) if isinstance(embedded, dict) else None
    if not isinstance(items, list):
        raise VendorUnavailable(f"homeit answered the {resource} list with something unexpected.")
    return [item for item in items if isinstance(item, dict)]


def next_page(body: dict, current_url: str) -> str | None:
    """The next page's absolute URL; VendorUnavailable when it leaves homeit's host (the API key
    would go with it)."""
    links = body.get("_links")
    link = links.get("next") if isinstance(links, dict) else None
    href = link.get("href") if isinstance(link, dict) else None
    if not href:
        return None
    if not isinstance(href, str):
        raise VendorUnavailable("homeit's list gave a next page that is not a link.")
    absolute = urljoin(current_url, href)
    here, there = urlsplit(current_url), urlsplit(absolute)
    if (here.scheme, here.netloc) != (there.scheme, there.netloc):
        raise VendorUnavailable("homeit's list pointed its next page to another host; it was not followed.")
    return absolute


@dataclass(frozen=True)
class Key:
    """A homeit key as read from an answer."""

    key_id: str
    name: str
    property_id: str
    starts_at: datetime
    ends_at: datetime
    code: str | None
    link: str


def read_key(item: object) -> Key | None:
    """A key from an answer's item; None when the item is not a readable key."""
    if not isinstance(item, dict):
        return None
    key_id, property_id = read_id(item.get("id")), read_id(item.get("property"))
    starts_at, ends_at = parse_time(item.get("start")), parse_time(item.get("end"))
    if not (key_id and property_id and starts_at and ends_at) or not isinstance(item.get("name"), str):
        return None
    code = item.get("code")
    code = code if isinstance(code, str) and code.isascii() and code.isdigit() else None
    link = item.get("link")
    link = link if isinstance(link, str) and urlsplit(link).scheme in ("https", "http") else ""
    return Key(key_id, item["name"], property_id, starts_at, ends_at, code, link)


def read_id(value: object) -> str:
    """homeit ids are JSON numbers [H-CORE example]; a string of digits is taken too."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int) and value >= 0:
        return str(value)
    return value if isinstance(value, str) and value.isascii() and value.isdigit() else ""


def property_id_or_none(vendor_lock_id: str) -> int | None:
    return int(vendor_lock_id) if vendor_lock_id.isascii() and vendor_lock_id.isdigit() else None


def read_property(item: dict) -> RemoteLock | None:
    """A property as a lock (None when unreadable): with a keypad it takes codes; without one its
    keys would be links only, which Nowistay does not issue."""
    property_id = read_id(item.get("id"))
    if not property_id:
        return None
    keypad = item.get("keypad") is True
    online = item.get("online")
    return RemoteLock(
        vendor_lock_id=property_id,
        name=clean_text(item.get("name")) or f"homeit property {property_id}",
        supports_remote_codes=keypad,
        unavailable_reason="" if keypad else NO_KEYPAD_REASON,
        is_online=online if isinstance(online, bool) else None,
        time_zone=known_zone(item.get("timezone")),
    )


# --- statuses ------------------------------------------------------------------------------------------


def raise_for_status(response: requests.Response, *, on_property: bool = True, key_write: bool = False, creating: bool = False) -> None:
    """Our vocabulary for a homeit status. `on_property`: the request was about one property (403
    and 404 then mean it is not, or no longer, this API key's); a 404 on a key is the caller's."""
    status, code = response.status_code, str(response.status_code)
    if 200 <= status < 300:
        return
    if status == 401:
        raise ProviderAuthError("homeit no longer accepts this account's API key; reconnect the homeit account.", vendor_code=code)
    if status == 403 and not on_property:
        raise ProviderAuthError("homeit refused this API key access to the account's properties.", vendor_code=code)
    if status == 404 and not on_property:
        raise PermanentProviderError("homeit does not know this address (HTTP 404).", vendor_code=code)
    if status == 403:
        raise LockNotFound("homeit refused access to this property: it is not shared with this API key.", vendor_code=code)
    if status == 404:
        raise LockNotFound("homeit does not know this property; it is no longer in this account.", vendor_code=code)
    if status == 429:
        raise RateLimited("homeit asked us to slow down.", retry_after=retry_after_seconds(response), vendor_code=code)
    if status in (400, 415, 422) and key_write:
        raise CodeRejected(f"homeit refused the key (HTTP {status}).", vendor_code=code)
    if status in (502, 504) and creating:
        raise OutcomeUnknown("homeit's gateway failed; the key may have been created all the same.", vendor_code=code)
    if status >= 500:
        raise VendorUnavailable(f"homeit failed (HTTP {status}); try again later.", vendor_code=code)
    raise PermanentProviderError(f"homeit refused the request (HTTP {status}).", vendor_code=code)
