"""Migration 0005: a door code change notice names the vendor's code it told of, one notice per
code as its lock holds it. Applied, existing notices name the code their row holds; reversed, the
older notices of a row stay in the log unlinked from it, so one notice per row holds again."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from locks.models import AccessCode, CodeState
from messaging.models import CodeChangeNotice

MIGRATION = ("messaging", "0005_notice_per_vendor_code")
STARTS, ENDS = datetime(2026, 6, 11, 12, 30, tzinfo=UTC), datetime(2026, 6, 13, 9, 30, tzinfo=UTC)


def migrate(targets) -> None:
    MigrationExecutor(connection).migrate(targets)


def before_it() -> list[tuple[str, str]]:
    return sorted(parent.key for parent in MigrationExecutor(connection).loader.graph.node_map[MIGRATION].parents)


@pytest.fixture
def latest_schema_after(transactional_db):
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_reversed_then_applied_again_keeps_every_notice(latest_schema_after, make_property, make_lock, book):
    booking = book(make_property(), date(2026, 6, 11), date(2026, 6, 13))
    code = AccessCode.objects.create(
        booking=booking,
        lock=make_lock(),
        state=CodeState.ACTIVE,
        vendor_code_id="1002",
        starts_at=STARTS,
        ends_at=ENDS,
        generate_at=STARTS,
        retry_deadline=STARTS,
        alert_at=STARTS,
    )
    first = CodeChangeNotice.objects.create(booking=booking, new_code=code, new_vendor_code_id="1001")
    second = CodeChangeNotice.objects.create(booking=booking, new_code=code, new_vendor_code_id="1002")

    migrate(before_it())
    OldNotice = MigrationExecutor(connection).loader.project_state(before_it()).apps.get_model("messaging", "CodeChangeNotice")
    assert [(n.pk, n.new_code_id) for n in OldNotice.objects.order_by("pk")] == [(first.pk, None), (second.pk, code.pk)]

    migrate([MIGRATION])
    assert [(n.pk, n.new_code_id, n.new_vendor_code_id) for n in CodeChangeNotice.objects.order_by("pk")] == [
        (first.pk, None, ""),
        (second.pk, code.pk, "1002"),  # the code its row holds: a check now finds it told of
    ]
