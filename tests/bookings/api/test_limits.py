"""The PMS API's limits (issue 16): the rate limit per host across all its tokens (minting tokens
buys no requests), failed bearer authentication throttled per client address without telling
which tokens exist, a bounded number of active tokens per host, when each token was last used
(written at most once a minute), and tokens that expire.

Every answer of the API is checked against the committed OpenAPI document (tests/bookings/api/test_api.py)."""

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from bookings.api import security
from bookings.api.models import ApiToken
from bookings.api.services import api_token_create, api_token_revoke
from tests.helpers.openapi import SNAPSHOT, conform

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
PMS = "198.51.100.10"
LIST_URL = "/settings/api-tokens/"
CREATE_URL = "/settings/api-tokens/new/"


@pytest.fixture(scope="module")
def document() -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(json.loads(SNAPSHOT.read_text()))


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()  # the limits count in the cache; ids and addresses repeat between tests
    yield
    cache.clear()


@pytest.fixture
def call(client, document):
    """GET /api/v1/properties/ with `token` from `address`; the answer, checked against the document."""

    def get(token: str | None, address: str = PMS, **extra):
        headers = {"authorization": f"Bearer {token}"} if token is not None else {}
        response = client.get("/api/v1/properties/", headers=headers, REMOTE_ADDR=address, **extra)
        conform(document, "GET", "/api/v1/properties/", response)
        return response

    return get


def unknown_token(n: int = 0) -> str:
    return f"nwk_{'guess' * 8}{n:04d}"


# --- the rate limit counts per host ---------------------------------------------------------------


class TestRateLimitPerHost:
    def test_more_tokens_do_not_buy_more_requests(self, call, host, settings):
        """The token-multiplication attack: five tokens of one host share one budget of five."""
        settings.API_RATE_LIMIT = "5/minute"
        tokens = [api_token_create(host=host, name=f"PMS {n}")[1] for n in range(5)]
        with freeze_time("2026-06-10 08:00:10"):
            statuses = [call(tokens[n % 5]).status_code for n in range(15)]
        assert statuses.count(200) == 5 and statuses[:5] == [200] * 5
        assert statuses[5:] == [429] * 10

    def test_a_new_token_minted_when_limited_is_limited_too(self, call, host, settings):
        settings.API_RATE_LIMIT = "2/minute"
        first = api_token_create(host=host, name="PMS")[1]
        with freeze_time("2026-06-10 08:00:15"):
            assert [call(first).status_code for _ in range(3)] == [200, 200, 429]
            fresh = api_token_create(host=host, name="Fresh")[1]
            limited = call(fresh)
            assert limited.status_code == 429 and limited["Retry-After"] == "45"
        with freeze_time("2026-06-10 08:01:00"):
            assert call(fresh).status_code == 200

    def test_hosts_do_not_share_a_budget(self, call, host, other_host, settings):
        settings.API_RATE_LIMIT = "1/minute"
        mine, theirs = api_token_create(host=host, name="Mine")[1], api_token_create(host=other_host, name="Theirs")[1]
        with freeze_time("2026-06-10 08:00:00"):
            assert [call(mine).status_code, call(mine).status_code] == [200, 429]
            assert call(theirs).status_code == 200


# --- failed authentication counts per client address ----------------------------------------------


class TestFailedAuthenticationPerAddress:
    @pytest.fixture(autouse=True)
    def three_failures(self, settings):
        settings.API_AUTH_FAILURE_LIMIT = "3/minute"

    def test_guessing_is_stopped_with_429_and_retry_after(self, call):
        with freeze_time("2026-06-10 08:00:20"):
            assert [call(unknown_token(n), ATTACKER).status_code for n in range(3)] == [401, 401, 401]
            stopped = call(unknown_token(3), ATTACKER)
            assert stopped.status_code == 429 and stopped["Retry-After"] == "40"
            assert stopped.json() == {"detail": "Too many requests: slow down and retry after the given seconds."}
        with freeze_time("2026-06-10 08:01:00"):
            assert call(unknown_token(4), ATTACKER).status_code == 401  # a new window

    def test_a_blocked_address_learns_nothing_even_with_a_correct_token(self, call, host, monkeypatch):
        """While blocked, no token is looked up: a hit would otherwise show among the guesses."""
        valid = api_token_create(host=host, name="PMS")[1]
        with freeze_time("2026-06-10 08:00:00"):
            for n in range(3):
                call(unknown_token(n), ATTACKER)
            lookups = []
            monkeypatch.setattr(security, "api_token_authenticate", lambda plain: lookups.append(plain))
            with_valid, with_unknown = call(valid, ATTACKER), call(unknown_token(9), ATTACKER)
        assert lookups == []
        assert with_valid.status_code == with_unknown.status_code == 429
        assert with_valid.content == with_unknown.content and with_valid["Retry-After"] == with_unknown["Retry-After"]

    def test_other_addresses_are_not_blocked(self, call, host):
        valid = api_token_create(host=host, name="PMS")[1]
        with freeze_time("2026-06-10 08:00:00"):
            for n in range(4):
                call(unknown_token(n), ATTACKER)
            assert call(valid, PMS).status_code == 200
            assert call(unknown_token(5), PMS).status_code == 401

    def test_revoked_expired_and_unknown_tokens_answer_alike_and_all_count(self, call, host):
        revoked = api_token_create(host=host, name="Old")
        api_token_revoke(token=revoked[0])
        expired = api_token_create(host=host, name="Expired", expires_at=timezone.now() + timedelta(days=1))
        with freeze_time(timezone.now() + timedelta(days=2)):
            answers = [call(revoked[1], ATTACKER), call(expired[1], ATTACKER), call(unknown_token(), ATTACKER)]
            assert {(a.status_code, a.content, a["WWW-Authenticate"]) for a in answers} == {
                (401, b'{"detail": "A valid API token is required (Authorization: Bearer <token>)."}', 'Bearer realm="api"')
            }
            assert call(unknown_token(1), ATTACKER).status_code == 429  # the three counted

    def test_successes_and_requests_without_a_token_do_not_count(self, call, host):
        valid = api_token_create(host=host, name="PMS")[1]
        with freeze_time("2026-06-10 08:00:00"):
            for _ in range(5):
                assert call(valid, PMS).status_code == 200
                assert call(None, PMS).status_code == 401
            assert call(valid, PMS).status_code == 200

    def test_behind_a_trusted_proxy_the_client_address_counts(self, call, host, settings):
        """Everyone arrives from the balancer's address: counting it would let one guesser lock every PMS out."""
        settings.TRUSTED_PROXY_COUNT = 1
        valid = api_token_create(host=host, name="PMS")[1]
        balancer = "10.0.0.2"
        with freeze_time("2026-06-10 08:00:00"):
            for n in range(4):
                call(unknown_token(n), balancer, HTTP_X_FORWARDED_FOR=ATTACKER)
            assert call(valid, balancer, HTTP_X_FORWARDED_FOR=PMS).status_code == 200
            assert call(valid, balancer, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
            # A forged header names an address of the client's choosing, but the balancer appends the real one.
            assert call(valid, balancer, HTTP_X_FORWARDED_FOR=f"{PMS}, {ATTACKER}").status_code == 429

    def test_an_ipv6_client_is_counted_by_its_64_block(self, call):
        with freeze_time("2026-06-10 08:00:00"):
            for n in range(3):
                assert call(unknown_token(n), f"2001:db8:1:2::{n + 1}").status_code == 401
            assert call(unknown_token(9), "2001:db8:1:2:ffff::9").status_code == 429
            assert call(unknown_token(9), "2001:db8:1:3::1").status_code == 401

    @pytest.mark.parametrize(
        "address, key",
        [("192.0.2.7", "192.0.2.7"), ("::ffff:192.0.2.7", "192.0.2.7"), ("2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64")],
    )
    def test_address_key(self, rf, address, key):
        assert security.address_key(rf.get("/", REMOTE_ADDR=address)) == key



def test_the_settings_default_and_are_checked_at_start_up(settings):
    from io import StringIO

    from django.core.management import call_command

    assert security.configured_auth_failure_limit() == (20, 600) and settings.API_MAX_TOKENS_PER_HOST == 10
    settings.API_AUTH_FAILURE_LIMIT = "often"
    with pytest.raises(Exception, match="API_AUTH_FAILURE_LIMIT must look like 120/minute"):
        call_command("check", stdout=StringIO(), stderr=StringIO())
    settings.API_AUTH_FAILURE_LIMIT, settings.API_MAX_TOKENS_PER_HOST = "20/10minutes", 0
    with pytest.raises(Exception, match="API_MAX_TOKENS_PER_HOST must be a whole number of at least 1"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


# --- a bounded number of active tokens per host ----------------------------------------------------


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


class TestTokenCap:
    @pytest.fixture(autouse=True)
    def three_tokens(self, settings):
        settings.API_MAX_TOKENS_PER_HOST = 3

    def test_one_more_than_the_cap_is_refused_with_a_clear_message(self, host):
        for n in range(3):
            api_token_create(host=host, name=f"PMS {n}")
        with pytest.raises(ValidationError) as refused:
            api_token_create(host=host, name="One too many")
        assert refused.value.messages == [
            "You already have 3 active API tokens, the most a host can hold. Revoke one you no longer use, then create "
            "the new one (revoked and expired tokens do not count)."
        ]
        assert ApiToken.objects.filter(host=host).count() == 3

    def test_revoked_and_expired_tokens_do_not_count_nor_other_hosts(self, host, other_host):
        revoked, _ = api_token_create(host=host, name="Revoked")
        api_token_revoke(token=revoked)
        api_token_create(host=host, name="Expiring", expires_at=timezone.now() + timedelta(days=1))
        api_token_create(host=host, name="Kept")
        for n in range(3):
            api_token_create(host=other_host, name=f"Theirs {n}")
        with freeze_time(timezone.now() + timedelta(days=2)):
            api_token_create(host=host, name="New 1")
            api_token_create(host=host, name="New 2")
            with pytest.raises(ValidationError):
                api_token_create(host=host, name="New 3")

    @pytest.mark.urls("tests.api_urls")
    def test_the_page_says_so_and_creates_nothing(self, logged_in, host):
        for n in range(3):
            api_token_create(host=host, name=f"PMS {n}")
        listing = logged_in.get(LIST_URL).content.decode()
        assert "3 of at most 3 active tokens." in listing and "revoke one you no longer use" in listing
        response = logged_in.post(CREATE_URL, {"name": "One too many", "expires_in": "90"})
        assert response.status_code == 400
        assert "You already have 3 active API tokens" in response.content.decode()
        assert ApiToken.objects.filter(host=host).count() == 3


# --- last used --------------------------------------------------------------------------------------


class TestLastUsed:
    def test_written_at_most_once_a_minute(self, call, host):
        token, plain = api_token_create(host=host, name="PMS")
        with freeze_time("2026-06-10 08:00:00"):
            assert call(plain).status_code == 200
        token.refresh_from_db()
        first = token.last_used_at
        assert first.isoformat() == "2026-06-10T08:00:00+00:00"
        with freeze_time("2026-06-10 08:00:59"), CaptureQueriesContext(connection) as queries:
            assert call(plain).status_code == 200
        assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"].lower()]
        token.refresh_from_db()
        assert token.last_used_at == first
        with freeze_time("2026-06-10 08:01:00"):
            call(plain)
        token.refresh_from_db()
        assert token.last_used_at.isoformat() == "2026-06-10T08:01:00+00:00"

    @pytest.mark.urls("tests.api_urls")
    def test_shown_on_the_tokens_page(self, call, logged_in, host):
        api_token_create(host=host, name="Used")
        _, plain = api_token_create(host=host, name="Unused")
        with freeze_time("2026-06-10 08:00:00"):
            call(plain)
        html = logged_in.get(LIST_URL).content.decode()
        unused_row = html.split("Unused")[1].split("</tr>")[0]
        used_row = html.split(">Used<")[1].split("</tr>")[0]
        assert "10 Jun 2026 08:00" in unused_row and "never" in used_row


# --- expiry -----------------------------------------------------------------------------------------


class TestExpiry:
    def test_an_expired_token_is_refused_from_its_expiry_on(self, call, host):
        token, plain = api_token_create(host=host, name="PMS", expires_at=timezone.now() + timedelta(days=30))
        with freeze_time(token.expires_at - timedelta(seconds=1)):
            assert call(plain).status_code == 200
        with freeze_time(token.expires_at):
            assert call(plain).status_code == 401

    def test_an_expiry_in_the_past_is_refused(self, host):
        with pytest.raises(ValidationError):
            api_token_create(host=host, name="PMS", expires_at=timezone.now() - timedelta(seconds=1))
        assert not ApiToken.objects.exists()

    @pytest.mark.urls("tests.api_urls")
    @pytest.mark.parametrize("choice, days", [("30", 30), ("90", 90), ("365", 365), ("never", None), (None, 90)])
    def test_the_form_offers_30_90_365_days_or_never_default_90(self, client, host, choice, days):
        data = {"name": "PMS"} | ({"expires_in": choice} if choice else {})
        with freeze_time("2026-06-10 08:00:00"):
            client.force_login(host)
            form = client.get(CREATE_URL).content.decode()
            response = client.post(CREATE_URL, data)
        assert '<option value="90" selected>In 90 days</option>' in form
        assert all(f'<option value="{value}"' in form for value in ("30", "365", "never"))
        assert response.status_code == 200
        token = ApiToken.objects.get(host=host)
        if days is None:
            assert token.expires_at is None and "it never expires" in response.content.decode()
        else:
            assert token.expires_at == datetime(2026, 6, 10, 8, tzinfo=UTC) + timedelta(days=days)

    @pytest.mark.urls("tests.api_urls")
    def test_the_list_says_expired(self, client, host):
        api_token_create(host=host, name="Short-lived", expires_at=timezone.now() + timedelta(days=1))
        api_token_create(host=host, name="Forever")
        with freeze_time(timezone.now() + timedelta(days=2)):
            client.force_login(host)
            html = client.get(LIST_URL).content.decode()
        short_row = html.split("Short-lived")[1].split("</tr>")[0]
        forever_row = html.split("Forever")[1].split("</tr>")[0]
        assert "Expired" in short_row and "Revoke</a>" not in short_row
        assert "Active" in forever_row and "never" in forever_row
        assert "1 of at most 10 active tokens." in html


# --- the cap under concurrency (PostgreSQL) --------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (row locks, connections in threads)")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_creations_cannot_pass_the_cap_together(host, settings, monkeypatch):
    """Each creation counts the host's tokens, then waits (up to 2 s) for the other to have counted
    too: without the host's row lock both would count 2 of 3 and both save."""
    import threading

    from bookings.api import services

    settings.API_MAX_TOKENS_PER_HOST = 3
    api_token_create(host=host, name="PMS 1")
    api_token_create(host=host, name="PMS 2")
    counted = threading.Barrier(2)
    real_refuse = services._refuse_over_the_cap

    def refuse_then_meet(host):
        real_refuse(host)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other is held by the lock: as it should be
            counted.wait(timeout=2)

    monkeypatch.setattr(services, "_refuse_over_the_cap", refuse_then_meet)
    outcomes: list[str] = []

    def create(name: str) -> None:
        try:
            api_token_create(host=host, name=name)
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(f"Racer {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["created", "refused"]
    assert ApiToken.objects.filter(host=host).count() == 3
