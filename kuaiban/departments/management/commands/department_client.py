from django.core.exceptions import ValidationError
from django.core.management import BaseCommand, CommandError

from kuaiban.catalog.models import Unit
from kuaiban.departments.models import DepartmentClient
from kuaiban.departments.services import client_issue, client_revoke, client_rotate


class Command(BaseCommand):
    help = (
        "Department clients of the open API: `issue EXT-YB [--webhook URL]` (or `issue "
        "--platform` for the provincial platform), `rotate <client id> [--webhook URL]`, "
        "`revoke <client id>`, `list`. The credential is printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["issue", "rotate", "revoke", "list"])
        parser.add_argument("target", nargs="?", help="a unit's code (issue) or a client id")
        parser.add_argument("--webhook", default=None, help="the department's webhook URL")
        parser.add_argument(
            "--platform", action="store_true", help="issue the provincial platform's client"
        )

    def handle(self, *args, action, target, webhook, platform, **options):
        try:
            if action == "issue":
                self._print(self._issue(target, webhook, platform))
            elif action == "rotate":
                self._print(client_rotate(client=self._client(target), webhook_url=webhook))
            elif action == "revoke":
                if not client_revoke(client=self._client(target)):
                    raise CommandError(f"{target} was already revoked")
                self.stdout.write(f"{target} revoked")
            else:
                self._list()
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error

    def _issue(self, target, webhook, platform):
        if platform:
            return client_issue(kind=DepartmentClient.Kind.PLATFORM, webhook_url=webhook or "")
        unit = Unit.objects.filter(code=target or "").first()
        if unit is None:
            raise CommandError("name an external unit's code, e.g. EXT-YB (or --platform)")
        return client_issue(unit=unit, webhook_url=webhook or "")

    def _client(self, client_id):
        client = DepartmentClient.objects.filter(client_id=client_id or "").first()
        if client is None:
            raise CommandError(f"no client {client_id}")
        return client

    def _print(self, issued) -> None:
        client = issued.client
        self.stdout.write(f"client {client.client_id} ({client.name})")
        self.stdout.write(f"  Authorization: Bearer {issued.credential}")
        if issued.webhook_secret:
            self.stdout.write(f"  webhook {client.webhook_url}")
            self.stdout.write(f"  webhook signing secret {issued.webhook_secret}")
        self.stdout.write("  (shown once: only a keyed hash of the secret is kept)")

    def _list(self) -> None:
        for client in DepartmentClient.objects.select_related("unit").order_by("kind", "name"):
            state = f"revoked {client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "live"
            unit = client.unit.code if client.unit else "-"
            self.stdout.write(
                f"{client.client_id}  {client.kind:<10} {unit:<9} {state:<22} "
                f"{client.name}  {client.webhook_url or '(polls)'}"
            )
