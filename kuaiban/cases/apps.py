from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "kuaiban.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from .audit import register_sqlite_function

        connection_created.connect(register_sqlite_function, dispatch_uid="kuaiban_event_hash")
