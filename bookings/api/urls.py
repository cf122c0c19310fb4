"""The PMS booking API (/api/v1/): endpoints, /api/v1/schema/ (OpenAPI 3) and /api/v1/docs/."""

from django.urls import path

from bookings.api.api import api

urlpatterns = [path("", api.urls)]
