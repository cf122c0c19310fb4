"""A signed-in test client whose password confirmation (accounts.reauth) is recent, or absent."""

from django.utils import timezone

from accounts.reauth import SESSION_KEY


def sign_in(client, user, *, confirmed: bool):
    """Signed in; `confirmed`: the password was confirmed just now, else not at all."""
    client.force_login(user)
    session = client.session
    if confirmed:
        session[SESSION_KEY] = timezone.now().timestamp()
    else:
        session.pop(SESSION_KEY, None)
    session.save()
    return client
