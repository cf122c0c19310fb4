import base64
import hashlib

import pytest
from freezegun import freeze_time

from locks.connect import oauth


def test_pkce_challenge_is_unpadded_base64url_sha256():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
    assert oauth.pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert "=" not in oauth.pkce_challenge("x" * 64)
    assert oauth.pkce_challenge("abc") == base64.urlsafe_b64encode(hashlib.sha256(b"abc").digest()).rstrip(b"=").decode()


def test_a_state_is_accepted_once():
    session = {}
    pending = oauth.begin(session, "nuki")
    assert oauth.complete(session, "nuki", pending.state).code_verifier == pending.code_verifier
    with pytest.raises(oauth.OAuthStateError, match="not one we started"):
        oauth.complete(session, "nuki", pending.state)


@pytest.mark.parametrize("returned", [None, "", "forged-state"])
def test_a_missing_or_forged_state_is_refused_and_forgotten(returned):
    session = {}
    pending = oauth.begin(session, "tedee")
    with pytest.raises(oauth.OAuthStateError, match="did not match"):
        oauth.complete(session, "tedee", returned)
    with pytest.raises(oauth.OAuthStateError):
        oauth.complete(session, "tedee", pending.state)  # the failed attempt used it up


def test_a_state_for_another_provider_or_session_is_refused():
    mine, theirs = {}, {}
    pending = oauth.begin(theirs, "tedee")
    with pytest.raises(oauth.OAuthStateError, match="not one we started"):
        oauth.complete(mine, "tedee", pending.state)
    with pytest.raises(oauth.OAuthStateError, match="not one we started"):
        oauth.complete(theirs, "nuki", pending.state)


def test_a_state_expires():
    session = {}
    with freeze_time("2026-06-01 10:00:00") as frozen:
        pending = oauth.begin(session, "nuki")
        frozen.move_to("2026-06-01 10:10:01")
        with pytest.raises(oauth.OAuthStateError, match="expired"):
            oauth.complete(session, "nuki", pending.state)


def test_states_are_unguessable_and_distinct():
    states = {oauth.begin({}, "nuki").state for _ in range(50)}
    assert len(states) == 50 and all(len(state) >= 40 for state in states)
