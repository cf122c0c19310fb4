from django.contrib import admin
from django.urls import include, path

from locks import admin_health
from nowistay import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("language/", views.choose_language, name="choose_language"),
    # Sign-in (throttled, with the second factor), sign-out and password reset; the admin signs in here too.
    path("accounts/", include("accounts.auth_urls")),
    path("accounts/", include("accounts.urls")),
    path("settings/security/", include("accounts.security_urls")),
    # Answered by nowistay.health.HealthProbeMiddleware before host validation; routed here too.
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    path("locks/", include("locks.urls")),
    path("integrations/", include("locks.dashboard.urls")),
    path("", include("bookings.urls")),
    path("bookings/", include("bookings.booking_urls")),
    path("api/v1/", include("bookings.api.urls")),
    path("messages/", include("messaging.urls")),
    path("settings/api-tokens/", include("bookings.api.token_urls")),
    path("settings/webhooks/", include("events.urls")),
    path("admin/health/", admin.site.admin_view(admin_health.health), name="admin_health"),
    path("admin/", admin.site.urls),
]
