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

# The settings `make run` exports (Makefile, `run: export ...`) that point the vendors at the sandbox.
SANDBOX_SETTINGS = (
    "SANDBOX_URL",
    "TTLOCK_API_URL",
    "TTLOCK_CLIENT_ID",
    "TTLOCK_CLIENT_SECRET",
    "TEDEE_API_URL",
    "TEDEE_AUTH_URL",
    "TEDEE_CLIENT_ID",
    "TEDEE_CLIENT_SECRET",
    "NUKI_API_URL",
    "NUKI_CLIENT_ID",
    "NUKI_CLIENT_SECRET",
    "IGLOOHOME_API_URL",
    "IGLOOHOME_AUTH_URL",
    "VENDOR_HTTP_TIMEOUT_SECONDS",
)


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
    )
}
