"""Guest messages: the host's templates, and the ledger of what was sent to whom with which code."""

import contextlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, gettext, gettext_lazy as _, ngettext

from messaging import languages, rendering, schedule
from nowistay.crypto import EncryptedTextField
from nowistay.fields import MultilineTextField, SingleLineCharField
from nowistay.guest_languages import LanguageRefused, language_name, normalise_language
from nowistay.validators import validate_guest_language

BEFORE_CHECK_IN_MAX_DAYS = 30
BEFORE_CHECK_IN_MAX_HOURS = 7 * 24
AFTER_CHECK_OUT_MAX_HOURS = 7 * 24


class TriggerKind(models.TextChoices):
    ON_CONFIRMATION = schedule.ON_CONFIRMATION, _("When the booking is confirmed")
    BEFORE_CHECK_IN = schedule.BEFORE_CHECK_IN, _("Before check-in")
    ARRIVAL_DAY = schedule.ARRIVAL_DAY, _("On the arrival day")
    AFTER_CHECK_OUT = schedule.AFTER_CHECK_OUT, _("After check-out")


class OffsetUnit(models.TextChoices):
    DAYS = schedule.DAYS, _("days")
    HOURS = schedule.HOURS, _("hours")


class Channel(models.TextChoices):
    """How a message reaches the guest; each has its sender in `messaging.channels`."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")


# Three booleans, not a list in one column: plain columns everywhere, "at least one" checked by the database.
CHANNEL_FIELDS = {Channel.EMAIL: "send_email", Channel.SMS: "send_sms", Channel.WHATSAPP: "send_whatsapp"}


class MessageTemplateQuerySet(models.QuerySet):
    def of_host(self, host):
        return self.filter(host=host)

    def for_property(self, property_id: int):
        """Templates that apply to a property: limited to it, or not limited at all."""
        return self.filter(Q(properties__isnull=True) | Q(properties=property_id)).distinct()


class MessageTemplate(models.Model):
    """An automated guest message. Text may use the variables of `messaging.rendering` only."""

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_templates")
    name = SingleLineCharField(max_length=200)
    properties = models.ManyToManyField(
        "bookings.Property", blank=True, related_name="message_templates",
        help_text=_("Leave empty to use it for all your properties."),
    )
    trigger = models.CharField(max_length=20, choices=TriggerKind.choices, default=TriggerKind.BEFORE_CHECK_IN)
    offset = models.PositiveSmallIntegerField(
        _("how long"), null=True, blank=True,
        help_text=_("Before check-in: 1-30 days or 1-168 hours. After check-out: 0-168 hours."),
    )
    offset_unit = models.CharField(_("unit"), max_length=8, choices=OffsetUnit.choices, default=OffsetUnit.DAYS)
    send_at = models.TimeField(
        _("at (property time)"), null=True, blank=True,
        help_text=_("Time of day in the property's time zone (days before check-in, or the arrival day)."),
    )
    send_email, send_sms = models.BooleanField(_("by email"), default=True), models.BooleanField(_("by SMS"), default=False)
    send_whatsapp = models.BooleanField(_("by WhatsApp"), default=False)
    subject = SingleLineCharField(max_length=rendering.MAX_SUBJECT_LENGTH)  # single line: an email header
    body = MultilineTextField(max_length=rendering.MAX_BODY_LENGTH)
    language = SingleLineCharField(  # of `subject` and `body`; other languages' texts are MessageTemplateText rows
        _("language"), max_length=8, default=languages.default_template_language, validators=[validate_guest_language]
    )
    fallback_language = SingleLineCharField(
        _("fallback language"), max_length=8, blank=True, validators=[validate_guest_language],
        help_text=_("Sent to guests whose language has no text here. Empty: the main language."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_code_change = models.BooleanField(
        _("door code change message"), default=False,
        help_text=_("Sent automatically when a guest's door code changes after they received it (the trigger is not used)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MessageTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["host", "is_active"], name="msgtemplate_host_active_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(trigger__in=TriggerKind.values), name="msgtemplate_trigger_valid"),
            models.CheckConstraint(condition=Q(offset_unit__in=OffsetUnit.values), name="msgtemplate_offset_unit_valid"),
            models.CheckConstraint(
                condition=Q(send_email=True) | Q(send_sms=True) | Q(send_whatsapp=True), name="msgtemplate_has_a_channel"
            ),
            models.CheckConstraint(condition=Q(offset__isnull=True) | Q(offset__lte=720), name="msgtemplate_offset_bounded"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude=None) -> None:
        for name in ("language", "fallback_language"):
            with contextlib.suppress(LanguageRefused):  # the field's validator says why
                setattr(self, name, normalise_language(getattr(self, name) or ""))
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list] = {}
        if not self.language:
            errors["language"] = [ValidationError(_("Choose the language of the main text."))]
        for field in ("subject", "body"):
            try:
                rendering.validate_text(getattr(self, field))
            except ValidationError as error:
                errors.setdefault(field, []).extend(error.error_list)
        uses_code = rendering.uses_code(self.subject or "", self.body or "")
        if self.is_code_change:
            if not uses_code and "body" not in errors:
                errors.setdefault("body", []).append(
                    ValidationError(_("A door code change message must include the new code: add {{smartlock_code}}."))
                )
        else:
            self._clean_trigger(errors, uses_code)
        if errors:
            raise ValidationError(errors)

    def _clean_trigger(self, errors: dict, uses_code: bool) -> None:
        def need(field: str, message: str) -> None:
            errors.setdefault(field, []).append(ValidationError(message))

        if self.trigger == TriggerKind.BEFORE_CHECK_IN:
            if self.offset_unit == OffsetUnit.HOURS:
                if self.offset is None or not 1 <= self.offset <= BEFORE_CHECK_IN_MAX_HOURS:
                    need("offset", _("Enter 1 to %(max)d hours before check-in.") % {"max": BEFORE_CHECK_IN_MAX_HOURS})
            else:
                if self.offset is None or not 1 <= self.offset <= BEFORE_CHECK_IN_MAX_DAYS:
                    need("offset", _("Enter 1 to %(max)d days before check-in.") % {"max": BEFORE_CHECK_IN_MAX_DAYS})
                if self.send_at is None:
                    need("send_at", _("Choose the time of day (property time) to send it."))
        elif self.trigger == TriggerKind.ARRIVAL_DAY:
            if self.send_at is None:
                need("send_at", _("Choose the time of day (property time) to send it."))
        elif self.trigger == TriggerKind.AFTER_CHECK_OUT:
            if self.offset is None or not 0 <= self.offset <= AFTER_CHECK_OUT_MAX_HOURS:
                need("offset", _("Enter 0 to %(max)d hours after check-out.") % {"max": AFTER_CHECK_OUT_MAX_HOURS})
            if uses_code:
                need("body", _("The door code no longer works after check-out: remove the code variables from this message."))

    @property
    def uses_code(self) -> bool:
        return rendering.uses_code(self.subject, self.body)

    @property
    def channels(self) -> list[str]:
        """The channels this message goes on, in `Channel` order: one ledger row each."""
        return [channel for channel, field in CHANNEL_FIELDS.items() if getattr(self, field)]

    def channel_labels(self) -> list[str]:
        return [Channel(channel).label for channel in self.channels]

    @property
    def effective_fallback_language(self) -> str:
        return self.fallback_language or self.language

    def texts(self) -> dict[str, languages.Text]:
        """Every language's text, the main one included."""
        others = {text.language: languages.Text(text.subject, text.body) for text in self.translations.all()}
        return {**others, self.language: languages.Text(self.subject, self.body)}

    def text_for(self, language: str) -> languages.ChosenText:
        """(subject, body, language used): the text in `language`, else the fallback language's, else the main one."""
        return languages.choose_text(self.texts(), wanted=language, main=self.language, fallback=self.effective_fallback_language)

    def as_trigger(self) -> schedule.Trigger:
        unit = OffsetUnit.HOURS if self.trigger == TriggerKind.AFTER_CHECK_OUT else self.offset_unit
        return schedule.Trigger(kind=self.trigger, offset=self.offset, unit=unit, at=self.send_at)

    def trigger_text(self) -> str:
        """The trigger in words, e.g. "1 day before check-in at 10:00"."""
        if self.is_code_change:
            return gettext("When the door code changes after the guest received it")
        at = self.send_at.strftime("%H:%M") if self.send_at else ""
        count = self.offset or 0
        if self.trigger == TriggerKind.BEFORE_CHECK_IN:
            if self.offset_unit == OffsetUnit.HOURS:
                return ngettext("%(count)d hour before check-in", "%(count)d hours before check-in", count) % {"count": count}
            words = ngettext("%(count)d day before check-in at %(time)s", "%(count)d days before check-in at %(time)s", count)
            return words % {"count": count, "time": at}
        if self.trigger == TriggerKind.ARRIVAL_DAY:
            return gettext("On the arrival day at %(time)s") % {"time": at}
        if self.trigger == TriggerKind.AFTER_CHECK_OUT:
            return ngettext("%(count)d hour after check-out", "%(count)d hours after check-out", count) % {"count": count}
        return gettext("When the booking is confirmed")


class MessageTemplateText(models.Model):
    """A template's text in one more language, held to the main text's rules (messaging.languages)."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.CASCADE, related_name="translations")
    language = SingleLineCharField(_("language"), max_length=8, validators=[validate_guest_language])
    subject = SingleLineCharField(_("subject"), max_length=rendering.MAX_SUBJECT_LENGTH)
    body = MultilineTextField(_("message"), max_length=rendering.MAX_BODY_LENGTH)

    class Meta:
        ordering = ["language", "id"]
        constraints = [models.UniqueConstraint(fields=["template", "language"], name="one_text_per_template_language")]

    def __str__(self) -> str:
        return f"{self.template_id}: {self.language}"

    def clean_fields(self, exclude=None) -> None:
        with contextlib.suppress(LanguageRefused):  # the field's validator says why
            self.language = normalise_language(self.language or "")
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        super().clean()
        text = languages.Text(self.subject or "", self.body or "")
        errors = languages.text_problems(self.language, text)
        template = self._template_or_none()
        if template is not None and self.language == template.language:
            errors.setdefault("language", []).append(ValidationError(_("This is the main text's language.")))
        if template is not None and "body" not in errors:
            problem = languages.code_rule_problem(
                self.language, text, main_uses_code=template.uses_code,
                after_check_out=template.trigger == TriggerKind.AFTER_CHECK_OUT and not template.is_code_change,
            )
            if problem is not None:
                errors.setdefault("body", []).append(problem)
        if errors:
            raise ValidationError(errors)


    def _template_or_none(self) -> MessageTemplate | None:
        """The template, also when it is not saved yet (the editor checks a new message's texts)."""
        try:
            return self.template
        except MessageTemplate.DoesNotExist:
            return None


class DeliveryStatus(models.TextChoices):
    DUE = "due", _("Due")  # to be sent now (or retried after an email error)
    WAITING_FOR_CODE = "waiting_for_code", _("Waiting for the door code")
    SENT = "sent", _("Sent")
    MISSED_CODE = "missed_code", _("Not sent: no code by check-in")  # the host was emailed
    SKIPPED = "skipped", _("Not sent")  # see `note`
    FAILED = "failed", _("Failed")  # the email could not be sent; the host was emailed


OPEN_STATUSES = [DeliveryStatus.DUE, DeliveryStatus.WAITING_FOR_CODE]


class ProviderStatus(models.TextChoices):
    """What an SMS or WhatsApp provider last reported of a sent message (its status callbacks)."""

    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    UNDELIVERED = "undelivered", _("Undelivered")


# Status only moves forward; failed and undelivered are final.
PROVIDER_STATUS_RANK = {"": 0, "queued": 1, "sent": 2, "delivered": 3, "read": 4, "failed": 5, "undelivered": 5}


class BuiltinMessage(models.TextChoices):
    """Messages of Nowistay's own, sent where the host has none of theirs (`messaging.default_messages`)."""

    CODE_CHANGE = "code_change", _("Door code change (Nowistay's default)")
    FALLBACK_CODE = "fallback_code", _("Door code given when the guest's own was late (Nowistay's default)")


class MessageDelivery(models.Model):
    """The ledger: one row per (template, booking, trigger occurrence, channel): each message goes out
    once per channel however often a task runs. A worker owns an open row until `claimed_until`."""

    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="message_deliveries")
    # The ledger outlives a deleted template: its name is kept below.
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    template_name = SingleLineCharField(max_length=200)
    builtin = models.CharField(
        max_length=16, blank=True, choices=BuiltinMessage.choices,
        help_text=_("A message of Nowistay's own, with no template of the host's: which one."),
    )
    trigger_key = models.CharField(max_length=64, help_text=_("Which occurrence, e.g. before_check_in:2026-03-29."))
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.DUE)
    due_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text=_("When an open row is looked at next."))
    wait_deadline = models.DateTimeField(null=True, blank=True, help_text=_("A code message still waiting here is missed."))
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipient = SingleLineCharField(max_length=254, blank=True)
    code = models.ForeignKey("locks.AccessCode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pin = EncryptedTextField(null=True, blank=True, editable=False, help_text=_("The PIN the message carried."))
    access_link = EncryptedTextField(
        null=True, blank=True, editable=False, help_text=_("The door link the guest had with the message's code, if its vendor gives one.")
    )
    # What went out, as sent (it may hold the PIN, so encrypted like it).
    subject = EncryptedTextField(null=True, blank=True, editable=False)
    body = EncryptedTextField(null=True, blank=True, editable=False)
    note = models.CharField(max_length=500, blank=True, help_text=_("Why it waits, was skipped or failed."))
    # SMS and WhatsApp: the provider's id of the message and what it last reported (status callbacks).
    provider_message_id = models.CharField(max_length=128, blank=True)
    provider_status = models.CharField(max_length=16, blank=True, choices=ProviderStatus.choices)
    provider_status_at = models.DateTimeField(null=True, blank=True)
    provider_error = models.CharField(max_length=300, blank=True, help_text="The provider's error, e.g. 21211 (never a secret).")
    language = SingleLineCharField(max_length=8, blank=True, help_text=_("The language of the text sent (ISO 639-1)."))
    host_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        verbose_name_plural = _("message deliveries")
        indexes = [
            models.Index(fields=["next_attempt_at"], name="msgdelivery_open_idx", condition=Q(status__in=OPEN_STATUSES)),
            models.Index(fields=["booking", "status"], name="msgdelivery_booking_idx"),
            models.Index(fields=["provider_message_id"], name="msgdelivery_provider_id_idx", condition=~Q(provider_message_id="")),
        ]
        constraints = [
            # One row per channel of a message: each channel goes out once, on its own.
            models.UniqueConstraint(
                fields=["template", "booking", "trigger_key", "channel"], name="one_delivery_per_template_booking_trigger_channel"
            ),
            # A built-in message has no template: its own key keeps it to one row per booking, trigger and channel.
            models.UniqueConstraint(
                fields=["builtin", "booking", "trigger_key", "channel"], condition=~Q(builtin=""),
                name="one_builtin_delivery_per_booking_trigger_channel",
            ),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="msgdelivery_channel_valid"),
            models.CheckConstraint(condition=Q(provider_status__in=["", *ProviderStatus.values]), name="msgdelivery_provider_status_valid"),
            models.CheckConstraint(condition=Q(builtin__in=["", *BuiltinMessage.values]), name="msgdelivery_builtin_valid"),
            models.CheckConstraint(condition=Q(builtin="") | Q(template__isnull=True), name="msgdelivery_builtin_has_no_template"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="msgdelivery_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.SENT) | Q(sent_at__isnull=False), name="msgdelivery_sent_has_sent_at"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(message)s for booking %(booking)s (%(status)s)") % {
            "message": self.template_name, "booking": self.booking_id, "status": self.get_status_display(),
        }

    @property
    def language_display(self) -> str:
        """The language of the text sent, in the host's words ("French"); "" when not recorded."""
        return language_name(self.language, get_language() or "en") if self.language else ""


class CodeChangeNotice(models.Model):
    """A booking's door code changed after a guest had received one: the host is told once per
    new code, and the booking's message log shows it. A code row created again on its lock (found
    missing, or its key gone) may come back with a new PIN or link: a new code too, told of once
    more; the vendor's id of the code tells the two apart."""

    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="code_change_notices")
    previous_code = models.ForeignKey("locks.AccessCode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    previous_pin = EncryptedTextField(null=True, blank=True, editable=False)
    new_code = models.ForeignKey("locks.AccessCode", null=True, on_delete=models.SET_NULL, related_name="+")
    new_vendor_code_id = models.CharField(
        max_length=64, blank=True, editable=False, help_text=_("The vendor's id of the new code when the host was told.")
    )
    new_pin = EncryptedTextField(null=True, blank=True, editable=False)
    previous_link = EncryptedTextField(null=True, blank=True, editable=False)  # a door link opens the door as a PIN does
    new_link = EncryptedTextField(null=True, blank=True, editable=False)
    change_messages = models.PositiveSmallIntegerField(default=0, help_text=_("Code change messages planned to the guest."))
    host_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "new_code", "new_vendor_code_id"], name="one_notice_per_new_code_on_lock"),
        ]

    def __str__(self) -> str:
        return gettext("Code change for booking %(booking)s") % {"booking": self.booking_id}

    @property
    def only_the_link_changed(self) -> bool:
        """The guest's PIN still opens the door; their door link does not (the code was created
        again with the same PIN and a new link)."""
        return bool(self.new_pin) and self.previous_pin == self.new_pin
