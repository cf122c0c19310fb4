"""The door page's forms: trying and entering a PIN, the fault switches and the drift switches."""

from django import forms

from sandbox.models import VirtualAccount, VirtualLock

FAULT_FIELDS = [
    "offline",
    "server_errors",
    "timeouts",
    "rate_limited",
    "retry_after_seconds",
    "lose_responses",
    "latency_ms",
    "failure_rate",
    "loss_rate",
    "slow_rate",
    "slow_seconds",
    "apply_delay_seconds",
]
LOCAL_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
PIN = r"^\d{4,12}$"
PIN_MESSAGES = {"invalid": "A PIN is 4 to 12 digits."}


def local_moment(label: str, *, required: bool = True) -> forms.DateTimeField:
    """A wall-clock time on the lock (the view gives it the lock's zone)."""
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=LOCAL_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class TryPinForm(forms.Form):
    pin = forms.RegexField(regex=PIN, error_messages=PIN_MESSAGES)
    at = local_moment("At (lock's local time)")


class EnterPinForm(forms.Form):
    """Typing a PIN on the keypad now: the door opens or not, and the vendor logs it."""

    pin = forms.RegexField(regex=PIN, error_messages=PIN_MESSAGES, label="PIN")


class UnmanagedCodeForm(forms.Form):
    name = forms.CharField(max_length=100, initial="Cleaner")
    pin = forms.RegexField(regex=PIN, error_messages=PIN_MESSAGES, label="PIN")
    starts_at = local_moment("Valid from (empty: always)", required=False)
    ends_at = local_moment("Valid until (empty: never ends)", required=False)


class ChangeWindowForm(forms.Form):
    code_id = forms.CharField(max_length=64, widget=forms.HiddenInput)
    starts_at = local_moment("From", required=False)
    ends_at = local_moment("Until", required=False)


class FillForm(forms.Form):
    capacity = forms.IntegerField(min_value=0, max_value=1000, required=False, label="Capacity (empty: the lock's)")


class BatteryForm(forms.Form):
    percent = forms.IntegerField(min_value=0, max_value=100, label="Battery (%)")


class LockFaultsForm(forms.ModelForm):
    class Meta:
        model = VirtualLock
        fields = FAULT_FIELDS


class AccountFaultsForm(forms.ModelForm):
    class Meta:
        model = VirtualAccount
        fields = FAULT_FIELDS
