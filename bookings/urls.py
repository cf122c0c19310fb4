from django.urls import path

from bookings import views

app_name = "bookings"

urlpatterns = [
    path("properties/", views.properties, name="properties"),
    path("properties/<int:property_id>/settings/", views.property_settings, name="property_settings"),
    path("bookings/codes/", views.codes, name="codes"),
    path("bookings/codes/export.csv", views.codes_export, name="codes_export"),
    path("bookings/<int:booking_id>/retry/", views.retry_code, name="retry_code"),
]
