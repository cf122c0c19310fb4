from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import F


class AccountBackend(ModelBackend):
    """Django's ModelBackend; loading the signed-in user also reads when their sessions were last
    ended (accounts.sessions), in the same query."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager
        user = users.annotate(sessions_cutoff=F("session_cutoff__cutoff")).filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
