"""Staff admin: platform-wide endpoints (no host) are created here; events, deliveries and attempts
are read only. A secret is shown once, in the answer to the form that made it, never in a list."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse

from events import services
from events.forms import KIND_CHOICES
from events.models import URL_MAX_LENGTH, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from events.signing import new_secret
from nowistay.fields import SingleLineFormField


class EndpointAdminForm(forms.ModelForm):
    url = SingleLineFormField(label="URL", max_length=URL_MAX_LENGTH, validators=[services.validate_endpoint_url])
    kinds = forms.MultipleChoiceField(choices=KIND_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, help_text="None: all.")

    class Meta:
        model = WebhookEndpoint
        fields = ["host", "url", "description", "kinds", "read_pins", "active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointAdminForm
    list_display = ["url", "host", "active", "read_pins", "failing_since", "disabled_at"]
    list_filter = ["active", "read_pins"]
    search_fields = ["url", "host__email"]
    raw_id_fields = ["host"]
    readonly_fields = ["disabled_at", "disabled_reason", "failing_since", "created_at"]
    actions = ["rotate_secret"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = new_secret()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page(request, obj, obj.secret)

    @admin.action(description="Rotate the secret (shown once)", permissions=["change"])
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Rotate one endpoint at a time: its new secret is shown once.", level="error")
            return None
        endpoint = queryset.get()
        return self._secret_page(request, endpoint, services.endpoint_rotate_secret(endpoint=endpoint))

    def _secret_page(self, request, endpoint, secret):
        context = {**self.admin_site.each_context(request), "endpoint": endpoint, "secret": secret, "opts": self.model._meta}
        response = TemplateResponse(request, "events/admin_secret.html", context)
        response["Cache-Control"] = "no-store"
        return response


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnly):
    list_display = ["id", "kind", "host", "booking_id", "code_id", "occurred_at"]
    list_filter = ["kind"]
    search_fields = ["=id", "=booking_id", "=code_id", "host__email"]
    raw_id_fields = ["host"]


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "at", "status_code", "latency_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ["id", "event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at", "delivered_at"]
    list_filter = ["status"]
    raw_id_fields = ["endpoint", "event"]
    inlines = [AttemptInline]
