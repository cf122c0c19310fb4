"""The door pages: what a virtual lock holds, whether a PIN would open it, and its fault switches."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox.models import Vendor, VirtualAccount, VirtualLock

FAULT_FIELDS = [
    "offline", "server_errors", "timeouts", "rate_limited", "retry_after_seconds", "lose_responses", "latency_ms",
    "failure_rate", "loss_rate",
]


class TryPinForm(forms.Form):
    pin = forms.RegexField(regex=r"^\d{4,12}$", error_messages={"invalid": "A PIN is 4 to 12 digits."})
    at = forms.DateTimeField(
        label="At (lock's local time)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class LockFaultsForm(forms.ModelForm):
    class Meta:
        model = VirtualLock
        fields = FAULT_FIELDS


class AccountFaultsForm(forms.ModelForm):
    class Meta:
        model = VirtualAccount
        fields = FAULT_FIELDS


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


def door(request, lock_id: int):
    lock = get_object_or_404(VirtualLock.objects.select_related("account"), pk=lock_id)
    zone = ZoneInfo(lock.time_zone)
    verdict = None
    now_there = timezone.now().astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    try_form = TryPinForm(request.POST if request.POST.get("action") == "try" else None, initial={"at": now_there})
    try_form.fields["at"].label = f"At (the lock's local time, {zone.key})"
    faults_form = LockFaultsForm(request.POST if request.POST.get("action") == "faults" else None, instance=lock)
    if request.method == "POST" and request.POST.get("action") == "faults" and faults_form.is_valid():
        faults_form.save()
        messages.success(request, "Fault switches saved.")
        return redirect("door", lock_id=lock.pk)
    if request.method == "POST" and try_form.is_valid():
        moment = try_form.cleaned_data["at"].replace(tzinfo=None).replace(tzinfo=zone)
        verdict = _would_open(lock, try_form.cleaned_data["pin"], moment)
    codes = [
        {
            "code": code, "starts": local_time(code.starts_at, zone), "ends": local_time(code.ends_at, zone),
            "open_now": code.opens_at(timezone.now()),
        }
        for code in lock.codes.all()
    ]
    context = {"lock": lock, "codes": codes, "try_form": try_form, "faults_form": faults_form, "verdict": verdict}
    return render(request, "sandbox/door.html", context)


def account_faults(request, account_id: int):
    account = get_object_or_404(VirtualAccount, pk=account_id)
    form = AccountFaultsForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Fault switches of {account} saved.")
        return redirect("index")
    return render(request, "sandbox/account_faults.html", {"account": account, "form": form})


FIRST_USE_WITHIN = timedelta(hours=24)  # igloohome: a code longer than this must first be used within it


def _would_open(lock: VirtualLock, pin: str, moment: datetime) -> str:
    zone = moment.tzinfo
    matching = [code for code in lock.codes.all() if code.pin == pin]
    if not matching:
        return f"No: {lock.name} holds no code {pin}."
    opening = [code for code in matching if code.opens_at(moment)]
    if opening and _homeit_box_offline(lock):
        return (
            f"Only if the homeit BOX is back online by {local_time(moment, zone)}: it is offline now, and while it is "
            "only its SOS key opens the keypad."
        )
    if any(not _first_use_due_before(lock, code, moment) for code in opening):
        return f"Yes: the door opens with {pin} on {local_time(moment, zone)}."
    if opening:
        deadline = opening[0].starts_at + FIRST_USE_WITHIN
        return (
            f"Only if {pin} was already entered before {local_time(deadline, zone)}: an igloohome code valid for "
            "more than 24 hours stops working if it is not used within 24 hours of its start."
        )
    windows = ", ".join(f"{local_time(c.starts_at, zone)} → {local_time(c.ends_at, zone)}" for c in matching)
    return f"No: on {local_time(moment, zone)}, {pin} does not open the door; it is valid {windows}."


def _homeit_box_offline(lock: VirtualLock) -> bool:
    """homeit checks keys through its BOX; offline, only the SOS key stored in it works [homeit FAQ]."""
    return lock.account.vendor == Vendor.HOMEIT and (lock.offline or lock.account.offline)


def _first_use_due_before(lock: VirtualLock, code, moment: datetime) -> bool:
    """igloohome's rule: a code longer than 24 h opens after its first 24 h only if used within them."""
    return (
        lock.account.vendor == Vendor.IGLOOHOME
        and code.ends_at - code.starts_at > FIRST_USE_WITHIN
        and moment >= code.starts_at + FIRST_USE_WITHIN
    )


# --- machine control, for tests and scripts ------------------------------------------------------

def _lock_by_vendor_id(vendor: str, vendor_lock_id: str) -> VirtualLock:
    return get_object_or_404(VirtualLock, account__vendor=vendor, vendor_lock_id=vendor_lock_id)


def lock_state(request, vendor: str, vendor_lock_id: str):
    """The codes a virtual lock holds, as JSON."""
    lock = _lock_by_vendor_id(vendor, vendor_lock_id)
    codes = [
        {
            "id": c.vendor_code_id, "name": c.name, "pin": c.pin, "revocable": c.revocable,
            "starts_at": c.starts_at.isoformat(), "ends_at": c.ends_at.isoformat(),
        }
        for c in lock.codes.all()
    ]
    return JsonResponse({"lock": lock.vendor_lock_id, "codes": codes, **{field: getattr(lock, field) for field in FAULT_FIELDS}})


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
