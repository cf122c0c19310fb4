"""Properties get a country (guest phone numbers without a country code are read as its numbers),
and the guest phone numbers stored so far are rewritten in E.164."""

import nowistay.fields
import nowistay.validators
from django.db import migrations

from nowistay.countries import country_of_time_zone
from nowistay.phones import PhoneRefused, to_e164


def phones_to_e164(apps, schema_editor) -> tuple[int, int]:
    """Each stored phone that reads as a number of its property's country (its time zone's: no
    property has a country yet) is rewritten in E.164; the others are left as they were written,
    so nothing a host typed is lost. Says how many of each, never a number."""
    Booking = apps.get_model("bookings", "Booking")
    stored = Booking.objects.exclude(guest_phone="").values_list("pk", "guest_phone", "property__country", "property__time_zone")
    rewrites, left = [], 0
    for pk, phone, country, time_zone in stored.iterator(chunk_size=2000):
        try:
            e164 = to_e164(phone, region=country or country_of_time_zone(time_zone))
        except PhoneRefused:
            left += 1
            continue
        if e164 != phone:
            rewrites.append((pk, e164))
    for pk, e164 in rewrites:  # after reading: SQLite does not like a table changed under a cursor
        Booking.objects.filter(pk=pk).update(guest_phone=e164)
    converted = len(rewrites)
    if converted or left:
        print(f"\n  Guest phone numbers: {converted} rewritten in E.164, {left} left as written (not a phone number of their property's country).")
    return converted, left


class Migration(migrations.Migration):

    dependencies = [
        ('bookings', '0005_apitoken_expires_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='property',
            name='country',
            field=nowistay.fields.SingleLineCharField(blank=True, help_text="ISO 3166-1 code, e.g. FR. Guest phone numbers without a country code are read as this country's. Empty: the country of the time zone.", max_length=2, validators=[nowistay.validators.validate_country]),
        ),
        migrations.RunPython(phones_to_e164, migrations.RunPython.noop, elidable=True),
    ]
