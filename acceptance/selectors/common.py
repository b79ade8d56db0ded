"""What the supervision reads share: the period a page covers, the default one, the filters
cleaned of empty values, and a rollup column summed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..figures import Span, day_start

DEFAULT_DAYS = 28  # four weeks, so the week-over-week comparison has two full weeks


@dataclass(frozen=True)
class Period:
    """Local days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def span(self) -> Span:
        return (day_start(self.start), day_start(self.end + timedelta(days=1)))

    @property
    def last_week(self) -> tuple[date, date]:
        """The last seven days of the period."""
        return (self.end - timedelta(days=6), self.end)

    @property
    def week_before(self) -> tuple[date, date]:
        """The seven days before those."""
        return (self.end - timedelta(days=13), self.end - timedelta(days=7))


def default_period(today: date | None = None) -> Period:
    return period_asked(None, None, today)


def period_asked(start: date | None, end: date | None, today: date | None = None) -> Period:
    """The period a page's form asks for, with what it leaves out filled in: without an end,
    `DEFAULT_DAYS` from the start (or up to today); without a start, `DEFAULT_DAYS` up to the
    end."""
    end = end or (start + timedelta(days=DEFAULT_DAYS - 1) if start else today)
    end = end or timezone.localdate()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    return Period(start, end)


def filters_cleaned(filters: dict | None) -> dict:
    """The filters without the unset ones (None or an empty string mean "any")."""
    return {k: v for k, v in (filters or {}).items() if v is not None and v != ""}


def rollup_sum(name: str, **day_filter) -> Coalesce:
    """SUM of a rollup column (over the rows matching `day_filter`), 0 when there are none."""
    return Coalesce(Sum(name, filter=Q(**day_filter) if day_filter else None), 0)
