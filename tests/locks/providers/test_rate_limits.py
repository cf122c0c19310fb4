"""The vendor rate limiter (locks/providers/rate_limits.py) at the HTTP seam: a request over a limit
is held back before it leaves, with the seconds until the window frees; limits per account and per
app; reads keep to their share; Redis down lets requests through."""

import logging
import pickle
import socket

import pytest
import responses
from freezegun import freeze_time

from locks.providers import rate_limits
from locks.providers.base import AccountSession
from locks.providers.exceptions import RateLimited, RateLimitedLocally
from locks.providers.fake import VENDOR_CLASSES
from locks.providers.http import VendorHttp, requests_attempted

URL = "https://ttlock.test/v3/lock/list"


@pytest.fixture
def vendor(rate_limited):
    """A TTLock seam answering every request, with a count of what reached it."""
    rate_limited("ttlock", app="5/minute", account="2/minute")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add(responses.GET, URL, json={"list": []})
        yield mocked


def send(account_id=None, priority=rate_limits.WRITE):
    http = VendorHttp("TTLock")
    if account_id is None:
        return http.request("GET", URL)
    with rate_limits.calls_for(vendor="ttlock", account_id=account_id, priority=priority):
        return http.request("GET", URL)


def test_a_request_over_the_limit_is_held_back_before_it_leaves_with_the_wait_until_the_window_frees(vendor):
    with freeze_time("2026-06-01 12:00:00") as clock:
        send(account_id=1)
        clock.tick(20)
        send(account_id=1)
        clock.tick(10)
        attempted = requests_attempted()
        with pytest.raises(RateLimitedLocally) as held:
            send(account_id=1)
    assert len(vendor.calls) == 2  # the third never left
    assert requests_attempted() == attempted  # nor counted as attempted: the audit records it as LOCAL
    assert held.value.retry_after == pytest.approx(30, abs=0.05)  # the first request leaves the minute at 12:01:00
    assert isinstance(held.value, RateLimited) and held.value.kind == "rate_limited_locally"
    assert "this account" in held.value.message


def test_the_window_frees_as_its_oldest_request_ages_out(vendor):
    with freeze_time("2026-06-01 12:00:00") as clock:
        send(account_id=1)
        send(account_id=1)
        clock.tick(59)
        with pytest.raises(RateLimitedLocally):
            send(account_id=1)
        clock.tick(1.5)
        send(account_id=1)
    assert len(vendor.calls) == 3


def test_each_account_has_its_own_limit_and_the_app_limit_counts_them_all(vendor):
    with freeze_time("2026-06-01 12:00:00"):
        send(account_id=1)
        send(account_id=1)
        with pytest.raises(RateLimitedLocally):
            send(account_id=1)
        send(account_id=2)  # another account is not held back by the first one's limit
        send(account_id=2)
        send()  # a request for no account (a sign-in) counts against the app only
        with pytest.raises(RateLimitedLocally) as held:
            send(account_id=3)  # the app's 5 a minute are spent, whatever the account
    assert len(vendor.calls) == 5
    assert "Nowistay reached" in held.value.message


def test_reads_keep_to_their_share_of_the_window_and_writes_still_pass(rate_limited, settings):
    rate_limited("ttlock", account="5/minute")
    settings.LOCKS_RATE_LIMIT_READ_SHARE = 0.8  # 4 of 5
    with responses.RequestsMock() as mocked, freeze_time("2026-06-01 12:00:00"):
        mocked.add(responses.GET, URL, json={"list": []})
        for _ in range(4):
            send(account_id=1, priority=rate_limits.READ)
        with pytest.raises(RateLimitedLocally) as held:
            send(account_id=1, priority=rate_limits.READ)
        send(account_id=1)  # a write finds the room reads leave
        with pytest.raises(RateLimitedLocally):
            send(account_id=1)
        assert len(mocked.calls) == 5
    assert "left to reads" in held.value.message and held.value.retry_after == pytest.approx(60, abs=0.05)


def test_several_limits_of_one_kind_are_each_honoured(rate_limited):
    rate_limited("ttlock", account="2/second;3/minute")
    with responses.RequestsMock() as mocked, freeze_time("2026-06-01 12:00:00") as clock:
        mocked.add(responses.GET, URL, json={"list": []})
        send(account_id=1)
        send(account_id=1)
        with pytest.raises(RateLimitedLocally):
            send(account_id=1)  # 2 a second
        clock.tick(1.5)
        send(account_id=1)
        clock.tick(1.5)
        with pytest.raises(RateLimitedLocally) as held:
            send(account_id=1)  # 3 a minute
        assert len(mocked.calls) == 3
    assert held.value.retry_after == pytest.approx(57, abs=0.05)


def test_a_vendor_without_limits_and_the_switch_off_send_everything(rate_limited, settings):
    rate_limited("tedee", account="1/hour")
    with responses.RequestsMock() as mocked, freeze_time("2026-06-01 12:00:00"):
        mocked.add(responses.GET, URL, json={"list": []})
        for _ in range(3):
            send(account_id=1)  # TTLock: no limit configured here
        rate_limited("ttlock", account="1/hour")
        settings.LOCKS_RATE_LIMITS_ENABLED = False
        for _ in range(3):
            send(account_id=1)
        assert len(mocked.calls) == 6


def test_the_account_is_counted_only_for_its_own_vendor(rate_limited):
    rate_limited("ttlock", account="1/minute")
    with responses.RequestsMock() as mocked, freeze_time("2026-06-01 12:00:00"):
        mocked.add(responses.GET, URL, json={"list": []})
        http = VendorHttp("TTLock")
        with rate_limits.calls_for(vendor="tedee", account_id=1):
            http.request("GET", URL)  # a TTLock request inside a Tedee account's call: app limit only
            http.request("GET", URL)
        assert len(mocked.calls) == 2


def test_a_limiter_whose_redis_is_unreachable_lets_requests_through_and_warns(rate_limited, settings, caplog):
    rate_limited("ttlock", app="1/minute", account="1/minute")
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    with responses.RequestsMock() as mocked, caplog.at_level(logging.WARNING, logger="locks.providers.rate_limits"):
        mocked.add(responses.GET, URL, json={"list": []})
        for _ in range(3):
            send(account_id=1)
        assert len(mocked.calls) == 3
    assert "rate limiter is unavailable" in caplog.text
    assert caplog.text.count("rate limiter is unavailable") == 1  # then left alone for a few seconds


def test_after_redis_failed_it_is_asked_again_only_after_a_pause(rate_limited, settings, monkeypatch):
    rate_limited("ttlock", app="1/minute")
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    asked = []
    real = rate_limits._limiter
    monkeypatch.setattr(rate_limits, "_limiter", lambda: asked.append(1) or real())
    with responses.RequestsMock() as mocked, freeze_time("2026-06-01 12:00:00") as clock:
        mocked.add(responses.GET, URL, json={"list": []})
        send()
        send()
        assert len(asked) == 1
        clock.tick(rate_limits.UNAVAILABLE_PAUSE_SECONDS + 0.1)
        send()
        assert len(asked) == 2


def test_without_redis_the_counts_are_kept_in_the_process(rate_limited, settings):
    from limits.storage import MemoryStorage

    settings.REDIS_URL = ""
    assert isinstance(rate_limits._limiter().storage, MemoryStorage)


def test_a_held_back_request_pickles_with_its_wait():
    error = RateLimitedLocally("Held back.", retry_after=1.5)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RateLimitedLocally and copy.retry_after == 1.5 and copy.message == "Held back."


def test_the_configured_defaults_parse_and_tedee_stays_under_its_700_an_hour(settings):
    configured = settings.LOCKS_VENDOR_RATE_LIMITS
    assert set(configured) == {"ttlock", "tedee", "nuki", "igloohome", "homeit"}
    for kinds in configured.values():
        for value in kinds.values():
            rate_limits._parsed(value)  # raises on a malformed limit
    hourly = [item for item in rate_limits._parsed(configured["tedee"]["account"]) if item.GRANULARITY.name == "hour"]
    assert hourly and hourly[0].amount < 700


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_vendors_limits_and_the_switch_come_from_the_environment():
    from tests.helpers.settings_probe import settings_values

    env = {"LOCKS_RATE_LIMIT_TEDEE_ACCOUNT": "100/hour", "LOCKS_RATE_LIMIT_NUKI_APP": "", "LOCKS_RATE_LIMITS_ENABLED": "false"}
    values = settings_values(["LOCKS_VENDOR_RATE_LIMITS", "LOCKS_RATE_LIMITS_ENABLED"], env)
    assert values["LOCKS_VENDOR_RATE_LIMITS"]["tedee"]["account"] == "100/hour"
    assert values["LOCKS_VENDOR_RATE_LIMITS"]["nuki"]["app"] == ""  # no app limit for Nuki
    assert values["LOCKS_VENDOR_RATE_LIMITS"]["ttlock"]["app"] == "20/second"  # the default kept
    assert values["LOCKS_RATE_LIMITS_ENABLED"] is False


@pytest.mark.parametrize("slug", sorted(VENDOR_CLASSES))
def test_every_adapters_http_seam_is_counted_under_its_own_configured_vendor(slug, settings):
    """A vendor added to the registry needs its limits in settings (LOCKS_VENDOR_RATE_LIMITS)."""
    provider = VENDOR_CLASSES[slug](AccountSession(account_id=1, credentials={}))
    assert provider.http.vendor.lower() == slug  # the name the seam counts under is the account's provider
    assert slug in settings.LOCKS_VENDOR_RATE_LIMITS
