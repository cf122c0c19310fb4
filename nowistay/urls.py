from django.contrib import admin
from django.urls import include, path

from locks import admin_health
from nowistay import views

urlpatterns = [
    path("", views.home, name="home"),
    # Sign-in (throttled, with the second factor), sign-out and password reset; the admin signs in here too.
    path("accounts/", include("accounts.auth_urls")),
    path("accounts/", include("accounts.urls")),
    path("settings/security/", include("accounts.security_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("locks/", include("locks.urls")),
    path("integrations/", include("locks.dashboard.urls")),
    path("", include("bookings.urls")),
    path("bookings/", include("bookings.booking_urls")),
    path("api/v1/", include("bookings.api.urls")),
    path("messages/", include("messaging.urls")),
    path("settings/api-tokens/", include("bookings.api.token_urls")),
    path("admin/health/", admin.site.admin_view(admin_health.health), name="admin_health"),
    path("admin/", admin.site.urls),
]
