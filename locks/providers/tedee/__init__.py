"""Tedee: keypad PINs on Tedee locks through the Tedee cloud API, signed in with OAuth 2 + PKCE.

Every request carries `Authorization: Bearer <access token>`; answers are wrapped in
`{"result", "success", "errorMessages", "statusCode"}` and the HTTP status means what it says
(unlike TTLock). A PIN is managed through the lock's bridge and keypad, synchronously: the cloud
talks to the device while we wait, so a busy or disconnected lock answers 409 or 428.

The package: `provider` (the adapter), `client` (OAuth sign-in, tokens, the account's name),
`locks` (eligibility), `codes` (dates and the PIN body), `errors` (statuses), `sign_in` (how a host
signs in and what a refused sign-in tells them), `pins` (Tedee's PIN rule), `read_back` (every PIN on
a lock, its PIN openings, its battery; facts and what is UNVERIFIED in its docstring).

Sources
-------
TD   https://github.com/tedee-com/tedee-api-doc, paths under `tedee-api-doc/docs/source/`
     (published at https://tedee-tedee-api-doc.readthedocs-hosted.com/en/latest/); "@commit" names
     the version that was read.
PTA  https://pypi.org/project/pytedee-async/ (0.2.20)

Verified facts
--------------
- URLs: API `{TEDEE_API_URL}/api/{TEDEE_API_VERSION}/my/...`; sign-in through Azure AD B2C at
  `{TEDEE_AUTH_URL}/B2C_1A_Signup_Signin_With_Kmsi/oauth2/v2.0/authorize` and `.../token`
  [TD howtos/authenticate.rst, PKCE version (idx:28028617); conf.py; the same
  two URLs in a production Homey client, idx:307370461].
- Authorize: response_type=code, client_id, redirect_uri, scope, state, code_challenge,
  code_challenge_method; "When using s256 remember to use 43 long code_verifier" [TD authenticate].
  We send `S256`, the RFC 7636 §4.3 spelling (the parameter is case-sensitive; Tedee's "s256" is
  prose) and a verifier of exactly 43 characters (RFC range 43-128, Tedee's note).
- Token: form-encoded POST; code grant = grant_type, client_id, client_secret, code,
  code_verifier, redirect_uri [TD authenticate PKCE version]; the older code-flow version of the
  same page also lists `scope` [TD authenticate @01b03fb5], so we send it too (the refresh grant
  requires it anyway). Refresh = grant_type=refresh_token,
  client_id, client_secret, scope, refresh_token, redirect_uri [TD authenticate, both versions].
- Scopes: `https://tedee.onmicrosoft.com/api/user_impersonation` is required; `offline_access`
  yields the refresh token; PIN endpoints need `.../Device.ReadWrite`, which the lock and PIN
  list endpoints also accept; the activity log needs `.../DeviceActivity.Read` [TD authenticate
  "Scopes"; endpoints/lockpin/*.rst; endpoints/lock/get-all.rst @b92c36f7; endpoints/deviceactivity/
  get-all.rst @73d0883]. Connections made before DeviceActivity.Read was asked for lack it until
  the host reconnects (`read_back`).
- Lifetimes: access token "valid for 4 hours", refresh token "valid for 14 days", yet the sample
  answer says `"expires_in": "3600"` (a string) and `"refresh_token_expires_in": 1209600`
  [TD authenticate]. We trust `expires_in` at run time and parse it from a string or a number.
- Claims: `email`, `name`, `oid`, `exp` [TD authenticate "JWT token details"].
- Locks: `GET my/lock?IncludeAccessories=true`; each lock has `id` (number), `name`,
  `isConnected` ("is lock connected to bridge"), `connectedToId` ("id of bridge that lock is
  connected to"), `accessLevel` (0 Guest, 1 Admin, 2 Owner, 3 None), `timeZone`, `accessories`
  [{id, deviceType}] [TD datastructures/lock.rst @b92c36f7, lock-accessory.rst @2283e8e5,
  enums/access-level.rst @350d1a9d, endpoints/lock/get-all.rst @b92c36f7]. Keypads are
  deviceType 3 (Keypad) and 10 (Keypad PRO) [TD enums/device-type.rst @1609cbf3].
  "If you have a lock paired with a keypad and your lock is also paired with a bridge, you can
  manage pins using API" [TD howtos/manage-lock-pin-list.rst @5338760a].
- PINs: `POST my/lock/{id}/pin` {alias, pin (string), startDate, endDate, dayStartTime,
  dayEndTime, weekDays} -> 201 {"result": {"id": n}}; `GET my/lock/{id}/pin` -> {"listVersion",
  "pins": [{id, alias}]}; `GET my/lock/{id}/pin/{pinId}` -> details with pin and dates;
  `PUT .../pin/{pinId}` full body -> 204, "Before making any changes you should read the pin
  details"; `DELETE .../pin/{pinId}` -> 204 [TD endpoints/lockpin/create.rst @5338760a,
  get-all.rst and get-single.rst @10fc270a, update.rst and delete.rst @5338760a,
  howtos/manage-lock-pin-list.rst @5338760a]. Examples send `Content-Type:
  application/json-patch+json` and `accept: application/json`; dates as
  `2021-10-01T00:00:00.000Z`.
- Statuses: 403 no permission to the lock, 404 pin not found, 406 pin already exists, 408 timeout
  while sending data to the device, 409 other request is processing, 412 adding more pins is not
  available [create.rst @5338760a, @f44782ad], 422 for the same in another stored version
  [create.rst @1e93a8a5], 428 lock is disconnected or device setup is incorrect [delete.rst,
  newest stored version, idx:54558953977]; 429 with Retry-After after 700 requests per hour
  [TD api-rate-limiting.rst]. PIN rules: 5-8 digits, >= 3 distinct, not an
  ascending or descending sequence [create.rst] (`pins.tedee_rule`).
- "Pins created with an endDate are automatically removed from the system once they expire"
  [delete.rst, newest, idx:54558953977]: a later DELETE may meet 404, which is success.

Decisions on what the sources leave open
----------------------------------------
- 400 on a PIN write -> CodeRejected (choose another PIN); 406 -> PinTaken: after a write whose
  answer was lost (408, timeout) it may be our own PIN that landed, so the lifecycle looks for it
  again before choosing another; 412 and 422 -> CodeStorageFull.
- Listing delay (`Capabilities.listing_delay`): PIN writes go to the device while we wait, so a
  landed write is listed once the device took it; two minutes covers a bridge that answered after
  our timeout (no figure is documented).
- 403 -> LockNotFound: the account lost its rights on the lock (that error's documented meaning);
  retrying cannot mend it, the host must re-share or re-assign.
- 404 on a PIN id is ambiguous (pin gone, or lock gone): we ask `GET my/lock/{id}` once; a lock
  that answers is still there, so the PIN is gone (delete: success; update: CodeNotFound).
- 408 on a write -> OutcomeUnknown (the device may have taken it; the next attempt looks first);
  408 on a read and 428 -> LockOffline; 409 -> VendorUnavailable (busy); 5xx -> VendorUnavailable.
- `my/lock` is read without `Page`/`ItemsPerPage`, like every documented example (a default page
  size is not documented; UNVERIFIED).
- `dayStartTime`, `dayEndTime`, `weekDays` are always null from us: a stay is one continuous
  window, which sidesteps the open question of whether day times are UTC or lock-local.
"""

from locks.providers.tedee.client import (
    SCOPES,
    account_name,
    api_url,
    authorize_endpoint,
    authorize_url,
    credentials_from_token_answer,
    exchange_code,
    jwt_claims,
    refresh_tokens,
    token_endpoint,
)
from locks.providers.tedee.codes import format_date, parse_date, pin_body
from locks.providers.tedee.errors import STATUS_ERRORS
from locks.providers.tedee.locks import unavailable_reasons
from locks.providers.tedee.provider import TedeeProvider

__all__ = [
    "SCOPES",
    "STATUS_ERRORS",
    "TedeeProvider",
    "account_name",
    "api_url",
    "authorize_endpoint",
    "authorize_url",
    "credentials_from_token_answer",
    "exchange_code",
    "format_date",
    "jwt_claims",
    "parse_date",
    "pin_body",
    "refresh_tokens",
    "token_endpoint",
    "unavailable_reasons",
]
