"""Virtual TTLock cloud (Open Platform v3), answering as the TTLock sources of docs/vendors.md document:
form parameters or query strings, HTTP 200 with an `errcode` for failures, times in ms.

Source keys as in locks/providers/ttlock.py. Fields follow the pages: lock/list items [T-LL];
lock/detail [T-LD, CN table; `keyboardPwdVersion` from the older EN page and HT's real payload;
no `lockData`, `groupId` or `groupName`, which the detail page does not list]; listKeyboardPwd
items [T-LPWD, `keyboardPwdType` as the example's string]; gateway/list, gateway/listLock,
gateway/listByLock [T-GWL, T-GWLL, T-GWLBL]; wifiLock/detail [T-WL]. Required parameters
(`orderBy` of gateway/list and listKeyboardPwd) are checked: -3 without them.

Reading back: listKeyboardPwd pages every code, those added "in the TTLock app" (sandbox/drift.py)
included: a code without a window has dates 0 and type 2 (permanent) [T-LPWD]. lockRecord/list
pages the keypad's log (sandbox/keypad.py) [T-RL]: `recordType` 4 (passcode unlock) with `success`
1 or 0, `recordTypeFromLock` 4, or 7 for a failed, unknown passcode [T-RL-OLD], `username` the code's
name, `keyboardPwd` the PIN typed, `lockDate` when it was typed and `serverDate` when the gateway
uploaded it (2 s later here), newest first, filtered by `startDate`/`endDate` on `lockDate`.
`electricQuantity` (lock/list, lock/detail) is the lock's battery switch.

Each lock with a gateway has one of its own (id GATEWAY_ID_BASE + the lock's row id). The
`offline` switch (on the lock or its account) takes that gateway offline: gateway/list says
`isOnline: 0`, and calls through it answer -3002. gateway/listLock keeps listing the lock of an
offline gateway, as the real cloud does for 30 minutes [T-GWLL]. No seeded lock is a WiFi lock;
wifiLock/detail answers -4043 for the others (what the real one does then is undocumented).

Asynchronous applies (`apply_delay_seconds`, sandbox.faults.applies_at): keyboardPwd/add, change
and delete are answered at once, but the gateway takes the code, its new window or its removal to
the lock (and listKeyboardPwd shows it) only that many seconds later.

Offline codes (keyboardPwd/get): sandbox/vendors/ttlock_offline.py. Such a code is a VirtualCode
that is not revocable: listed with `isCustom` 0, refused a change or a delete (-3008) until it has
opened the door once [T-ERR], suspended by the keypad if unused 24 hours after its start [T-PG].
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults
from sandbox.keypad import never_used
from sandbox.models import Vendor, VirtualAccount, VirtualCode, VirtualCodeUse, VirtualLock, VirtualToken

# featureValue bits [HT models.py, TSDK FeatureValue.ts]: 0 passcode keypad, 56 WiFi.
FEATURES_WITH_KEYPAD = "F44354CD5F3"
FEATURES_WITHOUT_KEYPAD = "F44354CD5F2"
FEATURES_WIFI = 1 << 56
MAX_PAGE_SIZE = 1000
MAX_GATEWAY_PAGE_SIZE = 200  # [T-GWL]
MAX_PASSCODE_PAGE_SIZE = 200  # [T-LPWD]
MAX_RECORD_PAGE_SIZE = 200  # [T-RL]
PASSCODE_UNLOCK, UNKNOWN_PASSCODE = 4, 7  # recordType / recordTypeFromLock [T-RL, T-RL-OLD]
PERIOD, PERMANENT = "3", "2"  # keyboardPwdType [T-LPWD]
UPLOAD_DELAY_MS = 2_000  # lockDate to serverDate: the gateway's upload
RECORD_ID_BASE = 5_000_000
GATEWAY_ID_BASE = 78000
INITIALISED_AT_MS = 1_735_689_600_000  # `date` of lock/list and lock/detail: when the lock was set up


def _error(errcode: int, errmsg: str) -> JsonResponse:
    return JsonResponse({"errcode": errcode, "errmsg": errmsg, "description": errmsg})


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _params(request) -> dict:
    merged = request.GET.dict()
    merged.update(request.POST.dict())
    return merged


def _issue_token(account: VirtualAccount, *, refreshed: bool = False) -> JsonResponse:
    token = VirtualToken.objects.create(
        account=account,
        access_token=f"tt-{secrets.token_hex(16)}",
        refresh_token=f"ttr-{secrets.token_hex(16)}",
        expires_at=timezone.now() + timedelta(seconds=settings.SANDBOX_TOKEN_LIFETIME_SECONDS),
    )
    answer = {
        "access_token": token.access_token,
        "uid": account.pk,
        "refresh_token": token.refresh_token,
        "expires_in": settings.SANDBOX_TOKEN_LIFETIME_SECONDS,
    }
    if refreshed:
        del answer["uid"]  # the refresh answer is {access_token, refresh_token, expires_in} [T-REF]
    return JsonResponse(answer)


@csrf_exempt
def oauth_token(request):
    params = _params(request)
    if params.get("grant_type") == "refresh_token":
        token = VirtualToken.objects.filter(
            refresh_token=params.get("refresh_token", ""), revoked=False, account__vendor=Vendor.TTLOCK
        ).select_related("account").first()
        if token is None:
            return _error(10011, "invalid refresh_token")
        return _issue_token(token.account, refreshed=True)
    account = VirtualAccount.objects.filter(vendor=Vendor.TTLOCK, login=params.get("username", "")).first()
    if account is None or params.get("password") != _md5(account.password):
        return _error(10007, "invalid account or invalid password")
    return _issue_token(account)


def _md5(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()


def _token(params: dict) -> VirtualToken | None:
    return VirtualToken.objects.filter(
        access_token=params.get("accessToken", ""), account__vendor=Vendor.TTLOCK
    ).select_related("account").first()


def _authenticated(view):
    @csrf_exempt
    def wrapper(request):
        params = _params(request)
        token = _token(params)
        if token is None:
            return _error(10003, "token does not exist")  # [T-ERR]
        if token.revoked or token.expires_at <= timezone.now():
            return _error(10004, "token is invalid or revoked")  # [T-ERR]
        date = params.get("date", "")
        if not date.isdigit() or abs(int(date) - _ms(timezone.now())) > 5 * 60 * 1000:
            return _error(80000, "date must be current time, in 5 minutes")
        return view(request, params, token.account)

    return wrapper


def _page(params: dict, max_size: int) -> tuple[int, int] | None:
    """pageNo from 1 and pageSize up to `max_size`; None when either is not a valid number."""
    page_no, page_size = params.get("pageNo", "1"), params.get("pageSize", "20")
    if not (page_no.isdigit() and page_size.isdigit()) or int(page_no) < 1 or not 1 <= int(page_size) <= max_size:
        return None
    return int(page_no), int(page_size)


def _paged(items: list, page_no: int, page_size: int) -> JsonResponse:
    chunk = items[(page_no - 1) * page_size : page_no * page_size]
    pages = max(1, -(-len(items) // page_size))
    return JsonResponse({"list": chunk, "pageNo": page_no, "pageSize": page_size, "pages": pages, "total": len(items)})


def _ordered(params: dict) -> bool:
    return params.get("orderBy") in ("0", "1", "2")  # a required parameter [T-GWL, T-LPWD]


def _lock(account: VirtualAccount, params: dict) -> VirtualLock | None:
    return account.locks.filter(vendor_lock_id=str(params.get("lockId", "")), is_admin=True).first()


def _mac(prefix: str, number: int) -> str:
    octets = [(number >> shift) & 0xFF for shift in (24, 16, 8, 0)]
    return ":".join([prefix, "40", *(f"{octet:02X}" for octet in octets)])


def _common_fields(lock: VirtualLock) -> dict:
    """What lock/list and lock/detail both say of a lock [T-LL, T-LD]."""
    lock_id = int(lock.vendor_lock_id)
    return {
        "lockId": lock_id,
        "lockName": f"S31_{lock_id & 0xFFFFFF:06x}",  # the lock's Bluetooth name; the host's name is the alias
        "lockAlias": lock.name,
        "lockMac": _mac("C5", lock_id),
        "electricQuantity": lock.battery_percent,
        "featureValue": FEATURES_WITH_KEYPAD if lock.has_keypad else FEATURES_WITHOUT_KEYPAD,
        "hasGateway": 1 if lock.has_gateway else 0,
        "date": INITIALISED_AT_MS,
    }


def _lock_summary(lock: VirtualLock) -> dict:
    return {
        **_common_fields(lock),
        "lockData": f"sandbox-lock-data-{hashlib.sha256(lock.vendor_lock_id.encode()).hexdigest()[:32]}",
        "groupId": 0,
        "groupName": "",
    }


@_authenticated
def lock_list(request, params, account):
    verdict = faults.judge(account)
    if verdict.response:
        return verdict.response
    paging = _page(params, MAX_PAGE_SIZE)
    if paging is None:
        return _error(-3, "invalid parameter: pageNo or pageSize")
    # Only locks the account is top administrator of are listed [T-LL].
    return _paged([_lock_summary(lock) for lock in account.locks.filter(is_admin=True)], *paging)


@_authenticated
def lock_detail(request, params, account):
    lock = _lock(account, params)
    if lock is None:
        return _error(-1003, "lock does not exist")
    offset = timezone.now().astimezone(ZoneInfo(lock.time_zone)).utcoffset()
    return JsonResponse(
        {
            **_common_fields(lock),
            "noKeyPwd": f"{int(lock.vendor_lock_id) % 10_000_000:07d}",
            "timezoneRawOffset": int(offset.total_seconds() * 1000),
            "modelNum": "SN275-SANDBOX_PV53",
            "hardwareRevision": "1.6",
            "firmwareRevision": "6.2.4.sandbox",
            "autoLockTime": 5,
            "lockSound": 1,
            "soundVolume": 3,
            "privacyLock": 2,
            "tamperAlert": 1,
            "resetButton": 1,
            "openDirection": 0,
            "passageMode": 2,
            "passageModeAutoUnlock": 2,
            "keyboardPwdVersion": lock.passcode_version,
            "wirelessKeypadFeatureValue": "0",
        }
    )


# --- gateways and WiFi locks: their online state ----------------------------------------------------

def _gateway_id(lock: VirtualLock) -> int:
    return GATEWAY_ID_BASE + lock.pk


def _gateway_online(lock: VirtualLock) -> bool:
    return not (lock.offline or lock.account.offline)


def _gateway_locks(account: VirtualAccount):
    return account.locks.filter(is_admin=True, has_gateway=True).select_related("account")


def _gateway_names(lock: VirtualLock) -> dict:
    gateway_id = _gateway_id(lock)
    return {"gatewayId": gateway_id, "gatewayMac": _mac("DC", gateway_id), "gatewayName": f"G2_{gateway_id}"}


@_authenticated
def gateway_list(request, params, account):
    verdict = faults.judge(account)  # the list comes from the cloud; `offline` shows as isOnline 0
    if verdict.response:
        return verdict.response
    paging = _page(params, MAX_GATEWAY_PAGE_SIZE)
    if paging is None or not _ordered(params):
        return _error(-3, "invalid parameter: pageNo, pageSize or orderBy")
    gateways = [
        {
            **_gateway_names(lock),
            "gatewayVersion": 2,
            "networkName": "Sandbox-WIFI",
            "networkMac": _mac("AA", account.pk),
            "lockNum": 1,
            "isOnline": 1 if _gateway_online(lock) else 0,
        }
        for lock in _gateway_locks(account)
    ]
    return _paged(gateways, *paging)


@_authenticated
def gateway_list_lock(request, params, account):
    verdict = faults.judge(account)
    if verdict.response:
        return verdict.response
    served = [lock for lock in _gateway_locks(account) if str(_gateway_id(lock)) == params.get("gatewayId", "")]
    if not served:
        return _error(-4037, "gateway does not exist")
    now = _ms(timezone.now())
    return JsonResponse({
        "list": [
            {
                "lockId": int(lock.vendor_lock_id), "lockMac": _common_fields(lock)["lockMac"],
                "lockName": _common_fields(lock)["lockName"], "lockAlias": lock.name, "rssi": -65, "updateDate": now,
            }
            for lock in served
        ]
    })


@_authenticated
def gateway_list_by_lock(request, params, account):
    lock = _lock(account, params)
    if lock is None:
        return _error(-1003, "lock does not exist")
    gateways = [{**_gateway_names(lock), "rssi": -65, "rssiUpdateDate": _ms(timezone.now())}] if lock.has_gateway else []
    return JsonResponse({"list": gateways})


@_authenticated
def wifi_lock_detail(request, params, account):
    lock = _lock(account, params)
    if lock is None:
        return _error(-1003, "lock does not exist")
    if not int(_common_fields(lock)["featureValue"], 16) & FEATURES_WIFI:
        return _error(-4043, "the lock does not support this operation")
    return JsonResponse({
        "networkName": "Sandbox-WIFI", "wifiMac": _mac("AA", lock.pk), "rssiGrade": 3,
        "isOnline": 1 if _gateway_online(lock) else 0, "powerSavingMode": 2,
    })


def _gateway_call(view):
    """Operations that travel through the gateway: faults apply, offline answers -3002."""

    @_authenticated
    def wrapper(request, params, account):
        lock = _lock(account, params)
        if lock is None:
            return _error(-1003, "lock does not exist")
        if not lock.has_gateway:
            return _error(-2012, "no gateway near the lock")
        verdict = faults.judge(account, lock, write=True)
        if verdict.response:
            return verdict.response
        if verdict.offline:
            return _error(-3002, "gateway offline")
        response = view(request, params, lock)
        return faults.broken(response) if verdict.lose_response else response

    return wrapper


def _pin_problem(pin: str) -> tuple[int, str] | None:
    if not (pin.isdigit() and 4 <= len(pin) <= 9):
        return -3006, "passcode length must be 4-9 digits"
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if steps in ({0}, {1}, {-1}):
        return -2032, "passcode too simple: no consecutive or repeated digits"
    return None


@_gateway_call
def keyboard_pwd_add(request, params, lock):
    if params.get("addType") != "2" or params.get("keyboardPwdType", "3") != "3":
        return _error(-3, "invalid parameter: the sandbox takes period codes added via gateway only")
    pin = params.get("keyboardPwd", "")
    problem = _pin_problem(pin)
    if problem:
        return _error(*problem)
    with transaction.atomic():
        if lock.codes.filter(pin=pin).exists():
            return _error(-3007, "same passcode already exists")
        if lock.codes.count() >= lock.capacity:
            return _error(-3009, "custom passcode storage full")
        code = VirtualCode.objects.create(
            lock=lock,
            name=params.get("keyboardPwdName", ""),
            pin=pin,
            starts_at=_from_ms(params["startDate"]),
            ends_at=_from_ms(params["endDate"]),
            applies_at=faults.applies_at(lock, "create"),  # the gateway may take it to the lock later
        )
        code.vendor_code_id = str(24000 + code.pk)
        code.save(update_fields=["vendor_code_id"])
    return JsonResponse({"keyboardPwdId": int(code.vendor_code_id)})


@_gateway_call
def keyboard_pwd_change(request, params, lock):
    if params.get("changeType") != "2":
        return _error(-3, "invalid parameter: changeType must be 2 (via gateway)")
    code = lock.codes.filter(vendor_code_id=str(params.get("keyboardPwdId", ""))).first()
    if code is None:
        return _error(-2009, "passcode does not exist")
    if not code.revocable and never_used(code):
        return _error(-3008, "cannot change a passcode that has never been used on the lock")
    if "startDate" in params and "endDate" in params:  # without both the change is silently ignored [T-CHG]
        window = _from_ms(params["startDate"]), _from_ms(params["endDate"])
        later = faults.applies_at(lock, "update")  # the gateway may take it to the lock later
        if later:
            code.next_starts_at, code.next_ends_at, code.window_changes_at = *window, later
        else:
            code.starts_at, code.ends_at = window
    if params.get("keyboardPwdName"):
        code.name = params["keyboardPwdName"]
    code.save()
    return _error(0, "none error message")


@_gateway_call
def keyboard_pwd_delete(request, params, lock):
    if params.get("deleteType") != "2":
        return _error(-3, "invalid parameter: deleteType must be 2 (via gateway)")
    code = lock.codes.filter(vendor_code_id=str(params.get("keyboardPwdId", ""))).first()
    if code is None:
        return _error(-2009, "passcode does not exist")
    if not code.revocable and never_used(code):
        return _error(-3008, "cannot change a passcode that has never been used on the lock")
    later = faults.applies_at(lock, "delete")  # the gateway may take it to the lock later
    if later:
        code.removes_at = code.removes_at or later
        code.save(update_fields=["removes_at"])
    else:
        code.delete()
    return _error(0, "none error message")


@_authenticated
def list_keyboard_pwd(request, params, account):
    lock = _lock(account, params)
    if lock is None:
        return _error(-1003, "lock does not exist")
    verdict = faults.judge(account, lock)
    if verdict.response:
        return verdict.response
    paging = _page(params, MAX_PASSCODE_PAGE_SIZE)
    if paging is None or not _ordered(params):
        return _error(-3, "invalid parameter: pageNo, pageSize or orderBy")
    newest_first = params["orderBy"] == "1"
    codes = sorted(lock.codes.applied(), key=lambda code: code.pk, reverse=newest_first)
    if not newest_first:
        codes.sort(key=lambda code: code.name, reverse=params["orderBy"] == "2")
    return _paged([
        {
            "keyboardPwdId": int(code.vendor_code_id),
            "lockId": int(lock.vendor_lock_id),
            "keyboardPwd": code.pin,
            "keyboardPwdName": code.name,
            # The documented example writes this Int as a string [T-LPWD].
            "keyboardPwdType": PERMANENT if code.starts_always and code.ends_never else PERIOD,
            "startDate": 0 if code.starts_always else _ms(code.starts_at),
            "endDate": 0 if code.ends_never else _ms(code.ends_at),
            "sendDate": _ms(code.created_at),
            "isCustom": 1 if code.revocable else 0,  # 0: a random (offline) code [T-PL]
            "senderUsername": account.login,
        }
        for code in codes
    ], *paging)


def _record(use: VirtualCodeUse) -> dict:
    lock_date = _ms(use.at)
    return {
        "recordId": RECORD_ID_BASE + use.pk,
        "lockId": int(use.lock.vendor_lock_id),
        "recordTypeFromLock": PASSCODE_UNLOCK if use.opened else UNKNOWN_PASSCODE,
        "recordType": PASSCODE_UNLOCK,
        "success": 1 if use.opened else 0,
        "username": use.name,
        "keyboardPwd": use.pin,
        "lockDate": lock_date,
        "serverDate": lock_date + UPLOAD_DELAY_MS,
    }


@_authenticated
def lock_records(request, params, account):
    """The lock's records, newest first [T-RL]: only keypad entries are simulated (recordType 4)."""
    lock = _lock(account, params)
    if lock is None:
        return _error(-1003, "lock does not exist")
    verdict = faults.judge(account, lock)
    if verdict.response:
        return verdict.response
    paging = _page(params, MAX_RECORD_PAGE_SIZE)
    bounds = [params.get(key, "0") or "0" for key in ("startDate", "endDate")]
    if paging is None or not all(bound.isdigit() for bound in bounds):
        return _error(-3, "invalid parameter: pageNo, pageSize, startDate or endDate")
    uses = lock.uses.select_related("lock").filter(at__gte=_from_ms(bounds[0]))
    if int(bounds[1]):
        uses = uses.filter(at__lte=_from_ms(bounds[1]))
    if params.get("recordType") not in (None, "", str(PASSCODE_UNLOCK)):
        uses = uses.none()
    return _paged([_record(use) for use in uses.order_by("-at", "-pk")], *paging)


urlpatterns = [
    path("oauth2/token", oauth_token),
    path("v3/lock/list", lock_list),
    path("v3/lock/detail", lock_detail),
    path("v3/keyboardPwd/add", keyboard_pwd_add),
    path("v3/keyboardPwd/change", keyboard_pwd_change),
    path("v3/keyboardPwd/delete", keyboard_pwd_delete),
    path("v3/lock/listKeyboardPwd", list_keyboard_pwd),
    path("v3/lockRecord/list", lock_records),
    path("v3/gateway/list", gateway_list),
    path("v3/gateway/listLock", gateway_list_lock),
    path("v3/gateway/listByLock", gateway_list_by_lock),
    path("v3/wifiLock/detail", wifi_lock_detail),
]
