"""Guest message channels' providers (messaging.channels): Twilio Programmable Messaging for SMS and
the WhatsApp Cloud API, read from the environment like nowistay.settings. None is required: a
channel without its credentials is "not set up on this server" and its rows are skipped (or, when
no channel of a door-code message reaches the guest, the host is told).

Under `make run` (DEBUG and SANDBOX_URL) both point at the sandbox's emulators with its demo
credentials (sandbox/messages.py); a value given in the environment wins.
"""

import os

import environ

env = environ.Env()

__all__ = [  # what nowistay.settings imports
    "TWILIO_API_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID",
    "WHATSAPP_API_URL", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_TEMPLATE_NAME",
    "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "CHANNEL_HTTP_TIMEOUT_SECONDS",
]

_DEBUG = env.bool("DEBUG", default=False)
_SANDBOX_URL = env.str("SANDBOX_URL", default="").rstrip("/")

# --- SMS: Twilio Programmable Messaging (POST /2010-04-01/Accounts/{sid}/Messages.json) --------
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")  # also signs Twilio's status callbacks
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")  # E.164; or a Messaging Service below
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")

# --- WhatsApp Cloud API (POST {WHATSAPP_API_URL}/{phone number id}/messages) ---------------------
WHATSAPP_API_URL = env.str("WHATSAPP_API_URL", default="https://graph.facebook.com/v21.0")
WHATSAPP_ACCESS_TOKEN = env.str("WHATSAPP_ACCESS_TOKEN", default="")
WHATSAPP_PHONE_NUMBER_ID = env.str("WHATSAPP_PHONE_NUMBER_ID", default="")
# An approved UTILITY template whose body is "{{1}}" (the whole rendered message), in each language used.
WHATSAPP_TEMPLATE_NAME = env.str("WHATSAPP_TEMPLATE_NAME", default="")
WHATSAPP_APP_SECRET = env.str("WHATSAPP_APP_SECRET", default="")  # signs status webhooks (X-Hub-Signature-256)
WHATSAPP_VERIFY_TOKEN = env.str("WHATSAPP_VERIFY_TOKEN", default="")  # the webhook subscription handshake

CHANNEL_HTTP_TIMEOUT_SECONDS = env.float("CHANNEL_HTTP_TIMEOUT_SECONDS", default=10.0)

if _DEBUG and _SANDBOX_URL:
    from sandbox.demo_sign_ins import channel_settings as _sandbox_channel_settings

    globals().update({name: value for name, value in _sandbox_channel_settings(_SANDBOX_URL).items() if name not in os.environ})
