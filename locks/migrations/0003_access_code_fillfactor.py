from django.db import migrations


def set_fillfactor(apps, schema_editor, value=80):
    # Free room in each page lets PostgreSQL update a code in place (HOT) when no indexed column
    # changes, as claims and releases do, instead of writing every index again.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE locks_accesscode SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, value=100)


class Migration(migrations.Migration):
    dependencies = [("locks", "0002_access_codes")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
