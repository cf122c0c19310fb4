"""A sign-in, however it happens, is a fresh confirmation of who someone is (accounts.reauth)."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.reauth import mark_recently_authenticated


@receiver(user_logged_in)
def signed_in_is_recently_confirmed(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_recently_authenticated(request)
