"""The words of the supervision tables, defined once: the dashboard's and the lists' column
headings on screen and the exports' column headers (reports/exports.py) both take them from here,
so a header in Excel is the heading the supervisor read on the page (issue 16 part 8). A column
that counts one of the figures is headed by the figure's own label (acceptance/figures.py)."""

from django.utils.translation import gettext_lazy as _

from .figures import FIGURES

# -- the case lists (cases behind a figure, overdue now) -------------------------------------
REFERENCE = _("Reference number")
BUNDLE = _("Bundle")
ITEM_CODE = "事项编码"  # no page shows it apart from the name: the workbook's own word
ITEM = _("Item")
UNIT = _("Unit")
HALL = _("Service hall")
STAGE = _("Stage")
STATE = _("State")
RECEIVED_AT = _("Received")
ACCEPTED_AT = _("Accepted")
COMMITTED_DUE = _("Committed due")
STATUTORY_DUE = _("Statutory due")
DECIDED_AT = _("Decided")
CONCLUDED_AT = _("Concluded")
HANDLING = _("Handling")
HELD_BY = _("Held by")
VISITS = _("Visits")

# -- the dashboard's tables ------------------------------------------------------------------
CODE = _("Code")
ACCEPTED = FIGURES["accepted"].label
STATUTORY_MODE = FIGURES["statutory_mode"].label
PAUSED = FIGURES["paused"].label
CONCLUDED = FIGURES["concluded"].label
ON_TIME = FIGURES["on_time"].label
COMPLETED_LATE = FIGURES["completed_late"].label
OVERDUE = FIGURES["overdue"].label
BREACHES = FIGURES["breaches"].label
DECIDED = FIGURES["decided"].label
UNIT_TABLE = (
    UNIT,
    ACCEPTED,
    STATUTORY_MODE,
    PAUSED,
    CONCLUDED,
    ON_TIME,
    COMPLETED_LATE,
    OVERDUE,
    BREACHES,
)

MEDIAN = _("Median")
P90 = _("90th percentile")
COMMITTED_LIMIT = _("Committed limit")
STATUTORY_LIMIT = _("Statutory limit")
MEDIAN_SHARE = _("Median ÷ statutory")
OVER_COMMITMENT = _("over the commitment")
HANDLING_TABLE = (ITEM, DECIDED, MEDIAN, P90, COMMITTED_LIMIT, STATUTORY_LIMIT, MEDIAN_SHARE)

RATING_RATE = _("Rating rate")
SATISFACTION_RATE = _("Satisfaction rate")
BAD_REVIEWS = _("Bad reviews")
FOLLOW_UPS_DUE = _("Follow-ups to answer")
ANSWERED_RATE = _("Answered rate")
ANSWERED_ON_TIME = _("Follow-ups answered on time")
RECTIFICATION = _("Rectification satisfaction")
APPEALS_UPHELD = _("Appeals upheld")
UNIT_RATING_TABLE = (
    UNIT,
    CONCLUDED,
    RATING_RATE,
    SATISFACTION_RATE,
    BAD_REVIEWS,
    FOLLOW_UPS_DUE,
    ANSWERED_RATE,
    ANSWERED_ON_TIME,
    RECTIFICATION,
    APPEALS_UPHELD,
)

# -- the figures (the dashboard's cards, the leaders' report's table) ------------------------
FIGURE = _("Figure")
PERIOD = _("Period")
LAST_WEEK = _("Last 7 days")
WEEK_BEFORE = _("7 days before")
CHANGE = _("Week-over-week change")
DEFINITION = _("What the figures count")
FIGURE_TABLE = (FIGURE, PERIOD, LAST_WEEK, WEEK_BEFORE, CHANGE)

# -- the 好差评 rates (the leaders' report's table) ------------------------------------------
COUNTED = _("Counted")
OUT_OF = _("Out of")
RATE = _("Rate")
TARGET = _("Target")
RATE_TABLE = (FIGURE, COUNTED, OUT_OF, RATE, TARGET)

SHARE = "占比"  # a column giving another column's count as a share: "暂停计时（占比）"


def qualified(label, note) -> str:
    """A header naming what a column holds beside a screen heading: "办理用时（分钟）". The
    exports are Chinese, so the brackets are full-width."""
    return f"{label}（{note}）"


# What the pages' tables loop over (the template's `columns`).
SCREEN_TABLES = {
    "units": UNIT_TABLE,
    "handling": HANDLING_TABLE,
    "unit_ratings": UNIT_RATING_TABLE,
    "figures": FIGURE_TABLE,
    "rates": RATE_TABLE,
}
