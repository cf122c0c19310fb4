from django.contrib import admin

from locks.models import AccessCode, Lock, LockAssignment, ProviderAccount, VendorCall


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    # Credentials are not editable and never listed: staff see the account's state only.
    list_display = ["host", "provider", "display_name", "status", "token_expires_at", "updated_at"]
    list_filter = ["provider", "status"]
    search_fields = ["display_name", "host__username", "host__email"]
    readonly_fields = ["token_expires_at", "last_error", "connected_at", "updated_at"]
    list_select_related = ["host"]


@admin.register(Lock)
class LockAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "vendor_lock_id", "supports_remote_codes", "is_online", "last_refreshed_at"]
    list_filter = ["account__provider", "supports_remote_codes", "is_online"]
    search_fields = ["name", "vendor_lock_id", "account__host__username"]
    list_select_related = ["account__host"]


@admin.register(LockAssignment)
class LockAssignmentAdmin(admin.ModelAdmin):
    list_display = ["property", "lock", "lead_days", "margin_minutes", "code_source"]
    list_filter = ["lock__account__provider", "code_source"]
    search_fields = ["property__name", "lock__name", "lock__vendor_lock_id"]
    list_select_related = ["property", "lock__account"]


@admin.register(AccessCode)
class AccessCodeAdmin(admin.ModelAdmin):
    # The PIN is encrypted and not shown here; staff read the state, window and errors.
    list_display = ["id", "booking", "lock", "state", "is_current", "starts_at", "ends_at", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["state", "is_current", "lock__account__provider"]
    search_fields = ["booking__guest_name", "booking__property__name", "lock__vendor_lock_id", "vendor_code_id"]
    list_select_related = ["booking__property", "lock"]
    readonly_fields = [field.name for field in AccessCode._meta.fields if field.name != "pin"]
    exclude = ["pin"]

    def has_add_permission(self, request):
        return False


@admin.register(VendorCall)
class VendorCallAdmin(admin.ModelAdmin):
    list_display = ["created_at", "provider", "operation", "outcome", "error_kind", "duration_ms", "access_code", "lock"]
    list_filter = ["provider", "operation", "outcome"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
