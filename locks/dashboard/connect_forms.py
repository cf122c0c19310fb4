"""Which connect form (or OAuth button) each provider's panel shows, and where it posts."""

from django.conf import settings
from django.urls import reverse

from locks.models import Provider


def blank_connect_form(provider: str):
    from locks.connect.igloohome import IgloohomeConnectForm
    from locks.connect.nuki import NukiApiTokenForm
    from locks.connect.ttlock import TTLockConnectForm

    forms = {Provider.TTLOCK: TTLockConnectForm, Provider.NUKI: NukiApiTokenForm, Provider.IGLOOHOME: IgloohomeConnectForm}
    form_class = forms.get(provider)
    return form_class() if form_class else None


def connect_action(provider: str) -> str:
    """Where the connect form posts (Tedee has no form: its button starts the OAuth sign-in)."""
    names = {Provider.TTLOCK: "locks:ttlock_connect", Provider.NUKI: "locks:nuki_connect", Provider.IGLOOHOME: "locks:igloohome_connect"}
    return reverse(names[provider]) if provider in names else ""


def oauth_start_url(provider: str) -> str:
    if provider == Provider.TEDEE:
        return reverse("locks:tedee_connect")
    if provider == Provider.NUKI and settings.NUKI_CLIENT_ID and settings.NUKI_CLIENT_SECRET:
        return reverse("locks:nuki_connect_oauth")
    return ""
