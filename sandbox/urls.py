from django.urls import include, path

from sandbox import messages, views, webhooks

urlpatterns = [
    path("", views.index, name="index"),
    path("doors/<int:lock_id>/", views.door, name="door"),
    path("accounts/<int:account_id>/faults/", views.account_faults, name="account_faults"),
    path("_control/<str:vendor>/locks/<str:vendor_lock_id>/", views.lock_state, name="lock_state"),
    path("_control/<str:vendor>/locks/<str:vendor_lock_id>/faults/", views.lock_faults, name="lock_faults"),
    path("_control/<str:vendor>/locks/<str:vendor_lock_id>/drift/", views.lock_drift, name="lock_drift"),
    path("_control/<str:vendor>/locks/<str:vendor_lock_id>/keypad/", views.lock_keypad, name="lock_keypad"),
    path("_control/<str:vendor>/tokens/expire/", views.expire_tokens, name="expire_tokens"),
    path("_control/tally/", views.fault_tally, name="fault_tally"),
    path("webhooks/", webhooks.receiver, name="webhooks"),
    path("_control/webhooks/", webhooks.switch, name="webhooks_switch"),
    # SMS (Twilio-shaped) and WhatsApp (Cloud-API-shaped) emulators, and what they recorded.
    path("twilio/2010-04-01/Accounts/<str:account_sid>/Messages.json", messages.twilio_messages, name="twilio_messages"),
    path("whatsapp/<str:version>/<str:phone_number_id>/messages", messages.whatsapp_messages, name="whatsapp_messages"),
    path("_control/whatsapp/webhook/", messages.whatsapp_webhook, name="whatsapp_webhook"),
    path("messages/", messages.recorded, name="messages"),
    path("_control/messages/", messages.recorded_json, name="messages_json"),
]

# Each virtual cloud answers under its own prefix; the vendor URL settings point there.
urlpatterns += [path(f"{vendor}/", include(f"sandbox.vendors.{vendor}")) for vendor in ("ttlock", "tedee", "nuki", "igloohome", "homeit")]
# TTLock's offline codes live in a module of their own (sandbox/vendors/ttlock.py is long enough).
urlpatterns += [path("ttlock/", include("sandbox.vendors.ttlock_offline"))]
