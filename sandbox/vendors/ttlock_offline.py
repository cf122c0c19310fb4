"""Virtual TTLock cloud: offline codes, `POST v3/keyboardPwd/get` (source keys as in
locks/providers/ttlock/__init__.py, "Offline codes").

The cloud computes a random period passcode of 6-9 digits without reaching the lock [T-GET], so the
lock's (or its account's) `offline` switch changes nothing here; the other fault switches apply as
to any call. The start is floored to the hour [T-GET]; the end's rounding is undocumented and is
floored too. The code is a VirtualCode with `revocable` False: listed with `isCustom` 0, refused a
change or a delete until it has opened the door once (-3008), stopped by the keypad when unused 24
hours after its start (sandbox/keypad.py). Not simulated: -1026 (the window of a deleted code asked
for again) and -1007 (a lock without passcode data).
"""

import secrets
from datetime import timedelta

from django.db import transaction
from django.http import JsonResponse
from django.urls import path

from sandbox import faults
from sandbox.models import VirtualCode
from sandbox.vendors.ttlock import _authenticated, _error, _from_ms, _lock

PERIOD = "3"  # keyboardPwdType: 3 = period [T-GET]
MAX_SPAN = timedelta(days=366)  # "at most a year" [T-GET], a leap year's included
PIN_DIGITS = 7  # within TTLock's 6-9 [T-PG]
CODE_ID_BASE = 24000  # as keyboard_pwd_add numbers its codes


def _floor_to_hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def _fresh_pin(taken: set[str]) -> str:
    while True:
        pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"  # a leading zero is possible
        if pin not in taken:
            return pin


@_authenticated
def keyboard_pwd_get(request, params, account):
    lock = _lock(account, params)
    if lock is None:
        return _error(-1003, "lock does not exist")
    if not lock.has_keypad:
        return _error(-4043, "the lock does not support this operation")  # undocumented here; never asked by the adapter
    verdict = faults.judge(account, lock, write=True)
    if verdict.response:
        return verdict.response  # `verdict.offline` does not matter: no gateway is involved [T-GET]
    start, end = params.get("startDate", ""), params.get("endDate", "")
    if params.get("keyboardPwdType") != PERIOD or not (start.isdigit() and end.isdigit()):
        return _error(-3, "invalid parameter: the sandbox issues period codes with startDate and endDate only")
    starts_at, ends_at = _floor_to_hour(_from_ms(start)), _floor_to_hour(_from_ms(end))
    if not timedelta(0) < ends_at - starts_at <= MAX_SPAN:
        return _error(-3, "invalid parameter: a period code lasts at most one year")
    with transaction.atomic():
        pin = _fresh_pin(set(lock.codes.values_list("pin", flat=True)))
        code = VirtualCode.objects.create(
            lock=lock, name=params.get("keyboardPwdName", ""), pin=pin, starts_at=starts_at, ends_at=ends_at, revocable=False
        )
        code.vendor_code_id = str(CODE_ID_BASE + code.pk)
        code.save(update_fields=["vendor_code_id"])
    response = JsonResponse({"keyboardPwd": pin, "keyboardPwdId": int(code.vendor_code_id)})
    return faults.broken(response) if verdict.lose_response else response


urlpatterns = [path("v3/keyboardPwd/get", keyboard_pwd_get)]
