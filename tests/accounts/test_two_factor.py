"""Two-factor authentication (accounts.two_factor, accounts.sign_in on django-otp): enrolment from
the Security page, signing in in two steps, recovery codes, confirming with a code, the admin for
verified staff only, and a password reset that never skips the second factor."""

import re
from base64 import b32decode
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from accounts.models import SecurityEvent, SecurityEventKind

pytestmark = pytest.mark.django_db
START = datetime(2026, 6, 1, 10, 0, 5, tzinfo=UTC)  # 5 s into a 30 s step
PASSWORD = "host-password-123"


def code_of(device: TOTPDevice, *, steps_later: int = 0) -> str:
    """What the authenticator app shows now (or `steps_later` steps on), from the device's own key."""
    device.refresh_from_db()
    return str(totp(device.bin_key, device.step, device.t0 - steps_later * device.step, device.digits, device.drift)).zfill(device.digits)


def sign_in_password(client: Client, username: str = "host", password: str = PASSWORD, next_url: str = ""):
    data = {"username": username, "password": password, **({"next": next_url} if next_url else {})}
    return client.post(reverse("login"), data)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def enrol(client: Client, user) -> list[str]:
    """Turn two-factor authentication on through the Security page; the recovery codes shown."""
    client.get(reverse("security:two_factor_setup"))
    device = TOTPDevice.objects.get(user=user)
    response = client.post(reverse("security:two_factor_setup"), {"code": code_of(device)})
    assert response.status_code == 200, response.content.decode()
    return re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", response.content.decode())


@pytest.fixture
def host_with_2fa(host):
    """`host` with an authenticator and recovery codes, enrolled at START."""
    client = Client()
    with freeze_time(START):
        sign_in_password(client)
        codes = enrol(client, host)
    host.recovery_codes = codes
    return host


class TestEnrolment:
    def test_the_page_shows_a_qr_code_the_secret_and_its_uri_then_ten_codes_once(self, host):
        client = Client()
        with freeze_time(START):
            sign_in_password(client)
            page = client.get(reverse("security:two_factor_setup")).content.decode()
            device = TOTPDevice.objects.get(user=host, confirmed=False)
            secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page)[1]
            assert b32decode(secret.replace(" ", "")) == device.bin_key
            assert "<svg" in page and "QR code of your two-factor secret" in page
            assert f"otpauth://totp/Nowistay%3Ahost?secret={secret.replace(' ', '')}" in page.replace("&amp;", "&")

            wrong = client.post(reverse("security:two_factor_setup"), {"code": "000000" if code_of(device) != "000000" else "111111"})
            assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
        with freeze_time(START + timedelta(seconds=2)):  # after django-otp's 1 s wait for a wrong code
            shown = client.post(reverse("security:two_factor_setup"), {"code": code_of(device)})
        codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", shown.content.decode())
        assert len(set(codes)) == 10 and "shown only once" in shown.content.decode()
        device.refresh_from_db()
        assert device.confirmed and StaticToken.objects.filter(device__user=host).count() == 10
        kinds = set(host.security_events.values_list("kind", flat=True))
        assert {SecurityEventKind.TWO_FACTOR_ENABLED, SecurityEventKind.RECOVERY_CODES_CREATED} <= kinds
        with freeze_time(START + timedelta(seconds=3)):
            again = client.get(reverse("security:two_factor_setup"))
            assert again.status_code == 302 and not any(code in client.get(reverse("security:index")).content.decode() for code in codes)
            assert client.get("/admin/").status_code == 302  # a host is no staff, verified or not

    def test_turning_it_on_needs_a_recent_sign_in(self, host):
        client = Client()
        with freeze_time(START):
            sign_in_password(client)
        with freeze_time(START + timedelta(minutes=11)):
            response = client.get(reverse("security:two_factor_setup"))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/confirm/")


class TestSigningIn:
    def test_the_password_alone_signs_in_nobody_then_the_code_does(self, host_with_2fa):
        client = Client()
        with freeze_time(START + timedelta(minutes=1)):
            response = sign_in_password(client, next_url="/bookings/")
            assert response.status_code == 302 and response["Location"] == reverse("sign_in_code")
            assert not signed_in(client)
            assert client.get("/").status_code == 302
            page = client.get(reverse("sign_in_code"))
            assert "Two-factor code" in page.content.decode()
            device = TOTPDevice.objects.get(user=host_with_2fa)
            done = client.post(reverse("sign_in_code"), {"code": code_of(device)})
            assert done.status_code == 302 and done["Location"] == "/bookings/"
            assert signed_in(client) and client.get("/").status_code == 200
        signed = host_with_2fa.security_events.filter(kind=SecurityEventKind.SIGNED_IN).latest("id")
        assert signed.detail == "with the authenticator app"

    def test_the_step_expires_after_a_few_minutes(self, host_with_2fa, settings):
        client = Client()
        with freeze_time(START + timedelta(minutes=1)) as clock:
            sign_in_password(client)
            clock.tick(timedelta(seconds=settings.SIGN_IN_CODE_TIMEOUT_SECONDS + 1))
            response = client.post(reverse("sign_in_code"), {"code": code_of(TOTPDevice.objects.get(user=host_with_2fa))})
            assert response.status_code == 302 and response["Location"] == reverse("login")
            assert not signed_in(client)
            assert "expires after a few minutes" in client.get(reverse("login")).content.decode()

    def test_a_code_is_taken_once(self, host_with_2fa):
        device = TOTPDevice.objects.get(user=host_with_2fa)
        with freeze_time(START + timedelta(minutes=1)):
            first, second = Client(), Client()
            sign_in_password(first)
            sign_in_password(second)
            code = code_of(device)
            assert first.post(reverse("sign_in_code"), {"code": code}).status_code == 302
            refused = second.post(reverse("sign_in_code"), {"code": code})
            assert refused.status_code == 400 and not signed_in(second)

    def test_wrong_codes_are_throttled_logged_and_end_in_a_lock_out(self, host_with_2fa):
        client = Client()
        device = TOTPDevice.objects.get(user=host_with_2fa)
        with freeze_time(START + timedelta(minutes=1)) as clock:
            sign_in_password(client)
            right = code_of(device)
            wrong = str((int(right) + 1) % 1_000_000).zfill(6)
            assert client.post(reverse("sign_in_code"), {"code": wrong}).status_code == 400
            # django-otp waits 1 s after a wrong code, 2 s after two…: even the right code is not checked
            throttled = client.post(reverse("sign_in_code"), {"code": right})
            assert "Too many wrong codes: try again after 10:01:06 UTC" in throttled.content.decode() and not signed_in(client)
            for seconds in (2, 4, 8):
                clock.tick(timedelta(seconds=seconds + 1))
                client.post(reverse("sign_in_code"), {"code": wrong})
            clock.tick(timedelta(seconds=17))
            locked = client.post(reverse("sign_in_code"), {"code": wrong})
            assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
            clock.tick(timedelta(seconds=40))
            assert client.post(reverse("sign_in_code"), {"code": code_of(device)}).status_code == 429
            assert not signed_in(client)
        assert host_with_2fa.security_events.filter(kind=SecurityEventKind.TWO_FACTOR_FAILED).count() == 5
        assert host_with_2fa.security_events.filter(kind=SecurityEventKind.LOCKED_OUT).count() == 1


class TestRecoveryCodes:
    def test_each_works_once(self, host_with_2fa):
        code = host_with_2fa.recovery_codes[0]
        with freeze_time(START + timedelta(minutes=1)):
            client = Client()
            sign_in_password(client)
            assert client.post(reverse("sign_in_code"), {"code": code.upper().replace("-", " ")}).status_code == 302
            assert signed_in(client)
            client.post(reverse("logout"))
            sign_in_password(client)
        with freeze_time(START + timedelta(minutes=2)):
            assert client.post(reverse("sign_in_code"), {"code": code}).status_code == 400 and not signed_in(client)
        used = host_with_2fa.security_events.get(kind=SecurityEventKind.RECOVERY_CODE_USED)
        assert used.detail == "9 recovery codes left." and code not in used.detail

    def test_new_codes_need_a_recent_confirmation_and_replace_the_old_ones(self, host_with_2fa):
        old = host_with_2fa.recovery_codes
        client = Client()
        device = TOTPDevice.objects.get(user=host_with_2fa)
        with freeze_time(START + timedelta(minutes=1)):
            sign_in_password(client)
            client.post(reverse("sign_in_code"), {"code": code_of(device)})
        with freeze_time(START + timedelta(minutes=30)):
            asked = client.post(reverse("security:recovery_codes_new"))
            assert asked.status_code == 302 and asked["Location"].startswith("/accounts/confirm/")
            client.post(reverse("accounts:confirm"), {"code": code_of(device), "next": reverse("security:recovery_codes_new")})
            response = client.post(reverse("security:recovery_codes_new"))
        new = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", response.content.decode())
        assert len(new) == 10 and not set(new) & set(old)
        with freeze_time(START + timedelta(minutes=31)) as clock:
            other = Client()
            sign_in_password(other)
            assert other.post(reverse("sign_in_code"), {"code": old[1]}).status_code == 400
            clock.tick(timedelta(seconds=2))  # django-otp's wait after a wrong code
            assert other.post(reverse("sign_in_code"), {"code": new[1]}).status_code == 302


class TestConfirmingWithACode:
    def test_a_current_code_confirms_instead_of_the_password(self, host_with_2fa):
        client = Client()
        device = TOTPDevice.objects.get(user=host_with_2fa)
        with freeze_time(START + timedelta(minutes=1)):
            sign_in_password(client)
            client.post(reverse("sign_in_code"), {"code": code_of(device)})
        with freeze_time(START + timedelta(minutes=30)):
            off = reverse("security:two_factor_off")
            assert client.get(off)["Location"] == f"/accounts/confirm/?next={off.replace('/', '%2F')}"
            page = client.get(f"/accounts/confirm/?next={off}").content.decode()
            assert "Or with your authenticator app" in page
            wrong = client.post(reverse("accounts:confirm"), {"code": "12345x", "next": off})
            assert wrong.status_code == 400
        with freeze_time(START + timedelta(minutes=30, seconds=5)):
            confirmed = client.post(reverse("accounts:confirm"), {"code": code_of(device), "next": off})
            assert confirmed.status_code == 302 and confirmed["Location"] == off
            assert client.post(off).status_code == 302
        assert not TOTPDevice.objects.filter(user=host_with_2fa).exists() and not StaticToken.objects.exists()
        kinds = list(host_with_2fa.security_events.order_by("id").values_list("kind", "detail"))
        assert (SecurityEventKind.REAUTHENTICATION_FAILED, "Wrong authenticator code.") in kinds
        assert (SecurityEventKind.REAUTHENTICATED, "with the authenticator app") in kinds
        assert kinds[-1][0] == SecurityEventKind.TWO_FACTOR_DISABLED
        with freeze_time(START + timedelta(minutes=31)):
            assert sign_in_password(Client()).status_code == 302  # the password alone again
            assert sign_in_password(Client())["Location"] == "/"

    def test_a_recovery_code_does_not_confirm(self, host_with_2fa):
        client = Client()
        with freeze_time(START + timedelta(minutes=1)):
            sign_in_password(client)
            client.post(reverse("sign_in_code"), {"code": host_with_2fa.recovery_codes[0]})
            response = client.post(reverse("accounts:confirm"), {"code": host_with_2fa.recovery_codes[1], "next": "/"})
        assert response.status_code == 400
        assert StaticToken.objects.filter(device__user=host_with_2fa).count() == 9


class TestTheAdmin:
    @pytest.fixture
    def staff(self, db):
        return get_user_model().objects.create_user(username="support", password="support-pass-1", is_staff=True, is_superuser=True)

    def test_staff_without_two_factor_are_sent_to_turn_it_on(self, staff):
        client = Client()
        with freeze_time(START):
            sign_in_password(client, "support", "support-pass-1", next_url="/admin/")
            assert signed_in(client)
            first = client.get("/admin/")
            assert first["Location"] == "/admin/login/?next=/admin/"
            second = client.get(first["Location"])
            assert second["Location"] == "/settings/security/two-factor/?next=%2Fadmin%2F"
            assert client.get("/admin/bookings/booking/").status_code == 302
            codes = enrol_with_next(client, staff, "/admin/")
            assert len(codes) == 10
            assert client.get("/admin/").status_code == 200

    def test_a_session_without_its_second_factor_is_asked_for_the_code(self, staff):
        device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
        client = Client()
        with freeze_time(START):
            # signed in before two-factor authentication was turned on elsewhere (force_login verifies: undo it)
            client.force_login(staff)
            session = client.session
            del session["otp_device_id"]
            session.save()
            assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
            assert client.get("/admin/login/?next=/admin/")["Location"] == "/accounts/login/code/?next=%2Fadmin%2F"
            assert client.post("/accounts/login/code/?next=%2Fadmin%2F", {"code": code_of(device)})["Location"] == "/admin/"
            assert client.get("/admin/").status_code == 200

    def test_a_host_is_refused(self, host):
        client = Client()
        sign_in_password(client)
        assert client.get("/admin/login/?next=/admin/").status_code == 403

    def test_anonymous_visitors_sign_in_on_the_host_sign_in_page(self, client):
        assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
        assert client.get("/admin/login/?next=/admin/")["Location"] == "/accounts/login/?next=/admin/"
        assert client.get("/admin/login/?next=https://evil.example/")["Location"] == "/accounts/login/?next=/admin/"


def enrol_with_next(client: Client, user, next_url: str) -> list[str]:
    setup = f"{reverse('security:two_factor_setup')}?next={next_url}"
    client.get(setup)
    device = TOTPDevice.objects.get(user=user)
    response = client.post(setup, {"code": code_of(device)})
    assert f'href="{next_url}"' in response.content.decode()
    return re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", response.content.decode())


class TestPasswordReset:
    def test_the_request_form_answers_the_same_for_any_address(self, host):
        known = Client().post(reverse("password_reset"), {"email": "host@example.com"})
        unknown = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
        assert known.status_code == unknown.status_code == 302
        assert known["Location"] == unknown["Location"] == "/accounts/password-reset/sent/"
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["host@example.com"]
        requested = SecurityEvent.objects.filter(kind=SecurityEventKind.PASSWORD_RESET_REQUESTED)
        assert requested.filter(user=host).count() == 1 and requested.filter(user=None).count() == 1
        assert not any("nobody@example.com" in text for text in requested.values_list("detail", flat=True))

    def test_resets_cannot_flood_an_inbox(self, host, settings):
        from django.core.cache import cache

        cache.clear()
        settings.PASSWORD_RESET_REQUESTS_PER_HOUR = 3
        with freeze_time("2026-06-01 10:00:00") as frozen:
            answers = [Client().post(reverse("password_reset"), {"email": "host@example.com"}) for _ in range(10)]
            assert {answer["Location"] for answer in answers} == {"/accounts/password-reset/sent/"}  # the same page
            assert len(mail.outbox) == 3
            assert SecurityEvent.objects.filter(detail="Not sent: too many requests.").count() == 7
            frozen.tick(timedelta(hours=1, seconds=1))
            Client().post(reverse("password_reset"), {"email": "host@example.com"})
        assert len(mail.outbox) == 4
        cache.clear()

    def test_a_reset_ends_every_session_signs_nobody_in_and_keeps_the_second_factor(self, host_with_2fa):
        device = TOTPDevice.objects.get(user=host_with_2fa)
        with freeze_time(START + timedelta(minutes=1)):
            old_session = Client()
            sign_in_password(old_session)
            old_session.post(reverse("sign_in_code"), {"code": code_of(device)})
            assert old_session.get("/").status_code == 200
            client = Client()
            client.post(reverse("password_reset"), {"email": "host@example.com"})
            link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", mail.outbox[0].body)[1]
            form_page = client.get(link, follow=True)
            assert "Choose a new password" in form_page.content.decode()
            new_password = {"new_password1": "brand-new-pass-42", "new_password2": "brand-new-pass-42"}
            done = client.post(form_page.redirect_chain[-1][0], new_password)
            assert done["Location"] == reverse("password_reset_complete")
            assert not signed_in(client)
            assert old_session.get("/").status_code == 302
        with freeze_time(START + timedelta(minutes=2)):
            again = Client()
            assert sign_in_password(again, password="brand-new-pass-42")["Location"] == reverse("sign_in_code")
            assert not signed_in(again)
            assert again.post(reverse("sign_in_code"), {"code": code_of(device)}).status_code == 302
        assert host_with_2fa.security_events.filter(kind=SecurityEventKind.PASSWORD_RESET).count() == 1

    def test_a_reset_lifts_the_lock_out_of_the_account(self, host):
        with freeze_time(START):
            for index in range(5):
                Client().post(reverse("login"), {"username": "host", "password": f"guess-{index}"})
            client = Client()
            client.post(reverse("password_reset"), {"email": "host@example.com"})
            link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", mail.outbox[0].body)[1]
            form_page = client.get(link, follow=True)
            client.post(form_page.redirect_chain[-1][0], {"new_password1": "brand-new-pass-42", "new_password2": "brand-new-pass-42"})
            assert sign_in_password(Client(), password="brand-new-pass-42").status_code == 302
        lifted = host.security_events.get(kind=SecurityEventKind.LOCK_OUT_LIFTED)
        assert lifted.detail == "Lock-out of this account lifted after a password reset."

    def test_a_made_up_link_is_not_found(self, client):
        response = client.get("/accounts/password-reset/MQ/made-up-token/", follow=True)
        assert response.status_code == 404 and "This link no longer works" in response.content.decode()
