"""Fewer index entries per write on the two busiest tables (issue 10, P3 and P8): every flag the
sweep fires and every clock a recompute moves rewrites an item case (its index key moves, so the
update is never HOT) and inserts an event.

- The event's own index on the application goes: both composite indexes lead with it.
- The event's actor and the case's reviewer and statutory-mode setter are indexed only where set:
  the system's events have no actor, and most cases have neither user.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0019_application_channel_proactive"),
        ("catalog", "0012_education_data_source"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The event log's two indexes are dropped by name, not by AlterField: on SQLite (the
        # demo) AlterField rebuilds the table, and the rebuilt table would lose the hash chain's
        # trigger (migration 0006). The names are Django's, the same on both databases.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="caseevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="application",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="cases.application",
                        verbose_name="application",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS cases_caseevent_actor_id_3b42ca2c",
                    "CREATE INDEX cases_caseevent_actor_id_3b42ca2c ON cases_caseevent (actor_id)",
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS cases_caseevent_application_id_67d75249",
                    "CREATE INDEX cases_caseevent_application_id_67d75249 "
                    "ON cases_caseevent (application_id)",
                ),
            ],
        ),
        migrations.AlterField(
            model_name="itemcase",
            name="reviewer",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="held_cases",
                to=settings.AUTH_USER_MODEL,
                verbose_name="held by",
            ),
        ),
        migrations.AlterField(
            model_name="itemcase",
            name="statutory_mode_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="statutory mode set by",
            ),
        ),
        migrations.AddIndex(
            model_name="caseevent",
            index=models.Index(
                condition=models.Q(("actor__isnull", False)),
                fields=["actor"],
                name="caseevent_actor",
            ),
        ),
        migrations.AddIndex(
            model_name="itemcase",
            index=models.Index(
                condition=models.Q(("reviewer__isnull", False)),
                fields=["reviewer"],
                name="itemcase_reviewer",
            ),
        ),
        migrations.AddIndex(
            model_name="itemcase",
            index=models.Index(
                condition=models.Q(("statutory_mode_by__isnull", False)),
                fields=["statutory_mode_by"],
                name="itemcase_statutory_by",
            ),
        ),
    ]
