"""django-axes as the portal installs it: its app named in the portal's languages (axes has no
Chinese catalog; the labels of its admin that the portal shows are marked in admin.py)."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class LockoutsConfig(AxesAppConfig):
    verbose_name = _("Log-in lock-outs")
