"""A foreign key's own index goes where an index or unique constraint in Meta already leads with
its column: one index fewer to write on every insert (tests/test_indexes.py keeps it so)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0020_fewer_index_writes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='accesslog',
            name='user',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='user'),
        ),
        migrations.AlterField(
            model_name='application',
            name='applicant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='applications', to=settings.AUTH_USER_MODEL, verbose_name='applicant'),
        ),
        migrations.AlterField(
            model_name='applicationmaterial',
            name='application',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='materials', to='cases.application', verbose_name='application'),
        ),
        migrations.AlterField(
            model_name='commitment',
            name='application',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='commitments', to='cases.application', verbose_name='application'),
        ),
        migrations.AlterField(
            model_name='returnanswer',
            name='notice',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='answers', to='cases.returnnotice', verbose_name='return notice'),
        ),
        migrations.AlterField(
            model_name='storedfile',
            name='owner',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='stored_files', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
        ),
    ]
