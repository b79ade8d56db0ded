"""A foreign key's own index goes where an index or unique constraint in Meta already leads with
its column: one index fewer to write on every insert (tests/test_indexes.py keeps it so)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0021_fk_index_in_a_composite'),
        ('shareddata', '0002_education_kind'),
    ]

    operations = [
        migrations.AlterField(
            model_name='shareddatarecord',
            name='application',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='shared_data_records', to='cases.application'),
        ),
    ]
