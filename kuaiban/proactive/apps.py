from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProactiveConfig(AppConfig):
    name = "kuaiban.proactive"
    label = "proactive"
    verbose_name = _("Proactive services (主动服务): invitations to a bundle")
