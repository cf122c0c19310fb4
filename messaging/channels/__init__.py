"""Guest message channels: email, SMS (Twilio) and WhatsApp (Cloud API), each a `GuestChannel`
(`base.py`); `messaging.delivery` sends every ledger row through `CHANNELS[row.channel]`."""

from messaging.channels.base import GuestChannel, PermanentSendError, SendResult, TemporarySendError
from messaging.channels.email import EmailChannel
from messaging.channels.sms import SmsChannel
from messaging.channels.whatsapp import WhatsAppChannel

CHANNELS: dict[str, GuestChannel] = {channel.name: channel for channel in (EmailChannel(), SmsChannel(), WhatsAppChannel())}

__all__ = ["CHANNELS", "GuestChannel", "PermanentSendError", "SendResult", "TemporarySendError"]
