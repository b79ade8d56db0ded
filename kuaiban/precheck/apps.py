from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrecheckConfig(AppConfig):
    name = "kuaiban.precheck"
    label = "precheck"
    verbose_name = _("Smart pre-check (智能预审)")

    def ready(self):
        from . import checks  # noqa: F401 (registers the OCR engine check)
