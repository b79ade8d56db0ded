"""What each 好差评 figure counts, defined once for the rating rollup and for its drill-down.

Ratings are counted by the day **what was rated concluded** (the item case, or for a review of
a whole application the application), not by the day of the rating: the rating rate of a day
is then the share of that day's concluded cases that were rated, and it is additive over days
and filters like every rollup count. A case concluded in the last rating period (15 days by
default) may still be rated, so recent rates can still rise. Only the *counted* ratings enter
(`ratings.selectors.counted_ratings`: an upheld appeal takes its review out, never deletes it).

Follow-ups are counted by the day they **opened**; the answered and on-time figures of a recent
period rise as the units answer. A follow-up closed by an upheld appeal is not one to answer.

Rates (numerator ÷ denominator, see `RATES`): rating rate = cases rated ÷ cases concluded (the
case rollup's `concluded`, same filters); satisfaction = grade 基本满意 or better ÷ ratings;
bad-review rate = 不满意 or 非常不满意 ÷ ratings (both over item-case and whole-application
ratings; a unit or item filter leaves the whole-application ones out, as they have neither);
answered rate (target 100%) and on-time rate = answered (on time) ÷ follow-ups to answer;
rectification satisfaction = rectifications rated 基本满意 or better ÷ rectifications rated.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kuaiban.ratings.models import FollowUp, FollowUpKind, FollowUpState
from kuaiban.ratings.selectors import counted_ratings

from .figures import Figure, Span, case_filter_q, spans_q

SATISFIED_FROM = 3  # 基本满意 (3) and better count as satisfied; 1 and 2 are bad reviews
# anchor → (what is counted, the column dating it, the rows it covers)
RATING_ANCHORS = {
    "case_concluded": ("rating", "item_case__concluded_at", Q(item_case__isnull=False)),
    "application_concluded": ("rating", "application__concluded_at", Q(item_case__isnull=True)),
    "follow_up_opened": ("follow_up", "opened_at", Q()),
}


class RatingFigure(Figure):
    """A 好差评 figure: a `Figure` whose anchor is one of `RATING_ANCHORS`."""

    @property
    def counts(self) -> str:
        """ "rating" or "follow_up": what the drill-down lists."""
        return RATING_ANCHORS[self.anchor][0]


_SATISFIED = Q(grade__gte=SATISFIED_FROM)
_BAD = Q(grade__lt=SATISFIED_FROM)
_DUE = ~Q(state=FollowUpState.APPEAL_UPHELD)
_ANSWERED = Q(state=FollowUpState.ANSWERED)

RATING_FIGURES: dict[str, RatingFigure] = {
    f.key: f
    for f in (
        RatingFigure(
            "rated",
            "case_concluded",
            _("Cases rated"),
            _("Item cases concluded in the period that their applicant rated."),
        ),
        RatingFigure(
            "satisfied",
            "case_concluded",
            _("Rated satisfied"),
            _("Of those, rated fairly satisfied or better."),
            _SATISFIED,
        ),
        RatingFigure(
            "bad",
            "case_concluded",
            _("Bad reviews"),
            _("Of those, rated dissatisfied or very dissatisfied."),
            _BAD,
        ),
        RatingFigure(
            "whole_rated",
            "application_concluded",
            _("Applications rated as a whole"),
            _("Bundles concluded in the period rated as a whole (no unit or item of their own)."),
        ),
        RatingFigure(
            "whole_satisfied",
            "application_concluded",
            _("Applications rated satisfied as a whole"),
            _("Of those, rated fairly satisfied or better."),
            _SATISFIED,
        ),
        RatingFigure(
            "whole_bad",
            "application_concluded",
            _("Applications rated badly as a whole"),
            _("Of those, rated dissatisfied or very dissatisfied."),
            _BAD,
        ),
        RatingFigure(
            "fu_opened",
            "follow_up_opened",
            _("Follow-ups opened"),
            _("Follow-ups opened in the period: bad reviews and missed committed times."),
        ),
        RatingFigure(
            "fu_bad_review",
            "follow_up_opened",
            _("Follow-ups of bad reviews"),
            _("Follow-ups opened in the period for a bad review."),
            Q(kind=FollowUpKind.BAD_REVIEW),
        ),
        RatingFigure(
            "fu_missed_deadline",
            "follow_up_opened",
            _("Follow-ups of missed times"),
            _("Follow-ups opened in the period for a case past its committed time."),
            Q(kind=FollowUpKind.MISSED_DEADLINE),
        ),
        RatingFigure(
            "fu_due",
            "follow_up_opened",
            _("Follow-ups to answer"),
            _("Follow-ups opened in the period, but those closed by an upheld appeal."),
            _DUE,
        ),
        RatingFigure(
            "fu_answered",
            "follow_up_opened",
            _("Answered"),
            _("Follow-ups opened in the period and answered to the rater."),
            _ANSWERED,
        ),
        RatingFigure(
            "fu_answered_on_time",
            "follow_up_opened",
            _("Answered on time"),
            _("Follow-ups opened in the period and answered by their answer time."),
            _ANSWERED & Q(answered_at__lte=F("answer_due_at")),
        ),
        RatingFigure(
            "fu_escalated",
            "follow_up_opened",
            _("Escalated"),
            _("Follow-ups opened in the period that reached the supervision office unanswered."),
            Q(escalated_at__isnull=False),
        ),
        RatingFigure(
            "fu_rect_rated",
            "follow_up_opened",
            _("Rectifications rated"),
            _("Answered follow-ups whose rater rated the rectification."),
            Q(rectification_grade__isnull=False),
        ),
        RatingFigure(
            "fu_rect_satisfied",
            "follow_up_opened",
            _("Rectifications rated satisfied"),
            _("Of those, rated fairly satisfied or better."),
            Q(rectification_grade__gte=SATISFIED_FROM),
        ),
        RatingFigure(
            "fu_appealed",
            "follow_up_opened",
            _("Appeals"),
            _("Follow-ups the unit appealed as a mistaken or malicious review."),
            Q(appealed_at__isnull=False),
        ),
        RatingFigure(
            "fu_appeals_upheld",
            "follow_up_opened",
            _("Appeals upheld"),
            _("Appeals the supervision office upheld: the review no longer counts."),
            Q(state=FollowUpState.APPEAL_UPHELD),
        ),
    )
}


@dataclass(frozen=True)
class Rate:
    key: str
    label: Promise
    numerators: tuple[str, ...]
    denominators: tuple[str, ...]  # "concluded" is the case rollup's
    goal: float | None = None


RATES = (
    Rate("rating_rate", _("Rating rate"), ("rated",), ("concluded",)),
    Rate(
        "satisfaction_rate",
        _("Satisfaction rate"),
        ("satisfied", "whole_satisfied"),
        ("rated", "whole_rated"),
    ),
    Rate("bad_rate", _("Bad-review rate"), ("bad", "whole_bad"), ("rated", "whole_rated")),
    Rate("answered_rate", _("Answered rate"), ("fu_answered",), ("fu_due",), goal=1.0),
    Rate("on_time_rate", _("Follow-ups answered on time"), ("fu_answered_on_time",), ("fu_due",)),
    Rate(
        "rectification_rate",
        _("Rectification satisfaction"),
        ("fu_rect_satisfied",),
        ("fu_rect_rated",),
    ),
    Rate("upheld_rate", _("Appeals upheld"), ("fu_appeals_upheld",), ("fu_appealed",)),
)


def _rating_dimensions() -> dict:
    return {
        "unit": F("item_case__unit_id"),
        "item": F("item_case__item_id"),
        "bundle": F("application__bundle_id"),
        "window": Coalesce("application__bundle__window_id", "application__item__window_id"),
        "hall": F("application__hall_id"),
        "district": F("application__hall__district_id"),
    }


def _follow_up_dimensions() -> dict:
    return {**_rating_dimensions(), "unit": F("unit_id")}


def dimensions(counts: str) -> dict:
    """Dimension → expression, for ratings or follow-ups (the same dimensions as the cases')."""
    return _rating_dimensions() if counts == "rating" else _follow_up_dimensions()


def anchored_rows(anchor: str, spans: list[Span]) -> QuerySet:
    """The counted ratings or the follow-ups whose anchor moment lies in the spans, annotated
    `anchor_at`."""
    counts, column, scope = RATING_ANCHORS[anchor]
    rows = counted_ratings() if counts == "rating" else FollowUp.objects.all()
    return rows.filter(scope, spans_q(column, spans)).annotate(anchor_at=F(column))


def rows_for_figure(key: str, spans: list[Span]) -> QuerySet:
    figure = RATING_FIGURES[key]
    return anchored_rows(figure.anchor, spans).filter(figure.condition)


def rows_filter_q(counts: str, filters: dict) -> Q:
    """The dashboard filters over ratings or follow-ups (`figures.case_filter_q`, through the
    rated case; a follow-up has its own unit)."""
    unit = "item_case__unit_id" if counts == "rating" else "unit_id"
    return case_filter_q(filters, unit_field=unit, item_field="item_case__item_id")
