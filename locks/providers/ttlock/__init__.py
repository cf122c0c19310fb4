"""TTLock: the TTLock Open Platform cloud API v3, seen through one host's TTLock app account.

The package: `provider` (the adapter), `client` (signed requests, tokens, one call per lock),
`locks` (eligibility and online state), `errors` (TTLock's errcodes), `times` (epoch ms, lock clocks),
`sign_in` (how a host signs in and what a refused sign-in tells them), `pins` (TTLock's PIN rule),
`read_back` (every passcode on a lock, its passcode openings, its battery; facts in its docstring),
`offline` (random period passcodes computed in the cloud, for a lock its code cannot reach; facts
under "Offline codes" below).
Source keys in brackets, e.g. [T-TOK], resolve in the list below.

Sources
-------
T-TOK   https://euopen.ttlock.com/document-pages/cloud/oauth2/getAccessToken
T-REF   https://euopen.ttlock.com/document-pages/en/cloud/oauth2/refreshAccessToken
T-LL    https://euopen.ttlock.com/document-pages/cloud/lock/list
T-LD    https://euopen.ttlock.com/document-pages/cloud/lock/detail
T-FV    https://euopen.ttlock.com/document-pages/cloud/lock/featureValue
T-GW    https://euopen.ttlock.com/document-pages/en/cloud/gateway/listLock
T-ADD   https://euopen.ttlock.com/document-pages/cloud/passcode/add
T-ADD-EN https://euopen.ttlock.com/documentPages/htmlPages/cloud/passcode/addEn.html
T-ADD-OLD https://euopen.ttlock.com/doc/api/v3/keyboardPwd/add
T-CHG   https://euopen.ttlock.com/document-pages/cloud/passcode/update
T-DEL   https://euopen.ttlock.com/document-pages/en/cloud/passcode/delete
        (CN: https://euopen.ttlock.com/document-pages/cloud/passcode/delete)
T-GET   https://euopen.ttlock.com/document-pages/cloud/passcode/get (CN, current)
T-GET-EN https://euopen.ttlock.com/documentPages/htmlPages/cloud/passcode/getEn.html
T-GET-OLD https://euopen.ttlock.com/doc/api/v3/keyboardPwd/get (older EN page, type table with rules)
T-GET-V2 https://euopen.ttlock.com/doc/api/v2/keyboardPwd/get (v2, with its answer)
T-LPWD  https://euopen.ttlock.com/document-pages/cloud/passcode/list
T-PL    the passcode list, as T-LPWD
        (English: https://euopen.ttlock.com/document-pages/en/cloud/passcode/list)
T-PL-OLD https://euopen.ttlock.com/doc/api/v3/lock/listKeyboardPwd
T-UPV   https://euopen.ttlock.com/document-pages/en/cloud/passcode/upload
T-RL    https://euopen.ttlock.com/document-pages/cloud/lockRecord/list
T-RL-OLD https://euopen.sciener.com/doc/api/v3/lockRecord/list (older English page, record types)
T-RG    https://euopen.ttlock.com/documentPages/htmlPages/userGuide/lockRecordEn.html
T-PG    https://euopen.ttlock.com/documentPages/htmlPages/userGuide/passcodeEn.html
T-ERR   https://euopen.ttlock.com/document-pages/cloud/errorCode
        (English: https://euopen.ttlock.com/document-pages/en/cloud/errorCode)
T-CNT   https://euopen.ttlock.com/document-pages/en/cloud/getAppMonthRequestCount
T-SDKFV TTLock's Android SDK, `com.ttlock.bl.sdk.constant.FeatureValue` ("Created by TTLock")
HT      https://github.com/jbergler/hass-ttlock (`custom_components/ttlock/`)
SEAM-T  https://github.com/seamapi/types/pull/2809 (Seam's TTLock metadata)
T-GWL   gateway/list      https://euopen.ttlock.com/document-pages/en/cloud/gateway/list
                          https://euopen.ttlock.com/documentPages/htmlPages/cloud/gateway/list.html
T-GWLL  gateway/listLock  https://euopen.ttlock.com/document-pages/en/cloud/gateway/listLock
                          https://euopen.ttlock.com/document-pages/cloud/gateway/listLock
T-GWLBL gateway/listByLock https://euopen.ttlock.com/document-pages/en/cloud/gateway/listByLock
                          https://euopen.ttlock.com/documentPages/htmlPages/cloud/gateway/listByLock.html
T-GWD   gateway/detail    https://euopen.ttlock.com/document-pages/en/cloud/gateway/detail
T-WL    wifiLock/detail   https://euopen.ttlock.com/document-pages/cloud/wifiLock/detail
                          https://euopen.ttlock.com/document/doc?urlName=cloud%2FwifiLock%2FdetailEn.html

Verified facts
--------------
- Sign-in: POST {base}/oauth2/token, form `clientId`, `clientSecret`, `username` and `password`
  = MD5 of the app password, 32 lowercase hex; the documented request carries no `grant_type`
  [T-TOK, CN and EN pages]. Answer `{access_token, uid, refresh_token, expires_in}` (seconds,
  90 days by default) [T-TOK].
- Refresh: same URL, form `clientId`, `clientSecret`, `grant_type=refresh_token`,
  `refresh_token`; answer `{access_token, refresh_token, expires_in}`; refresh tokens live
  10 years [T-REF, EN and CN].
- Every API call carries `clientId`, `accessToken` and `date` (now, ms; ±5 min or errcode
  80000) [T-ADD curl, T-LL, T-ERR]. GET endpoints take them in the query string (lock/list,
  lock/detail, lock/listKeyboardPwd), POST endpoints as form fields (keyboardPwd/add, change,
  delete) [T-LL, T-LD, T-LPWD, T-ADD, T-CHG, T-DEL curl examples].
- Errors: HTTP 200 with a non-zero `errcode` [HT api.py]; the table below is T-ERR (CN page,
  the most complete, checked against the EN page).
- lock/list: pageNo from 1, pageSize ≤ 1000, answer `{list, pageNo, pageSize, pages, total}`,
  only locks the account is top administrator of [T-LL]. lock/detail adds `featureValue`,
  `hasGateway` (1/0) and `timezoneRawOffset` (ms) [T-LD]; `keyboardPwdVersion` (0-4) is not in
  the current table but is on the older EN page (https://euopen.ttlock.com/doc/api/v3/lock/detail)
  and in a real payload [HT tests/const.py]. The detail carries no `lockData` [T-LD].
- featureValue is hex; bit n is `(int(value, 16) >> n) & 1` (the page's worked example reverses
  the bits of each byte, which is the same thing) [T-FV]. Bit 0 = passcodes [T-FV, T-SDKFV];
  bit 56 = WiFi lock, which needs no gateway [T-SDKFV `WIFI_LOCK = 56`, HT models.py].
- Custom passcodes need V4 passcode locks [T-ADD-OLD]; 4-9 digits (-3006), not too simple
  (-2032), unique on the lock (-3007), at most 250 (-3009) [T-ADD, T-ERR].
- keyboardPwd/add: `keyboardPwdType` 3 = period, `addType` 2 = through the gateway or WiFi
  (1, the default, only records the code in the cloud: it never reaches the lock), `startDate`
  and `endDate` in ms, precise to the minute; answer `{keyboardPwdId}` [T-ADD, T-ADD-OLD].
- keyboardPwd/change: `changeType` 2; both dates are required, without `startDate` the call
  succeeds and changes nothing [T-CHG]. keyboardPwd/delete: `deleteType` 2 [T-DEL].
- lock/listKeyboardPwd: pageNo, pageSize ≤ 200 and `orderBy` (required: 0 by name, 1 newest
  first, 2 by name descending); items carry `keyboardPwd` as a String [T-LPWD].
- Online state. No lock-level flag exists in lock/list or lock/detail; `hasGateway` only says a
  gateway is linked [T-LL, T-LD]. What TTLock does say:
  - GET gateway/list: `pageNo`, `pageSize` (≤ 200) and `orderBy` (required, 0 by name) besides
    the signature; answer `{list, pageNo, pageSize, pages, total}`, items `gatewayId`,
    `gatewayMac`, `gatewayName`, `gatewayVersion`, `networkName`, `networkMac`, `lockNum`,
    `isOnline` (Int, 0 no / 1 yes). The cloud keeps a gateway online until its TCP heartbeat
    (8 minutes) lapses [T-GWL, T-GWD].
  - GET gateway/listLock?gatewayId: `{list: [{lockId, lockMac, lockName, lockAlias, rssi,
    updateDate}]}` (no paging) - the locks the gateway reported within the last 30 minutes; a
    gateway and a lock are linked only when they share an administrator account [T-GWLL].
  - GET gateway/listByLock?lockId: `{list: [{gatewayId, gatewayMac, gatewayName, rssi,
    rssiUpdateDate}]}` - no `isOnline` [T-GWLBL]: asking it per lock would still need gateway/list.
  - POST wifiLock/detail, form `lockId` + the signature: `networkName`, `ip`, `wifiMac`,
    `rssiGrade`, `isOnline` (Int 0/1; the page's example writes `true`), `powerSavingMode`, ...;
    errcode -3034 when the WiFi lock has no network configured [T-WL].

Decisions on what the sources leave open
----------------------------------------
- PINs with a leading zero are never given: the CN add page types `keyboardPwd` as Int [T-ADD],
  and whether a leading zero survives `add` is unverified (an open question in TTLock's docs). Other pages point
  the other way (T-LPWD returns "034234"; T-CHG and T-DEL type the passcode as String), but a
  lock keeping "34234" while the guest is told "034234" is a guest at a closed door, and leaving
  out the leading zero costs a tenth of the PIN space. So `pins.ttlock_rule` refuses a leading 0:
  random PINs never draw one, a guest phone ending in one falls back to a random PIN, and
  `create_code` refuses such a PIN before any request. The PIN still travels as its digit string.
- featureValue bit 56 = WiFi comes from TTLock's own SDK constants and HT, not the cloud page
  (whose table is cut in the stored copy).
- `timezoneRawOffset` may be a standard-time offset (the name reads like Java's
  `TimeZone.getRawOffset`): the lock is taken to read windows at one fixed offset
  (`Capabilities.fixed_offset_clock`), and locks.clocks says so when that would explain a
  difference with the property's zone, or when a stay crosses a clock change.
- Serialisation is per lock: TTLock can route one lock through any of several gateways
  ("many-to-many", best RSSI) [T-GW], so the gateway id is not known before a call. Only calls
  that travel through the gateway are serialised; cloud reads are not [HT api.py GW_LOCK].
- Online state (list_locks) costs one gateway/list, one gateway/listLock per online gateway and
  one wifiLock/detail per WiFi lock, and is read only for locks that can take codes. A lock is
  online when an online gateway lists it or its WiFi says so; offline when every read succeeded
  and no path is online (not listed by any online gateway: none has heard it for 30 minutes, and
  a remote call would fail with -2012/-3002; or -3034); otherwise None. A failed or unreadable
  read is never taken for offline, and the state never decides eligibility. A refused token
  still raises, so the account is asked to reconnect.
- find_code pages through every passcode rather than trusting `searchStr` (a fuzzy name search
  whose exact behaviour is undocumented): a missed match would put a second code on the lock.
- -3007 "same passcode already exists" is PinTaken: after an add whose answer was lost, the
  passcode on the lock may be ours (the gateway finished after our timeout), so the lifecycle
  looks for it before choosing another PIN. Listing delay: the passcode list is the cloud's
  record, written when the gateway answers [T-PL]; three minutes covers a gateway that answered
  after our timeout (TTLock documents no figure).

Offline codes (keyboardPwd/get, `offline.py`)
---------------------------------------------
Verified:
- A random passcode of 6-9 digits is computed by the cloud from passcode data the lock and the cloud
  share since the lock's initialisation; no gateway is needed; it cannot be chosen [T-GET, T-GET-EN,
  T-PG]. POST form `lockId`, `keyboardPwdType` (3 = period), `keyboardPwdName` (optional),
  `startDate` (required, ms), `endDate` (ms), with the signature; no `addType` [T-GET curl].
- Hour grain: "a startDate of 19:20 gives a code valid from 19:00"; whole hours are advised [T-GET,
  T-GET-EN, T-PG]. A period code must be used once within 24 hours of its start or the lock
  suspends it [T-GET-OLD, T-PG].
- The passcode list holds random codes beside custom ones, with their keyboardPwdId, and `isCustom`
  0 [T-PL]; keyboardPwd/delete takes random codes too, by keyboardPwdId [T-DEL CN]. So codes issued
  offline are listed (`list_codes`, `find_code`) and, once used, deletable through the gateway.
- Errors [T-ERR CN]: -3008 a passcode never used on the lock cannot be modified; -1026 a code for
  this validity was fetched before and deleted, fetch one for another whole hour; -1007 the lock
  has no passcode data, reset its passcodes first. The v2 answer is `{"keyboardPwd": "123456"}`, a
  String [T-GET-V2].
UNVERIFIED, and what the code does:
- Whether the v3 answer carries `keyboardPwdId`: the copies of T-GET and T-GET-OLD read end before
  their answer section; public client code reads it. Used when given; else the code's vendor_code_id
  is "name:" + its name, resolved to the keyboardPwdId of the random code of that name in the
  passcode list when it is deleted or changed (names are deterministic and unique, and hold no PIN).
- The end's rounding (only the start's flooring is documented): whole hours are sent, the start
  floored and the end ceiled, so neither reading shuts the guest out early. The start is never
  before the current hour: the 24 hours for the first use count from it.
- Which clock the hours are whole on. Windows are UTC instants and whole UTC hours are sent (what
  the passcode list then shows, and what we keep). Where the property's zone is not a whole number
  of hours from UTC (Asia/Kolkata, +05:30), the lock may count whole hours on its own clock: the end
  is then one hour later if flooring it to the local hour would end before the stay, and the
  guest's deadline counts from the earlier start (a 10:00 UTC start is told in Kolkata as "before
  15:00" the next day, not 15:30). The host's warning says the code may start that much earlier.
- Maximum span: one year on the CN page [T-GET], "month granularity beyond a year" on the EN pages
  [T-GET-EN, T-GET-OLD]. Windows over 365 days are refused (CodeRejected) before any request.
- `keyboardPwdVersion` (4) is required by the older EN page only [T-GET-OLD]; the current pages do
  not list it, so it is not sent.
- Asking twice for one window: the same code again or another is undocumented (T-PG: 20 permanent
  and 200 one-time codes per start time). `keyboardPwd` is taken only as a string of 6-9 ASCII
  digits (a number may have lost a leading zero); anything else, like a lost answer, is
  OutcomeUnknown: a code may exist, listed under its name.
- keyboardPwd/get is not serialised per lock: the gateway is not involved, and a custom-code call
  held up by an offline gateway must not hold up the code standing in for it.
"""

from locks.providers.ttlock.client import LOCK_SCOPE, one_call_per_lock, one_call_per_lock_in_process
from locks.providers.ttlock.errors import ANSWER_MALFORMED, ERRCODES, RECONNECT, TOKEN_ERRCODES, WRONG_REGION
from locks.providers.ttlock.locks import NO_DETAILS, NO_GATEWAY, NO_KEYPAD, OLD_PASSCODES, UNKNOWN_PASSCODES
from locks.providers.ttlock.provider import TTLockProvider
from locks.providers.ttlock.times import from_ms, to_ms

__all__ = [
    "ANSWER_MALFORMED",
    "ERRCODES",
    "LOCK_SCOPE",
    "NO_DETAILS",
    "NO_GATEWAY",
    "NO_KEYPAD",
    "OLD_PASSCODES",
    "RECONNECT",
    "TOKEN_ERRCODES",
    "UNKNOWN_PASSCODES",
    "WRONG_REGION",
    "TTLockProvider",
    "from_ms",
    "one_call_per_lock",
    "one_call_per_lock_in_process",
    "to_ms",
]
