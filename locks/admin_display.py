"""How staff read codes in admin: windows in the property's time zone and UTC, errors in words."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from locks.code_status import describe_code
from locks.models import AccessCode, LockAssignment


def local_and_utc(moment: datetime | None, tz_name: str) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(ZoneInfo(tz_name))
    return f"{local:%Y-%m-%d %H:%M} {tz_name} ({moment.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M} UTC)"


def window_text(code: AccessCode) -> str:
    tz_name = code.booking.property.time_zone
    return f"{local_and_utc(code.starts_at, tz_name)} → {local_and_utc(code.ends_at, tz_name)}"


def status_words(code: AccessCode) -> str:
    """The plain words the host sees on the dashboard (locks.code_status), the PIN masked: staff
    diagnose codes without reading guests' PINs."""
    has_lock = LockAssignment.objects.filter(property_id=code.booking.property_id).exists()
    status = describe_code(code, booking=code.booking, has_lock=has_lock, now=timezone.now())
    text = f"{status.text} — {status.hint}" if status.hint else status.text
    text = text.replace(code.access_link, "••••••") if code.access_link else text  # a link opens the door too
    return text.replace(code.pin, "••••••") if code.pin else text


def codes_with_audit_html(codes) -> str:
    """A booking's codes, each followed by its vendor calls: the one place staff read a code's story."""
    if not codes:
        return "No code yet."
    blocks = []
    for code in codes:
        calls = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td></tr>",
            (
                (
                    f"{call.created_at:%Y-%m-%d %H:%M:%S} UTC", call.operation, call.get_outcome_display(),
                    call.error_message or "—", call.duration_ms,
                )
                for call in code.vendor_calls.all()
            ),
        )
        blocks.append(
            format_html(
                '<div style="margin-bottom:1em"><strong><a href="{}">Code {}</a></strong> · {} · {}{}<br>'
                "Window: {}<br>Attempts: {} · next try: {} · last error: {}"
                '<table style="margin-top:.4em"><thead><tr>'
                "<th>When</th><th>Call</th><th>Outcome</th><th>Error</th><th>Took</th></tr></thead>"
                "<tbody>{}</tbody></table></div>",
                reverse("admin:locks_accesscode_change", args=[code.pk]),
                code.pk,
                code.get_state_display(),
                "current" if code.is_current else "not current",
                f" · {code.lock.account.provider_name} lock {code.lock.name} ({code.lock.vendor_lock_id})",
                window_text(code),
                code.attempts,
                local_and_utc(code.next_attempt_at, code.booking.property.time_zone),
                code.last_error or "—",
                calls or format_html("<tr><td colspan=5>No vendor call yet.</td></tr>"),
            )
        )
    return format_html_join("", "{}", ((block,) for block in blocks))
