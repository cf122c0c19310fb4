"""The escalation ladder (issue 20): while a booking's code is still not on its lock as check-in
nears, the steps its property's host chose are taken, each once, and logged on the booking.

- check-in − `warn_host_hours_before`: the host is emailed (Nowistay keeps trying meanwhile);
- check-in − `fallback_hours_before`: the guest is given a code that does not need theirs: an
  offline code (the vendor's cloud issues it without reaching the lock: TTLock's period codes),
  else one of the lock's backup codes (locks.services.backup_pool). It becomes the booking's
  code, so the guest's messages carry it; the stuck code is retired. Nothing to give: the host
  is told at once;
- check-in: the host is emailed again with the guest's phone and what the guest was given.

A code that reaches the lock ends its ladder; a step whose moment passed while the code was on
the lock is never taken. Vendors are called outside any transaction.
"""

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bookings.models import BookingStatus
from locks import notifications
from locks.models import AccessCode, CodeState, FallbackKind, LadderStep, LadderStepKind, LockAssignment
from locks.providers.exceptions import ProviderError, RateLimitedLocally
from locks.services import backup_pool
from locks.services.codes import code_retire, current_code, enqueue_code
from locks.services.creation import spec_for
from locks.services.outcomes import issued_fields
from locks.services.read_back_schedule import check_in_of
from locks.services.vendor_accounts import audited_call, provider_for_account
from locks.signals import CodeEvent, ReadyCode, codes_ready, send_code_events
from nowistay.logs import log_fields

logger = logging.getLogger(__name__)

# Not on the lock: what the ladder is for.
STUCK_STATES = (CodeState.SCHEDULED, CodeState.CREATING, CodeState.FAILED)
# A code just due gets this long for its first attempt before it counts as stuck.
FIRST_ATTEMPT_GRACE = timedelta(minutes=15)
HORIZON = timedelta(hours=168)  # the furthest a host can ask to be warned (LADDER_HOURS_MAX)


def run_ladder(now: datetime) -> int:
    """Take every ladder step that is due; the number taken."""
    taken = 0
    for code in stuck_codes(now):
        with log_fields(code_id=code.pk, booking_id=code.booking_id):
            taken += climb(code, now)
    for code in given_a_fallback(now):
        with log_fields(code_id=code.pk, booking_id=code.booking_id):
            taken += _remind_at_check_in(code, now)
    return taken


def given_a_fallback(now: datetime):
    """Current codes of stays not over whose guest was given a fallback (or none could be), and
    whose host has not been reminded at check-in yet."""
    reminded = LadderStep.objects.filter(kind=LadderStepKind.HOST_REMINDED).values("booking_id")
    escalated = LadderStep.objects.filter(kind__in=[LadderStepKind.FALLBACK_SENT, LadderStepKind.NO_FALLBACK]).values("booking_id")
    rows = AccessCode.objects.filter(is_current=True, ends_at__gt=now, booking_id__in=escalated).exclude(booking_id__in=reminded)
    return rows.select_related("booking__property__host", "lock__account", "lock__assignment")


def stuck_codes(now: datetime):
    """Current codes of confirmed stays not over whose code is not on the lock (nor a fallback)."""
    grace = now - FIRST_ATTEMPT_GRACE
    tried = Q(first_failure_at__isnull=False) | Q(generate_at__lte=grace, created_at__lte=grace)
    rows = AccessCode.objects.filter(
        tried,
        is_current=True,
        state__in=STUCK_STATES,
        booking__status=BookingStatus.CONFIRMED,
        booking__access_ended_at__isnull=True,
        starts_at__lte=now + HORIZON,
        ends_at__gt=now,
    )
    return rows.select_related("booking__property__host", "lock__account", "lock__assignment").order_by("starts_at", "pk")


def ladder_of(code: AccessCode) -> LockAssignment | None:
    assignment = getattr(code.lock, "assignment", None)
    return assignment if assignment is not None and assignment.property_id == code.booking.property_id else None


def climb(code: AccessCode, now: datetime) -> int:
    """The due steps of one stuck code, in order; the number taken."""
    ladder = ladder_of(code)
    if ladder is None:
        return 0
    check_in = check_in_of(code)
    done = set(LadderStep.objects.filter(booking_id=code.booking_id).values_list("kind", flat=True))
    taken = 0
    if ladder.warn_host_hours_before and now >= check_in - timedelta(hours=ladder.warn_host_hours_before):
        taken += _once(code, LadderStepKind.HOST_WARNED, done, lambda: _warn_host(code, check_in))
    gave = {LadderStepKind.FALLBACK_SENT, LadderStepKind.NO_FALLBACK} & done
    if ladder.send_fallback and not gave and now >= check_in - timedelta(hours=ladder.fallback_hours_before):
        return taken + give_fallback(code, now)  # the reminder at check-in follows (given_a_fallback)
    return taken + _remind_at_check_in(code, now, done)


def _remind_at_check_in(code: AccessCode, now: datetime, done: set | None = None) -> int:
    ladder = ladder_of(code)
    if ladder is None or not ladder.remind_host_at_check_in or now < check_in_of(code):
        return 0
    if done is None:
        done = set(LadderStep.objects.filter(booking_id=code.booking_id).values_list("kind", flat=True))
    return _once(code, LadderStepKind.HOST_REMINDED, done, lambda: _remind_host(code))


def _once(code: AccessCode, kind: str, done: set, act) -> int:
    """Record the step, then act (an email) once it is committed; 0 when it was taken already."""
    if kind in done:
        return 0
    detail = act_detail(kind, code)
    if not record_step(code.booking_id, kind, detail, code=code):
        return 0
    transaction.on_commit(act)
    return 1


def record_step(booking_id: int, kind: str, detail: str, *, code: AccessCode | None) -> bool:
    """Log the step on the booking; False when another worker took it first."""
    try:
        with transaction.atomic():
            LadderStep.objects.create(booking_id=booking_id, kind=kind, detail=detail[:500], access_code=code)
    except IntegrityError:
        return False
    return True


def act_detail(kind: str, code: AccessCode) -> str:
    reason = code.last_error or "it has not been created yet"
    if kind == LadderStepKind.HOST_WARNED:
        return f"The host was emailed: the code is not on the lock yet ({reason}). Nowistay keeps trying."
    if code.fallback:
        return "The host was emailed again at check-in with the guest's phone and the fallback code the guest was given."
    return f"The host was emailed again at check-in with the guest's phone: the code is still not on the lock ({reason})."


# --- the fallback ---------------------------------------------------------------------------------
def give_fallback(code: AccessCode, now: datetime) -> int:
    """Give the guest an offline code, else a backup code; else tell the host there is none."""
    provider = provider_for_account(code.lock.account)
    if provider.capabilities.offline_fallback:
        try:
            given = _give_offline_code(code, provider, now)
        except RateLimitedLocally:
            return 0  # held back by our own rate limit, nothing sent: the next ladder pass asks again
        if given is not None:
            return 1
    given = backup_pool.assign_backup(code, now)
    if given is not None:
        _after_fallback(code, given, LadderStepKind.FALLBACK_SENT, backup_detail(given))
        return 1
    return _no_fallback(code, provider.capabilities.offline_fallback)


def _give_offline_code(code: AccessCode, provider, now: datetime) -> AccessCode | None:
    offline = _offline_row(code)
    spec = spec_for(offline, None)
    try:
        issued = audited_call(
            account=code.lock.account,
            operation="issue_offline_code",
            lock=code.lock,
            code=offline,
            call=lambda: provider.issue_offline_code(code.lock.vendor_lock_id, spec),
        )
    except RateLimitedLocally:
        AccessCode.objects.filter(pk=offline.pk).delete()  # nothing was issued: no trace of a failure
        raise
    except ProviderError as error:
        AccessCode.objects.filter(pk=offline.pk).update(state=CodeState.FAILED, last_error=error.message[:500], finished_at=now)
        logger.warning("no offline code for code %s: %s", code.pk, error.message)
        return None
    with transaction.atomic():
        stuck = current_code(code.booking)
        row = AccessCode.objects.select_for_update().get(pk=offline.pk)
        row.__dict__.update(issued_fields(issued, row))
        if stuck is None or stuck.pk != code.pk or stuck.state not in STUCK_STATES:
            _keep_unneeded_offline_code(row, now)  # the guest's own code made it meanwhile
            return None
        code_retire(code=stuck, now=now)
        row.state, row.is_current, row.activated_at, row.next_attempt_at = CodeState.ACTIVE, True, now, None
        row.save()
        _after_fallback(stuck, row, LadderStepKind.FALLBACK_SENT, offline_detail(row))
    return row


def _offline_row(code: AccessCode) -> AccessCode:
    """The offline code's own row (its id names it on the lock), not current until issued."""
    return AccessCode.objects.create(
        booking=code.booking,
        lock=code.lock,
        state=CodeState.CREATING,
        is_current=False,
        fallback=FallbackKind.OFFLINE,
        starts_at=code.starts_at,
        ends_at=code.ends_at,
        generate_at=code.generate_at,
        retry_deadline=code.retry_deadline,
        alert_at=code.alert_at,
        next_attempt_at=None,
    )


def _keep_unneeded_offline_code(row: AccessCode, now: datetime) -> None:
    row.state, row.is_current, row.next_attempt_at = CodeState.SUPERSEDED, False, row.lock_ends_at or row.ends_at
    row.retired_at = now
    row.warning = "Issued offline as a fallback, not needed after all: it cannot be revoked remotely before it is used."[:500]
    row.save()


def _after_fallback(stuck: AccessCode, given: AccessCode, kind: str, detail: str) -> None:
    record_step(given.booking_id, kind, detail, code=given)
    booking_id, code_id = given.booking_id, given.pk
    ready = [ReadyCode(code_id, booking_id)]
    transaction.on_commit(lambda: codes_ready.send(sender=AccessCode, codes=ready))
    fallback = CodeEvent("fallback_sent", code_id, booking_id, timezone.now(), {"fallback": given.fallback, "replaces_code_id": stuck.pk})
    send_code_events([fallback])
    if given.state == CodeState.UPDATING:
        enqueue_code(given.pk)
    transaction.on_commit(lambda: notifications.fallback_given(given, detail))


def offline_detail(code: AccessCode) -> str:
    note = f" {code.usage_note}" if code.usage_note else ""
    return (
        f"The guest was given an offline code for the stay (issued by {code.lock.account.provider_name}'s cloud without "
        f"reaching the lock); it cannot be revoked remotely before it is used.{note}"
    )


def backup_detail(code: AccessCode) -> str:
    narrowed = "it is narrowed to the stay when the lock is reachable" if code.state == CodeState.UPDATING else "it keeps its window"
    return f"The guest was given one of the lock's backup codes (already on the lock); {narrowed}."


def _no_fallback(code: AccessCode, has_offline: bool) -> int:
    why = "the offline code could not be issued" if has_offline else "the lock has no backup code ready"
    detail = f"No fallback code could be given: {why}. The host was emailed."
    if not record_step(code.booking_id, LadderStepKind.NO_FALLBACK, detail, code=code):
        return 0
    transaction.on_commit(lambda: notifications.no_fallback(code, detail))
    return 1


def _warn_host(code: AccessCode, check_in: datetime) -> None:
    notifications.ladder_warning(code, check_in)


def _remind_host(code: AccessCode) -> None:
    notifications.check_in_reminder(code, steps=list(LadderStep.objects.filter(booking_id=code.booking_id)))
