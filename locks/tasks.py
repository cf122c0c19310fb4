"""Thin Celery tasks: ids in, one service call, no business rules. Services are idempotent, so
tasks are `acks_late`; the hourly retry schedule lives in each code's row, not here."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from locks.services import accounts, backup_pool, claims, ladder, missing_codes, scheduler, steps
from locks.services.api_budget import api_budget_warn_hosts
from locks.services.codes import PROCESS_CODE
from locks.services.read_back import READ_BACK_LOCKS, read_back_locks
from locks.services.read_back_schedule import enqueue_due_read_backs
from nowistay import dispatch


def task_batch_size(claimed: int) -> int:
    """Codes per `process_codes` message: LOCKS_TASK_BATCH_SIZE, larger in a burst so that one claim
    never publishes more than LOCKS_MESSAGES_PER_CLAIM messages (each costs the pass a round trip to
    the broker; a worker renews a long batch's lease as it goes)."""
    return max(settings.LOCKS_TASK_BATCH_SIZE, -(-claimed // settings.LOCKS_MESSAGES_PER_CLAIM))


def vendor_queue(vendor: str, *, reads: bool = False) -> str:
    """The Celery queue of one vendor's code writes, or of its lock read-backs
    (settings.CELERY_TASK_QUEUES): a slow vendor's backlog never holds back another vendor's work,
    and read-backs never queue in front of writes."""
    if vendor not in settings.LOCKS_VENDOR_QUEUES:
        return settings.CELERY_TASK_DEFAULT_QUEUE
    return f"locks.{vendor}.reads" if reads else f"locks.{vendor}"


@shared_task(acks_late=True)
def scheduler_pass() -> str:
    def dispatch(ids: list[int], token: str, vendor: str) -> None:
        size = task_batch_size(len(ids))
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            # argsrepr: Celery would otherwise write every id into the message's headers (a third of its cost).
            process_codes.apply_async((batch, token), queue=vendor_queue(vendor), argsrepr=f"({len(batch)} codes)")

    return scheduler.run_pass(dispatch=dispatch).summary()


@shared_task(acks_late=True)
def missing_codes_pass() -> str:
    """Plan the code of every booking a missed event left without one; a scheduler pass follows at
    once when one of them is due already."""
    figures = missing_codes.missing_codes_pass(timezone.now())
    if figures.due:
        scheduler_pass.delay()
    return f"{figures.planned} missing codes planned, {figures.due} due at once"


@shared_task(acks_late=True)
def read_back_pass() -> int:
    """Hand the due lock read-backs to workers, one task per account; the number of locks. Then
    email the hosts whose account came near its vendor's API limit (once a month)."""
    now = timezone.now()
    handed = enqueue_due_read_backs(now)
    api_budget_warn_hosts(now=now)
    return handed


@shared_task(acks_late=True)
def process_codes(code_ids: list[int], claim_token: str) -> list[str]:
    """A batch claimed by the scheduler pass; a claim this worker lost is skipped."""
    return [result.action for result in steps.process_codes(code_ids=code_ids, claim_token=claim_token)]


@shared_task(acks_late=True)
def process_code(code_id: int) -> str:
    """Event-driven: claim the one code if it is due and free, and take its step."""
    token = claims.claim_code(code_id=code_id, now=timezone.now())
    if token is None:
        return "skipped"
    return steps.process_code(code_id=code_id, claim_token=token).action


@shared_task(acks_late=True, bind=True, max_retries=20)
def finish_account_disconnect(self, account_id: int) -> str:
    """The vendor side of a disconnection the dashboard started: revoke, then forget the credentials.
    A code a worker holds mid-request is waited for (its claim lasts at most the lease)."""
    last_try = self.request.retries >= self.max_retries
    try:
        report = accounts.account_disconnect_finish(account_id=account_id, wait_for_workers=not last_try)
    except accounts.WorkerHoldsCode:
        raise self.retry(countdown=30) from None
    if report is None:
        return "not disconnecting"
    return f"{report.revoked} revoked, {len(report.left_valid)} left valid, {report.staying_untouched} staying"


@shared_task(acks_late=True)
def keep_accounts_alive() -> dict:
    """Also the backstop of disconnections whose finishing task was lost: they are sent again."""
    outcome = accounts.accounts_keep_alive()
    stalled = accounts.disconnects_stalled()
    for account_id in stalled:
        finish_account_disconnect.delay(account_id)
    return {**outcome, "disconnects_resumed": len(stalled)}


def _send_process_code(code_id: int, *, eta=None, countdown: float | None = None) -> None:
    """How the services' `enqueue_code` reaches a worker (looked up at each call, so it can be replaced)."""
    if eta is not None:
        process_code.apply_async((code_id,), eta=eta)
    elif countdown is not None:
        process_code.apply_async((code_id,), countdown=countdown)
    else:
        process_code.delay(code_id)


@shared_task(acks_late=True, name="locks.tasks.read_back_locks")
def read_back_account_locks(account_id: int, lock_ids: list[int]) -> list[str]:
    """The due read-backs of one account's locks, one after the other (a lock already read is skipped)."""
    return [f"{result.lock_id}: {result.action}" for result in read_back_locks(account_id=account_id, lock_ids=lock_ids)]


dispatch.register(PROCESS_CODE, _send_process_code)
dispatch.register(
    READ_BACK_LOCKS,
    lambda account_id, lock_ids, vendor="": read_back_account_locks.apply_async(
        (account_id, lock_ids), queue=vendor_queue(vendor, reads=True)
    ),
)


@shared_task(acks_late=True)
def ladder_pass() -> int:
    """Take the escalation ladder's due steps (locks.services.ladder)."""
    return ladder.run_ladder(timezone.now())


@shared_task(acks_late=True)
def tend_backup_pools() -> int:
    """Program, rotate and remove backup codes (locks.services.backup_pool)."""
    return backup_pool.tend_pools(timezone.now())
