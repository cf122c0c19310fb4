"""`make run` stays a one-command demo: the demo staff account comes with a known authenticator, and
the console says how to get its codes, in demo mode only."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from accounts import demo as accounts_demo
from bookings import demo
from nowistay import demo as nowistay_demo

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
START = datetime(2026, 6, 1, 10, 0, 5, tzinfo=UTC)


@pytest.fixture
def demo_mode(settings):
    settings.SANDBOX_URL = "http://127.0.0.1:8100"


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_demo_staff_signs_in_to_the_admin_with_the_printed_command(demo_mode):
    assert "manage.py demo_totp" in seed()
    seed()  # twice: still one authenticator, the demo's
    device = TOTPDevice.objects.get(user__username=demo.DEMO_STAFF_USERNAME)
    assert device.confirmed and device.key == accounts_demo.DEMO_TOTP_KEY
    client = Client()
    with freeze_time(START):
        out = StringIO()
        call_command("demo_totp", stdout=out)
        code = out.getvalue().split(": ")[1].split()[0]
        assert code == str(totp(device.bin_key)).zfill(6)
        credentials = {"username": demo.DEMO_STAFF_USERNAME, "password": demo.DEMO_STAFF_PASSWORD, "next": "/admin/"}
        response = client.post(reverse("login"), credentials)
        assert response["Location"] == reverse("sign_in_code")
        assert client.post(reverse("sign_in_code"), {"code": code})["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200


def test_the_banner_gives_the_otpauth_uri_in_demo_mode_only(settings, monkeypatch):
    monkeypatch.setattr(nowistay_demo, "not_up", lambda **urls: [])
    settings.DEBUG, settings.SANDBOX_URL = False, ""
    assert not any("otpauth://" in line or "demo_totp" in line for line in nowistay_demo.banner(web_url="http://x/", sandbox_url="http://y/"))
    settings.DEBUG = True
    lines = "\n".join(nowistay_demo.banner(web_url="http://x/", sandbox_url="http://y/"))
    assert "manage.py demo_totp" in lines
    assert accounts_demo.demo_otpauth_uri(demo.DEMO_STAFF_USERNAME) in lines
    assert "otpauth://totp/Nowistay%3Ademo-staff?secret=" in lines


def test_demo_totp_refuses_outside_demo_mode(settings):
    settings.DEBUG, settings.SANDBOX_URL = False, ""
    with pytest.raises(CommandError, match="demo mode"):
        call_command("demo_totp", stdout=StringIO())


def test_demo_totp_gives_nothing_for_another_staff_account(demo_mode, django_user_model):
    staff = django_user_model.objects.create_user(username="support", password="pass-123456", is_staff=True)
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("demo_totp", stdout=StringIO())


def test_demo_totp_works_from_another_terminal_on_the_demo_database(settings, tmp_path, monkeypatch):
    """`make run` exports SANDBOX_URL to its own processes only; the banner's command is typed elsewhere."""
    from locks import demo as locks_demo

    settings.VAR_DIR = tmp_path
    settings.SANDBOX_URL = "http://127.0.0.1:8100"
    seed()
    locks_demo.record_sandbox_settings()
    settings.DEBUG, settings.SANDBOX_URL = False, ""
    out = StringIO()
    call_command("demo_totp", stdout=out)
    assert "demo-staff's two-factor code: " in out.getvalue()
