"""Nuki: keypad codes on Nuki smart locks through the Nuki Web API (api.nuki.io).

Every request carries `Authorization: Bearer <token>`, where the token is either a Nuki Web API
token the host pasted (it never expires, but dies when the account's password changes) or an
OAuth 2 access token from the authorization-code flow (refreshed before it expires). A keypad code
is a smart-lock *authorization* of type 13. Nuki Web answers a write at once ("queued") and the
lock's bridge applies it seconds later, so every create, update and delete is read back.

The package: `provider` (the adapter), `client` (URLs, sign-in, tokens, the authorised request),
`locks` (keypad, server state, Smart Hosting, time zone), `codes` (dates), `errors` (statuses and
refusals), `sign_in` (how a host signs in and what a refused sign-in tells them), `pins` (Nuki's PIN rule),
`read_back` (every keypad code on a lock, its keypad openings, its battery; facts and what is
UNVERIFIED in its docstring).

Sources
-------
N-AUTH https://developer.nuki.io/t/web-api-authentication/52
N-OAUTH https://docs.nuki.io/guide/authorization/oauth2/
N-PIN  https://developer.nuki.io/t/web-api-example-manage-pin-codes-for-your-nuki-keypad/54
N-TZ   https://developer.nuki.io/t/keypad-authorization-are-allowedfromtime-alloweduntiltime-in-local-time-or-utc/39789
N-TYPE https://developer.nuki.io/t/what-are-the-values-for-type-allowedfromdate-being-ignored/22356
N-LTD  https://developer.nuki.io/t/limited-time-access-code/32726
N-ROOM https://developer.nuki.io/t/web-api-example-renting-a-classroom-rehearsel-space/56
N-ZERO https://developer.nuki.io/t/why-does-the-keypad-have-no-0/8892
N-SW   zod schemas generated from Nuki's Swagger definition (idx:59875396114)
N-GQL  https://app.unpkg.com/@dodi-smart/nuki-graphql-api@1.2.0/files/dist/api/services/OAuth2Service.js
       (npm `@dodi-smart/nuki-graphql-api` 1.2.0, generated from Nuki's OpenAPI)
N-PY   https://pypi.org/project/nuki-web-api/ (0.1.15)
N-JS   https://www.npmjs.com/package/nuki-web-api (2.2.1)
N-CLI  production Nuki Web API clients
N-423  https://developer.nuki.io/t/problem-when-repeatedly-updating-the-same-keypad-smartlock-authorization/1178
N-204  https://developer.nuki.io/t/http-code-204-but-code-apparently-not-created/29886
N-UPD  https://developer.nuki.io/t/nuki-web-api-authorization-update-synchronization-inconsistency-production-issue/40095
N-422  https://developer.nuki.io/t/422-error-when-creating-type-13-authorization-via-web-api-keypad-2/35593
N-NOKP https://developer.nuki.io/t/problem-creating-temporary-access/39051
N-DUP  idx:4135907716 (a Python client retrying when the PUT answer says "'code' exists already")
N-REF  idx:52697443000, idx:2417401236 (production clients' token exchange and refresh forms)
N-SCO  idx:37909914681, idx:10211604329, idx:55622004959, idx:2700354068 (clients' scope lists)
N-SHS  https://docs.nuki.io/guide/shs/examples/ (Nuki's guide "shs": Smart Hosting subscription)
N-V15  https://developer.nuki.io/t/nuki-web-api-updates-version-v-1-5-0/21795 (API v1.5.0 announcement)
N-TZID https://developer.nuki.io/page/nuki-smart-lock-api-2/2/ (Nuki Smart Lock API v2.2.1, the Bluetooth API:
       its time zone id table), as transcribed in I-Connect/NukiBleEsp32:src/NukiConstants.h (`TimeZoneId`)
N-PRICE https://developer.nuki.io/t/api-pricing/9746 (Nuki staff on 402 "Account not payed")
N-B24  https://wiki.beds24.com/index.php?title=Nuki.io (a keypad-code PMS integration's requirements)
N-SEAM https://docs.seam.co/latest/api/devices/simulate/paid_subscription (Seam simulates an expired SHS)
N-HA   idx:2027055486 (an unofficial Home Assistant client's README on the SHS refusal)
N-LOGSCO idx:27486741678 (a client's test listing Nuki's scopes, smartlock.log among them),
       idx:71192315781 (an integration's README: smartlock.log for activity events)

Verified facts
--------------
- Authorize: `GET {NUKI_API_URL}/oauth/authorize?response_type=code&client_id=…&redirect_uri=…&scope=…`;
  the documented parameters are exactly these four; callback URLs must match the ones registered
  in Nuki Web and cannot hold wildcards [N-OAUTH]. `state` is standard OAuth 2 and is sent.
- Token: `POST {NUKI_API_URL}/oauth/token`, `application/x-www-form-urlencoded` [N-GQL
  OAuth2Service]. Refresh fields are `client_id`, `client_secret`, `grant_type=refresh_token`,
  `refresh_token` (+ optional `scope`): decoded from the generated `TokenRequestRefreshGrant`
  model's source map (field-name lengths 9/13/10/13/5 in declaration order) [N-GQL], and sent that
  way by production clients, which exchange the code with `grant_type=authorization_code`, `code`,
  `client_id`, `client_secret`, `redirect_uri` [N-REF]. The answer is RFC 6749 §5.1
  (`access_token`, `token_type`, `expires_in`, `refresh_token`) [N-GQL Token model]. "If you follow
  the 'Code Flow' scheme you will need a client secret" [N-AUTH].
- API tokens "do not expire, but they are destroyed when the password of the corresponding Nuki
  Web account changes" [N-AUTH].
- `GET /account` -> `{accountId, type, email, name, …}` [N-SW accountSchema].
- `GET /smartlock` -> array of `{smartlockId (int64), type, name, serverState, config:
  {keypadPaired, keypad2Paired, timezoneId (a Nuki id, not IANA), …}, …}`; serverState "0 .. ok,
  1 .. unregistered, 2 .. auth uuid invalid, 3 .. auth invalid, 4 .. offline"; statuses 200/401.
  `GET /smartlock/{id}` answers 200/401/403/404 [N-SW smartlockSchema, smartlockConfigSchema,
  get(s)SmartlockResource]. Ids exceed 32 bits, e.g. 18205286116 [N-LTD], 11000009999 [N-204].
- `GET /smartlock/{id}/auth?types=13` -> array of `{id (string, "the unique id"), smartlockId,
  authId (int, lock-internal), code (int), type, name ("max 32 chars"), enabled, remoteAllowed,
  allowedFromDate, allowedUntilDate, allowedWeekDays, allowedFromTime, allowedUntilTime,
  operationId ("if set the auth is locked for another operation"), error ("In case of any error,
  it contains the error message")}` [N-SW smartlockAuthSchema, getSmartlockAuthsResource].
- `PUT /smartlock/{id}/auth` {name, type 13, code (int), allowedFromDate, allowedUntilDate,
  allowedWeekDays, allowedFromTime, allowedUntilTime, remoteAllowed (required)} -> 204, errors
  400/402/409/426; `accountUserId` is "required if type is NOT 13" [N-SW smartlockAuthCreateSchema,
  putSmartlockAuthsResource]. It answers nothing: list the auths and take the `id` of the one with
  our name [N-PIN]. Names "up to 20 characters" [N-PIN] (schema: 32).
- `POST /smartlock/{id}/auth/{authId}` (name required) -> 204, errors 400/401/403/409/423;
  `DELETE /smartlock/{id}/auth/{authId}` -> 204, errors 401/403/423; `{authId}` is the auth's
  string `id` [N-SW smartlockAuthUpdateSchema, post/deleteSmartlockAuthResource].
- All three are asynchronous: "a 204 response means that your api call has correct values and is
  queued"; "As long the operation is running further modifications on the same authorizations are
  locked" (423) and the auth shows an `operationId` [N-423]. "Call the GET /smartlock/auth endpoint
  within a few minutes to validate if the auth was created successfully. The auths may not be
  created successfully if the devices were not online" [N-204].
- An update with only some fields "silently removes allowedFromDate, allowedUntilDate,
  allowedWeekDays, allowedFromTime, allowedUntilTime"; the full timing payload must be resent
  [N-UPD]. So every update sends the whole authorization.
- Dates are UTC, "date format = YYYY-MM-DDTHH:MM:SSZ" [N-ROOM, N-TZ]; day times are lock-local
  minutes [N-TZ]; weekdays 64 = Monday … 1 = Sunday, 127 = all [N-SW, N-ROOM].
- PINs: 6 digits from 1-9, not starting with "12", unique on the lock [N-PIN, N-ZERO]
  (`pins.nuki_rule`); a taken code is refused at once ("'code' exists already") [N-DUP].
  Without a keypad, type 13 is refused ("The supplied value '13' for parameter 'type' is not
  valid") [N-NOKP]; a 422 was also reported for type 13 [N-422].
- Error bodies carry `detailMessage` [N-PY] (some clients read `message` [N-CLI]).

Nuki Smart Hosting subscription (SHS), verified
- "If you attempt to perform actions on a smart lock which does not have an SHS subscripton, the
  API will return an error": `{"error": "No active Smart Hosting subscription for the Smart Lock,
  please get one!"}` [N-SHS].
- The calls it gates: from 1 September 2023 the endpoints of API v1.5.0 "will return an error
  message if the Smart Lock or Smart Door doesn't have an active Smart Hosting subscription":
  Smartlock (GET, PUT, POST, DELETE), SmartlockAuth (GET, PUT, POST, DELETE), SmartlockLog (GET)
  and AdvancedApi [N-V15]. Keypad codes are SmartlockAuth objects (type 13), so every call this
  adapter makes on a lock's codes (list, create, update, delete) is among them. A PMS that issues
  only keypad codes lists the subscription as required since 1 September 2023 [N-B24]; Seam
  simulates an expired one as a device error [N-SEAM].
- Reading it: `GET /smartlock` answers a `currentSubscription` per lock, e.g. `{"type": "B2C",
  "state": "ACTIVE", "creationDate": …}`; SHS is valid one year from `creationDate`; "Once the
  subscription is no longer active, the state will change to INACTIVE" [N-SHS]. The schema:
  smartlockSchema `currentSubscription` and `previousSubscriptions`, both optional; shsSubscription
  {type B2C|B2B, state ACTIVE|INACTIVE|CANCELLED|EXPIRED|ON_HOLD|PENDING|PENDING_CANCEL,
  shsSubscriptionType, creationDate, expirationDate, isInGracePeriod, …}, every field optional
  [N-SW shsSubscriptionSchema]. A smart lock also carries `error` ("In case of any error, it
  contains the error message") [N-SW smartlockSchema].
- The Advanced API's bulk auth creation answers an `error` naming the "smartlock IDs, if auths can
  not be created because they need subscription" [N-SW advancedConfirmationResponseSchema]; this
  adapter does not use that endpoint.
- UNVERIFIED: the HTTP status of the refusal (not stated [N-SHS]; the auth create lists 402 and 426
  among its errors [N-SW], and a Nuki staff answer from before SHS tied 402 "Account not payed" to
  old Box packages [N-PRICE]); whether a host's own API token (not an Advanced API application) is
  gated for keypad codes (the announcement addresses "short rental integrators using the Nuki
  Advanced API" [N-V15], the guide says "the API" without that limit [N-SHS], an unofficial client
  reports the refusal on plain API-token calls [N-HA]); whether the GET of a lock is refused too
  (the announcement lists it, the guide reads the state with it); what Nuki allows in the states
  PENDING, ON_HOLD and PENDING_CANCEL; whether an absent `currentSubscription` means "none".

Decisions on what the sources leave open (UNVERIFIED items)
------------------------------------------------------------
- PKCE: not among Nuki's documented authorize parameters [N-OAUTH] and seen in no client, so the
  flow relies on `state` alone (locks.connect.oauth; its verifier is not sent). `USE_PKCE` turns it
  on in one place should Nuki document it (its swagger hints at an Ory "HYDRA" OAuth server).
- Scopes (`OAUTH_SCOPES`, space-separated, overridable with settings.NUKI_OAUTH_SCOPES): account
  (the account name), smartlock.readOnly (the lock list), smartlock.auth (keypad codes), the
  names every client we found uses [N-SCO]; smartlock.log (the activity log, `read_back`), named
  in a client's full scope list and tied to activity by another [N-LOGSCO]; Nuki's own list is not
  in the stored docs.
- Access-token lifetime: `expires_in` when given, else one hour (the implicit flow's documented
  lifetime [N-AUTH]); refreshed REFRESH_MARGIN before it ends and once after a 401. A missing
  `refresh_token` in a refresh answer keeps the previous one. No refresh token at all: the account
  needs reconnecting when the access token ends.
- "Full days" = `allowedFromTime` 0 and `allowedUntilTime` 0, what Nuki's forum examples and
  clients send [N-LTD, N-DUP] and what a client treats as Nuki's "all-day defaults"; the semantics
  of 0/0 are not stated by Nuki. The validity lives in the two UTC dates.
- Polling: after a write the lock's keypad codes are read READBACK_DELAYS (three reads, about 1, 3
  and 7 seconds after it). An `error` on the auth is a failed application: on create the orphan
  is deleted and CodeRejected is raised when the error names the code as taken, else LockOffline
  (the bridge could not apply it). A create still pending (an `operationId`, or not listed yet:
  an accepted auth can stay unlisted for tens of seconds) after the last read -> CodePending, not
  a failure: the lifecycle looks again (find_code) within the listing delay (five minutes, for
  "within a few minutes" [N-204]) and sends nothing meanwhile; a resend answered "'code' exists
  already" [N-DUP] (PinTaken) is treated the same way. Updates and deletes still pending ->
  OutcomeUnknown (resending them is harmless). A
  created auth whose dates are not the ones we sent (Nuki ignoring them [N-TYPE, N-LTD]) would open
  the door forever: it is deleted and the create fails transiently.
- Before each write (and find_code) the lock is read once (`GET /smartlock/{id}`): 403/404 ->
  LockNotFound; a serverState other than 0 -> LockOffline without sending anything, because Nuki
  would queue the change and apply it whenever the bridge returns; no keypad -> OperationNotSupported.
  Knowing the lock exists, a 404 on an auth URL means the code is gone (delete: success; update:
  CodeNotFound).
- Statuses (STATUS_ERRORS): 400 naming the code -> CodeRejected, naming the type ->
  OperationNotSupported (no keypad), else PermanentProviderError; 402 -> OperationNotSupported
  (payment required); 403 -> LockNotFound; 409 on a code write -> CodeRejected (duplicate);
  422 -> PermanentProviderError; 423 -> VendorUnavailable (busy with another operation); 426 ->
  OperationNotSupported (upgrade required); 429 -> RateLimited with Retry-After (Nuki's limits are
  undocumented); 5xx -> VendorUnavailable. Vendor texts never reach our messages (they may quote
  the code).
- find_code removes a same-named auth whose application failed or whose window is missing: it is
  not on the lock and would block the name and code of the create that follows.
- The lock's time zone: `config.timezoneId` is Nuki's own id ("check https://developer.nuki.io for
  ids" [N-SW]), read through the time zone table Nuki publishes for its Smart Lock API [N-TZID]
  (`locks.NUKI_TIME_ZONES`) into RemoteLock.time_zone; that the Web API's ids are that table's is
  UNVERIFIED. 65535 (no zone) or an id outside the table leaves it empty. The deprecated
  `config.timezoneOffset` is not read. A mismatch with the property's zone is only ever a warning
  (locks.clocks compares zones by their offsets, so 37, Europe/Berlin, is right for Paris).
- Smart Hosting, the refusal: recognised by its text (NO_SUBSCRIPTION_TEXT, case-insensitive)
  whatever the HTTP status: in any error body (checked before the status is), in a successful
  answer whose body is an object with that `error`, in an answer of a status otherwise let through
  (a 404 on an auth URL), and in an authorization's `error` after a write. It raises
  SubscriptionRequired (permanent: nothing mends it but the host subscribing, so the lifecycle
  fails the code at once and emails the host this message instead of retrying hourly) in words
  that say what to do: SUBSCRIPTION_REFUSED; SUBSCRIPTION_REFUSED_REMOVAL for a removal (the code
  then keeps working until its end); SUBSCRIPTION_REFUSED_LIST should the lock list be refused.
  A 402 without the text keeps its own mapping (STATUS_ERRORS): nothing ties it to Smart Hosting.
- Smart Hosting, the lock list: a lock whose `currentSubscription.state` is INACTIVE, CANCELLED or
  EXPIRED, and not `isInGracePeriod`, or whose `error` is the refusal, is unavailable with
  NO_SUBSCRIPTION (what the lock can do through Nowistay; its online state stays apart and never
  blocks). An absent `currentSubscription` gives no verdict: older answers and accounts Nuki reports
  no subscription for must not make every lock ineligible, and nothing documents that absence means
  "none"; Nuki's answer to the first write then decides. `previousSubscriptions` is not read. ACTIVE,
  PENDING_CANCEL (running until its end), PENDING, ON_HOLD and unknown states give no verdict
  either (what Nuki allows in them is not documented; a refused write still says why), and
  `expirationDate` is not compared with our clock (the guide says the state changes).
- Smart Hosting, before a write: the lock read before each write does not refuse on the
  subscription state. Nuki's answer decides, so an account Nuki does not gate is never blocked by
  our reading of a state; a lapsed lock costs one refused request per code.
"""

from locks.providers.nuki.client import (
    API_TOKEN,
    OAUTH,
    OAUTH_SCOPES,
    READBACK_DELAYS,
    USE_PKCE,
    account_name,
    api_url,
    authorize_endpoint,
    authorize_url,
    connect_with_api_token,
    exchange_code,
    token_endpoint,
)
from locks.providers.nuki.codes import format_date, parse_date
from locks.providers.nuki.errors import (
    DUPLICATE_CODE,
    MALFORMED,
    NO_KEYPAD,
    NO_SUBSCRIPTION,
    NO_SUBSCRIPTION_TEXT,
    STATUS_ERRORS,
    SUBSCRIPTION_REFUSED,
    SUBSCRIPTION_REFUSED_LIST,
    SUBSCRIPTION_REFUSED_REMOVAL,
    raise_for_status,
    refused_for_subscription,
)
from locks.providers.nuki.locks import subscription_ended
from locks.providers.nuki.provider import KEYPAD_CODE, NukiProvider

__all__ = [
    "API_TOKEN",
    "DUPLICATE_CODE",
    "KEYPAD_CODE",
    "MALFORMED",
    "NO_KEYPAD",
    "NO_SUBSCRIPTION",
    "NO_SUBSCRIPTION_TEXT",
    "OAUTH",
    "OAUTH_SCOPES",
    "READBACK_DELAYS",
    "STATUS_ERRORS",
    "SUBSCRIPTION_REFUSED",
    "SUBSCRIPTION_REFUSED_LIST",
    "SUBSCRIPTION_REFUSED_REMOVAL",
    "USE_PKCE",
    "NukiProvider",
    "account_name",
    "api_url",
    "authorize_endpoint",
    "authorize_url",
    "connect_with_api_token",
    "exchange_code",
    "format_date",
    "parse_date",
    "raise_for_status",
    "refused_for_subscription",
    "subscription_ended",
    "token_endpoint",
]
