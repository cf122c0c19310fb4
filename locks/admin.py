from django.contrib import admin

from locks.models import Lock, LockAssignment, ProviderAccount


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
