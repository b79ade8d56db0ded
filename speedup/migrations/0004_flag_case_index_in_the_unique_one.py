"""The flag's own index on its case goes: `one_flag_per_kind` (item_case, kind) leads with it,
and the sweep inserts a flag row for every threshold it fires (issue 10, P3)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0020_fewer_index_writes'),
        ('speedup', '0003_clock_recompute_days'),
    ]

    operations = [
        migrations.AlterField(
            model_name='caseflag',
            name='item_case',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='flags', to='cases.itemcase', verbose_name='item case'),
        ),
    ]
