from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "kuaiban.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns and their acceptance evaluation (考评验收)")
