"""Lock-outs after failed sign-ins: when one starts, how long it lasts, and staff lifting it.

django-axes counts the failures (accounts.throttle). When an account or an address reaches its
limit, a SignInLockout is written here with the moment it ends: SIGN_IN_LOCKOUT_SECONDS for a first
lock-out, doubled for each earlier lock-out of the same account or address within
SIGN_IN_LOCKOUT_MEMORY_SECONDS (lifted ones are forgotten), at most SIGN_IN_LOCKOUT_MAX_SECONDS.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Q, QuerySet

from accounts.events import record_security_event
from accounts.models import SecurityEventKind, SignInLockout

# 2**32 times any base is past every cap: stop doubling there (no giant integers).
DOUBLINGS_BEYOND_ANY_CAP = 32


def lockout_duration(*, earlier: int, base: timedelta, longest: timedelta) -> timedelta:
    """A first lock-out lasts `base`; each earlier one remembered doubles it, up to `longest`."""
    if earlier >= DOUBLINGS_BEYOND_ANY_CAP:
        return longest
    return min(base * 2**earlier, longest)


def _matching(*, username: str | None, ip_address: str | None) -> Q | None:
    keys = Q()
    if username:
        keys |= Q(username=username)
    if ip_address:
        keys |= Q(ip_address=ip_address)
    return keys or None


def earlier_lockouts(*, username: str | None, ip_address: str | None, now: datetime) -> int:
    """How many lock-outs of this account, or of this address, are remembered (the larger count)."""
    remembered = SignInLockout.objects.filter(
        locked_at__gt=now - timedelta(seconds=settings.SIGN_IN_LOCKOUT_MEMORY_SECONDS), lifted_at__isnull=True
    )
    counts = []
    if username:
        counts.append(remembered.filter(username=username).count())
    if ip_address:
        counts.append(remembered.filter(ip_address=ip_address).count())
    return max(counts, default=0)


def lockout_start(*, username: str | None, ip_address: str | None, now: datetime) -> SignInLockout:
    """Lock out the account `username` and/or the address `ip_address` (whichever reached its limit)."""
    earlier = earlier_lockouts(username=username, ip_address=ip_address, now=now)
    duration = lockout_duration(
        earlier=earlier,
        base=timedelta(seconds=settings.SIGN_IN_LOCKOUT_SECONDS),
        longest=timedelta(seconds=settings.SIGN_IN_LOCKOUT_MAX_SECONDS),
    )
    return SignInLockout.objects.create(username=username or "", ip_address=ip_address, locked_at=now, ends_at=now + duration)


def active_lockouts(*, username: str | None, ip_address: str | None, now: datetime) -> QuerySet:
    keys = _matching(username=username, ip_address=ip_address)
    if keys is None:
        return SignInLockout.objects.none()
    return SignInLockout.objects.filter(keys, ends_at__gt=now, lifted_at__isnull=True)


def lockout_end(*, username: str | None, ip_address: str | None, now: datetime) -> datetime | None:
    """When every lock-out covering this account or address is over (None: none is)."""
    return active_lockouts(username=username, ip_address=ip_address, now=now).aggregate(end=Max("ends_at"))["end"]


def user_named(username: str | None):
    if not username:
        return None
    users = get_user_model()
    return users._default_manager.filter(**{users.USERNAME_FIELD: username}).first()


def lockout_lift(*, username: str | None, ip_address: str | None, by, reason: str, now: datetime) -> int:
    """Lift the lock-out of an account and/or an address (staff, or a password reset for the account):
    the failures counted so far and the lock-outs remembered for growth are forgotten. `reason` ends
    the log's sentence ("by Nowistay staff"). Returns how many lock-outs were still running."""
    from axes.handlers.proxy import AxesProxyHandler  # axes' models load with the apps

    keys = _matching(username=username, ip_address=ip_address)
    if keys is None:
        return 0
    remembered = SignInLockout.objects.filter(
        keys, lifted_at__isnull=True, locked_at__gt=now - timedelta(seconds=settings.SIGN_IN_LOCKOUT_MEMORY_SECONDS)
    )
    running = remembered.filter(ends_at__gt=now).count()
    remembered.update(lifted_at=now, lifted_by=by)
    if username:
        AxesProxyHandler.reset_attempts(username=username)
    if ip_address:
        AxesProxyHandler.reset_attempts(ip_address=ip_address)
    what = " and ".join(filter(None, [username and "this account", ip_address and f"the address {ip_address}"]))
    record_security_event(
        kind=SecurityEventKind.LOCK_OUT_LIFTED, user=user_named(username), username=username or "",
        detail=f"Lock-out of {what} lifted {reason}.",
    )
    return running
