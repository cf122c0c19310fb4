"""The door pages: what a virtual lock holds, whether a PIN would open it, typing one on its keypad,
its fault switches and its drift switches (sandbox/drift.py); and the same as JSON under /_control."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox import drift, faults
from sandbox.forms import (
    FAULT_FIELDS,
    AccountFaultsForm,
    BatteryForm,
    ChangeWindowForm,
    EnterPinForm,
    FillForm,
    LockFaultsForm,
    TryPinForm,
    UnmanagedCodeForm,
)
from sandbox.keypad import FIRST_USE_WITHIN, enter_pin, first_use_due_before, homeit_box_offline
from sandbox.models import Vendor, VirtualAccount, VirtualLock, VirtualToken

RECENT_USES = 20


def index(request):
    accounts = VirtualAccount.objects.prefetch_related("locks").order_by("vendor")
    return render(request, "sandbox/index.html", {"accounts": accounts})


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """A moment on the lock's wall clock, with the zone and its UTC offset at that moment next to
    it ("Tue 2 Jun 2026 15:00 Europe/Paris (UTC+02:00)"), so no time on a door page is ambiguous."""
    local = moment.astimezone(zone)
    minutes = int(local.utcoffset().total_seconds()) // 60
    sign, (hours, rest) = "+" if minutes >= 0 else "-", divmod(abs(minutes), 60)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {zone.key} (UTC{sign}{hours:02d}:{rest:02d})"


def _on_lock(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A wall-clock time typed on the door page, in the lock's zone."""
    return moment.replace(tzinfo=None).replace(tzinfo=zone) if moment else None


def door(request, lock_id: int):
    lock = get_object_or_404(VirtualLock.objects.select_related("account"), pk=lock_id)
    faults.settle_applies(lock)
    zone = ZoneInfo(lock.time_zone)
    action = request.POST.get("action") if request.method == "POST" else None
    if action in DOOR_ACTIONS:
        form = DOOR_ACTIONS[action][0](request.POST)
        if form.is_valid():
            try:
                messages.success(request, DOOR_ACTIONS[action][1](lock, form.cleaned_data, zone))
            except drift.DriftRefused as refusal:
                messages.error(request, str(refusal))
        else:
            messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect("door", lock_id=lock.pk)
    if action == "faults":
        faults_form = LockFaultsForm(request.POST, instance=lock)
        if faults_form.is_valid():
            faults_form.save()
            messages.success(request, "Fault switches saved.")
            return redirect("door", lock_id=lock.pk)
    else:
        faults_form = LockFaultsForm(instance=lock)
    verdict = None
    now_there = timezone.now().astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    try_form = TryPinForm(request.POST if action == "try" else None, initial={"at": now_there})
    try_form.fields["at"].label = f"At (the lock's local time, {zone.key})"
    if action == "try" and try_form.is_valid():
        verdict = _would_open(lock, try_form.cleaned_data["pin"], _on_lock(try_form.cleaned_data["at"], zone))
    context = {
        "lock": lock, "codes": _code_rows(lock, zone), "uses": _use_rows(lock, zone), "try_form": try_form,
        "faults_form": faults_form, "verdict": verdict, "enter_form": EnterPinForm(auto_id="enter_%s"),
        "unmanaged_form": UnmanagedCodeForm(auto_id="unmanaged_%s"),
        "fill_form": FillForm(auto_id="fill_%s"),
        "battery_form": BatteryForm(auto_id="battery_%s", initial={"percent": lock.battery_percent}),
    }
    return render(request, "sandbox/door.html", context)


def _code_rows(lock: VirtualLock, zone: ZoneInfo) -> list[dict]:
    now = timezone.now()
    return [
        {
            "code": code,
            "starts": "always" if code.starts_always else local_time(code.starts_at, zone),
            "ends": "never" if code.ends_never else local_time(code.ends_at, zone),
            "open_now": code.opens_at(now),
            "window_form": ChangeWindowForm(auto_id=False, initial={
                "code_id": code.vendor_code_id,
                "starts_at": None if code.starts_always else code.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
                "ends_at": None if code.ends_never else code.ends_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            }),
        }
        for code in lock.codes.applied()
    ]


def _use_rows(lock: VirtualLock, zone: ZoneInfo) -> list[dict]:
    return [{"use": use, "at": local_time(use.at, zone)} for use in lock.uses.all()[:RECENT_USES]]


# --- the door page's keypad and drift switches: (form, action) -> a message for the host ----------

def _enter(lock, data, zone) -> str:
    use = enter_pin(lock, data["pin"])
    if use.opened:
        return f"Opened: {use.pin} ({use.name}) opened {lock.name}; the vendor's access log has it."
    return f"Refused: {use.pin} does not open {lock.name} now; the vendor logs the failed attempt."


def _add_unmanaged(lock, data, zone) -> str:
    code = drift.add_unmanaged(lock, data["name"], data["pin"], _on_lock(data["starts_at"], zone), _on_lock(data["ends_at"], zone))
    return f"{code.name} ({code.pin}) added in the vendor's app: not Nowistay's, a read-back lists it as unmanaged."


def _delete(lock, data, zone) -> str:
    code = drift.code_of(lock, data["code_id"])
    drift.delete_in_app(lock, data["code_id"])
    return f"{code.name} ({code.pin}) deleted in the vendor's app."


def _change_window(lock, data, zone) -> str:
    code = drift.change_window(lock, data["code_id"], _on_lock(data["starts_at"], zone), _on_lock(data["ends_at"], zone))
    return f"The window of {code.name} changed in the vendor's app."


def _wipe(lock, data, zone) -> str:
    return f"{lock.name} lost its memory: {drift.wipe(lock)} codes gone."


def _fill(lock, data, zone) -> str:
    added = drift.fill(lock, data["capacity"])
    return f"{lock.name} is full: {added} codes added in the vendor's app, it holds {lock.capacity}."


def _battery(lock, data, zone) -> str:
    drift.set_battery(lock, data["percent"])
    return f"The battery of {lock.name} is at {data['percent']} %."


DOOR_ACTIONS = {
    "enter": (EnterPinForm, _enter),
    "unmanaged": (UnmanagedCodeForm, _add_unmanaged),
    "delete": (ChangeWindowForm, _delete),
    "window": (ChangeWindowForm, _change_window),
    "wipe": (forms.Form, _wipe),
    "fill": (FillForm, _fill),
    "battery": (BatteryForm, _battery),
}


def account_faults(request, account_id: int):
    account = get_object_or_404(VirtualAccount, pk=account_id)
    form = AccountFaultsForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Fault switches of {account} saved.")
        return redirect("index")
    return render(request, "sandbox/account_faults.html", {"account": account, "form": form})


def _would_open(lock: VirtualLock, pin: str, moment: datetime) -> str:
    zone = moment.tzinfo
    matching = [code for code in lock.codes.applied() if code.pin == pin]
    if not matching:
        return f"No: {lock.name} holds no code {pin}."
    opening = [code for code in matching if code.opens_at(moment)]
    if opening and homeit_box_offline(lock):
        return (
            f"Only if the homeit BOX is back online by {local_time(moment, zone)}: it is offline now, and while it is "
            "only its SOS key opens the keypad."
        )
    if any(not first_use_due_before(lock, code, moment) for code in opening):
        return f"Yes: the door opens with {pin} on {local_time(moment, zone)}."
    if opening:
        deadline = opening[0].starts_at + FIRST_USE_WITHIN
        return (
            f"Only if {pin} was already entered before {local_time(deadline, zone)}: this {lock.account.get_vendor_display()} "
            "code is valid for more than 24 hours and stops working if it is not used within 24 hours of its start."
        )
    windows = ", ".join(f"{local_time(c.starts_at, zone)} → {local_time(c.ends_at, zone)}" for c in matching)
    return f"No: on {local_time(moment, zone)}, {pin} does not open the door; it is valid {windows}."


# --- machine control, for tests and scripts ------------------------------------------------------

def _lock_by_vendor_id(vendor: str, vendor_lock_id: str) -> VirtualLock:
    return get_object_or_404(VirtualLock.objects.select_related("account"), account__vendor=vendor, vendor_lock_id=vendor_lock_id)


def lock_state(request, vendor: str, vendor_lock_id: str):
    """The codes a virtual lock holds, its battery, capacity and keypad uses, as JSON."""
    lock = _lock_by_vendor_id(vendor, vendor_lock_id)
    faults.settle_applies(lock)
    codes = [
        {
            "id": c.vendor_code_id, "name": c.name, "pin": c.pin, "revocable": c.revocable, "added_in_app": c.added_in_app,
            "starts_at": c.starts_at.isoformat(), "ends_at": c.ends_at.isoformat(),
        }
        for c in lock.codes.applied()
    ]
    uses = [
        {"at": use.at.isoformat(), "pin": use.pin, "name": use.name, "code_id": use.vendor_code_id, "opened": use.opened}
        for use in lock.uses.all()
    ]
    return JsonResponse({
        "lock": lock.vendor_lock_id, "codes": codes, "uses": uses, "battery_percent": lock.battery_percent,
        "capacity": lock.capacity, **{field: getattr(lock, field) for field in FAULT_FIELDS},
    })


@csrf_exempt
@require_POST
def lock_faults(request, vendor: str, vendor_lock_id: str):
    """Set a virtual lock's fault switches from a JSON body, e.g. {"offline": true}."""
    lock = _lock_by_vendor_id(vendor, vendor_lock_id)
    changes = json.loads(request.body or b"{}")
    unknown = set(changes) - set(FAULT_FIELDS)
    if unknown:
        return JsonResponse({"error": f"unknown switches: {sorted(unknown)}"}, status=400)
    for field, value in changes.items():
        setattr(lock, field, value)
    lock.save(update_fields=list(changes))
    return JsonResponse({field: getattr(lock, field) for field in FAULT_FIELDS})


def _moment(value) -> datetime | None:
    """An ISO 8601 time with an offset from a control body; None when absent."""
    if value is None:
        return None
    moment = parse_datetime(str(value))
    if moment is None or moment.tzinfo is None:
        raise drift.DriftRefused(f"{value!r} is not an ISO 8601 time with an offset.")
    return moment


CONTROL_DRIFT = {
    "delete_code": lambda lock, body: drift.delete_in_app(lock, str(body["code_id"])),
    "change_window": lambda lock, body: drift.change_window(
        lock, str(body["code_id"]), _moment(body.get("starts_at")), _moment(body.get("ends_at"))
    ).vendor_code_id,
    "wipe": lambda lock, body: drift.wipe(lock),
    "add_unmanaged": lambda lock, body: drift.add_unmanaged(
        lock, str(body.get("name", "")), str(body["pin"]), _moment(body.get("starts_at")), _moment(body.get("ends_at"))
    ).vendor_code_id,
    "fill": lambda lock, body: drift.fill(lock, body.get("capacity")),
    "set_battery": lambda lock, body: drift.set_battery(lock, int(body["percent"])),
}


@csrf_exempt
@require_POST
def lock_drift(request, vendor: str, vendor_lock_id: str):
    """A drift switch from a JSON body: {"action": "delete_code", "code_id": ...}, "change_window"
    (code_id, starts_at, ends_at: ISO 8601 or null for none), "wipe", "add_unmanaged" (name, pin,
    starts_at, ends_at), "fill" (capacity, optional), "set_battery" (percent). Answers {"result"}:
    the code's id, the count of codes wiped or added, or null."""
    lock = _lock_by_vendor_id(vendor, vendor_lock_id)
    body = json.loads(request.body or b"{}")
    action = CONTROL_DRIFT.get(body.get("action"))
    if action is None:
        return JsonResponse({"error": f"unknown action; one of {sorted(CONTROL_DRIFT)}"}, status=400)
    try:
        return JsonResponse({"result": action(lock, body)})
    except (drift.DriftRefused, KeyError, TypeError, ValueError) as refusal:
        return JsonResponse({"error": str(refusal)}, status=400)


@csrf_exempt
@require_POST
def lock_keypad(request, vendor: str, vendor_lock_id: str):
    """Type a PIN on the lock's keypad from a JSON body {"pin", "at" (ISO 8601, optional: now)}."""
    lock = _lock_by_vendor_id(vendor, vendor_lock_id)
    body = json.loads(request.body or b"{}")
    try:
        use = enter_pin(lock, str(body["pin"]), _moment(body.get("at")))
    except (drift.DriftRefused, KeyError) as refusal:
        return JsonResponse({"error": str(refusal)}, status=400)
    return JsonResponse({"opened": use.opened, "name": use.name, "code_id": use.vendor_code_id, "at": use.at.isoformat()})


@csrf_exempt
@require_POST
def expire_tokens(request, vendor: str):
    """Every access token of the vendor's accounts expires now, at the vendor only (the client still
    believes its stored expiry): each cloud then refuses it as the real one does (TTLock errcode
    10004, the others 401) and the client must refresh. Refresh tokens stay valid. Answers
    {"expired": how many, "last_token": the highest token id so far}, so a script can count the
    tokens issued after this moment (a token's id grows with its issue)."""
    if vendor not in Vendor.values:
        return JsonResponse({"error": f"unknown vendor; one of {sorted(Vendor.values)}"}, status=400)
    now = timezone.now()
    expired = VirtualToken.objects.filter(account__vendor=vendor, expires_at__gt=now).update(expires_at=now)
    last = VirtualToken.objects.order_by("-pk").values_list("pk", flat=True).first()
    return JsonResponse({"expired": expired, "last_token": last or 0})


def fault_tally(request):
    """What the slow-write and asynchronous-apply switches did since the sandbox started, per vendor:
    {"slow_writes": {vendor: [each wait, s]}, "async_applies": {vendor: how many codes}}."""
    return JsonResponse(faults.tally())
