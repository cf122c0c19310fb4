"""The host's booking pages, mounted at /bookings/. `bookings/codes/` and `bookings/<id>/retry/`
live in bookings.urls; every path here is distinct from those."""

from django.urls import path

from bookings import booking_export, booking_pages

app_name = "booking_pages"

urlpatterns = [
    path("", booking_pages.booking_list, name="list"),
    path("export.csv", booking_export.bookings_export, name="export"),
    path("new/", booking_pages.booking_new, name="new"),
    path("<int:booking_id>/", booking_pages.booking_edit, name="edit"),
    path("<int:booking_id>/confirm/", booking_pages.booking_action, {"action": "confirm"}, name="confirm"),
    path("<int:booking_id>/pending/", booking_pages.booking_action, {"action": "pending"}, name="pending"),
    path("<int:booking_id>/cancel/", booking_pages.booking_action, {"action": "cancel"}, name="cancel"),
    path("<int:booking_id>/end-access/", booking_pages.booking_action, {"action": "end-access"}, name="end_access"),
    path("<int:booking_id>/restore-access/", booking_pages.booking_action, {"action": "restore-access"}, name="restore_access"),
    path("<int:booking_id>/rotate-code/", booking_pages.booking_action, {"action": "rotate-code"}, name="rotate_code"),
]
