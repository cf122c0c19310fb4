"""Virtual TTLock cloud (Open Platform v3), answering as the TTLock sources of docs/vendors.md document:
form parameters or query strings, HTTP 200 with an `errcode` for failures, times in ms."""

import hashlib
import secrets
from datetime import datetime, timedelta, timezone as dt_timezone

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults
from sandbox.models import Vendor, VirtualAccount, VirtualCode, VirtualLock, VirtualToken

# featureValue bits [HT models.py, TSDK FeatureValue.ts]: 0 passcode keypad, 56 WiFi.
FEATURES_WITH_KEYPAD = "F44354CD5F3"
FEATURES_WITHOUT_KEYPAD = "F44354CD5F2"
MAX_PAGE_SIZE = 1000


def _error(errcode: int, errmsg: str) -> JsonResponse:
    return JsonResponse({"errcode": errcode, "errmsg": errmsg, "description": errmsg})


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=dt_timezone.utc)


def _params(request) -> dict:
    merged = request.GET.dict()
    merged.update(request.POST.dict())
    return merged


def _issue_token(account: VirtualAccount) -> JsonResponse:
    token = VirtualToken.objects.create(
        account=account,
        access_token=f"tt-{secrets.token_hex(16)}",
        refresh_token=f"ttr-{secrets.token_hex(16)}",
        expires_at=timezone.now() + timedelta(seconds=settings.SANDBOX_TOKEN_LIFETIME_SECONDS),
    )
    return JsonResponse(
        {
            "access_token": token.access_token,
            "uid": account.pk,
            "refresh_token": token.refresh_token,
            "expires_in": settings.SANDBOX_TOKEN_LIFETIME_SECONDS,
        }
    )


@csrf_exempt
def oauth_token(request):
    params = _params(request)
    if params.get("grant_type") == "refresh_token":
        token = VirtualToken.objects.filter(refresh_token=params.get("refresh_token", ""), revoked=False).first()
        if token is None:
            return _error(10011, "invalid refresh_token")
        return _issue_token(token.account)
    account = VirtualAccount.objects.filter(vendor=Vendor.TTLOCK, login=params.get("username", "")).first()
    if account is None or params.get("password") != _md5(account.password):
        return _error(10007, "invalid account or invalid password")
    return _issue_token(account)


def _md5(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()


def _account(params: dict) -> VirtualAccount | None:
    token = VirtualToken.objects.filter(
        access_token=params.get("accessToken", ""), revoked=False, expires_at__gt=timezone.now()
    ).select_related("account").first()
    return token.account if token else None


def _authenticated(view):
    @csrf_exempt
    def wrapper(request):
        params = _params(request)
        account = _account(params)
        if account is None:
            return _error(10004, "invalid token")
        if abs(int(params.get("date", "0")) - _ms(timezone.now())) > 5 * 60 * 1000:
            return _error(80000, "date must be current time, in 5 minutes")
        return view(request, params, account)

    return wrapper


def _lock(account: VirtualAccount, params: dict) -> VirtualLock | None:
    return account.locks.filter(vendor_lock_id=str(params.get("lockId", "")), is_admin=True).first()


def _lock_summary(lock: VirtualLock) -> dict:
    return {
        "lockId": int(lock.vendor_lock_id),
        "lockName": lock.name,
        "lockAlias": lock.name,
        "hasGateway": 1 if lock.has_gateway else 0,
        "featureValue": FEATURES_WITH_KEYPAD if lock.has_keypad else FEATURES_WITHOUT_KEYPAD,
        "electricQuantity": 87,
    }


@_authenticated
def lock_list(request, params, account):
    verdict = faults.judge(account)
    if verdict.response:
        return verdict.response
    page_no, page_size = int(params.get("pageNo", 1)), min(int(params.get("pageSize", 20)), MAX_PAGE_SIZE)
    # Only locks the account is top administrator of are listed [T-LL].
    locks = [_lock_summary(lock) for lock in account.locks.filter(is_admin=True)]
    pages = max(1, -(-len(locks) // page_size))
    page = locks[(page_no - 1) * page_size : page_no * page_size]
    return JsonResponse({"list": page, "pageNo": page_no, "pageSize": page_size, "pages": pages, "total": len(locks)})


@_authenticated
def lock_detail(request, params, account):
    lock = _lock(account, params)
    if lock is None:
        return _error(-1003, "lock does not exist")
    offset = timezone.now().astimezone(ZoneInfo(lock.time_zone)).utcoffset()
    return JsonResponse(
        {
            **_lock_summary(lock),
            "keyboardPwdVersion": lock.passcode_version,
            "timezoneRawOffset": int(offset.total_seconds() * 1000),
            "modelNum": "SN-SANDBOX",
        }
    )


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
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
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
    if "startDate" in params and "endDate" in params:  # without both the change is silently ignored [T-CHG]
        code.starts_at, code.ends_at = _from_ms(params["startDate"]), _from_ms(params["endDate"])
    if params.get("keyboardPwdName"):
        code.name = params["keyboardPwdName"]
    code.save()
    return _error(0, "none error message")


@_gateway_call
def keyboard_pwd_delete(request, params, lock):
    if params.get("deleteType") != "2":
        return _error(-3, "invalid parameter: deleteType must be 2 (via gateway)")
    deleted, _ = lock.codes.filter(vendor_code_id=str(params.get("keyboardPwdId", ""))).delete()
    if not deleted:
        return _error(-2009, "passcode does not exist")
    return _error(0, "none error message")


@_authenticated
def list_keyboard_pwd(request, params, account):
    lock = _lock(account, params)
    if lock is None:
        return _error(-1003, "lock does not exist")
    verdict = faults.judge(account, lock)
    if verdict.response:
        return verdict.response
    page_no, page_size = int(params.get("pageNo", 1)), min(int(params.get("pageSize", 20)), 200)
    codes = [
        {
            "keyboardPwdId": int(code.vendor_code_id),
            "keyboardPwd": code.pin,
            "keyboardPwdName": code.name,
            "keyboardPwdType": 3,
            "startDate": _ms(code.starts_at),
            "endDate": _ms(code.ends_at),
            "isCustom": 1,
        }
        for code in lock.codes.all()
    ]
    pages = max(1, -(-len(codes) // page_size))
    page = codes[(page_no - 1) * page_size : page_no * page_size]
    return JsonResponse({"list": page, "pageNo": page_no, "pageSize": page_size, "pages": pages, "total": len(codes)})


urlpatterns = [
    path("oauth2/token", oauth_token),
    path("v3/lock/list", lock_list),
    path("v3/lock/detail", lock_detail),
    path("v3/keyboardPwd/add", keyboard_pwd_add),
    path("v3/keyboardPwd/change", keyboard_pwd_change),
    path("v3/keyboardPwd/delete", keyboard_pwd_delete),
    path("v3/lock/listKeyboardPwd", list_keyboard_pwd),
]
