from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "kuaiban.documents"
    label = "documents"
    verbose_name = _("Result documents")

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the font check)
