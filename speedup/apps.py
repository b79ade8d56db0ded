from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpeedupConfig(AppConfig):
    name = "speedup"
    verbose_name = _("Speed-up (提速办)")
