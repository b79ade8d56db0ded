"""The kinds of shared-data source (数据多跑路、群众少跑腿). A catalog material names its kind
(`Material.data_source`); each kind has its adapter in `providers.py`. Kept apart from the models
so the catalog can name the choices without importing anything else."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataKind(models.TextChoices):
    IDENTITY = "identity", _("Identity (population data, 人口库)")
    BUSINESS_LICENCE = (
        "business_licence",
        _("Business registration (market regulation, 市场监管)"),
    )
    DEATH = "death", _("Death registration (civil affairs, 民政)")
    SOCIAL_INSURANCE = "social_insurance", _("Social-insurance history (参保缴费记录)")
    EDUCATION = "education", _("Education record (education authorities, 学信网)")
    PORTAL_FILING = "portal_filing", _("An earlier filing in this portal")
