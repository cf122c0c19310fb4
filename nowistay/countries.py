"""Countries (ISO 3166-1 alpha-2) and the country of an IANA time zone, from the tz database files
the pinned `tzdata` package ships: iso3166.tab (code → name), zone.tab (zone → the one country it
is listed for) and tzdata.zi (its "L target link" lines: an old or alias name → its zone). No table
is written out here, so a tzdata upgrade brings new countries and zones with it.

Pure functions over plain values, read once and cached.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources


def _tz_file(name: str) -> list[str]:
    text = resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → the country's English name, as the tz database writes it."""
    pairs = (line.split("\t")[:2] for line in _tz_file("iso3166.tab"))
    return {code: name for code, name in pairs}


@cache
def _country_by_zone() -> dict[str, str]:
    # zone.tab lists each zone under exactly one country (Europe/Zurich: CH), where zone1970.tab
    # lists every country sharing its rules since 1970 (Europe/Zurich: CH, DE, LI).
    rows = (line.split("\t") for line in _tz_file("zone.tab"))
    return {row[2]: row[0] for row in rows}


@cache
def _zone_of_link() -> dict[str, str]:
    rows = (line.split() for line in _tz_file("tzdata.zi") if line.startswith("L "))
    return {row[2]: row[1] for row in rows}


@cache
def _country_of_target() -> dict[str, str]:
    """Zone → country, for zones that every zone.tab name sharing them (itself, or a link to it)
    places in one country. Since tz 2022 many zones of different countries are links to one
    (Europe/Oslo and Europe/Stockholm to Europe/Berlin): an old name linked there, such as
    Atlantic/Jan_Mayen, belongs to no single country, and guessing one would misread a phone."""
    countries: dict[str, set[str]] = {}
    for zone, country in _country_by_zone().items():
        countries.setdefault(_zone_of_link().get(zone, zone), set()).add(country)
    return {target: found.pop() for target, found in countries.items() if len(found) == 1}


# CET, EET, WET, EST, EST5EDT, GB, PRC: names of rules or acronyms, not of one place (EET now
# links to Europe/Athens, EST to America/Panama): they give no country.
_ABBREVIATION = re.compile(r"[A-Z0-9+-]+")


def country_of_time_zone(time_zone: str) -> str | None:
    """The country a time zone is listed for ("Europe/Paris" → "FR", "US/Eastern" → "US"), or
    None for zones of no one country (UTC, Etc/GMT+2, CET, Europe/Belfast: GB, JE, GG or IM)."""
    by_zone = _country_by_zone()
    if time_zone in by_zone:
        return by_zone[time_zone]
    if _ABBREVIATION.fullmatch(time_zone):
        return None
    return _country_of_target().get(_zone_of_link().get(time_zone, ""))


@cache
def country_names_in(language: str) -> dict[str, str]:
    """The same countries named in `language` (CLDR, through Babel), the tz database's name where CLDR has none."""
    from babel import Locale, UnknownLocaleError

    if language.split("-")[0] == "en":
        return country_names()  # English as it always was: the tz database's own names
    try:
        territories = Locale.parse(language.replace("-", "_")).territories
    except (UnknownLocaleError, ValueError):
        territories = {}
    return {code: territories.get(code, name) for code, name in country_names().items()}


def country_name(code: str) -> str:
    """The country's name in the active language."""
    from django.utils.translation import get_language

    return country_names_in(get_language() or "en").get(code, code)


def is_country_code(code: str) -> bool:
    return code in country_names()
