from django.contrib import admin

from bookings.models import Booking, Property


@admin.register(Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "time_zone", "pms_source", "ai_assistant_active", "default_check_in_time", "default_check_out_time"]
    list_filter = ["pms_source", "ai_assistant_active", "time_zone"]
    search_fields = ["name", "host__username", "host__email"]
    list_select_related = ["host"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["guest_name", "property", "arrival_date", "departure_date", "status"]
    list_filter = ["status", ("arrival_date", admin.DateFieldListFilter)]
    search_fields = ["guest_name", "guest_email", "property__name"]
    list_select_related = ["property"]
    date_hierarchy = "arrival_date"
