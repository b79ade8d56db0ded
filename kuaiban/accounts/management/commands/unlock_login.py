from axes.models import AccessAttempt
from django.core.management import BaseCommand, CommandError

from kuaiban.accounts import lockout, security_log
from kuaiban.accounts.models import User


class Command(BaseCommand):
    help = (
        "Lift a log-in lock-out, recorded in the security log with the administrator who asked "
        "(the admin's unlock action does the same). The name is what was typed at log-in: a "
        "username, an ID number or a credit code."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the name typed at log-in (ID number, credit code, …)")
        parser.add_argument("--by", required=True, help="the administrator's username")
        parser.add_argument("--ip", help="only the lock-out for this client address")

    def handle(self, *args, name, by, ip=None, **options):
        actor = User.objects.filter(username=by, is_active=True).first()
        if actor is None or not actor.has_perm("axes.delete_accessattempt"):
            raise CommandError(f"{by!r} is not an administrator who may lift lock-outs.")
        attempts = AccessAttempt.objects.filter(username=security_log.login_name(name))
        if ip:
            attempts = attempts.filter(ip_address=ip)
        lifted = lockout.unlock_attempts(attempts, actor=actor)
        self.stdout.write(f"{lifted} lock-out(s) lifted." if lifted else "No lock-out found.")
