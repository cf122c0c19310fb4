"""Staff admin for the hosts' code rotations, read only: which code replaced which, asked from where,
and how far the lock's part got (the guest's message is on the booking's message log). No PIN."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from locks.models import CodeRotation
from locks.rotation_status import new_pin_step, old_code_step


@admin.register(CodeRotation)
class CodeRotationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "booking", "requested_via", "old_code", "new_code", "new_pin", "old_code_now"]
    list_filter = ["requested_via"]
    search_fields = ["booking__guest_name", "booking__property__name"]
    list_select_related = ["booking__property", "old_code__lock__account", "new_code__lock__account"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was done to a guest's access

    @admin.display(description=_("new PIN on the lock"))
    def new_pin(self, rotation):
        return new_pin_step(rotation, now=timezone.now()).text

    @admin.display(description=_("old code"))
    def old_code_now(self, rotation):
        return old_code_step(rotation, now=timezone.now()).text
