"""Fixtures the dashboard view tests share: a logged-in host and a stay to book."""

from datetime import timedelta

import pytest

from locks import services
from tests.locks.dashboard.pages import today


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


@pytest.fixture
def stay(book):
    """A confirmed booking `arrive_in` days from today, announced to the lifecycle."""

    def make(prop, arrive_in: int, nights: int = 3, **fields):
        arrival = today() + timedelta(days=arrive_in)
        booking = book(prop, arrival, arrival + timedelta(days=nights), **fields)
        services.booking_confirmed(booking=booking)
        return booking

    return make
