"""A foreign key's own index goes where an index or unique constraint in Meta already leads with
its column: one index fewer to write on every insert (tests/test_indexes.py keeps it so)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0013_fk_index_in_a_composite'),
        ('commitments', '0002_hearing_lapse'),
    ]

    operations = [
        migrations.AlterField(
            model_name='commitmentcheck',
            name='unit',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, to='catalog.unit', verbose_name='unit'),
        ),
    ]
