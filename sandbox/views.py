"""The door pages: what a virtual lock holds, whether a PIN would open it, and its fault switches."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from sandbox.models import VirtualAccount, VirtualLock

FAULT_FIELDS = ["offline", "server_errors", "timeouts", "rate_limited", "retry_after_seconds", "lose_responses", "latency_ms"]


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


def door(request, lock_id: int):
    lock = get_object_or_404(VirtualLock.objects.select_related("account"), pk=lock_id)
    zone = ZoneInfo(lock.time_zone)
    verdict = None
    try_form = TryPinForm(request.POST if request.POST.get("action") == "try" else None, initial={"at": timezone.now().astimezone(zone).strftime("%Y-%m-%dT%H:%M")})
    faults_form = LockFaultsForm(request.POST if request.POST.get("action") == "faults" else None, instance=lock)
    if request.method == "POST" and request.POST.get("action") == "faults" and faults_form.is_valid():
        faults_form.save()
        messages.success(request, "Fault switches saved.")
        return redirect("door", lock_id=lock.pk)
    if request.method == "POST" and try_form.is_valid():
        moment = try_form.cleaned_data["at"].replace(tzinfo=None).replace(tzinfo=zone)
        verdict = _would_open(lock, try_form.cleaned_data["pin"], moment)
    codes = [
        {"code": code, "starts": code.starts_at.astimezone(zone), "ends": code.ends_at.astimezone(zone), "open_now": code.opens_at(timezone.now())}
        for code in lock.codes.all()
    ]
    return render(request, "sandbox/door.html", {"lock": lock, "codes": codes, "try_form": try_form, "faults_form": faults_form, "verdict": verdict})


def account_faults(request, account_id: int):
    account = get_object_or_404(VirtualAccount, pk=account_id)
    form = AccountFaultsForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Fault switches of {account} saved.")
        return redirect("index")
    return render(request, "sandbox/account_faults.html", {"account": account, "form": form})


def _would_open(lock: VirtualLock, pin: str, moment: datetime) -> str:
    matching = [code for code in lock.codes.all() if code.pin == pin]
    if not matching:
        return f"No: {lock.name} holds no code {pin}."
    if any(code.opens_at(moment) for code in matching):
        return f"Yes: the door opens with {pin} at {moment:%H:%M on %d %b %Y}."
    windows = ", ".join(f"{c.starts_at.astimezone(moment.tzinfo):%d %b %H:%M} → {c.ends_at.astimezone(moment.tzinfo):%d %b %H:%M}" for c in matching)
    return f"No: {pin} is only valid {windows}."
