"""The month and day of birth beside the encrypted ID number (see `User.birth_monthday`), filled
in for the accounts there are: each number decrypted once here, so the daily age-reached rule
never has to decrypt them all again."""

from django.db import migrations, models

from kuaiban.accounts.identity import birth_monthday_of


def fill(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    changed = []
    for user in User.objects.exclude(resident_id="").only("pk", "resident_id").iterator(2000):
        user.birth_monthday = birth_monthday_of(user.resident_id)
        if user.birth_monthday is not None:
            changed.append(user)
        if len(changed) >= 2000:
            User.objects.bulk_update(changed, ["birth_monthday"])
            changed = []
    User.objects.bulk_update(changed, ["birth_monthday"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_fk_index_in_a_composite"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="birth_monthday",
            field=models.PositiveSmallIntegerField(db_index=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
