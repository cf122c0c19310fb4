"""Helpers the dashboard view tests share: the dashboard's URLs, reading its HTML, and the state it leaves."""

import re
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from locks.models import AccessCode, Lock, LockAssignment

PARIS = ZoneInfo("Europe/Paris")
PROVIDERS = ["ttlock", "tedee", "nuki", "igloohome", "homeit"]
LABELS = {"ttlock": "TTLock", "tedee": "Tedee", "nuki": "Nuki", "igloohome": "igloohome", "homeit": "homeit"}


def today():
    return timezone.localdate()


def panel_url(provider):
    return reverse("integrations:panel", args=[provider])


def edit_url(provider, prop):
    """The panel with one property's row open as its form (a row is otherwise a summary)."""
    return f"{panel_url(provider)}?edit={prop.pk}"


def row_url(provider, prop, *, edit: bool = False):
    """One row alone, for htmx: its form (`edit`) or its summary."""
    url = reverse("integrations:assignment_row", args=[provider, prop.pk])
    return f"{url}?edit=1" if edit else url


def save_url(provider, prop):
    return reverse("integrations:assignment_save", args=[provider, prop.pk])


def remove_url(provider, prop):
    return reverse("integrations:assignment_remove", args=[provider, prop.pk])


def row_fields(prop, lock="", lead="5", margin="30", source=None) -> dict:
    data = {f"p{prop.pk}-lock": lock, f"p{prop.pk}-lead_days": lead, f"p{prop.pk}-margin_minutes": margin}
    if source is not None:
        data[f"p{prop.pk}-code_source"] = source
    return data


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def said_in(content: str, text: str) -> int:
    """How many times the page (or row) says `text`, HTML-escaped as the templates write it."""
    return content.count(escape(text))


NOT_SAVED = "{name} was not saved: the reason is shown in its row below."


def row_html(content: str, prop) -> str:
    """The <li> of one property in "Lock assignments" ("" when the property has no row)."""
    # The row's own </li> starts a line; its error lists' items do not.
    match = re.search(rf'<li class="assignment" id="property-{prop.pk}">.*?\n</li>', content, re.S)
    return match.group(0) if match else ""


def card_html(content: str, provider: str) -> str:
    match = re.search(rf'<li class="card" id="card-{provider}">.*?</li>', content, re.S)
    assert match, f"no card for {provider}"
    return match.group(0)


def options_of(html: str, name: str) -> list[dict]:
    """The <option>s of the <select name=...> in `html`: value, label, disabled, selected."""
    select = re.search(rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {name}"
    options = []
    for attributes, label in re.findall(r"<option([^>]*)>(.*?)</option>", select.group(1), re.S):
        value = re.search(r'value="([^"]*)"', attributes)
        options.append(
            {
                "value": value.group(1) if value else None,
                "label": label.strip(),
                "disabled": " disabled" in attributes,
                "selected": " selected" in attributes,
            }
        )
    return options


def input_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html, re.S)
    assert match, f"no input {name}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def local(day, at: time) -> datetime:
    """A Paris wall time as an aware UTC instant."""
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)


def assignment_state(prop) -> tuple | None:
    row = LockAssignment.objects.filter(property=prop).values_list("lock_id", "lead_days", "margin_minutes", "code_source").first()
    return row


def codes_state() -> list[tuple]:
    return list(
        AccessCode.objects.order_by("id").values_list(
            "id", "booking_id", "lock_id", "state", "is_current", "starts_at", "ends_at", "generate_at", "next_attempt_at"
        )
    )


def unavailable_lock(account, vendor_lock_id="U1", reason="No keypad is paired.") -> Lock:
    return Lock.objects.create(
        account=account, vendor_lock_id=vendor_lock_id, name=f"Door {vendor_lock_id}",
        supports_remote_codes=False, unavailable_reason=reason,
    )


# --- property settings ---------------------------------------------------------------------------------

def settings_url(prop):
    return reverse("bookings:property_settings", args=[prop.pk])
