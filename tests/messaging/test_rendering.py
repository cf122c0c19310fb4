"""Guest-message variables (messaging/rendering.py): known names only, both spellings, the alias,
and nothing that reaches settings or objects through template syntax."""

from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import ValidationError

from messaging import rendering
from messaging.models import MessageTemplate, OffsetUnit, TriggerKind

CODE = rendering.CodeValues(
    pin="482913",
    valid_from=datetime(2026, 3, 29, 12, 30, tzinfo=UTC),  # 14:30 CEST
    valid_until=datetime(2026, 4, 1, 9, 30, tzinfo=UTC),  # 11:30 CEST
    usage_note="Use it within 24 hours of its start.",
)


def values(code=CODE, **overrides):
    fields = dict(
        guest_name="Grace Guest", property_name="Seaside Flat", arrival=date(2026, 3, 29), departure=date(2026, 4, 1),
        check_in=time(15, 0), check_out=time(11, 0), tz_name="Europe/Paris", code=code,
    )
    fields.update(overrides)
    return rendering.values_for(**fields)


class TestRender:
    def test_every_variable_in_both_spellings_with_optional_spaces(self):
        text = (
            "{{guest_name}} / << property_name >> / {{ arrival_date }} / <<departure_date>> / "
            "{{check_in_time}}-{{ check_out_time }} / {{smartlock_code}} / <<nuki_code>> / "
            "{{code_valid_from}} → {{code_valid_until}} / {{code_usage_note}}"
        )
        assert rendering.render(text, values()) == (
            "Grace Guest / Seaside Flat / Sunday 29 March 2026 / Wednesday 1 April 2026 / "
            "15:00-11:00 / 482913 / 482913 / "
            "14:30 on Sunday 29 March 2026 → 11:30 on Wednesday 1 April 2026 / Use it within 24 hours of its start."
        )

    def test_legacy_nuki_code_renders_the_same_value_as_smartlock_code(self):
        assert rendering.render("{{nuki_code}}|<<smartlock_code>>", values()) == "482913|482913"

    def test_code_times_are_in_the_property_time_zone(self):
        new_york = values(tz_name="America/New_York")
        assert new_york["code_valid_from"] == "08:30 on Sunday 29 March 2026"
        kathmandu = values(tz_name="Asia/Kathmandu")
        assert kathmandu["code_valid_from"] == "18:15 on Sunday 29 March 2026"

    def test_a_value_that_looks_like_a_variable_is_not_expanded(self):
        rendered = rendering.render("Hi {{guest_name}}", values(guest_name="{{smartlock_code}} <<nuki_code>>"))
        assert rendered == "Hi {{smartlock_code}} <<nuki_code>>"

    def test_a_code_variable_without_a_code_raises_rather_than_rendering_blank(self):
        with pytest.raises(rendering.MissingValue):
            rendering.render("Your code: {{smartlock_code}}", values(code=None))
        with pytest.raises(rendering.MissingValue):
            rendering.render("Your code: <<nuki_code>>", values(code=None))
        # Without the code, the other variables still render.
        assert rendering.render("Hi {{guest_name}}", values(code=None)) == "Hi Grace Guest"

    def test_an_unknown_variable_is_never_rendered(self):
        with pytest.raises(rendering.UnknownVariable):
            rendering.render("{{ settings.SECRET_KEY }}", values())

    def test_a_code_without_a_pin_cannot_exist(self):
        with pytest.raises(ValueError):
            rendering.CodeValues(pin="", valid_from=CODE.valid_from, valid_until=CODE.valid_until)

    def test_plain_text_and_django_syntax_in_values_are_left_alone(self):
        assert rendering.render("Price: {x} 50% {of}", values()) == "Price: {x} 50% {of}"

    def test_subject_is_one_line(self):
        assert rendering.one_line("Welcome\r\nGrace  Guest") == "Welcome Grace Guest"


class TestValidation:
    @pytest.mark.parametrize(
        "text, named",
        [
            ("Your code: {{smartlock_cod}}", "smartlock_cod"),
            ("{{ settings.SECRET_KEY }}", "settings.SECRET_KEY"),
            ("{{booking.property.host.password}}", "booking.property.host.password"),
            ("{{guest_name|upper}}", "guest_name|upper"),
            ("<<smartlock_cod>>", "smartlock_cod"),
            ("<< settings.SECRET_KEY >>", "settings.SECRET_KEY"),
            ("{{ request.user }}", "request.user"),
            ("{{}}", "(empty)"),
        ],
    )
    def test_unknown_variables_are_named_and_the_known_ones_listed(self, text, named):
        with pytest.raises(ValidationError) as caught:
            rendering.validate_text(text)
        message = " ".join(caught.value.messages)
        assert f"Unknown variable “{named}”" in message
        assert "{{smartlock_code}}" in message and "{{guest_name}}" in message and "{{nuki_code}}" in message

    def test_a_misspelling_gets_a_suggestion(self):
        assert "Did you mean {{smartlock_code}}?" in rendering.problems("{{smartlock_cod}}")[0]

    @pytest.mark.parametrize("text", ["{% load static %}Hi", "{% debug %}", "{# note #}", "{% if 1 %}x{% endif %}"])
    def test_template_tags_are_refused(self, text):
        found = rendering.problems(text)
        assert found and "template code" in found[0]

    @pytest.mark.parametrize("text", ["Your code {{smartlock_code", "Your code smartlock_code}}", "<<smartlock_code and more"])
    def test_unclosed_variables_are_refused(self, text):
        assert any("not closed" in problem for problem in rendering.problems(text))

    def test_single_braces_around_a_known_name_are_refused(self):
        assert rendering.problems("Code: {smartlock_code}") == [
            "“{smartlock_code}” has single braces: write {{smartlock_code}} for the variable."
        ]

    @pytest.mark.parametrize(
        "text",
        [
            "Hello {{guest_name}}, your code is {{smartlock_code}}.",
            "Hello << guest_name >>, code <<nuki_code>> {{ code_valid_from }}",
            "No variables at all, 50% off {braces} and a <b>tag</b> -> arrows >",
        ],
    )
    def test_valid_texts_have_no_problems(self, text):
        assert rendering.problems(text) == []

    def test_uses_code_sees_every_code_variable_and_both_spellings(self):
        assert rendering.uses_code("{{smartlock_code}}")
        assert rendering.uses_code("", "<<nuki_code>>")
        assert rendering.uses_code("{{ code_valid_until }}")
        assert not rendering.uses_code("Hello {{guest_name}}", "{{arrival_date}}")


class TestSizeCap:
    def test_text_over_the_limit_is_refused_for_that_alone_unread(self):
        text = "{{ settings.SECRET_KEY }}" + "x" * 10_000
        assert rendering.problems(text) == [
            f"A message can have at most 10000 characters; this one has {len(text)}. Shorten it: guests read it on a phone."
        ]

    def test_text_at_the_limit_is_read(self):
        text = "{{ settings.SECRET_KEY }}".ljust(10_000, "x")
        assert "Unknown variable “settings.SECRET_KEY”" in rendering.problems(text)[0]

    def test_length_problems_name_each_field_over_its_limit(self):
        assert rendering.length_problems(subject="s" * 300, body="b" * 10_000) == []
        assert rendering.length_problems(subject="s" * 301, body="b" * 10_001) == [
            "A subject can have at most 300 characters; this one has 301.",
            "A message can have at most 10000 characters; this one has 10001. Shorten it: guests read it on a phone.",
        ]


@pytest.mark.django_db
class TestTemplateModelValidation:
    def make(self, host, **fields):
        defaults = dict(
            host=host, name="Door code", trigger=TriggerKind.BEFORE_CHECK_IN, offset=1, offset_unit=OffsetUnit.DAYS,
            send_at=time(10), subject="Your code", body="Code {{smartlock_code}}",
        )
        defaults.update(fields)
        return MessageTemplate(**defaults)

    def test_a_valid_template_passes(self, host):
        self.make(host).full_clean()

    def test_unknown_variables_in_subject_and_body_are_field_errors(self, host):
        template = self.make(host, subject="For {{ settings.SECRET_KEY }}", body="{{booking.property.host.password}}")
        with pytest.raises(ValidationError) as caught:
            template.full_clean()
        errors = caught.value.message_dict
        assert "settings.SECRET_KEY" in errors["subject"][0]
        assert "booking.property.host.password" in errors["body"][0]

    @pytest.mark.parametrize(
        "fields, field, text",
        [
            ({"offset": 0}, "offset", "1 to 30 days"),
            ({"offset": 31}, "offset", "1 to 30 days"),
            ({"send_at": None}, "send_at", "time of day"),
            ({"offset_unit": OffsetUnit.HOURS, "offset": 169}, "offset", "1 to 168 hours"),
            ({"trigger": TriggerKind.ARRIVAL_DAY, "send_at": None}, "send_at", "time of day"),
            ({"trigger": TriggerKind.AFTER_CHECK_OUT, "offset": None, "body": "Thanks"}, "offset", "0 to 168 hours"),
            ({"trigger": TriggerKind.AFTER_CHECK_OUT, "offset": 2}, "body", "no longer works after check-out"),
            ({"is_code_change": True, "body": "Your code changed."}, "body", "must include the new code"),
        ],
    )
    def test_trigger_settings_are_checked(self, host, fields, field, text):
        with pytest.raises(ValidationError) as caught:
            self.make(host, **fields).full_clean()
        assert text in " ".join(caught.value.message_dict[field])

    def test_a_body_over_the_limit_is_a_field_error(self, host):
        with pytest.raises(ValidationError) as caught:
            self.make(host, body="{{smartlock_code}}" + "x" * 10_000).full_clean()
        assert "at most 10000 characters" in caught.value.message_dict["body"][0]

    def test_a_code_change_template_ignores_the_trigger_settings(self, host):
        self.make(host, is_code_change=True, offset=None, send_at=None, body="New code: <<smartlock_code>>").full_clean()
