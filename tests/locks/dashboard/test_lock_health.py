"""The provider panel's "Your locks, as last read back" (issue 19): each lock's battery, online state,
last read-back and code count; the codes on it that Nowistay does not manage (name and window, never
the PIN); its latest findings in plain words. Read from the database only, scoped to the host."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from locks.dashboard.lock_health import FINDINGS_PER_LOCK
from locks.models import FindingKind, Lock, LockAssignment, LockFinding, UnmanagedCode
from tests.locks.dashboard.pages import panel_url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

CLEANER_PIN = "918273"


def lock_html(content: str, lock: Lock) -> str:
    start = content.index(f'id="lock-{lock.pk}"')
    return content[start : content.index("</details>", start)]


@pytest.fixture
def paris_lock(make_property, make_lock):
    """Door L1 (TTLock) opening a Paris flat."""
    prop = make_property(name="Paris Flat", time_zone="Europe/Paris")
    lock = make_lock("L1")
    LockAssignment.objects.create(property=prop, lock=lock)
    return lock


def test_a_lock_never_read_back_says_so(logged_in, paris_lock):
    html = lock_html(logged_in.get(panel_url("ttlock")).content.decode(), paris_lock)
    assert "not read back yet" in html
    assert "battery" not in html and "codes held" not in html
    assert "Nothing to report" in html


def test_the_lock_health_in_the_property_time(logged_in, paris_lock):
    Lock.objects.filter(pk=paris_lock.pk).update(
        battery_percent=18,
        is_online=False,
        offline_since=datetime(2026, 3, 12, 14, 42, tzinfo=UTC),
        codes_held=12,
        code_capacity=100,
        reconciled_at=datetime(2026, 3, 12, 9, 5, tzinfo=UTC),
    )
    html = lock_html(logged_in.get(panel_url("ttlock")).content.decode(), paris_lock)
    assert "battery 18 %" in html
    assert "offline since 15:42 on 12 March 2026" in html  # Paris is UTC+1 in March
    assert "12 of 100 codes held" in html
    assert "last read back 10:05 on 12 March 2026" in html


def test_online_and_codes_held_without_a_known_capacity(logged_in, paris_lock):
    Lock.objects.filter(pk=paris_lock.pk).update(is_online=True, codes_held=1)
    html = lock_html(logged_in.get(panel_url("ttlock")).content.decode(), paris_lock)
    assert "online" in html and "offline" not in html and "1 code held" in html


def test_unmanaged_codes_show_their_name_and_window_never_their_pin(logged_in, paris_lock):
    now = timezone.now()
    UnmanagedCode.objects.create(
        lock=paris_lock,
        vendor_code_id="c1",
        name="Cleaner",
        pin=CLEANER_PIN,
        last_seen_at=now,
        starts_at=datetime(2026, 7, 1, 6, 0, tzinfo=UTC),
        ends_at=None,
    )
    UnmanagedCode.objects.create(
        lock=paris_lock,
        vendor_code_id="c2",
        name="Owner",
        pin="555111",
        last_seen_at=now,
        starts_at=datetime(2026, 7, 1, 6, 0, tzinfo=UTC),
        ends_at=datetime(2026, 7, 2, 6, 0, tzinfo=UTC),
    )
    content = logged_in.get(panel_url("ttlock")).content.decode()
    html = lock_html(content, paris_lock)
    assert "Codes on this lock that Nowistay does not manage" in html
    assert "never changes or removes these codes, and never gives a guest the same PIN" in html
    assert "<strong>Cleaner</strong>: from 08:00 on 1 July 2026, no end" in html  # Paris summer time
    assert "<strong>Owner</strong>: 08:00 on 1 July 2026 → 08:00 on 2 July 2026" in html
    assert CLEANER_PIN not in content and "555111" not in content


def test_the_latest_findings_newest_first_and_how_many_more(logged_in, paris_lock):
    kinds = [FindingKind.MISSING_ON_LOCK, FindingKind.MODIFIED_EXTERNALLY, FindingKind.ORPHAN_REMOVED, FindingKind.CAPACITY_LOW]
    for index in range(FINDINGS_PER_LOCK + 2):
        finding = LockFinding.objects.create(lock=paris_lock, kind=kinds[index % 4], detail=f"finding number {index}")
        LockFinding.objects.filter(pk=finding.pk).update(created_at=timezone.now() - timedelta(hours=10 - index))
    html = lock_html(logged_in.get(panel_url("ttlock")).content.decode(), paris_lock)
    shown = [index for index in range(FINDINGS_PER_LOCK + 2) if f"finding number {index} <small" in html]
    assert shown == list(range(2, FINDINGS_PER_LOCK + 2))
    newest, older = html.index(f"finding number {FINDINGS_PER_LOCK + 1} "), html.index("finding number 2 ")
    assert newest < older
    assert "Our code was changed outside Nowistay and was restored" in html
    assert "2 more" in html


def test_another_hosts_lock_findings_and_codes_are_not_shown(logged_in, paris_lock, other_host, make_lock):
    theirs = make_lock("L9", account_host=other_host)
    UnmanagedCode.objects.create(lock=theirs, vendor_code_id="x", name="Their cleaner", last_seen_at=timezone.now())
    LockFinding.objects.create(lock=theirs, kind=FindingKind.CAPACITY_LOW, detail="their lock is nearly full")
    content = logged_in.get(panel_url("ttlock")).content.decode()
    assert f'id="lock-{theirs.pk}"' not in content
    assert "Their cleaner" not in content and "their lock is nearly full" not in content


def test_the_panel_queries_do_not_grow_with_locks_findings_or_unmanaged_codes(logged_in, make_property, make_lock):
    def grow(first: int, count: int):
        for index in range(first, first + count):
            lock = make_lock(f"L{index}")
            LockAssignment.objects.create(property=make_property(name=f"Flat {index}"), lock=lock)
            UnmanagedCode.objects.create(lock=lock, vendor_code_id="c", name=f"Cleaner {index}", last_seen_at=timezone.now())
            for _ in range(FINDINGS_PER_LOCK + 1):
                LockFinding.objects.create(lock=lock, kind=FindingKind.MISSING_ON_LOCK, detail=f"put back on {index}")

    def count() -> int:
        logged_in.get(panel_url("ttlock"))
        with CaptureQueriesContext(connection) as queries:
            content = logged_in.get(panel_url("ttlock")).content.decode()
        assert content.count('class="lock-health"') == Lock.objects.count()
        return len(queries)

    grow(0, 2)
    few = count()
    grow(2, 20)
    assert count() == few <= 15
