import builtins
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language, gettext, gettext_lazy as _

from nowistay.countries import country_of_time_zone
from nowistay.fields import SingleLineCharField, SingleLineEmailField
from nowistay.guest_languages import LanguageRefused, language_from_phone, language_name, normalise_language
from nowistay.validators import (
    forbidden_character,
    phone_in_e164,
    validate_country,
    validate_guest_language,
    validate_phone,
    validate_time_zone,
)


class PmsSource(models.TextChoices):
    NOWISTAY = "nowistay", _("Nowistay PMS")
    DIRECT_OTA = "direct_ota", _("Direct OTA connection")
    OTHER_PMS = "other_pms", _("Another PMS connector")


# The one definition of "may have a smart lock": used by queries and by single objects alike.
SMART_LOCK_ELIGIBILITY = {"pms_source": PmsSource.NOWISTAY, "ai_assistant_active": True}
SMART_LOCK_ELIGIBLE = Q(**SMART_LOCK_ELIGIBILITY)


class PropertyQuerySet(models.QuerySet):
    def eligible_for_smart_lock(self):
        return self.filter(SMART_LOCK_ELIGIBLE)

    def of_host(self, host):
        return self.filter(host=host)


class Property(models.Model):
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="properties")
    name = SingleLineCharField(max_length=200)
    time_zone = SingleLineCharField(max_length=64, validators=[validate_time_zone], help_text=_("IANA name, e.g. Europe/Paris"))
    country = SingleLineCharField(
        max_length=2,
        blank=True,
        validators=[validate_country],
        help_text=_(
            "ISO 3166-1 code, e.g. FR. Guest phone numbers without a country code are read as this "
            "country's. Empty: the country of the time zone."
        ),
    )
    default_check_in_time = models.TimeField(null=True, blank=True, help_text=_("Empty means 15:00."))
    default_check_out_time = models.TimeField(null=True, blank=True, help_text=_("Empty means 11:00."))
    pms_source = models.CharField(max_length=20, choices=PmsSource.choices, default=PmsSource.NOWISTAY)
    ai_assistant_active = models.BooleanField(_("AI Assistant subscription active"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PropertyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = _("properties")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["host", "name"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(pms_source__in=PmsSource.values), name="property_pms_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_eligible_for_smart_lock(self) -> bool:
        return all(getattr(self, field) == value for field, value in SMART_LOCK_ELIGIBILITY.items())

    @property
    def phone_region(self) -> str | None:
        """The country a guest phone number without a country code is read in: the property's own,
        else its time zone's (None for a zone of no one country, such as UTC)."""
        return self.country or country_of_time_zone(self.time_zone)


FIRST_BOOKING_DATE, LAST_BOOKING_DATE = date(2000, 1, 1), date(2099, 12, 31)


class BookingStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")


LANGUAGE_SET, LANGUAGE_FROM_PHONE = "set", "phone"


class Booking(models.Model):
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="bookings")
    # One line of printable text each (nowistay.validators), as the API requires: a line break in a
    # guest's name or address would reach email headers.
    guest_name = SingleLineCharField(max_length=200)
    guest_email = SingleLineEmailField(blank=True)
    # Stored in E.164 (+33612345678): see clean_fields. A value stored before that the data
    # migration could not read is kept as it was written.
    guest_phone = SingleLineCharField(max_length=32, blank=True, validators=[validate_phone])
    # ISO 639-1 ("fr"), stored normalised ("fr-FR" → "fr"). Empty: the phone's country is the hint.
    guest_language = SingleLineCharField(
        max_length=8, blank=True, validators=[validate_guest_language],
        help_text="ISO 639-1 code, e.g. fr. Empty: the language of the guest phone number's country.",
    )
    arrival_date = models.DateField()
    departure_date = models.DateField()
    status = models.CharField(max_length=12, choices=BookingStatus.choices, default=BookingStatus.PENDING)
    check_in_time = models.TimeField(
        null=True, blank=True, help_text=_("Negotiated check-in on the arrival date; empty uses the property's.")
    )
    check_out_time = models.TimeField(
        null=True, blank=True, help_text=_("Negotiated check-out on the departure date; empty uses the property's.")
    )
    access_ended_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Access ended early (early departure, or revoked by staff): no code from then on."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["arrival_date", "id"]
        indexes = [
            models.Index(fields=["property", "arrival_date"]),
            models.Index(fields=["status", "arrival_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(departure_date__gt=F("arrival_date")), name="booking_departure_after_arrival"
            ),
            models.CheckConstraint(condition=Q(status__in=BookingStatus.values), name="booking_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.guest_name} at {self.property} ({self.arrival_date} → {self.departure_date})"

    def clean_fields(self, exclude=None) -> None:
        """The fields' own rules, then the guest's phone read in the property's country and kept in
        E.164: a rule that needs the property, so not a field validator (they see one value)."""
        errors: dict = {}
        if "guest_language" not in set(exclude or ()):
            try:
                self.guest_language = normalise_language(self.guest_language or "")
            except LanguageRefused as refused:
                if forbidden_character(self.guest_language) is None:  # else the field's validator names the character
                    errors["guest_language"] = [ValidationError(refused.message, code="invalid_language")]
                    exclude = {*(exclude or ()), "guest_language"}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        phone_checked = "guest_phone" not in set(exclude or ()) | set(errors)
        if phone_checked and "property" not in errors and self.property_id is not None:
            try:
                self.guest_phone = phone_in_e164(self.guest_phone, region=self.property.phone_region)
            except ValidationError as error:
                if not self._keeps_the_phone_stored_before():
                    errors["guest_phone"] = error.error_list
        if errors:
            raise ValidationError(errors)

    @builtins.property  # (`property` is the field here)
    def effective_guest_language(self) -> str:
        """The language the guest's messages are written in: the one set, else the phone's
        country's, else "" (each message's fallback language)."""
        return self.guest_language_with_source[0]

    @builtins.property
    def guest_language_with_source(self) -> tuple[str, str]:
        """(language, where it came from): "set", "phone" (the phone number's country) or "" (unknown)."""
        if self.guest_language:
            return self.guest_language, LANGUAGE_SET
        hint = language_from_phone(self.guest_phone or "")
        return (hint, LANGUAGE_FROM_PHONE) if hint else ("", "")

    def guest_language_words(self) -> str:
        """For the host, e.g. "French", "French (from the phone number)", or that it is not known."""
        language, source = self.guest_language_with_source
        if not language:
            return gettext("Not known: each message's fallback language is used")
        name = language_name(language, get_language() or "en")
        return gettext("%(language)s (from the phone number)") % {"language": name} if source == LANGUAGE_FROM_PHONE else name

    def _keeps_the_phone_stored_before(self) -> bool:
        """A value the E.164 data migration could not read was kept as written: it is refused once it
        is changed, not before (a PMS's cancellation push, repeating it, must not fail on it)."""
        return self.pk is not None and Booking.objects.filter(pk=self.pk, guest_phone=self.guest_phone).exists()

    def clean(self) -> None:
        super().clean()
        for name in ("arrival_date", "departure_date"):
            day = getattr(self, name)
            if day and not (FIRST_BOOKING_DATE <= day <= LAST_BOOKING_DATE):
                # Code windows are computed around these dates: far dates overflow datetime.
                message = gettext("Choose a date from %(first)s to %(last)s.") % {
                    "first": FIRST_BOOKING_DATE.year,
                    "last": LAST_BOOKING_DATE.year,
                }
                raise ValidationError({name: message})
        if self.arrival_date and self.departure_date and self.departure_date <= self.arrival_date:
            raise ValidationError({"departure_date": gettext("The departure must be after the arrival.")})


class ExternalBookingRef(models.Model):
    """The PMS's (or channel manager's) own reference of a booking: a repeated push with the same
    reference updates the booking instead of creating a second one. Unique per host."""

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ref = SingleLineCharField(_("external reference"), max_length=100)
    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="external_ref")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "ref"], name="one_booking_per_host_external_ref")]

    def __str__(self) -> str:
        return self.ref
from bookings.api.models import ApiToken  # noqa: E402,F401
