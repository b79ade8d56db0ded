from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommitmentsConfig(AppConfig):
    name = "kuaiban.commitments"
    label = "commitments"
    verbose_name = _("Commitments: post-hoc verification and sanctions (告知承诺制)")
