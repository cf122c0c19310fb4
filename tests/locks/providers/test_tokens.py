"""The one refresh after a refused token, and the one expiry every adapter reads (locks/providers/tokens.py)."""

from datetime import UTC, datetime, timedelta

from locks.providers.base import AccountSession
from locks.providers.tokens import expires_within, send_with_one_refresh

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def scripted(*answers):
    sent = []

    def send():
        sent.append(answers[len(sent)])
        return sent[-1]

    return send, sent


def test_an_accepted_request_is_sent_once_and_nothing_is_refreshed():
    send, sent = scripted(200)
    refreshes = []
    assert send_with_one_refresh(send, refused=lambda status: status == 401, refresh=lambda: refreshes.append(1)) == 200
    assert sent == [200] and refreshes == []


def test_a_refused_token_is_refreshed_once_and_the_request_sent_once_more():
    send, sent = scripted(401, 200)
    refreshes = []
    assert send_with_one_refresh(send, refused=lambda status: status == 401, refresh=lambda: refreshes.append(1)) == 200
    assert sent == [401, 200] and refreshes == [1]


def test_a_second_refusal_is_handed_back_without_a_second_refresh():
    send, sent = scripted(401, 401, 200)
    refreshes = []
    assert send_with_one_refresh(send, refused=lambda status: status == 401, refresh=lambda: refreshes.append(1)) == 401
    assert sent == [401, 401] and refreshes == [1]


def test_nothing_is_refreshed_when_the_credentials_cannot_be():
    send, sent = scripted(401, 200)
    refreshes = []
    answer = send_with_one_refresh(
        send, refused=lambda status: status == 401, refresh=lambda: refreshes.append(1), can_refresh=lambda: False
    )
    assert answer == 401 and sent == [401] and refreshes == []


def test_the_expiry_is_read_from_the_session_and_unknown_means_not_expiring():
    session = AccountSession(account_id=None, credentials={}, expires_at=NOW + timedelta(minutes=4))
    assert expires_within(session, timedelta(minutes=5), now=NOW)
    assert not expires_within(session, timedelta(minutes=3), now=NOW)
    assert not expires_within(AccountSession(account_id=None, credentials={"access_token": "t"}), timedelta(days=1), now=NOW)


def test_a_refresh_sets_the_sessions_expiry():
    saved = []
    session = AccountSession(
        account_id=None,
        credentials={"access_token": "old"},
        expires_at=NOW,
        save_credentials=lambda credentials, expires_at: saved.append((credentials, expires_at)),
    )
    later = NOW + timedelta(hours=4)
    session.refresh_credentials(lambda credentials: ({"access_token": "new"}, later))
    assert session.credentials == {"access_token": "new"} and session.expires_at == later
    assert saved == [({"access_token": "new"}, later)]


def test_a_serialised_refresh_sets_the_expiry_it_refreshed_to_or_the_one_it_adopted():
    later = NOW + timedelta(hours=4)
    refreshing = AccountSession(account_id=1, credentials={}, serialised_refresh=lambda held, refresh: refresh(held))
    refreshing.refresh_credentials(lambda credentials: ({"access_token": "new"}, later))
    assert refreshing.expires_at == later

    stored = ({"access_token": "another worker's"}, NOW + timedelta(hours=3))
    adopting = AccountSession(account_id=1, credentials={}, expires_at=NOW, serialised_refresh=lambda held, refresh: stored)
    adopting.refresh_credentials(lambda credentials: ({"access_token": "never asked"}, later))
    assert (adopting.credentials, adopting.expires_at) == stored
