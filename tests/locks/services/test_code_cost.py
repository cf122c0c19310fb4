"""What one created code costs a worker: at most 5 queries (its messages' `codes_ready` included)
and exactly one vendor call, whatever the batch's size. The CPU figure is benchmarks/lifecycle.py's."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, CodeState
from locks.services import claims, steps
from messaging.models import MessageTemplate

pytestmark = pytest.mark.django_db

MAX_QUERIES_PER_CREATED_CODE = 5


@pytest.mark.parametrize("batch", [8, 24])
def test_a_created_code_costs_at_most_five_queries_and_one_vendor_call(
    batch, assigned_property, book, fake_cloud, host, django_capture_on_commit_callbacks
):
    MessageTemplate.objects.create(host=host, name="Door code", subject="Your code", body="Code {{smartlock_code}}")
    props = [assigned_property(vendor_lock_id=f"L{n}") for n in range(3)]
    with freeze_time("2026-06-01 08:00:00"):
        for n in range(batch):
            services.booking_created(booking=book(props[n % 3], date(2026, 6, 2), date(2026, 6, 4), guest_name=f"G{n}"))
        token, ids = claims.claim_due_codes(now=timezone.now(), limit=batch)
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            results = steps.process_codes(code_ids=ids, claim_token=token)
    assert [result.action for result in results] == ["created"] * batch
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) / batch <= MAX_QUERIES_PER_CREATED_CODE
    assert fake_cloud.calls["create_code"] == batch and sum(fake_cloud.calls.values()) == batch
    assert {code.state for code in AccessCode.objects.all()} == {CodeState.ACTIVE}
