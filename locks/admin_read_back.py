"""Staff admin for what reading the locks back finds (issue 19): findings and unmanaged codes, read
only. An unmanaged code's PIN is kept only so no guest gets it: it is no field here, not even masked."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from locks.admin_display import local_and_utc
from locks.models import Lock, LockAssignment, LockFinding, UnmanagedCode, provider_name
from locks.providers import registry


class ProviderFilter(admin.SimpleListFilter):
    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [(slug, provider_name(slug)) for slug in registry.PROVIDER_CLASSES]

    def queryset(self, request, queryset):
        return queryset.filter(lock__account__provider=self.value()) if self.value() else queryset


def lock_zone(lock: Lock) -> str:
    """The zone staff read a lock's times in: its property's, else the lock's own, else UTC."""
    try:
        return lock.assignment.property.time_zone
    except LockAssignment.DoesNotExist:
        return lock.vendor_time_zone or "UTC"


class ReadBackAdmin(admin.ModelAdmin):
    """Rows the read-back writes: staff read them, nobody adds, edits or deletes them by hand."""

    list_select_related = ["lock__account__host", "lock__assignment__property"]
    list_filter = [ProviderFilter, ("lock", admin.RelatedOnlyFieldListFilter)]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("host"), ordering="lock__account__host__username")
    def host(self, row):
        return row.lock.account.host

    @admin.display(description=_("provider"), ordering="lock__account__provider")
    def provider(self, row):
        return row.lock.account.provider_name


@admin.register(LockFinding)
class LockFindingAdmin(ReadBackAdmin):
    list_display = ["created_at", "kind", "lock", "provider", "host", "detail", "access_code", "host_notified_at"]
    list_filter = ["kind", *ReadBackAdmin.list_filter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["detail", "lock__name", "lock__vendor_lock_id", "vendor_code_id", "lock__account__host__username"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    fields = ["created_at", "kind", "detail", "lock", "provider", "host", "access_code", "vendor_code_id", "host_notified_at"]
    readonly_fields = fields


@admin.register(UnmanagedCode)
class UnmanagedCodeAdmin(ReadBackAdmin):
    list_display = ["name", "lock", "provider", "host", "window", "first_seen_at", "last_seen_at"]
    search_fields = ["name", "lock__name", "lock__vendor_lock_id", "vendor_code_id", "lock__account__host__username"]
    ordering = ["lock__name", "name", "id"]
    # No "pin": listed nowhere, so the admin never decrypts it.
    fields = ["name", "lock", "provider", "host", "vendor_code_id", "window", "first_seen_at", "last_seen_at"]
    readonly_fields = fields
    exclude = ["pin"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("pin")

    @admin.display(description=_("window (property time)"))
    def window(self, code):
        zone = lock_zone(code.lock)
        ends = local_and_utc(code.ends_at, zone) if code.ends_at else "no end"
        return f"{local_and_utc(code.starts_at, zone)} → {ends}"
