"""A foreign key's own index goes where an index or unique constraint in Meta already leads with
its column: one index fewer to write on every insert (tests/test_indexes.py keeps it so)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0012_education_data_source'),
    ]

    operations = [
        migrations.AlterField(
            model_name='bundleitem',
            name='bundle',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='bundle_items', to='catalog.bundle', verbose_name='bundle'),
        ),
        migrations.AlterField(
            model_name='bundlequestion',
            name='bundle',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='questions', to='catalog.bundle', verbose_name='bundle'),
        ),
        migrations.AlterField(
            model_name='guideversion',
            name='bundle',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='guide_versions', to='catalog.bundle', verbose_name='bundle'),
        ),
        migrations.AlterField(
            model_name='guideversion',
            name='item',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='guide_versions', to='catalog.serviceitem', verbose_name='item'),
        ),
        migrations.AlterField(
            model_name='itemmaterial',
            name='item',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, to='catalog.serviceitem', verbose_name='item'),
        ),
    ]
