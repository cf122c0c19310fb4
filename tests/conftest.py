import pytest
from django.contrib.auth import get_user_model

from bookings.models import PmsSource, Property


@pytest.fixture
def host(db):
    return get_user_model().objects.create_user(username="host", password="host-password-123")


@pytest.fixture
def other_host(db):
    return get_user_model().objects.create_user(username="other-host", password="other-password-123")


@pytest.fixture
def make_property(host):
    def make(**overrides):
        fields = {
            "host": host,
            "name": "Seaside Flat",
            "time_zone": "Europe/Paris",
            "pms_source": PmsSource.NOWISTAY,
            "ai_assistant_active": True,
        }
        fields.update(overrides)
        return Property.objects.create(**fields)

    return make
