"""Deadline arithmetic over a working-day calendar. Pure: no ORM, no clock, no settings.

Rules (domain.md §2):
- N working days: the start day is not counted; due at close of business of the N-th working
  day after it (行政许可法 §82, 民法典 §201).
- N calendar days: due at close of business of start + N; a last day that is a rest day rolls to
  the next working day (民法典 §203).
- N office minutes: counted only inside office hours of working days, from the first office
  minute at or after the start (an online submission is received then).
- A day the calendar does not know is Monday–Friday working; any result that depends on a year
  that is not fully configured is marked provisional instead of raising.

`WorkCalendar` pre-computes a sorted array of working-day ordinals so adding N working days is
two bisections, not a day-by-day loop.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo

DEFAULT_OFFICE_PERIODS: tuple[tuple[time, time], ...] = (
    (time(9, 0), time(12, 0)),
    (time(13, 30), time(17, 30)),
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Years beyond the last configured one that the index covers with the Monday–Friday rule.
_PROVISIONAL_YEARS_AHEAD = 30


class Deadline(NamedTuple):
    """A due instant, and whether it rests on a year the calendar does not cover yet."""

    at: datetime
    provisional: bool


class WorkCalendar:
    """Working days and office hours, built from plain data (see `calendar_from_db`).

    days: explicit entries, date → is it a working day. They win over the weekday rule, so a
        local closure entered for a year not yet loaded still counts.
    configured_years: years whose every day is in `days`; results touching other years are
        provisional.
    """

    def __init__(
        self,
        days: Mapping[date, bool],
        configured_years: Iterable[int],
        office_periods: Sequence[tuple[time, time]] = DEFAULT_OFFICE_PERIODS,
        tz: tzinfo = SHANGHAI,
    ) -> None:
        periods = tuple(sorted(office_periods))
        if not periods:
            raise ValueError("at least one office-hours period is needed")
        for start, end in periods:
            if start >= end:
                raise ValueError(f"office period {start}–{end} closes before it opens")
        self.office_periods = periods
        self.tz = tz
        self.configured_years = frozenset(configured_years)
        self._explicit = dict(days)
        known_years = set(self.configured_years) | {d.year for d in self._explicit}
        first_year = min(known_years, default=2000)
        last_year = max(known_years, default=2000) + _PROVISIONAL_YEARS_AHEAD
        self._lo = date(first_year, 1, 1).toordinal()
        self._hi = date(last_year, 12, 31).toordinal()
        self._working = [o for o in range(self._lo, self._hi + 1) if self._working_ordinal(o)]
        self._working_set = frozenset(self._working)
        self._minutes_per_day = sum(_minutes(start, end) for start, end in periods)
        self._closing: dict[date, datetime] = {}  # close of business per day, built lazily
        # Each day's office periods as naive local (opens, closes), built lazily: the office
        # minutes' hot path (every clock's warnings) without two combines per period per call.
        self._bounds: dict[date, tuple[tuple[datetime, datetime], ...]] = {}
        self._closing_by_ordinal: dict[int, tuple[datetime, int]] = {}

    # -- days -------------------------------------------------------------------------------

    def _working_ordinal(self, ordinal: int) -> bool:
        day = date.fromordinal(ordinal)
        explicit = self._explicit.get(day)
        if explicit is not None:
            return explicit
        return day.weekday() < 5

    def is_working_day(self, day: date) -> bool:
        ordinal = day.toordinal()
        if self._lo <= ordinal <= self._hi:
            return ordinal in self._working_set
        return self._working_ordinal(ordinal)

    def is_configured(self, day: date) -> bool:
        return day.year in self.configured_years

    def _provisional(self, first: date, last: date) -> bool:
        """Whether any year from `first` to `last` (inclusive) is not configured."""
        if first.year == last.year:
            return first.year not in self.configured_years
        return any(y not in self.configured_years for y in range(first.year, last.year + 1))

    def _in_index(self, ordinal: int) -> bool:
        return self._lo <= ordinal <= self._hi

    def next_working_day(self, day: date, *, include_today: bool = True) -> date:
        ordinal = day.toordinal() if include_today else day.toordinal() + 1
        if self._in_index(ordinal):
            i = bisect.bisect_left(self._working, ordinal)
            if i < len(self._working):
                return date.fromordinal(self._working[i])
        while not self._working_ordinal(ordinal):
            ordinal += 1
        return date.fromordinal(ordinal)

    def _nth_working_day_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n ≥ 1): one bisection in the index."""
        ordinal = day.toordinal()
        if self._in_index(ordinal):
            i = bisect.bisect_right(self._working, ordinal) + n - 1
            if i < len(self._working):
                return date.fromordinal(self._working[i])
        for _ in range(n):  # beyond the index: walk (only for absurdly distant dates)
            day = self.next_working_day(day, include_today=False)
        return day

    @property
    def minutes_per_day(self) -> float:
        """Office minutes in a working day (the office hours' periods added up)."""
        return self._minutes_per_day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: the start day is not counted."""
        if end <= start:
            return 0
        s, e = start.toordinal(), end.toordinal()
        if self._in_index(s) and self._in_index(e):
            return bisect.bisect_right(self._working, e) - bisect.bisect_right(self._working, s)
        return sum(1 for o in range(s + 1, e + 1) if self._working_ordinal(o))

    # -- instants ---------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        """The moment as a naive local wall-clock time (the arithmetic works in local time)."""
        if moment.tzinfo is None:
            raise ValueError("deadline arithmetic needs timezone-aware datetimes")
        if moment.tzinfo is self.tz:
            return moment.replace(tzinfo=None)
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def aware(self, wall: datetime) -> datetime:
        return wall.replace(tzinfo=self.tz)

    def in_zone(self, moment: datetime) -> datetime:
        """The same instant in the calendar's zone: the arithmetic then reads it without a
        conversion each time (moments come from the database in UTC)."""
        if moment.tzinfo is None:
            raise ValueError("deadline arithmetic needs timezone-aware datetimes")
        return moment if moment.tzinfo is self.tz else moment.astimezone(self.tz)

    def _period_bounds(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's office periods as naive local (opens, closes), whether or not it is a
        working day (the callers ask)."""
        cached = self._bounds.get(day)
        if cached is None:
            cached = self._bounds[day] = tuple(
                (datetime.combine(day, start), datetime.combine(day, end))
                for start, end in self.office_periods
            )
        return cached

    def close_of_business(self, day: date) -> datetime:
        cached = self._closing.get(day)
        if cached is None:
            cached = self._closing[day] = self.aware(
                datetime.combine(day, self.office_periods[-1][1])
            )
        return cached

    # -- adding -----------------------------------------------------------------------------

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """Close of business of the n-th working day after the start day.

        The hot path of the deadline engine (recomputing a million clocks): two bisections and
        a cached result per due day, no per-call date arithmetic.
        """
        if n < 1:
            raise ValueError("a working-day limit is at least 1 day")
        start_day = start.date() if start.tzinfo is self.tz else self.local(start).date()
        s = start_day.toordinal()
        due_ordinal = None
        if self._lo <= s <= self._hi:
            i = bisect.bisect_right(self._working, s) + n - 1
            if i < len(self._working):
                due_ordinal = self._working[i]
        if due_ordinal is None:  # beyond the index: walk (only for absurdly distant dates)
            due_ordinal, counted = s, 0
            while counted < n:
                due_ordinal += 1
                counted += self._working_ordinal(due_ordinal)
        closing, due_year = self._closing_of(due_ordinal)
        first_year = start_day.year + (start_day.month == 12 and start_day.day == 31)
        if first_year == due_year:
            return Deadline(closing, due_year not in self.configured_years)
        return Deadline(closing, self._provisional(date(first_year, 1, 1), date(due_year, 1, 1)))

    def _closing_of(self, ordinal: int) -> tuple[datetime, int]:
        cached = self._closing_by_ordinal.get(ordinal)
        if cached is None:
            day = date.fromordinal(ordinal)
            cached = self._closing_by_ordinal[ordinal] = (self.close_of_business(day), day.year)
        return cached

    def add_calendar_days(self, start: datetime, n: int) -> Deadline:
        """Close of business of start + n days, rolled forward to a working day."""
        if n < 1:
            raise ValueError("a calendar-day limit is at least 1 day")
        last = self.local(start).date() + timedelta(days=n)
        due_day = self.next_working_day(last)
        return Deadline(self.close_of_business(due_day), self._provisional(last, due_day))

    def next_office_minute(self, moment: datetime) -> datetime:
        """The moment itself if it falls in office hours, else the next opening."""
        return self.aware(self._first_office_wall(self.local(moment)))

    def _first_office_wall(self, wall: datetime) -> datetime:
        """`next_office_minute` on a naive local wall-clock time."""
        day = wall.date()
        while True:
            if self.is_working_day(day):
                for opens, closes in self._period_bounds(day):
                    if wall < closes:
                        return max(wall, opens)
            day = self.next_working_day(day, include_today=False)
            wall = datetime.combine(day, time.min)

    def add_office_minutes(self, start: datetime, minutes: int) -> Deadline:
        """The instant `minutes` office minutes after the first office minute at/after start."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        return self._add_office_minutes_from(self._first_office_wall(self.local(start)), minutes)

    def office_marks(
        self, start: datetime, end: datetime, shares: Sequence[float]
    ) -> list[datetime]:
        """The instants when each share of the office time from start to end has passed, each
        `add_office_minutes(start, round(total × share))` (the first office minute found once)."""
        total = self.office_minutes_between(start, end)
        first = self._first_office_wall(self.local(start))
        return [self._add_office_minutes_from(first, round(total * share)).at for share in shares]

    def _add_office_minutes_from(self, wall: datetime, minutes: int) -> Deadline:
        """`minutes` office minutes after `wall`, a naive local time inside office hours."""
        remaining: float = minutes
        day = wall.date()
        while True:
            for opens, closes in self._period_bounds(day):
                if wall >= closes:
                    continue
                cursor = max(wall, opens)
                available = (closes - cursor).total_seconds() / 60
                if remaining <= available:
                    due = cursor + timedelta(minutes=remaining)
                    return Deadline(self.aware(due), self._provisional(wall.date(), due.date()))
                remaining -= available
            # Whole days skipped at once when far from the end (long minute limits stay cheap):
            # counted by the same float steps, then one bisection to the day.
            skipped = 0
            while remaining > self._minutes_per_day:
                remaining -= self._minutes_per_day
                skipped += 1
            day = self._nth_working_day_after(day, 1 + skipped)
            wall = datetime.combine(day, time.min)

    # -- measuring --------------------------------------------------------------------------

    def _office_minutes_on(self, day: date, frm: time, to: time) -> float:
        if not self.is_working_day(day):
            return 0.0
        total = 0.0
        for start, end in self.office_periods:
            lo, hi = max(start, frm), min(end, to)
            if lo < hi:
                total += _minutes(lo, hi)
        return total

    def office_minutes_between(self, start: datetime, end: datetime) -> float:
        """Office minutes elapsed from start to end (0 if end is not after start)."""
        a, b = self.local(start), self.local(end)
        if b <= a:
            return 0.0
        if a.date() == b.date():
            return self._office_minutes_on(a.date(), a.time(), b.time())
        head = self._office_minutes_on(a.date(), a.time(), time.max)
        tail = self._office_minutes_on(b.date(), time.min, b.time())
        whole_days = self.working_days_between(a.date(), b.date() - timedelta(days=1))
        return head + whole_days * self._minutes_per_day + tail


def _minutes(start: time, end: time) -> float:
    """Minutes from start to end of one day: the microseconds between them, divided as
    `timedelta.total_seconds() / 60` divides them (the same float), without building datetimes."""
    return (_microseconds(end) - _microseconds(start)) / 10**6 / 60


def _microseconds(moment: time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 10**6 + moment.microsecond
