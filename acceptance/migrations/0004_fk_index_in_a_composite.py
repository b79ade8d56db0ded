"""A foreign key's own index goes where an index or unique constraint in Meta already leads with
its column: one index fewer to write on every insert (tests/test_indexes.py keeps it so)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('acceptance', '0003_visit_targets'),
        ('catalog', '0013_fk_index_in_a_composite'),
    ]

    operations = [
        migrations.AlterField(
            model_name='dailycaserollup',
            name='district',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.district', verbose_name='district or county'),
        ),
        migrations.AlterField(
            model_name='dailycaserollup',
            name='unit',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.unit', verbose_name='unit'),
        ),
        migrations.AlterField(
            model_name='dailyratingrollup',
            name='district',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.district', verbose_name='district or county'),
        ),
    ]
