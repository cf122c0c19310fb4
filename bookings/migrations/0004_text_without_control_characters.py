"""Text without control characters: the shared validators on the bookings text fields, and the
values stored before them made plain text (see nowistay.validators)."""

import nowistay.fields
import nowistay.validators
from django.db import migrations

from nowistay.validators import forbidden_character, without_control_characters

# An external reference is left as it is: it is the PMS's key (cleaning it could merge two), and
# it is never written into an email.
ONE_LINE = [("Property", "name"), ("Booking", "guest_name"), ("Booking", "guest_email"), ("Booking", "guest_phone"), ("ApiToken", "name")]


def _clean_field(model, name: str, *, multiline: bool = False) -> None:
    """Rewrite the values stored before the rule existed (the host booking form stored CR/LF and
    ESC/BEL): line breaks and tabs become spaces in one-line text, other control characters go."""
    field = model._meta.get_field(name)
    stored = model.objects.values_list("pk", name).iterator(chunk_size=2000)
    bad = [(pk, value) for pk, value in stored if value and forbidden_character(value, multiline=multiline)]
    for pk, value in bad:
        cleaned = without_control_characters(value, multiline=multiline) or ("" if field.blank else "(unnamed)")
        model.objects.filter(pk=pk).update(**{name: cleaned})


def clean_stored_text(apps, schema_editor) -> None:
    for model_name, name in ONE_LINE:
        _clean_field(apps.get_model("bookings", model_name), name)


class Migration(migrations.Migration):

    dependencies = [
        ('bookings', '0003_apitoken'),
    ]

    operations = [
        migrations.AlterField(
            model_name='apitoken',
            name='name',
            field=nowistay.fields.SingleLineCharField(help_text="What the token is for, e.g. the PMS's name.", max_length=100),
        ),
        migrations.AlterField(
            model_name='booking',
            name='guest_email',
            field=nowistay.fields.SingleLineEmailField(blank=True, max_length=254),
        ),
        migrations.AlterField(
            model_name='booking',
            name='guest_name',
            field=nowistay.fields.SingleLineCharField(max_length=200),
        ),
        migrations.AlterField(
            model_name='booking',
            name='guest_phone',
            field=nowistay.fields.SingleLineCharField(blank=True, max_length=32, validators=[nowistay.validators.validate_phone]),
        ),
        migrations.AlterField(
            model_name='externalbookingref',
            name='ref',
            field=nowistay.fields.SingleLineCharField(max_length=100, verbose_name='external reference'),
        ),
        migrations.AlterField(
            model_name='property',
            name='name',
            field=nowistay.fields.SingleLineCharField(max_length=200),
        ),
        migrations.AlterField(
            model_name='property',
            name='time_zone',
            field=nowistay.fields.SingleLineCharField(help_text='IANA name, e.g. Europe/Paris', max_length=64, validators=[nowistay.validators.validate_time_zone]),
        ),
        migrations.RunPython(clean_stored_text, migrations.RunPython.noop),
    ]
