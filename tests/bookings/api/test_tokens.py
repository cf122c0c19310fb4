"""API tokens: the services (hashed storage, shown once, revoke), the host's settings pages (login,
scoping, CSRF, the token shown once) and the demo token command."""

import hashlib
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from bookings.api.models import ApiToken
from bookings.api.services import api_token_authenticate, api_token_create, api_token_revoke, api_token_set_fixed
from bookings.management.commands.seed_api_token import DEMO_TOKEN

pytestmark = pytest.mark.django_db

LIST_URL = "/settings/api-tokens/"
CREATE_URL = "/settings/api-tokens/new/"


def revoke_url(token: ApiToken) -> str:
    return f"/settings/api-tokens/{token.pk}/revoke/"


# --- services ------------------------------------------------------------------------------------------


class TestServices:
    def test_create_returns_the_plain_token_once_and_stores_only_its_hash(self, host):
        token, plain = api_token_create(host=host, name="  Hostaway  ", read_pins=True)
        assert plain.startswith("nwk_") and len(plain) >= 4 + 43
        assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert token.prefix == plain[:12]  # "nwk_" and 8 random characters
        assert (token.name, token.read_pins, token.scopes) == ("Hostaway", True, ["read_pins"])
        stored = ApiToken.objects.filter(pk=token.pk).values().get()
        assert plain not in {str(value) for value in stored.values()}

    def test_tokens_are_unique(self, host, settings):
        settings.API_MAX_TOKENS_PER_HOST = 20  # the cap (tests/bookings/api/test_limits.py) is not what this is about
        plains = {api_token_create(host=host, name=f"T{n}")[1] for n in range(20)}
        assert len(plains) == 20

    def test_authenticate_finds_an_active_token_by_its_hash(self, host):
        token, plain = api_token_create(host=host, name="PMS")
        assert api_token_authenticate(plain) == token
        assert api_token_authenticate(plain[:-1]) is None
        assert api_token_authenticate(token.token_hash) is None
        assert api_token_authenticate("") is None
        assert api_token_authenticate("nwk_" + "x" * 500) is None

    def test_revoke_is_immediate_and_idempotent(self, host):
        token, plain = api_token_create(host=host, name="PMS")
        api_token_revoke(token=token)
        revoked_at = token.revoked_at
        assert revoked_at is not None
        assert api_token_authenticate(plain) is None
        api_token_revoke(token=token)
        token.refresh_from_db()
        assert token.revoked_at == revoked_at

    def test_blank_name_is_refused(self, host):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError) as error:
            api_token_create(host=host, name="   ")
        assert "name" in error.value.message_dict
        assert not ApiToken.objects.exists()

    def test_fixed_token_replaces_the_previous_one(self, host):
        api_token_set_fixed(host=host, name="Demo", plain="nwk_demo_1", read_pins=False)
        again = api_token_set_fixed(host=host, name="Demo", plain="nwk_demo_1", read_pins=True)
        assert list(ApiToken.objects.all()) == [again]
        assert api_token_authenticate("nwk_demo_1") == again


# --- pages ---------------------------------------------------------------------------------------------


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


@pytest.mark.urls("tests.api_urls")
class TestPages:
    def test_login_required(self, client, host):
        token, _ = api_token_create(host=host, name="PMS")
        for url in (LIST_URL, CREATE_URL, revoke_url(token)):
            response = client.get(url)
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        assert client.post(revoke_url(token)).status_code == 302
        token.refresh_from_db()
        assert token.revoked_at is None

    def test_list_shows_the_hosts_tokens_without_their_values(self, logged_in, host, other_host):
        mine, my_plain = api_token_create(host=host, name="Hostaway", read_pins=True)
        revoked, _ = api_token_create(host=host, name="Old PMS")
        api_token_revoke(token=revoked)
        api_token_create(host=other_host, name="Someone else's")
        html = logged_in.get(LIST_URL).content.decode()
        assert "Hostaway" in html and "Old PMS" in html and "Someone else" not in html
        assert mine.prefix in html and my_plain not in html and mine.token_hash not in html
        assert "guests' PINs" in html and "(no PINs)" not in html.split("Hostaway")[1].split("</tr>")[0]
        assert "Revoked" in html and "never" in html
        assert html.count("Revoke</a>") == 1  # only the active token can be revoked

    def test_create_shows_the_token_once(self, logged_in, host):
        assert logged_in.get(CREATE_URL).status_code == 200
        response = logged_in.post(CREATE_URL, {"name": "Hostaway", "read_pins": "on"})
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        token = ApiToken.objects.get(host=host)
        plain = response.context["plain_token"]
        assert api_token_authenticate(plain) == token
        assert plain in response.content.decode() and "shown only once" in response.content.decode()
        assert token.read_pins is True
        assert plain not in logged_in.get(LIST_URL).content.decode()

    def test_create_without_pins_by_default(self, logged_in, host):
        logged_in.post(CREATE_URL, {"name": "Channel manager"})
        assert ApiToken.objects.get(host=host).read_pins is False

    def test_invalid_name_is_shown_on_the_form(self, logged_in):
        response = logged_in.post(CREATE_URL, {"name": ""})
        assert response.status_code == 400
        assert "This field is required." in response.content.decode()
        assert not ApiToken.objects.exists()

    def test_revoke_asks_then_revokes(self, logged_in, host):
        token, plain = api_token_create(host=host, name="PMS")
        confirm = logged_in.get(revoke_url(token))
        assert confirm.status_code == 200 and "Revoke the token" in confirm.content.decode()
        token.refresh_from_db()
        assert token.revoked_at is None
        response = logged_in.post(revoke_url(token), follow=True)
        assert response.redirect_chain[-1][0] == LIST_URL
        assert "Revoked the token" in response.content.decode()
        assert api_token_authenticate(plain) is None

    def test_another_hosts_token_is_404(self, logged_in, other_host):
        theirs, plain = api_token_create(host=other_host, name="Theirs")
        assert logged_in.get(revoke_url(theirs)).status_code == 404
        assert logged_in.post(revoke_url(theirs)).status_code == 404
        assert api_token_authenticate(plain) == theirs

    def test_forms_are_csrf_protected(self, host):
        client = Client(enforce_csrf_checks=True)
        client.force_login(host)
        token, _ = api_token_create(host=host, name="PMS")
        assert client.post(CREATE_URL, {"name": "Forged"}).status_code == 403
        assert client.post(revoke_url(token)).status_code == 403
        token.refresh_from_db()
        assert token.revoked_at is None and ApiToken.objects.count() == 1
        page = client.get(CREATE_URL).content.decode()
        assert "csrfmiddlewaretoken" in page

    def test_token_made_on_the_page_opens_the_api(self, logged_in, make_property):
        make_property()
        plain = logged_in.post(CREATE_URL, {"name": "PMS"}).context["plain_token"]
        response = Client().get("/api/v1/properties/", headers={"authorization": f"Bearer {plain}"})
        assert response.status_code == 200 and response.json()["count"] == 1


def test_bad_rate_limit_setting_fails_the_system_check(settings):
    from django.core.management import call_command as run

    settings.API_RATE_LIMIT = "lots"
    with pytest.raises(Exception, match="API_RATE_LIMIT must look like 120/minute"):
        run("check", stdout=StringIO(), stderr=StringIO())


# --- the demo token ------------------------------------------------------------------------------------


class TestSeedApiToken:
    @pytest.fixture
    def demo_host(self, db):
        return get_user_model().objects.create_user(username="demo-host", password="demo-host-password")

    def test_prints_the_docs_url_and_a_working_token(self, demo_host, settings, client):
        settings.SANDBOX_URL = "http://127.0.0.1:8100"
        out = StringIO()
        call_command("seed_api_token", stdout=out)
        call_command("seed_api_token", stdout=out)  # re-running replaces it
        assert out.getvalue().splitlines()[-1] == f"API docs: http://127.0.0.1:8000/api/v1/docs/  token: {DEMO_TOKEN}"
        (token,) = ApiToken.objects.all()
        assert (token.host, token.name, token.read_pins) == (demo_host, "Demo", True)
        assert token.token_hash == hashlib.sha256(DEMO_TOKEN.encode()).hexdigest()
        assert client.get("/api/v1/properties/", headers={"authorization": f"Bearer {DEMO_TOKEN}"}).status_code == 200

    def test_refuses_outside_the_demo(self, demo_host, settings):
        settings.DEBUG, settings.SANDBOX_URL = False, ""
        with pytest.raises(CommandError, match="outside demo mode"):
            call_command("seed_api_token", stdout=StringIO())
        # No way around it (there was a --force): a token published in the source never opens a real installation.
        with pytest.raises(CommandError, match="outside demo mode"):
            call_command("seed_api_token", "--force", stdout=StringIO())
        assert not ApiToken.objects.exists()

    def test_needs_the_demo_host(self, db, settings):
        settings.SANDBOX_URL = "http://127.0.0.1:8100"
        with pytest.raises(CommandError, match="seed_demo"):
            call_command("seed_api_token", stdout=StringIO())
