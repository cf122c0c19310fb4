"""Test URLconf: the project's URLs plus the API token pages, mounted where the lead mounts them
(nowistay/urls.py: path("settings/api-tokens/", include("bookings.api.token_urls")))."""

from django.urls import include, path

urlpatterns = [
    path("settings/api-tokens/", include("bookings.api.token_urls")),
    path("", include("nowistay.urls")),
]
