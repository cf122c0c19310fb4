"""Text without control characters: the shared validators on the messaging text fields, and the
values stored before them made plain text (see nowistay.validators)."""

import nowistay.fields
from django.db import migrations

from nowistay.validators import rewrite_stored_text

ONE_LINE = [("MessageTemplate", "name"), ("MessageTemplate", "subject"), ("MessageDelivery", "template_name"), ("MessageDelivery", "recipient")]
SEVERAL_LINES = [("MessageTemplate", "body")]


def clean_stored_text(apps, schema_editor) -> None:
    for model_name, name in ONE_LINE:
        rewrite_stored_text(apps.get_model("messaging", model_name), name)
    for model_name, name in SEVERAL_LINES:
        rewrite_stored_text(apps.get_model("messaging", model_name), name, multiline=True)


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
