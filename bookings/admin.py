from django.contrib import admin

from bookings.api.models import ApiToken
from bookings.api.services import api_token_revoke
from bookings.forms import country_field
from bookings.models import Booking, ExternalBookingRef, Property
from locks import services
from locks.admin import codes_for_booking_admin
from locks.admin_display import codes_with_audit_html
from nowistay.phones import PHONE_PATTERN


@admin.register(Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = [
        "name", "host", "time_zone", "country", "pms_source", "ai_assistant_active", "default_check_in_time", "default_check_out_time",
    ]
    list_filter = ["pms_source", "ai_assistant_active", "time_zone", "country", ("host", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "host__username", "host__email"]
    list_select_related = ["host"]
    ordering = ["host__username", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["host"] if obj else []  # a property never moves to another host's account

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        field = form.base_fields["country"]
        form.base_fields["country"] = country_field(obj.time_zone if obj else "", label=field.label, help_text=field.help_text)
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            services.property_times_changed(prop=obj)


class ExternalRefInline(admin.StackedInline):
    model = ExternalBookingRef
    fields = ["ref", "created_at"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False


def _phone_digits_to_search(term: str) -> str:
    """A phone number as staff type it ("06 12 34 56 78", "+33 6 12") as the digits its stored E.164
    form contains: separators go, and leading zeros (a trunk prefix, or 00 before a country code)."""
    term = term.strip()
    if not PHONE_PATTERN.fullmatch(term):
        return ""
    digits = "".join(character for character in term if character.isdigit()).lstrip("0")
    return digits if len(digits) >= 4 else ""


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["guest_name", "property", "host", "arrival_date", "departure_date", "status", "access_ended_at"]
    list_filter = [
        "status",
        ("property__host", admin.RelatedOnlyFieldListFilter),
        ("property", admin.RelatedOnlyFieldListFilter),
        ("arrival_date", admin.DateFieldListFilter),
        ("departure_date", admin.DateFieldListFilter),
    ]
    search_fields = [
        "guest_name", "guest_email", "guest_phone", "property__name", "property__host__username", "external_ref__ref",
        "access_codes__lock__vendor_lock_id",
    ]
    list_select_related = ["property__host"]
    date_hierarchy = "arrival_date"
    ordering = ["-arrival_date", "-id"]
    readonly_fields = ["access_ended_at", "codes_and_audit_trail", "created_at", "updated_at"]
    inlines = [ExternalRefInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(codes_for_booking_admin())

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and "property" in form.base_fields:
            # A booking moves only between its own host's properties.
            form.base_fields["property"].queryset = Property.objects.filter(host_id=obj.property.host_id)
        return form

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        digits = _phone_digits_to_search(search_term)
        if digits:
            results |= queryset.filter(guest_phone__contains=digits)
        return results, may_have_duplicates

    @admin.display(description="host", ordering="property__host__username")
    def host(self, booking):
        return booking.property.host

    @admin.display(description="door codes and their vendor calls")
    def codes_and_audit_trail(self, booking):
        return codes_with_audit_html(list(booking.access_codes.all()))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.booking_changed(booking=obj)  # the code follows the booking, as from any other path


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see who holds which token and revoke it; the token itself is only ever stored hashed
    and its hash is not shown."""

    list_display = ["name", "host", "prefix", "read_pins", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["read_pins", ("revoked_at", admin.EmptyFieldListFilter), ("host", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "prefix", "host__username", "host__email"]
    list_select_related = ["host"]
    ordering = ["-created_at"]
    fields = ["name", "host", "prefix", "read_pins", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are created by hosts, shown to them once

    def has_change_permission(self, request, obj=None):
        return False

    def has_act_permission(self, request):
        return request.user.has_perm("bookings.change_apitoken")

    @admin.action(description="Revoke the selected tokens", permissions=["act"])
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, request=request)
            self.message_user(request, f"Revoked {token}.")
