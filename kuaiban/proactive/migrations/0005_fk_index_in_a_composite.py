"""A foreign key's own index goes where an index or unique constraint in Meta already leads with
its column: one index fewer to write on every insert (tests/test_indexes.py keeps it so)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('proactive', '0004_record_conditions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='invitation',
            name='rule',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='invitations', to='proactive.invitationrule', verbose_name='rule'),
        ),
        migrations.AlterField(
            model_name='proposal',
            name='rule',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='proposals', to='proactive.entitlementrule', verbose_name='rule'),
        ),
    ]
