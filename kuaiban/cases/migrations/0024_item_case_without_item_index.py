"""Item cases lose the single-column index on their item (see the model's comment): one index
fewer written on every clock update. Dropped by name rather than by AlterField, which would
rebuild the whole table on SQLite for an index; the name is Django's own for this field, the
same on both databases."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "cases_itemcase_item_id_1596e812"


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0023_moment_indexes_only_where_set"),
        ("catalog", "0013_fk_index_in_a_composite"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="itemcase",
                    name="item",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="catalog.serviceitem",
                        verbose_name="item",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX {INDEX} ON cases_itemcase (item_id)",
                ),
            ],
        ),
    ]
