"""Print the current code of a staff account's authenticator (its confirmed TOTP device).

For the demo: someone trying it without an authenticator app logs in as `clerk` with the code
this prints. It reads the device's key from the database, as anyone with shell access could.
"""

from django.core.management import BaseCommand, CommandError

from kuaiban.accounts import second_factor
from kuaiban.accounts.models import User


class Command(BaseCommand):
    help = "Print the code the authenticator app of this staff account shows now."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account {username!r}.")
        device = second_factor.confirmed_device(user)
        if device is None:
            raise CommandError(
                f"{username} has no authenticator set up yet: log in once to set one up "
                "(the demo's staff accounts get one from setup_demo)."
            )
        code = second_factor.usable_code(device)
        if code is None:
            raise CommandError("This code was just used: try again in a few seconds.")
        self.stdout.write(code)
