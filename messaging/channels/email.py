"""Email: the rendered message as text (exactly `body`) and HTML (`body` escaped, its line breaks
as paragraphs), through Django's email backend."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import BadHeaderError
from django.core.mail.utils import DNS_NAME
from django.utils.translation import gettext_lazy as _

from messaging.channels.base import GuestChannel, PermanentSendError, SendResult, TemporarySendError
from nowistay.emails import send_text_and_html

# Errors the email backend will give again however often we retry.
PERMANENT_SEND_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, BadHeaderError)


class EmailChannel(GuestChannel):
    name = "email"
    label = _("Email")

    def address(self, booking) -> str:
        return (booking.guest_email or "").strip()

    def is_configured(self) -> bool:
        return True  # the email backend is part of every installation

    def send(self, delivery, address: str, subject: str, body: str, language: str) -> SendResult:
        host = delivery.booking.property.host
        try:
            send_text_and_html(
                subject=subject,
                template_name="guest_message",
                context={"body": body},
                to=[address],
                reply_to=[host.email] if host.email else None,
                # The same id on every attempt of this row, so a mail system can fold an at-least-once duplicate.
                headers={"Message-ID": f"<nowistay-{settings.INSTANCE_ID}-delivery-{delivery.pk}@{DNS_NAME}>"},
            )
        except PERMANENT_SEND_ERRORS as error:
            raise PermanentSendError((_("The email could not be sent: %(error)s") % {"error": error})[:500]) from error
        except Exception as error:  # the backends' errors vary (SMTP, API backends): try again later
            raise TemporarySendError((_("The email could not be sent yet: %(error)s") % {"error": error})[:500]) from error
        return SendResult()
