"""TTLock: the TTLock Open Platform cloud API v3, seen through one host's TTLock app account.

The package: `provider` (the adapter), `client` (signed requests, tokens, one call per lock),
`locks` (eligibility and online state), `errors` (TTLock's errcodes), `times` (epoch ms, lock clocks),
`sign_in` (how a host signs in and what a refused sign-in tells them), `pins` (TTLock's PIN rule),
`read_back` (every passcode on a lock, its passcode openings, its battery; facts in its docstring).
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
