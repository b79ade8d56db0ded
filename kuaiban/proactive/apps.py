from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProactiveConfig(AppConfig):
    name = "kuaiban.proactive"
    label = "proactive"
    verbose_name = _("Proactive services (主动服务): invitations to a bundle")

    def ready(self) -> None:
        from kuaiban.accounts.services import on_citizen_verified
        from kuaiban.catalog.models import Bundle
        from kuaiban.process_tables import invalidate_on_save

        from .models import InvitationRule
        from .services import on_registration, proactive_tables

        on_citizen_verified(on_registration)
        invalidate_on_save(proactive_tables, InvitationRule, Bundle)
