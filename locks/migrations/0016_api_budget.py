"""The vendor API budget (issue 21): when the host was warned, and the audit indexed by account and time.

The audit holds millions of rows at scale: on PostgreSQL the index is built CONCURRENTLY (the
migration is not atomic for that), so vendor calls keep being recorded while it is built.
"""

from django.db import migrations, models

INDEX = models.Index(fields=["account", "created_at"], name="vendorcall_account_idx")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS "vendorcall_account_idx" ON "locks_vendorcall" ("account_id", "created_at")'
        )
    else:
        schema_editor.add_index(apps.get_model("locks", "VendorCall"), INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX CONCURRENTLY IF EXISTS "vendorcall_account_idx"')
    else:
        schema_editor.remove_index(apps.get_model("locks", "VendorCall"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("locks", "0015_code_rotation")]

    operations = [
        migrations.AddField(
            model_name="provideraccount",
            name="budget_warned_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                help_text="When the host was last emailed that the account is near its vendor's API limit (once a month).",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="vendorcall", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]
