"""Two-factor authentication with django-otp: one TOTP device (an authenticator app) per account and
one set of one-time recovery codes (a StaticDevice). django-otp checks the codes: it refuses a TOTP
code already used, deletes a recovery code once used, and throttles wrong codes per device (1, 2, 4…
seconds, OTP_*_THROTTLE_FACTOR)."""

import re
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime

import segno
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
TOTP_DIGITS = 6
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
# What a person may type around a code: spaces and dashes (recovery codes are shown as "abcd-efgh").
CODE_SEPARATORS = re.compile(r"[\s-]+")


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of checking a code: the device that took it, or why none did."""

    device: Device | None = None
    recovery_code: bool = False
    # django-otp refuses to check codes on this device until then (after wrong codes).
    throttled_until: datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.device is not None


def authenticator(user, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-id").first()


def has_two_factor(user) -> bool:
    """Whether signing in as `user` needs a second factor (a confirmed authenticator app)."""
    return user.is_authenticated and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def authenticator_to_enrol(user) -> TOTPDevice:
    """The unconfirmed authenticator being set up (the same one across page loads), or a new one."""
    return authenticator(user, confirmed=False) or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


@dataclass(frozen=True)
class EnrolmentDetails:
    secret: str  # base32, as authenticator apps take it when typed
    uri: str  # otpauth://totp/…, what the QR code holds
    qr_svg: str  # inline SVG, drawn here (no outside service sees the secret)


def enrolment_details(device: TOTPDevice) -> EnrolmentDetails:
    secret = b32encode(device.bin_key).decode()
    uri = device.config_url
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, title="QR code of your two-factor secret", border=2)
    return EnrolmentDetails(secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), uri=uri, qr_svg=qr_svg)


def normalised_code(typed: str) -> str:
    return CODE_SEPARATORS.sub("", typed or "").lower()


def check_code(user, typed: str, *, recovery_codes: bool = True, device: TOTPDevice | None = None) -> CodeCheck:
    """Check `typed` against `user`'s authenticator (six digits) or, if allowed, recovery codes.
    `device` checks an authenticator being set up instead of the confirmed one."""
    code = normalised_code(typed)
    if code.isdigit() and len(code) == TOTP_DIGITS:  # recovery codes are eight letters and digits
        target = device or authenticator(user)
    elif recovery_codes:
        target = StaticDevice.objects.filter(user=user, confirmed=True).first()
    else:
        target = None
    if target is None:
        return CodeCheck()
    with transaction.atomic():  # django-otp's throttling and single use need the row locked
        locked = type(target).objects.select_for_update().get(pk=target.pk)
        allowed, refusal = locked.verify_is_allowed()
        if not allowed:
            return CodeCheck(throttled_until=(refusal or {}).get("locked_until"))
        if locked.verify_token(code):
            return CodeCheck(device=locked, recovery_code=isinstance(locked, StaticDevice))
    return CodeCheck()


def recovery_codes_replace(user) -> list[str]:
    """New recovery codes for `user`, the old ones no longer valid; shown once (never stored elsewhere)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return [f"{code[:4]}-{code[4:]}" for code in codes]


@transaction.atomic
def authenticator_confirm(device: TOTPDevice) -> list[str]:
    """Make `device` the user's authenticator (dropping any other) and give them recovery codes."""
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_replace(device.user)


@transaction.atomic
def two_factor_remove(user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
