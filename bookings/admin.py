from django.contrib import admin

from bookings.models import Booking, Property
from locks import services


@admin.register(Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "time_zone", "pms_source", "ai_assistant_active", "default_check_in_time", "default_check_out_time"]
    list_filter = ["pms_source", "ai_assistant_active", "time_zone"]
    search_fields = ["name", "host__username", "host__email"]
    list_select_related = ["host"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            services.property_times_changed(prop=obj)


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["guest_name", "property", "arrival_date", "departure_date", "status"]
    list_filter = ["status", ("arrival_date", admin.DateFieldListFilter)]
    search_fields = ["guest_name", "guest_email", "property__name"]
    list_select_related = ["property"]
    date_hierarchy = "arrival_date"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.booking_changed(booking=obj)  # the code follows the booking, as from any other path
