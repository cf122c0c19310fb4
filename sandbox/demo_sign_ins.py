"""How the demo host signs in to each sandbox lock cloud, and which demo property gets its lock.

The product's demo (locks.demo) connects every vendor listed here through the ordinary connect
services, and the connect panels show the `hint` while the vendors point at the sandbox. A plain
module, not one per vendor module: those import the sandbox's models, which the product's process
does not install. sandbox/seed.py creates the same accounts on the virtual side.
"""

from dataclasses import dataclass

DEMO_LOGIN = "demo-host@nowistay.example"
TTLOCK_PASSWORD = "sandbox-ttlock"
TEDEE_PASSWORD = "sandbox-tedee"
NUKI_API_TOKEN = "sandbox-nuki-api-token"
IGLOOHOME_CLIENT = ("sandbox-igloohome-client", "sandbox-igloohome-secret")
# A capable lock whose gateway the sandbox keeps offline on purpose (sandbox/seed.py).
OFFLINE_LOCK_PROVIDER, OFFLINE_LOCK_NAME = "ttlock", "Studio (offline)"

HOMEIT_API_KEY = "sandbox-homeit-api-key"
SANDBOX_CLIENT = ("sandbox-client", "sandbox-secret")  # the OAuth client every sandbox cloud accepts
# The demo host's webhook endpoint points at the sandbox's receiver (sandbox/webhooks.py), which
# checks each delivery's signature with this secret (Standard Webhooks: "whsec_" + base64 key).
DEMO_WEBHOOK_SECRET = "whsec_c2FuZGJveC13ZWJob29rLXNpZ25pbmcta2V5LTAx"
WEBHOOK_RECEIVER_PATH = "/webhooks/"

# Where each vendor setting points when the vendors run on the sandbox (`make run`, the e2e tests):
# the sandbox mounts each virtual cloud under its own path (sandbox/urls.py).
SANDBOX_PATHS = {
    "TTLOCK_API_URL": "/ttlock",
    "TEDEE_API_URL": "/tedee",
    "TEDEE_AUTH_URL": "/tedee/auth",
    "NUKI_API_URL": "/nuki",
    "IGLOOHOME_API_URL": "/igloohome/api",
    "IGLOOHOME_AUTH_URL": "/igloohome/auth",
    "HOMEIT_API_URL": "/homeit/api/v2",
    "HOMEIT_AUTH_URL": "/homeit/auth/v2",
}
SANDBOX_CLIENT_SETTINGS = {
    f"{vendor}_{part}": value
    for vendor in ("TTLOCK", "TEDEE", "NUKI")
    for part, value in zip(("CLIENT_ID", "CLIENT_SECRET"), SANDBOX_CLIENT, strict=True)
}
SANDBOX_HTTP_TIMEOUT_SECONDS = 5.0
# The settings that point the vendors at the sandbox, recorded for `manage.py locks_tick` (locks.demo).
SANDBOX_SETTINGS = ("SANDBOX_URL", *SANDBOX_PATHS, *SANDBOX_CLIENT_SETTINGS, "VENDOR_HTTP_TIMEOUT_SECONDS")


def vendor_settings(sandbox_url: str) -> dict:
    """Every vendor setting pointed at the sandbox running at `sandbox_url`."""
    urls = {name: f"{sandbox_url.rstrip('/')}{path}" for name, path in SANDBOX_PATHS.items()}
    return {**urls, **SANDBOX_CLIENT_SETTINGS, "VENDOR_HTTP_TIMEOUT_SECONDS": SANDBOX_HTTP_TIMEOUT_SECONDS}


@dataclass(frozen=True)
class DemoSignIn:
    """`method`: the provider's sign-in method key; `values`: its form's values, or for an OAuth
    sign-in what the host types on the sandbox's sign-in page."""

    provider: str
    method: str
    values: dict[str, str]
    property_name: str  # the demo property (bookings.demo) that gets this account's lock
    hint: str  # what to type, shown on the connect panel against the sandbox


DEMO_SIGN_INS: dict[str, DemoSignIn] = {
    demo.provider: demo
    for demo in (
        DemoSignIn(
            "ttlock",
            "password",
            {"username": DEMO_LOGIN, "password": TTLOCK_PASSWORD},
            "Montmartre Loft",
            f"TTLock app username {DEMO_LOGIN}, password {TTLOCK_PASSWORD}.",
        ),
        DemoSignIn(
            "tedee",
            "oauth",
            {"email": DEMO_LOGIN, "password": TEDEE_PASSWORD},
            "Brooklyn Brownstone",
            f"on the sandbox's Tedee page, e-mail {DEMO_LOGIN}, password {TEDEE_PASSWORD}.",
        ),
        # The Nuki demo account's password field is its Nuki Web API token (sandbox/seed.py).
        DemoSignIn(
            "nuki",
            "api-token",
            {"token": NUKI_API_TOKEN},
            "Lord Howe Beach House",
            f"Nuki Web API token {NUKI_API_TOKEN} (or Sign in with Nuki: {DEMO_LOGIN} / {NUKI_API_TOKEN}).",
        ),
        # The igloohome demo account is an API client: its client id and secret.
        DemoSignIn(
            "igloohome",
            "api-client",
            {"client_id": IGLOOHOME_CLIENT[0], "client_secret": IGLOOHOME_CLIENT[1]},
            "Thamel Guesthouse",
            f"API client ID {IGLOOHOME_CLIENT[0]}, secret {IGLOOHOME_CLIENT[1]}.",
        ),
        # The homeit demo account signs in with its API key (sandbox/seed.py).
        DemoSignIn("homeit", "api-key", {"api_key": HOMEIT_API_KEY}, "Porto Riverside Flat", f"homeit API key {HOMEIT_API_KEY}."),
    )
}


# Guest message channels on the sandbox's emulators (sandbox/messages.py): Twilio-shaped SMS and the
# WhatsApp Cloud API, with demo credentials the emulators accept and sign their status callbacks with.
DEMO_TWILIO_ACCOUNT_SID = "AC" + "0" * 31 + "1"  # "AC" and 32 hex digits, like a real one
DEMO_TWILIO_AUTH_TOKEN = "sandbox-twilio-auth-token"
DEMO_TWILIO_FROM_NUMBER = "+15005550006"
DEMO_WHATSAPP_ACCESS_TOKEN = "sandbox-whatsapp-access-token"
DEMO_WHATSAPP_PHONE_NUMBER_ID = "100000000000001"
DEMO_WHATSAPP_TEMPLATE_NAME = "nowistay_guest_message"
DEMO_WHATSAPP_APP_SECRET = "sandbox-whatsapp-app-secret"
DEMO_WHATSAPP_VERIFY_TOKEN = "sandbox-whatsapp-verify-token"


def channel_settings(sandbox_url: str) -> dict:
    """The SMS and WhatsApp settings pointed at the sandbox's emulators running at `sandbox_url`."""
    base = sandbox_url.rstrip("/")
    return {
        "TWILIO_API_URL": f"{base}/twilio",
        "TWILIO_ACCOUNT_SID": DEMO_TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEMO_TWILIO_AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": DEMO_TWILIO_FROM_NUMBER,
        "WHATSAPP_API_URL": f"{base}/whatsapp/v21.0",
        "WHATSAPP_ACCESS_TOKEN": DEMO_WHATSAPP_ACCESS_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": DEMO_WHATSAPP_PHONE_NUMBER_ID,
        "WHATSAPP_TEMPLATE_NAME": DEMO_WHATSAPP_TEMPLATE_NAME,
        "WHATSAPP_APP_SECRET": DEMO_WHATSAPP_APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": DEMO_WHATSAPP_VERIFY_TOKEN,
    }
