"""Creating a code on its lock: choose the PIN, look for a write whose answer was lost before sending
another, send the create, and wait (never send twice) while a write may be on the lock unlisted.
"""

import random
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.utils import timezone

from locks import notifications, pins
from locks.models import LIVE_CODE_STATES, AccessCode, AccountStatus, CodeRotation, CodeSource, CodeState
from locks.providers.base import CodeSpec, IssuedCode, LockProvider
from locks.providers.exceptions import (
    CodePending,
    CodeRejected,
    PinTaken,
    ProviderError,
)
from locks.services.backup_pool import backup_pins
from locks.services.claims import finish
from locks.services.codes import (
    capabilities_of,
    enqueue_code,
    last_possible_write,
    listing_delay_of,
)
from locks.services.outcomes import StepResult, complete_creation, creation_failed, pin_rejected, vendor_wait_until
from locks.services.unmanaged import unmanaged_pins
from locks.services.vendor_accounts import account_unusable, audited_call, provider_for_account

MAX_PIN_REJECTIONS = 5


_system_random = random.SystemRandom()


def create_step(code: AccessCode, token: str, now: datetime) -> StepResult | None:
    """Create the code on its lock; None when it changed since it was claimed (its own step follows)."""
    account = code.lock.account
    if account.status != AccountStatus.CONNECTED:
        return creation_failed(code, token, now, account_unusable(account), request_sent=False)
    provider = provider_for_account(account)
    while True:
        prepared = _prepare_create(code, provider)
        if prepared is None:  # retired or changed since it was claimed: the step it needs now follows
            return None
        code, looked_before = prepared
        spec = spec_for(code, code.pin if provider.capabilities.chosen_pins else None)
        try:
            issued, found = _find_or_create(provider, code, spec, looked_before, now)
        except _StillAwaited:
            return _await_lock(code, token, now, provider, code.awaiting_reason or AWAITING_PENDING)
        except CodePending as error:
            return _await_lock(code, token, now, provider, AWAITING_PENDING, news=error)
        except PinTaken as error:
            if looked_before:  # the PIN on the lock may be ours, from a write whose answer was lost
                return _await_lock(code, token, now, provider, AWAITING_PIN_TAKEN, news=error)
            if not _may_choose_again(code, provider):
                return creation_failed(code, token, now, error, looked_before=looked_before)
            code = finish(code, token, partial(pin_rejected, error=error), release=False)
        except CodeRejected as error:
            if not _may_choose_again(code, provider):
                return creation_failed(code, token, now, error, looked_before=looked_before)
            code = finish(code, token, partial(pin_rejected, error=error), release=False)
        except ProviderError as error:
            return creation_failed(code, token, now, error, looked_before=looked_before)
        else:
            if found:  # created by an earlier request, with the window wanted then: move it if it changed
                spec = replace(spec, starts_at=issued.starts_at, ends_at=issued.ends_at)
            fresh = complete_creation(code, token, issued, spec, now)
            return StepResult(code.pk, "created", f"state {fresh.state}")


def _may_choose_again(code: AccessCode, provider: LockProvider) -> bool:
    return provider.capabilities.chosen_pins and code.pin_rejections + 1 < MAX_PIN_REJECTIONS


# --- writes that may be on the lock but are not listed yet ----------------------------------------
AWAITING_PENDING = "pending"  # the vendor accepted the write and applies it to the lock later


AWAITING_PIN_TAKEN = "pin_taken"  # the vendor said the PIN is on the lock: maybe ours, landed late


PIN_HELD_ELSEWHERE = "The lock already holds this PIN in a code that is not this booking's."


class _StillAwaited(Exception):
    """Not listed yet, but a write of ours may still appear within the vendor's listing delay."""


def _find_or_create(
    provider: LockProvider, code: AccessCode, spec: CodeSpec, looked_before: bool, now: datetime
) -> tuple[IssuedCode, bool]:
    """The code on the lock, and whether it was found (left there by an earlier request) rather than created.

    After a write whose outcome is unknown, nothing is created until that write is found or proven
    absent: not listed under its name once the vendor's listing delay has passed since it was last
    possibly made. A PIN the vendor said was on the lock and that, a listing delay later, no code
    of ours holds is another code's: a new PIN is chosen.
    """
    account, vendor_lock_id = code.lock.account, code.lock.vendor_lock_id
    if looked_before and not provider.capabilities.find_codes:
        warn_of_unlistable_code(code, provider)
    elif looked_before:  # an earlier request's answer was lost: it may have created the code
        found = audited_call(
            account=account,
            operation="find_code",
            lock=code.lock,
            code=code,
            call=lambda: provider.find_code(vendor_lock_id, spec.name),
        )
        if found is not None:
            return found, True
        if now < last_possible_write(code) + listing_delay_of(code.lock):
            raise _StillAwaited
        if code.awaiting_reason == AWAITING_PIN_TAKEN:
            raise CodeRejected(PIN_HELD_ELSEWHERE, vendor_code="pin_taken")
    code.create_sent = True  # from here a failure may hide a code on the lock (see creation_failed)
    created = audited_call(
        account=account,
        operation="create_code",
        lock=code.lock,
        code=code,
        call=lambda: provider.create_code(vendor_lock_id, spec),
    )
    return created, False


def _await_lock(
    code: AccessCode, token: str, now: datetime, provider: LockProvider, reason: str, *, news: ProviderError | None = None
) -> StepResult:
    """A write of ours may be on the lock without being listed yet: look again shortly, never send
    it twice meanwhile. Not a failure (no retry counted, no alert) for one listing delay; a write
    accepted again after that, and still not shown, is a failure retried hourly like any other.
    `news`: the vendor just answered the write (accepted it, or said the PIN is already there)."""
    delay = listing_delay_of(code.lock)
    again = news is not None and code.awaiting_reason == reason and code.awaiting_lock_since is not None
    if again and now >= code.awaiting_lock_since + delay:
        stuck = CodePending(
            f"{provider.display_name} accepted the code but has not shown it on the lock for "
            f"{int(delay.total_seconds() // 60)} minutes; it is looked for before anything else is sent.",
            retry_after=getattr(news, "retry_after", None),
        )
        return creation_failed(code, token, now, stuck, looked_before=True)
    fresh = finish(code, token, lambda row: _record_awaiting(row, reason, now, delay, news=news))
    if fresh.state == CodeState.CREATING and fresh.next_attempt_at is not None:
        enqueue_code(fresh.pk, eta=fresh.next_attempt_at)
    return StepResult(code.pk, "awaiting", f"{reason}: looked for again at {fresh.next_attempt_at}")


def _record_awaiting(row: AccessCode, reason: str, now: datetime, delay: timedelta, *, news: ProviderError | None) -> None:
    row.create_outcome_unknown = True
    if news is not None:
        row.unconfirmed_write_at = now  # a revoke that follows waits for it too
        row.vendor_wait_until = vendor_wait_until(news, now)
    if row.state != CodeState.CREATING:  # retired meanwhile: its own step follows now (it looks first)
        if row.state != CodeState.SUPERSEDED:  # (a superseded code is only closed at its end)
            row.next_attempt_at = now
        return
    if row.awaiting_lock_since is None or row.awaiting_reason != reason:
        row.awaiting_lock_since = now
    row.awaiting_reason = reason
    look_again = now + timedelta(seconds=settings.LOCKS_LOOK_AGAIN_SECONDS)
    last_look = max(last_possible_write(row), row.awaiting_lock_since) + delay
    row.next_attempt_at = max(min(look_again, last_look), row.vendor_wait_until or now, now + MINIMUM_LOOK_GAP)


# A look is never due at once: a look that finds nothing must not run again in the same breath.
MINIMUM_LOOK_GAP = timedelta(seconds=1)


def warn_of_unlistable_code(code: AccessCode, provider: LockProvider) -> None:
    """The vendor cannot list codes, so a lost create cannot be looked for: say so, do not pretend."""
    zone = code.booking.property.time_zone
    spec = CodeSpec(name=code.vendor_name, pin=None, starts_at=code.starts_at, ends_at=code.ends_at, time_zone=zone)
    until = notifications.local_time(provider.ends_on_lock(spec, now=timezone.now()), zone)
    code.warning = (
        f"An earlier request to {provider.display_name} got no answer and may have created a code "
        f"that cannot be listed; if so, it works until about {until}."
    )
    AccessCode.objects.filter(pk=code.pk).update(warning=code.warning)


def _prepare_create(code: AccessCode, provider: LockProvider) -> tuple[AccessCode, bool] | None:
    """Choose the PIN and note that a create is in flight, before the request leaves.

    None when the code was retired or re-claimed since it was loaded.
    """
    looked_before = code.create_outcome_unknown
    pin = code.pin
    if provider.capabilities.chosen_pins and not pin:
        pin = _choose_pin(code, provider)
    started = AccessCode.objects.filter(
        pk=code.pk, claim_token=code.claim_token, state__in=[CodeState.SCHEDULED, CodeState.CREATING]
    ).update(pin=pin, state=CodeState.CREATING, create_outcome_unknown=True, updated_at=timezone.now())
    if not started:
        return None
    code.pin, code.state, code.create_outcome_unknown = pin, CodeState.CREATING, True
    return code, looked_before


def _choose_pin(code: AccessCode, provider: LockProvider) -> str:
    taken = getattr(code.lock, "batch_pins_in_use", None)
    if taken is None:
        taken = code.lock.batch_pins_in_use = set(
            AccessCode.objects.filter(lock_id=code.lock_id, state__in=LIVE_CODE_STATES, pin__isnull=False)
            .exclude(pk=code.pk)
            .values_list("pin", flat=True)
        ) | unmanaged_pins([code.lock_id])[code.lock_id] | backup_pins(code.lock_id)  # never someone else's or a backup's
    assignment = getattr(code.lock, "assignment", None)
    source = assignment.code_source if assignment and code.pin_rejections == 0 else CodeSource.RANDOM
    if source == CodeSource.GUEST_PHONE and CodeRotation.objects.filter(new_code_id=code.pk).exists():
        # A rotation's new PIN: the phone's digits are most likely the PIN rotated away, free
        # again once the old code is revoked.
        source = CodeSource.RANDOM
    pin = pins.choose_pin(source=source, phone=code.booking.guest_phone, taken=taken, rule=provider.pin_problem, rng=_system_random)
    taken.add(pin)  # another code of the batch on this lock must not draw it too
    return pin


# --- what a create or update sends ----------------------------------------------------------------
def spec_for(code: AccessCode, pin: str | None) -> CodeSpec:
    limited = capabilities_of(code.lock).limited_codes_per_slot
    return CodeSpec(
        name=code.vendor_name,
        pin=pin,
        starts_at=code.starts_at,
        ends_at=code.ends_at,
        time_zone=code.booking.property.time_zone,
        used_slots=used_slots_on_lock(lock_id=code.lock_id, now=timezone.now()) if limited else frozenset(),
    )


# A new code never starts before the current hour, so its start slot (an hour, or a local day)
# cannot be one that a code which started more than two days ago used.
USED_SLOTS_LOOKBACK = timedelta(days=2)


def used_slots_on_lock(*, lock_id: int, now: datetime) -> frozenset[tuple[datetime, datetime, int]]:
    """(start, end, variance) of the codes this system issued on the lock that a new code's start
    slot may meet, whatever became of them since: an issued algoPIN keeps its slot. One query."""
    issued = AccessCode.objects.filter(
        lock_id=lock_id, variance__isnull=False, lock_starts_at__gte=now - USED_SLOTS_LOOKBACK, lock_ends_at__isnull=False
    )
    return frozenset(issued.values_list("lock_starts_at", "lock_ends_at", "variance"))
