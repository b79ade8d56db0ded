from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharedDataConfig(AppConfig):
    name = "kuaiban.shareddata"
    label = "shareddata"
    verbose_name = _("Shared data (数据共享): data fetched from other departments' sources")
