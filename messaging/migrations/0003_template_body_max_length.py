# A message body is capped at rendering.MAX_BODY_LENGTH characters (messaging/rendering.py says
# why 10,000); the column keeps no length: forms and the model's clean() check the cap.

import nowistay.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0002_text_without_control_characters'),
    ]

    operations = [
        migrations.AlterField(
            model_name='messagetemplate',
            name='body',
            field=nowistay.fields.MultilineTextField(max_length=10000),
        ),
    ]
