"""No channel provider is called by a test: the autouse guard (tests/conftest.py) catches one."""

import pytest
from freezegun import freeze_time

from messaging.models import DeliveryStatus
from tests.conftest import PROVIDER_GUARD
from tests.messaging.channels.conftest import DUE, FROM, PHONE, SID, TOKEN, row

pytestmark = pytest.mark.django_db


def test_an_unmocked_provider_call_is_caught(stay, door_code, send, settings, no_channel_provider_called):
    assert settings.TWILIO_API_URL.startswith(PROVIDER_GUARD) and settings.WHATSAPP_API_URL.startswith(PROVIDER_GUARD)
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = SID, TOKEN, FROM
    door_code(send_email=False, send_sms=True)
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
    assert no_channel_provider_called == [f"{PROVIDER_GUARD}/twilio/2010-04-01/Accounts/{SID}/Messages.json"]
    assert row("sms").status == DeliveryStatus.DUE  # refused like an unreachable provider
    no_channel_provider_called.clear()  # caught: the guard's own teardown check passes


def test_channels_have_no_credentials_in_tests_unless_given():
    from messaging.channels import CHANNELS

    assert not CHANNELS["sms"].is_configured() and not CHANNELS["whatsapp"].is_configured()
