"""Text without control characters: the shared validators on the bookings text fields, and the
values stored before them made plain text (see nowistay.validators)."""

import nowistay.fields
import nowistay.validators
from django.db import migrations

from nowistay.validators import rewrite_stored_text

# An external reference is left as it is: it is the PMS's key (cleaning it could merge two), and
# it is never written into an email.
ONE_LINE = [("Property", "name"), ("Booking", "guest_name"), ("Booking", "guest_email"), ("Booking", "guest_phone"), ("ApiToken", "name")]


def clean_stored_text(apps, schema_editor) -> None:
    for model_name, name in ONE_LINE:
        rewrite_stored_text(apps.get_model("bookings", model_name), name)


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
