from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpeedupConfig(AppConfig):
    name = "speedup"
    verbose_name = _("Speed-up (提速办)")

    def ready(self):
        # The kernel announces calendar changes; the deadline engine answers by recomputing.
        from kuaiban.workdays.services import on_calendar_change

        from .tasks import recompute_after_calendar_change

        on_calendar_change(recompute_after_calendar_change)
