"""A property's settings page (check-in and check-out times, country, time zone).

The dashboard through the Django test client, on the in-memory fake cloud (tests/conftest.py) except
where a real connect flow is needed (the vendor emulators of tests/vendors/)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils.html import escape

from bookings.models import Property
from locks.models import CodeState
from tests.helpers.lifecycle import current, tick
from tests.locks.dashboard.pages import codes_state, input_value, messages_of, settings_url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


class TestPropertySettings:
    def test_the_form_shows_the_propertys_values(self, logged_in, make_property):
        prop = make_property(name="Harbour Loft", default_check_in_time=time(16, 0), default_check_out_time=time(10, 30))
        response = logged_in.get(settings_url(prop))
        content = response.content.decode()
        assert response.status_code == 200 and "<h1>Harbour Loft</h1>" in content
        assert input_value(content, "time_zone") == "Europe/Paris"
        assert input_value(content, "default_check_in_time") == "16:00"
        assert input_value(content, "default_check_out_time") == "10:30"
        assert '<option value="America/New_York">' in content  # the time zone list

    def test_login_is_required(self, client, make_property):
        prop = make_property()
        response = client.get(settings_url(prop))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    def test_a_valid_change_saves_and_moves_the_code_window(self, logged_in, assigned_property, stay):
        prop = assigned_property()  # Paris, margin 30
        booking = stay(prop, arrive_in=2)
        scheduled = stay(prop, arrive_in=12)
        tick()
        code = current(booking)
        assert code.state == CodeState.ACTIVE
        old_window = (code.starts_at, code.ends_at)

        response = logged_in.post(
            settings_url(prop),
            {"time_zone": "America/New_York", "default_check_in_time": "17:00", "default_check_out_time": "10:00"},
        )
        assert response.status_code == 302 and response["Location"] == reverse("bookings:properties")
        assert messages_of(response) == ["Saved the settings of Flat L1. The codes of 2 bookings follow the new times."]
        prop.refresh_from_db()
        assert (prop.time_zone, prop.default_check_in_time, prop.default_check_out_time) == (
            "America/New_York", time(17, 0), time(10, 0),
        )
        code.refresh_from_db()
        new_york = ZoneInfo("America/New_York")
        assert (code.starts_at, code.ends_at) != old_window
        assert code.starts_at == datetime.combine(booking.arrival_date, time(17, 0), tzinfo=new_york) - timedelta(minutes=30)
        assert code.ends_at == datetime.combine(booking.departure_date, time(10, 0), tzinfo=new_york) + timedelta(minutes=30)
        assert code.state == CodeState.UPDATING
        later = current(scheduled)
        assert later.generate_at == datetime.combine(scheduled.arrival_date - timedelta(days=5), time(0, 0), tzinfo=new_york)

    def test_saving_without_a_change_moves_nothing(self, logged_in, assigned_property, stay):
        prop = assigned_property()
        stay(prop, arrive_in=2)
        tick()
        codes_before = codes_state()
        response = logged_in.post(
            settings_url(prop), {"time_zone": "Europe/Paris", "default_check_in_time": "", "default_check_out_time": ""}
        )
        assert response.status_code == 302 and messages_of(response) == ["Saved the settings of Flat L1."]
        assert codes_state() == codes_before

    @pytest.mark.parametrize(
        "data, field, error",
        [
            ({"time_zone": "Mars/Olympus"}, "time_zone", "“Mars/Olympus” is not a known time zone; use an IANA name such as Europe/Paris."),
            # The shared plain-text rule answers first, saying which invisible character to remove.
            ({"time_zone": "Europe/\nParis"}, "time_zone", "Keep this on one line: remove the line break (character 8)."),
            ({"time_zone": ""}, "time_zone", "This field is required."),
            ({"default_check_in_time": "25:00"}, "default_check_in_time", "Enter a valid time."),
            ({"default_check_out_time": "noon"}, "default_check_out_time", "Enter a valid time."),
        ],
        ids=["unknown-zone", "zone-with-a-line-break", "no-zone", "hour-25", "words"],
    )
    def test_invalid_input_is_a_400_with_the_error_and_nothing_saved(self, logged_in, assigned_property, stay, data, field, error):
        prop = assigned_property()
        stay(prop, arrive_in=2)
        tick()
        property_before = Property.objects.filter(pk=prop.pk).values("time_zone", "default_check_in_time", "default_check_out_time").get()
        codes_before = codes_state()
        posted = {"time_zone": "Asia/Tokyo", "default_check_in_time": "16:00", "default_check_out_time": "10:00", **data}

        response = logged_in.post(settings_url(prop), posted)
        content = response.content.decode()
        assert response.status_code == 400
        assert escape(error) in content and 'class="errorlist"' in content
        assert input_value(content, field) == escape(posted[field])  # what was typed comes back
        assert (
            Property.objects.filter(pk=prop.pk).values("time_zone", "default_check_in_time", "default_check_out_time").get()
            == property_before
        )
        assert codes_state() == codes_before

    def test_surrounding_spaces_are_trimmed(self, logged_in, assigned_property, stay):
        prop = assigned_property()
        response = logged_in.post(
            settings_url(prop), {"time_zone": " Asia/Tokyo ", "default_check_in_time": "", "default_check_out_time": ""}
        )
        assert response.status_code == 302
        prop.refresh_from_db()
        assert prop.time_zone == "Asia/Tokyo"

    @pytest.mark.parametrize(
        "typed, error",
        [
            ("Europe/Paris\n", "Keep this on one line: remove the line break (character 13)."),
            ("Europe/Berlin\r\n", "Keep this on one line: remove the line break (character 14)."),
            ("\tEurope/Paris", "Remove a tab (character 1): only printable text is allowed."),
        ],
    )
    def test_a_line_break_or_tab_at_either_end_is_refused_like_the_api_refuses_it(self, logged_in, assigned_property, stay, typed, error):
        """Django trims surrounding whitespace before validators run; the control characters in it
        are refused first, as the API refuses them (it used to store "Europe/Paris" silently)."""
        prop = assigned_property()  # Paris
        stay(prop, arrive_in=2)
        tick()
        codes_before = codes_state()
        response = logged_in.post(settings_url(prop), {"time_zone": typed, "default_check_in_time": "", "default_check_out_time": ""})
        assert response.status_code == 400
        assert error in response.content.decode()
        prop.refresh_from_db()
        assert prop.time_zone == "Europe/Paris"
        assert codes_state() == codes_before
