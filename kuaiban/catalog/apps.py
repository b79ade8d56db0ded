from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "kuaiban.catalog"
    label = "catalog"
    verbose_name = _("Service catalog")

    def ready(self):
        from .tables import connect

        connect()
