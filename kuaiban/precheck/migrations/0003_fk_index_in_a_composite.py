"""A foreign key's own index goes where an index or unique constraint in Meta already leads with
its column: one index fewer to write on every insert (tests/test_indexes.py keeps it so)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('precheck', '0002_name_in_material_kind'),
    ]

    operations = [
        migrations.AlterField(
            model_name='precheckfinding',
            name='rule',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='findings', to='precheck.precheckrule', verbose_name='rule'),
        ),
    ]
