from django.contrib import admin

from messaging.models import CodeChangeNotice, MessageDelivery, MessageTemplate


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = [
        "name", "host", "trigger", "offset", "offset_unit", "send_at", "send_email", "send_sms", "send_whatsapp", "language",
        "is_active", "is_code_change",
    ]
    list_filter = ["trigger", "send_email", "send_sms", "send_whatsapp", "is_active", "is_code_change"]
    search_fields = ["name", "host__username", "subject"]
    list_select_related = ["host"]
    filter_horizontal = ["properties"]


@admin.register(MessageDelivery)
class MessageDeliveryAdmin(admin.ModelAdmin):
    # The ledger is written by the services only. PINs and message texts are encrypted and not
    # shown here; the host reads them on the booking's message log.
    list_display = [
        "id", "booking", "template_name", "trigger_key", "channel", "status", "provider_status", "language", "due_at", "sent_at",
        "attempts", "note",
    ]
    list_filter = ["status", "channel", "provider_status"]
    search_fields = ["booking__guest_name", "booking__property__name", "template_name", "trigger_key"]
    list_select_related = ["booking__property"]
    exclude = ["pin", "access_link", "subject", "body", "recipient"]
    readonly_fields = [f.name for f in MessageDelivery._meta.fields if f.name not in ("pin", "access_link", "subject", "body", "recipient")]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CodeChangeNotice)
class CodeChangeNoticeAdmin(admin.ModelAdmin):
    list_display = ["id", "booking", "previous_code", "new_code", "change_messages", "host_notified_at"]
    list_select_related = ["booking__property"]
    exclude = ["previous_pin", "new_pin", "previous_link", "new_link"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
