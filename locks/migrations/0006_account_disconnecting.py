"""Disconnecting runs in the background: a DISCONNECTING status while the codes of upcoming stays
are revoked, when it began, and what it did (shown to the host once it is over)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("locks", "0005_failed_code_cleanup"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="provideraccount",
            name="account_status_valid",
        ),
        migrations.AlterField(
            model_name="provideraccount",
            name="status",
            field=models.CharField(
                choices=[
                    ("connected", "Connected"),
                    ("needs_reconnect", "Needs reconnecting"),
                    ("disconnecting", "Disconnecting"),
                    ("disconnected", "Disconnected"),
                ],
                default="connected",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="provideraccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["connected", "needs_reconnect", "disconnecting", "disconnected"])),
                name="account_status_valid",
            ),
        ),
        migrations.AddField(
            model_name="provideraccount",
            name="disconnect_started_at",
            field=models.DateTimeField(
                blank=True, null=True, help_text="When the last disconnection began (its report counts the codes retired since)."
            ),
        ),
        migrations.AddField(
            model_name="provideraccount",
            name="disconnect_summary",
            field=models.CharField(
                blank=True, max_length=500, help_text="What the last disconnection did, for the host; empty once reconnected."
            ),
        ),
    ]
