"""A foreign key's own index goes where an index or unique constraint in Meta already leads with
its column: one index fewer to write on every insert (tests/test_indexes.py keeps it so)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0003_scores_and_notices'),
    ]

    operations = [
        migrations.AlterField(
            model_name='phase',
            name='campaign',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='phases', to='campaigns.campaign', verbose_name='campaign'),
        ),
        migrations.AlterField(
            model_name='phasetask',
            name='phase',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='campaigns.phase', verbose_name='phase'),
        ),
        migrations.AlterField(
            model_name='scorecriterion',
            name='campaign',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='criteria', to='campaigns.campaign', verbose_name='campaign'),
        ),
        migrations.AlterField(
            model_name='unittask',
            name='task',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='unit_tasks', to='campaigns.phasetask', verbose_name='task'),
        ),
    ]
