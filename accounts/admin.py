"""Staff's view of account security: every account's security log (read-only), the sign-in
lock-outs with a "Lift" action, and axes' counted failures with the same action."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.events import record_security_event
from accounts.lockouts import lockout_lift
from accounts.models import SecurityEvent, SecurityEventKind, SignInLockout


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "username", "user", "ip_address", "user_agent", "detail"]
    list_filter = ["kind", "created_at"]
    search_fields = ["username", "ip_address", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]


def _lift(modeladmin, request, rows) -> None:
    now = timezone.now()
    running = 0
    for row in rows:
        running += lockout_lift(
            username=row.username or None, ip_address=row.ip_address, by=request.user, reason="by Nowistay staff", now=now
        )
    modeladmin.message_user(request, f"Lifted: {len(rows)} selected, {running} lock-outs were still running.", messages.SUCCESS)


@admin.register(SignInLockout)
class SignInLockoutAdmin(ReadOnlyAdmin):
    list_display = ["locked_at", "username", "ip_address", "ends_at", "state", "lifted_by"]
    list_filter = ["locked_at"]
    search_fields = ["username", "ip_address"]
    actions = ["lift"]

    @admin.display(description="State")
    def state(self, lockout: SignInLockout) -> str:
        if lockout.lifted_at:
            return f"Lifted {lockout.lifted_at:%Y-%m-%d %H:%M}"
        return "Locked out" if lockout.ends_at > timezone.now() else "Over"

    @admin.action(description="Lift the lock-out (the account and the address of each row)", permissions=["lift"])
    def lift(self, request, queryset) -> None:
        _lift(self, request, list(queryset))

    def has_lift_permission(self, request) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LiftableAccessAttemptAdmin(AccessAttemptAdmin):
    """axes' list of counted failures; its "clean up expired" action is replaced by Lift (it would
    judge every row by the staff member's own request)."""

    list_display = ["attempt_time", "ip_address", "username", "user_agent", "path_info", "failures_since_start"]
    actions = ["lift"]

    @admin.action(description="Lift the lock-out (the account and the address of each row)", permissions=["lift"])
    def lift(self, request, queryset) -> None:
        _lift(self, request, list(queryset))

    def has_lift_permission(self, request) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")


# django-otp's own admins let staff add an authenticator with a secret of their choosing, or read
# recovery codes: staff only look at devices and delete them (a host who lost their phone and codes
# signs in with the password alone, then turns two-factor authentication on again).
class TwoFactorDeviceAdmin(ReadOnlyAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.delete_{self.opts.model_name}")

    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, type(obj).objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        for device in queryset.select_related("user"):
            what = "Authenticator app" if isinstance(device, TOTPDevice) else "Recovery codes"
            record_security_event(kind=SecurityEventKind.TWO_FACTOR_DISABLED, user=device.user, detail=f"{what} removed by Nowistay staff.")
        queryset.delete()


for device_model in (TOTPDevice, StaticDevice):
    admin.site.unregister(device_model)
    admin.site.register(device_model, TwoFactorDeviceAdmin)
