"""The host's API token pages. Mounted by nowistay/urls.py at settings/api-tokens/."""

from django.urls import path

from bookings.api import token_views

app_name = "api_tokens"

urlpatterns = [
    path("", token_views.token_list, name="list"),
    path("new/", token_views.token_create, name="create"),
    path("<int:token_id>/revoke/", token_views.token_revoke, name="revoke"),
]
