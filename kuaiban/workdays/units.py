"""The units a time limit is counted in: one enum for the catalog, the clocks and the metrics."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LimitUnit(models.TextChoices):
    OFFICE_MINUTES = "office_minutes", _("office minutes")
    WORKING_DAYS = "working_days", _("working days")
    CALENDAR_DAYS = "calendar_days", _("calendar days")
    NONE = "none", _("no statutory limit")


# An item's statutory, committed and extension limits are counted in days (or not at all);
# office minutes are the instant items' own measure (`ServiceItem.instant_minutes`).
ITEM_LIMIT_UNITS = [
    (unit.value, unit.label)
    for unit in (LimitUnit.WORKING_DAYS, LimitUnit.CALENDAR_DAYS, LimitUnit.NONE)
]
