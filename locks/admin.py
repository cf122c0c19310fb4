"""Staff admin for locks: read everything, act only through the lifecycle services, never show a
credential, token or PIN (credentials are not even a form field)."""

from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from locks import admin_fallback, admin_read_back, admin_rotation, services  # noqa: F401  (they register their models)
from locks.admin_display import local_and_utc, status_words, window_text
from locks.code_status import ended_access_note
from locks.models import AccessCode, Lock, LockAssignment, ProviderAccount, VendorCall, provider_name
from locks.providers import registry


def provider_filter(field_path: str) -> type[admin.SimpleListFilter]:
    """A list filter on a provider slug, offering the vendors of the registry by name."""

    class ProviderFilter(admin.SimpleListFilter):
        title = "provider"
        parameter_name = "provider" if field_path == "provider" else field_path

        def lookups(self, request, model_admin):
            return [(slug, provider_name(slug)) for slug in registry.PROVIDER_CLASSES]

        def queryset(self, request, queryset):
            return queryset.filter(**{field_path: self.value()}) if self.value() else queryset

    return ProviderFilter


PROVIDER_FILTER = provider_filter("lock__account__provider")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the product's own services: staff read them, they do not edit them.
    Actions that act through the services need the model's "change" permission ("act")."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_act_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


@admin.register(ProviderAccount)
class ProviderAccountAdmin(ReadOnlyAdmin):
    list_display = ["host", "provider_label", "display_name", "status", "needs_reconnect", "token_expires_at", "last_error", "updated_at"]
    list_filter = [provider_filter("provider"), "status", ("connected_at", admin.DateFieldListFilter)]
    search_fields = ["display_name", "host__username", "host__email"]
    list_select_related = ["host"]
    ordering = ["host__username", "provider"]
    # `credentials` is editable=False and listed nowhere here: not even masked in a form.
    fields = [
        "host", "provider_label", "display_name", "status", "token_expires_at", "last_error", "disconnect_started_at",
        "disconnect_summary", "connected_at", "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("provider"), ordering="provider")
    def provider_label(self, account):
        return account.provider_name

    @admin.display(boolean=True, description=_("needs reconnect"))
    def needs_reconnect(self, account):
        return account.needs_reconnect


@admin.register(Lock)
class LockAdmin(ReadOnlyAdmin):
    list_display = [
        "name", "provider", "host", "vendor_lock_id", "supports_remote_codes", "unavailable_reason", "is_online", "battery_percent",
        "reconciled_at", "last_refreshed_at",
    ]
    list_filter = [provider_filter("account__provider"), "supports_remote_codes", "is_online"]
    fieldsets = [
        (None, {"fields": [
            "name", "provider", "host", "account", "vendor_lock_id", "supports_remote_codes", "unavailable_reason", "vendor_time_zone",
            "vendor_utc_offset_minutes", "last_refreshed_at",
        ]}),
        ("Health and read-back (issue 19)", {"fields": [
            "is_online", "offline_since", "battery_percent", "codes_held", "code_capacity", "health_checked_at", "health_alert_sent_at",
            "reconciled_at", "uses_read_until", "read_backs_today", "read_back_day", "read_back_rows",
        ]}),
    ]
    readonly_fields = [field for _title, options in fieldsets for field in options["fields"]]

    @admin.display(description=_("found on it"))
    def read_back_rows(self, lock):
        """Links to the lock's findings and to the codes on it that Nowistay does not manage."""
        findings = reverse("admin:locks_lockfinding_changelist") + f"?lock__id__exact={lock.pk}"
        unmanaged = reverse("admin:locks_unmanagedcode_changelist") + f"?lock__id__exact={lock.pk}"
        return format_html('<a href="{}">Findings</a> · <a href="{}">Codes Nowistay does not manage</a>', findings, unmanaged)
    search_fields = ["name", "vendor_lock_id", "account__host__username", "account__host__email"]
    list_select_related = ["account__host"]
    ordering = ["account__host__username", "name"]

    @admin.display(description=_("provider"), ordering="account__provider")
    def provider(self, lock):
        return lock.account.provider_name

    @admin.display(description=_("host"), ordering="account__host__username")
    def host(self, lock):
        return lock.account.host


@admin.register(LockAssignment)
class LockAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["property", "lock", "provider", "lead_days", "margin_minutes", "code_source", "updated_at"]
    list_filter = [PROVIDER_FILTER, "code_source"]
    search_fields = ["property__name", "property__host__username", "lock__name", "lock__vendor_lock_id"]
    list_select_related = ["property", "lock__account"]
    ordering = ["property__name"]
    actions = ["remove"]

    def has_delete_permission(self, request, obj=None):
        return False  # deleting the row would leave upcoming codes on the door: use the action

    @admin.action(description=_("Remove (revokes the codes of stays not started)"), permissions=["act"])
    def remove(self, request, queryset):
        for assignment in queryset.select_related("property", "lock"):
            revoked = services.lock_assignment_remove(prop=assignment.property)
            self.message_user(request, f"Removed {assignment.lock} from {assignment.property}: {revoked} upcoming code(s) being revoked.")

    @admin.display(description=_("provider"), ordering="lock__account__provider")
    def provider(self, assignment):
        return assignment.lock.account.provider_name


class VendorCallInline(admin.TabularInline):
    model = VendorCall
    fk_name = "access_code"
    fields = ["created_at", "operation", "outcome", "error_kind", "error_message", "duration"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("took"))
    def duration(self, call):
        return f"{call.duration_ms} ms"


def _in_property_time(field: str, description: str):
    """An admin column showing a code's moment `field` in its property's zone and in UTC."""

    @admin.display(description=description)
    def show(self, code):
        return local_and_utc(getattr(code, field), code.booking.property.time_zone)

    return show


@admin.register(AccessCode)
class AccessCodeAdmin(ReadOnlyAdmin):
    list_display = ["id", "guest", "property", "provider", "state", "is_current", "window_local", "attempts", "next_try", "last_error"]
    list_filter = [
        "state",
        "is_current",
        PROVIDER_FILTER,
        ("booking__property", admin.RelatedOnlyFieldListFilter),
        ("booking__property__host", admin.RelatedOnlyFieldListFilter),
        ("starts_at", admin.DateFieldListFilter),
        ("next_attempt_at", admin.DateFieldListFilter),
    ]
    search_fields = [
        "booking__guest_name",
        "booking__guest_email",
        "booking__property__name",
        "booking__property__host__username",
        "lock__vendor_lock_id",
        "lock__name",
        "vendor_code_id",
    ]
    list_select_related = ["booking__property", "lock__account"]
    ordering = ["-id"]
    actions = ["retry_now", "revoke_now", "regenerate_pin"]
    inlines = [VendorCallInline]
    # The PIN is encrypted and never shown to staff; the plain-words status masks it too.
    fields = [
        "booking_link", "lock", "status_in_words", "state", "is_current", "window_local_and_utc", "lock_window",
        "generate_at_local", "retry_deadline_local", "attempts", "next_try_local", "vendor_wait_local", "manual_retry_local",
        "last_error", "last_error_kind",
        "create_outcome_unknown", "pin_rejections", "warning", "usage_note", "vendor_code_id", "first_failure_at",
        "alert_sent_at", "failure_notified_at", "activated_at", "confirmed_on_lock_local", "first_used_local", "last_used_local",
        "finished_at", "claimed_until", "created_at", "updated_at",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False  # a code on a lock is removed by revoking it, not by deleting its row

    @admin.display(description=_("guest"), ordering="booking__guest_name")
    def guest(self, code):
        return code.booking.guest_name

    @admin.display(description=_("property"), ordering="booking__property__name")
    def property(self, code):
        return code.booking.property.name

    @admin.display(description=_("provider"), ordering="lock__account__provider")
    def provider(self, code):
        return code.lock.account.provider_name

    @admin.display(description=_("window (property time)"), ordering="starts_at")
    def window_local(self, code):
        tz_name = code.booking.property.time_zone
        zone = ZoneInfo(tz_name)
        return f"{code.starts_at.astimezone(zone):%d %b %H:%M} → {code.ends_at.astimezone(zone):%d %b %H:%M} {tz_name}"

    @admin.display(description=_("next try"), ordering="next_attempt_at")
    def next_try(self, code):
        return local_and_utc(code.next_attempt_at, code.booking.property.time_zone)

    @admin.display(description=_("booking"))
    def booking_link(self, code):
        url = reverse("admin:bookings_booking_change", args=[code.booking_id])
        return format_html('<a href="{}">{}</a>', url, code.booking)

    @admin.display(description=_("status"))
    def status_in_words(self, code):
        return status_words(code)

    @admin.display(description=_("window wanted"))
    def window_local_and_utc(self, code):
        return window_text(code)

    @admin.display(description=_("window on the lock"))
    def lock_window(self, code):
        tz_name = code.booking.property.time_zone
        return f"{local_and_utc(code.lock_starts_at, tz_name)} → {local_and_utc(code.lock_ends_at, tz_name)}"

    generate_at_local = _in_property_time("generate_at", "created on")

    retry_deadline_local = _in_property_time("retry_deadline", "creation retried until")

    next_try_local = _in_property_time("next_attempt_at", "next try")

    vendor_wait_local = _in_property_time("vendor_wait_until", "vendor asked to wait until")

    manual_retry_local = _in_property_time("manual_retry_at", "last Retry now")

    confirmed_on_lock_local = _in_property_time("confirmed_on_lock_at", "confirmed on the lock")

    first_used_local = _in_property_time("first_used_at", "first used")

    last_used_local = _in_property_time("last_used_at", "last used")

    # --- actions: the same services as the rest of the product, one line per row ----------------

    @admin.action(description=_("Retry now"), permissions=["act"])
    def retry_now(self, request, queryset):
        for code in queryset.select_related("booking__property"):
            self._report(request, code, services.code_retry_now(code_id=code.pk))

    @admin.action(description=_("Revoke now (ends the guest's access)"), permissions=["act"])
    def revoke_now(self, request, queryset):
        for code in queryset.select_related("booking__property", "lock__account"):
            if not code.is_current:
                self._report(request, code, "Not the booking's current code: nothing to revoke.", level=messages.WARNING)
                continue
            retired = services.booking_end_access(booking=code.booking)
            self._report(request, code, f"Access ended. {ended_access_note(retired, code.booking.property.time_zone)}")

    @admin.action(description=_("Regenerate PIN"), permissions=["act"])
    def regenerate_pin(self, request, queryset):
        for code in queryset.select_related("booking__property"):
            self._report(request, code, services.code_regenerate(code_id=code.pk))

    def _report(self, request, code, text, level=messages.INFO):
        self.message_user(request, f"Code {code.pk} ({code.booking.guest_name}, {code.booking.property.name}): {text}", level=level)


@admin.register(VendorCall)
class VendorCallAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at", "provider_label", "operation", "outcome", "error_kind", "error_message", "duration", "access_code", "lock",
    ]
    list_filter = [provider_filter("provider"), "operation", "outcome", "error_kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["error_message", "lock__vendor_lock_id", "access_code__booking__guest_name"]
    list_select_related = ["lock", "access_code"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]

    def has_delete_permission(self, request, obj=None):
        return False  # the retention task prunes it; nobody edits history by hand

    @admin.display(description=_("provider"), ordering="provider")
    def provider_label(self, call):
        return provider_name(call.provider)

    @admin.display(description=_("took"), ordering="duration_ms")
    def duration(self, call):
        return f"{call.duration_ms} ms"


def codes_for_booking_admin():
    """Prefetch for the booking page: its codes, their locks and audit rows in three queries."""
    calls = VendorCall.objects.order_by("-created_at", "-id")
    return Prefetch(
        "access_codes",
        queryset=AccessCode.objects.select_related("lock__account", "booking__property")
        .prefetch_related(Prefetch("vendor_calls", queryset=calls))
        .order_by("-id"),
    )
