"""Text without control characters: the shared validators on the messaging text fields, and the
values stored before them made plain text (see nowistay.validators)."""

import nowistay.fields
from django.db import migrations

from nowistay.validators import forbidden_character, without_control_characters

ONE_LINE = [("MessageTemplate", "name"), ("MessageTemplate", "subject"), ("MessageDelivery", "template_name"), ("MessageDelivery", "recipient")]
SEVERAL_LINES = [("MessageTemplate", "body")]


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
        _clean_field(apps.get_model("messaging", model_name), name)
    for model_name, name in SEVERAL_LINES:
        _clean_field(apps.get_model("messaging", model_name), name, multiline=True)


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='messagedelivery',
            name='recipient',
            field=nowistay.fields.SingleLineCharField(blank=True, max_length=254),
        ),
        migrations.AlterField(
            model_name='messagedelivery',
            name='template_name',
            field=nowistay.fields.SingleLineCharField(max_length=200),
        ),
        migrations.AlterField(
            model_name='messagetemplate',
            name='body',
            field=nowistay.fields.MultilineTextField(),
        ),
        migrations.AlterField(
            model_name='messagetemplate',
            name='name',
            field=nowistay.fields.SingleLineCharField(max_length=200),
        ),
        migrations.AlterField(
            model_name='messagetemplate',
            name='subject',
            field=nowistay.fields.SingleLineCharField(max_length=300),
        ),
        migrations.RunPython(clean_stored_text, migrations.RunPython.noop),
    ]
