"""The stay the guest-message fixtures (tests/conftest.py) book: who the guest is and when they come."""

from datetime import date

GUEST = "grace@guest.example"
ARRIVAL, DEPARTURE = date(2026, 6, 11), date(2026, 6, 13)
