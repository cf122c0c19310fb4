from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from locks import admin_health
from nowistay import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
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
