"""Staff admin for what keeps guests from being left outside (issue 20): the escalation ladder's
steps and the backup codes, read only. A backup's PIN is no field here, not even masked: it is
shown only once given to a guest, as that booking's code."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from locks.admin_display import local_and_utc
from locks.admin_read_back import ProviderFilter, ReadBackAdmin, lock_zone
from locks.models import BackupCode, LadderStep


@admin.register(BackupCode)
class BackupCodeAdmin(ReadBackAdmin):
    list_display = ["id", "lock", "state", "valid_until", "given_to", "attempts", "last_error"]
    list_filter = [ProviderFilter, "state", ("lock", admin.RelatedOnlyFieldListFilter)]
    fields = ["lock", "state", "vendor_code_id", "valid_from", "valid_until", "given_to", "attempts", "last_error", "created_at"]
    readonly_fields = fields
    list_select_related = ["lock__account__host", "lock__assignment__property", "access_code"]

    @admin.display(description=_("valid from"))
    def valid_from(self, obj: BackupCode) -> str:
        return local_and_utc(obj.starts_at, lock_zone(obj.lock))

    @admin.display(description=_("valid until"))
    def valid_until(self, obj: BackupCode) -> str:
        return local_and_utc(obj.ends_at, lock_zone(obj.lock))

    @admin.display(description=_("given to booking"))
    def given_to(self, obj: BackupCode) -> str:
        return str(obj.access_code.booking_id) if obj.access_code_id else "—"


@admin.register(LadderStep)
class LadderStepAdmin(ReadBackAdmin):
    list_display = ["created_at", "booking", "kind", "detail"]
    list_filter = ["kind"]
    fields = ["booking", "kind", "access_code", "detail", "created_at"]
    readonly_fields = fields
    list_select_related = ["booking__property"]
    search_fields = ["booking__guest_name", "booking__property__name"]
