"""The connect flows under /locks/connect/<provider>/, one shape for every provider. The names of the
first URLs (`ttlock_connect`, `tedee_callback`...) stay as aliases generated from the registry: the
OAuth callbacks are registered with the vendors under those paths."""

from django.urls import path

from locks.connect import views
from locks.providers import registry

app_name = "locks"


def _aliases(slug: str) -> list:
    return [
        path(f"connect/{slug}/", views.connect, {"provider": slug}, name=f"{slug}_connect"),
        path(f"connect/{slug}/oauth/", views.oauth_start, {"provider": slug}, name=f"{slug}_connect_oauth"),
        path(f"connect/{slug}/callback/", views.oauth_callback, {"provider": slug}, name=f"{slug}_callback"),
    ]


urlpatterns = [
    path("connect/<slug:provider>/", views.connect, name="connect"),
    path("connect/<slug:provider>/oauth/", views.oauth_start, name="oauth_start"),
    path("connect/<slug:provider>/callback/", views.oauth_callback, name="oauth_callback"),
    path("connect/<slug:provider>/<slug:method>/", views.credentials, name="credentials"),
    *(alias for slug in registry.PROVIDER_CLASSES for alias in _aliases(slug)),
]
