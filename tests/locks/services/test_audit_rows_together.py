"""A worker's batch writes the audit rows of its vendor calls together (one INSERT every few
seconds and at its end), each stamped with the moment its call ended; a batch that breaks still
writes them."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from locks import services
from locks.models import VendorCall
from locks.services import claims, steps, vendor_accounts

pytestmark = pytest.mark.django_db


def _claimed_batch(assigned_property, book, count):
    for n in range(count):
        prop = assigned_property(vendor_lock_id=f"L{n}")
        services.booking_created(booking=book(prop, date(2026, 3, 12), date(2026, 3, 14), guest_name=f"G{n}"))
    return claims.claim_due_codes(now=timezone.now(), limit=count)


def _audit_inserts(queries) -> int:
    return sum(1 for query in queries.captured_queries if query["sql"].startswith('INSERT INTO "locks_vendorcall"'))


def test_a_batch_writes_its_audit_rows_in_one_insert(assigned_property, book, fake_cloud):
    with freeze_time("2026-03-11 09:00:00"):
        token, ids = _claimed_batch(assigned_property, book, 5)
        with CaptureQueriesContext(connection) as queries:
            steps.process_codes(code_ids=ids, claim_token=token)
    assert _audit_inserts(queries) == 1
    assert sorted(VendorCall.objects.values_list("access_code_id", flat=True)) == sorted(ids)
    assert set(VendorCall.objects.values_list("operation", "outcome")) == {("create_code", "ok")}


def test_rows_wait_only_a_few_seconds_and_keep_the_moment_their_call_ended(assigned_property, book, fake_cloud, monkeypatch):
    with freeze_time("2026-03-11 09:00:00") as clock:
        token, ids = _claimed_batch(assigned_property, book, 3)
        call = fake_cloud.call
        ended = []

        def slow_call(operation, *args, **kwargs):  # every call takes 2.5 s
            answer = call(operation, *args, **kwargs)
            clock.tick(2.5)
            ended.append(timezone.now())
            return answer

        monkeypatch.setattr(fake_cloud, "call", slow_call)
        written = []
        write = vendor_accounts._AuditRows.write
        monkeypatch.setattr(vendor_accounts._AuditRows, "write", lambda self: (written.append(len(self.rows)), write(self)))
        steps.process_codes(code_ids=ids, claim_token=token)
    assert written == [2, 1]  # the second call's row found the first waiting 2.5 s: both written; the last at the end
    stamps = list(VendorCall.objects.order_by("id").values_list("created_at", flat=True))
    assert stamps == ended


def test_a_batch_that_breaks_still_writes_the_rows_of_the_calls_it_made(assigned_property, book, fake_cloud, monkeypatch):
    with freeze_time("2026-03-11 09:00:00"):
        token, ids = _claimed_batch(assigned_property, book, 2)
        keep, calls = steps._BatchLease.keep, []

        def keep_then_break(self, remaining):
            calls.append(remaining)
            if len(calls) == 2:
                raise RuntimeError("the worker is going away")
            return keep(self, remaining)

        monkeypatch.setattr(steps._BatchLease, "keep", keep_then_break)
        with pytest.raises(RuntimeError):
            steps.process_codes(code_ids=ids, claim_token=token)
    assert list(VendorCall.objects.values_list("access_code_id", flat=True)) == ids[:1]


def test_outside_a_batch_each_row_is_written_at_once(assigned_property, book, fake_cloud):
    with freeze_time("2026-03-11 09:00:00"):
        token, ids = _claimed_batch(assigned_property, book, 1)
        steps.process_code(code_id=ids[0], claim_token=token)
    assert VendorCall.objects.filter(access_code_id=ids[0]).count() == 1
