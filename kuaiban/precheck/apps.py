from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrecheckConfig(AppConfig):
    name = "kuaiban.precheck"
    label = "precheck"
    verbose_name = _("Smart pre-check (智能预审)")

    def ready(self):
        from kuaiban.catalog.models import ServiceItem
        from kuaiban.process_tables import invalidate_on_save

        from . import checks  # noqa: F401 (registers the OCR engine check)
        from .models import PrecheckRule
        from .services import precheck_tables

        invalidate_on_save(precheck_tables, PrecheckRule, ServiceItem)
