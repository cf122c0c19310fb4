"""The demo staff account's second factor (`make run` only): an authenticator with a fixed, published
secret, so the console can say how to get its codes. Never outside demo mode (nowistay.demo)."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

# 20 bytes, hex (django-otp's key format): public on purpose, like the demo passwords.
DEMO_TOTP_KEY = b"nowistay-demo-staff!".hex()
DEMO_DEVICE_NAME = "Demo authenticator"


@transaction.atomic
def enrol_demo_staff(staff) -> TOTPDevice:
    """Give the demo staff account the demo authenticator (replacing any other), idempotently."""
    TOTPDevice.objects.filter(user=staff).exclude(name=DEMO_DEVICE_NAME, key=DEMO_TOTP_KEY).delete()
    device, _ = TOTPDevice.objects.get_or_create(
        user=staff, name=DEMO_DEVICE_NAME, key=DEMO_TOTP_KEY, defaults={"confirmed": True}
    )
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return device


def demo_otpauth_uri(username: str) -> str:
    """The otpauth:// URI an authenticator app takes for the demo staff account."""
    return TOTPDevice(user=get_user_model()(username=username), key=DEMO_TOTP_KEY).config_url


def current_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code `device` accepts now (or at the Unix time `at`), as the authenticator app shows it."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if at is not None:
        totp.time = at
    return str(totp.token()).zfill(device.digits)


def seconds_left(device: TOTPDevice, *, now: float) -> int:
    return int(device.step - ((now - device.t0) % device.step))
