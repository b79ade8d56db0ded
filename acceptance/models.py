"""Supervision read models: the daily rollup of item-case figures and its refresh state.

The rollup is derived data: `acceptance.rollups` rebuilds it from the case tables (never edit a
row by hand). See `acceptance/rollups.py` for what each count means and when it is refreshed.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The figures on the dashboard, in order (the list); each is also a rollup count.
DASHBOARD_FIGURES = (
    "received",
    "accepted",
    "returned",
    "refused",
    "concluded",
    "on_time",
    "past50",
    "past75",
    "overdue",
    "breaches",
    "completed_late",
    "statutory_mode",
    "paused",
)
# The counts kept per rollup row: the dashboard's figures, then the extra ones.
ROLLUP_COUNTS = (
    *DASHBOARD_FIGURES,
    "decided",
    "instant_decided",
    "instant_in_time",
    # Visits of the applications concluded that day, counted once per application (apps_*),
    # once per application and unit (unit_apps_*) and once per case (case_apps_*), so the
    # dashboard can answer with or without a unit or item filter without counting twice; with
    # their promise (`cases.visits`): kept, promised no visit (一次不用跑), and that kept.
    "apps_concluded",
    "apps_visits",
    "apps_multi_visit",
    "apps_within_target",
    "apps_no_visit_promised",
    "apps_no_visit_kept",
    "unit_apps_concluded",
    "unit_apps_visits",
    "unit_apps_multi_visit",
    "unit_apps_within_target",
    "unit_apps_no_visit_promised",
    "unit_apps_no_visit_kept",
    "case_apps_concluded",
    "case_apps_visits",
    "case_apps_multi_visit",
    "case_apps_within_target",
    "case_apps_no_visit_promised",
    "case_apps_no_visit_kept",
)
ROLLUP_SUMS = ("handling_minutes_sum", "handling_days_sum")
ROLLUP_LISTS = ("handling_minutes_values", "handling_days_values")


class RollupDimensions(models.Model):
    """The day and the dashboard's dimensions a rollup row is keyed by, but unit and item (each
    rollup says whether they may be empty)."""

    day = models.DateField(_("day"))
    bundle = models.ForeignKey(
        "catalog.Bundle",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("bundle"),
    )
    window = models.ForeignKey(
        "catalog.Window",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("intake window"),
    )
    hall = models.ForeignKey(
        "catalog.ServiceHall",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service hall"),
    )
    district = models.ForeignKey(
        "catalog.District",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("district or county"),
        db_index=False,
    )

    class Meta:
        abstract = True


class DailyCaseRollup(RollupDimensions):
    """Item-case figures of one local day for one combination of unit, item, bundle, intake
    window, hall and district. Each count is dated by its own moment (received: the case's
    creation; accepted: acceptance; concluded: conclusion; past50 … breaches: when the flag fired;
    returned: the case's first return; refused: the application's refusal; decided: the
    decision; statutory_mode and paused: by acceptance day, like `speedup.selectors.unit_usage`;
    the apps_* visit counts: the application's conclusion).
    """

    unit = models.ForeignKey(
        "catalog.Unit",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("unit"),
        db_index=False,
    )
    item = models.ForeignKey(
        "catalog.ServiceItem", on_delete=models.CASCADE, related_name="+", verbose_name=_("item")
    )

    received = models.PositiveIntegerField(_("received"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    returned = models.PositiveIntegerField(_("returned"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    concluded = models.PositiveIntegerField(_("concluded"), default=0)
    on_time = models.PositiveIntegerField(_("concluded on time"), default=0)
    completed_late = models.PositiveIntegerField(_("completed late"), default=0)
    # xgettext:no-python-format
    past50 = models.PositiveIntegerField(_("past 50%"), default=0)
    # xgettext:no-python-format
    past75 = models.PositiveIntegerField(_("past 75%"), default=0)
    overdue = models.PositiveIntegerField(_("overdue"), default=0)
    breaches = models.PositiveIntegerField(_("statutory breaches"), default=0)
    statutory_mode = models.PositiveIntegerField(_("statutory mode"), default=0)
    paused = models.PositiveIntegerField(_("paused"), default=0)
    decided = models.PositiveIntegerField(_("decided"), default=0)
    instant_decided = models.PositiveIntegerField(_("instant items decided"), default=0)
    instant_in_time = models.PositiveIntegerField(
        _("instant items within their minutes"), default=0
    )
    apps_concluded = models.PositiveIntegerField(_("applications concluded"), default=0)
    apps_visits = models.PositiveIntegerField(_("their visits"), default=0)
    apps_multi_visit = models.PositiveIntegerField(_("with more than one visit"), default=0)
    apps_within_target = models.PositiveIntegerField(_("visits as promised"), default=0)
    apps_no_visit_promised = models.PositiveIntegerField(_("promised no visit"), default=0)
    apps_no_visit_kept = models.PositiveIntegerField(_("promised and made no visit"), default=0)
    unit_apps_concluded = models.PositiveIntegerField(
        _("applications concluded (per unit)"), default=0
    )
    unit_apps_visits = models.PositiveIntegerField(_("their visits (per unit)"), default=0)
    unit_apps_multi_visit = models.PositiveIntegerField(
        _("with more than one visit (per unit)"), default=0
    )
    unit_apps_within_target = models.PositiveIntegerField(
        _("visits as promised (per unit)"), default=0
    )
    unit_apps_no_visit_promised = models.PositiveIntegerField(
        _("promised no visit (per unit)"), default=0
    )
    unit_apps_no_visit_kept = models.PositiveIntegerField(
        _("promised and made no visit (per unit)"), default=0
    )
    case_apps_concluded = models.PositiveIntegerField(
        _("applications concluded (per case)"), default=0
    )
    case_apps_visits = models.PositiveIntegerField(_("their visits (per case)"), default=0)
    case_apps_multi_visit = models.PositiveIntegerField(
        _("with more than one visit (per case)"), default=0
    )
    case_apps_within_target = models.PositiveIntegerField(
        _("visits as promised (per case)"), default=0
    )
    case_apps_no_visit_promised = models.PositiveIntegerField(
        _("promised no visit (per case)"), default=0
    )
    case_apps_no_visit_kept = models.PositiveIntegerField(
        _("promised and made no visit (per case)"), default=0
    )
    handling_minutes_sum = models.FloatField(_("handling time, office minutes (sum)"), default=0)
    handling_days_sum = models.FloatField(_("handling time, days (sum)"), default=0)
    # The handling time of every case decided that day, so medians and percentiles of any
    # period are exact (they cannot be summed): office minutes, and days in the statutory unit.
    handling_minutes_values = models.JSONField(
        _("handling times, office minutes"), default=list, blank=True
    )
    handling_days_values = models.JSONField(_("handling times, days"), default=list, blank=True)

    class Meta:
        verbose_name = _("daily case rollup")
        verbose_name_plural = _("daily case rollups")
        ordering = ["day", "unit", "item"]
        indexes = [
            models.Index(fields=["day"], name="acc_rollup_day"),
            models.Index(fields=["district", "day"], name="acc_rollup_district_day"),
            models.Index(fields=["unit", "day"], name="acc_rollup_unit_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} unit={self.unit_id} item={self.item_id}"


# The 好差评 counts kept per rating rollup row (`acceptance.rating_figures` defines each).
RATING_COUNTS = (
    "rated",
    "satisfied",
    "bad",
    "whole_rated",
    "whole_satisfied",
    "whole_bad",
    "fu_opened",
    "fu_bad_review",
    "fu_missed_deadline",
    "fu_due",
    "fu_answered",
    "fu_answered_on_time",
    "fu_escalated",
    "fu_rect_rated",
    "fu_rect_satisfied",
    "fu_appealed",
    "fu_appeals_upheld",
)


def _count(label):
    return models.PositiveIntegerField(label, default=0)


class DailyRatingRollup(RollupDimensions):
    """好差评 figures of one local day for one combination of the dashboard's dimensions.
    Ratings are dated by the conclusion of what was rated (an item case, or the whole
    application), so a rating rate is a share of the cases concluded that day; follow-ups are
    dated by their opening. A whole application's rating and its follow-up have no item, and
    the rating no unit: a unit or item filter leaves it out. See `acceptance.rating_figures`."""

    unit = models.ForeignKey(
        "catalog.Unit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit"),
    )
    item = models.ForeignKey(
        "catalog.ServiceItem",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("item"),
    )
    rated = _count(_("cases rated"))
    satisfied = _count(_("cases rated satisfied"))
    bad = _count(_("cases rated badly"))
    whole_rated = _count(_("applications rated as a whole"))
    whole_satisfied = _count(_("applications rated satisfied as a whole"))
    whole_bad = _count(_("applications rated badly as a whole"))
    fu_opened = _count(_("follow-ups opened"))
    fu_bad_review = _count(_("follow-ups of bad reviews"))
    fu_missed_deadline = _count(_("follow-ups of missed deadlines"))
    fu_due = _count(_("follow-ups to answer"))
    fu_answered = _count(_("follow-ups answered"))
    fu_answered_on_time = _count(_("follow-ups answered on time"))
    fu_escalated = _count(_("follow-ups escalated"))
    fu_rect_rated = _count(_("rectifications rated"))
    fu_rect_satisfied = _count(_("rectifications rated satisfied"))
    fu_appealed = _count(_("appeals"))
    fu_appeals_upheld = _count(_("appeals upheld"))

    class Meta:
        verbose_name = _("daily rating rollup")
        verbose_name_plural = _("daily rating rollups")
        ordering = ["day", "unit", "item"]
        indexes = [
            models.Index(fields=["day"], name="acc_rating_rollup_day"),
            models.Index(fields=["district", "day"], name="acc_rating_rollup_district"),
        ]

    def __str__(self) -> str:
        return f"{self.day} unit={self.unit_id} item={self.item_id}"


class RollupState(models.Model):
    """How fresh a rollup is: one row per rollup (`daily_case`, `daily_rating`). Its row lock also
    serialises refreshes, so two refreshes at once give the same rows as one."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    refreshed_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)
    full_rebuild_at = models.DateTimeField(_("last rebuilt in full"), null=True, blank=True)
    first_day = models.DateField(_("first day refreshed"), null=True, blank=True)
    last_day = models.DateField(_("last day refreshed"), null=True, blank=True)
    days_refreshed = models.PositiveIntegerField(_("days refreshed"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    seconds = models.FloatField(_("seconds taken"), default=0)
    # The highest event id seen: the next refresh also rebuilds the days of the cases whose
    # applications have newer events (a pause or statutory mode moves an older acceptance day).
    last_event_id = models.BigIntegerField(_("last event seen"), null=True, blank=True)
    # The one the refresh before saw: each refresh reads the events after it, so an event of a
    # transaction that committed while the previous refresh ran is still read once.
    previous_event_id = models.BigIntegerField(
        _("event seen by the refresh before"), null=True, blank=True
    )
    # The rating rollup's other watermark (its events are the follow-ups' events).
    last_rating_id = models.BigIntegerField(_("last rating seen"), null=True, blank=True)
    previous_rating_id = models.BigIntegerField(
        _("rating seen by the refresh before"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup states")

    def __str__(self) -> str:
        return f"{self.name} @ {self.refreshed_at}"
