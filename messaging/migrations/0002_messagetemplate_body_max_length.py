# A message body is capped at rendering.MAX_BODY_LENGTH characters (the editor refuses longer
# text; messaging/rendering.py says why 10,000). The column keeps no length: the cap is checked
# by the forms and the model's clean().

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="messagetemplate",
            name="body",
            field=models.TextField(max_length=10000),
        ),
    ]
