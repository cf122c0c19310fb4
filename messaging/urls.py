from django.urls import path

from messaging import status_webhooks, views

app_name = "messaging"

urlpatterns = [
    path("", views.template_list, name="templates"),
    path("new/", views.template_create, name="template_create"),
    path("<int:template_id>/", views.template_edit, name="template_edit"),
    path("<int:template_id>/delete/", views.template_delete, name="template_delete"),
    path("preview/", views.preview, name="preview"),
    path("bookings/<int:booking_id>/", views.booking_log, name="booking_log"),
    # The SMS and WhatsApp providers' status callbacks (signed; no session, no CSRF token).
    path("status/twilio/", status_webhooks.twilio_status, name="status_twilio"),
    path("status/whatsapp/", status_webhooks.whatsapp_status, name="status_whatsapp"),
]
