"""Import of a year's schedule (the State Council's notice, or a local one) from a file.

Accepted formats (the import page shows the same rules):

- **CSV** (UTF-8, or GB18030 as Excel saves it on a Chinese Windows) and **Excel** (.xlsx, first
  sheet): one day a row, columns `date, kind, name`. `date` is 2027-01-01 or 2027/1/1 (an Excel
  date cell too); `kind` is `holiday` / `放假` / `休`, `makeup` / `调休上班` / `调休` / `班`, or
  `closure` / `闭馆`; `name` (the holiday's name or the closure's reason) is optional. A first
  row whose first cell is not a date (`date`, `日期`) is a header; empty rows and CSV lines
  starting with `#` are skipped.
- **iCalendar** (.ics): all-day VEVENTs (DTSTART;VALUE=DATE, an exclusive DTEND for several
  days). The SUMMARY says the kind: `闭馆` / `closure` a local closure, else `班` / `make-up` /
  `makeup` a make-up working day, else `休` / `假` / `holiday` a holiday; the name is the
  summary without that word.

A file lists only the exceptions of one year: every other day is a working day (Monday–Friday)
or a weekend by the ordinary rule, so a file of holidays and make-up days gives the whole year.
Rules checked before anything is written: a date that cannot be read, an unknown kind, a date
outside the year, a date listed twice, a make-up working day that is not a Saturday or Sunday.
"""

import calendar
import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from .models import CalendarDay
from .services import CalendarChange, calendar_edited_on_commit

Kind = CalendarDay.Kind
KIND_WORDS: dict[str, str] = {
    "holiday": Kind.HOLIDAY,
    "放假": Kind.HOLIDAY,
    "休": Kind.HOLIDAY,
    "假": Kind.HOLIDAY,
    "makeup": Kind.MAKEUP,
    "make-up": Kind.MAKEUP,
    "调休上班": Kind.MAKEUP,
    "调休": Kind.MAKEUP,
    "上班": Kind.MAKEUP,
    "班": Kind.MAKEUP,
    "closure": Kind.CLOSURE,
    "闭馆": Kind.CLOSURE,
}
# iCalendar summaries: the first group found decides (a "调休上班" summary holds 休 and 班).
SUMMARY_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (Kind.CLOSURE, ("闭馆", "closure")),
    (Kind.MAKEUP, ("调休上班", "上班", "班", "make-up", "makeup")),
    (Kind.HOLIDAY, ("放假", "休", "假", "holiday")),
)
FORMATS = ("csv", "xlsx", "ics")
MAX_NAME: int = CalendarDay._meta.get_field("name").max_length or 100


@dataclass(frozen=True)
class RawRow:
    """One listed day as read from the file, before any check. `day` is a date (Excel) or the
    text of the cell."""

    line: int
    day: date | str
    kind: str
    name: str = ""
    error: str = ""  # a reason found while reading (an event that is not all-day…)


@dataclass(frozen=True)
class RowError:
    """A reason the file is refused; line 0 for the file as a whole."""

    line: int
    message: str


@dataclass(frozen=True)
class ListedDay:
    day: date
    kind: str
    name: str
    line: int


class CalendarFileError(Exception):
    """The file cannot be read at all (not the format its name says, not text…)."""


# -- parsing (pure) -----------------------------------------------------------------------------


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CalendarFileError(_("The file is not text in UTF-8 or GB18030."))


def _cell(value) -> str:
    return "" if value is None else str(value).strip()


def _is_header(first_cell) -> bool:
    return isinstance(first_cell, str) and not re.match(r"^\s*\d", first_cell)


def _table_rows(rows: Iterable[tuple[int, list]]) -> Iterator[RawRow]:
    """(line, cells) → RawRow, skipping empty rows and a header row."""
    first = True
    for line, cells in rows:
        cells = list(cells) + [None] * 3
        if all(_cell(c) == "" for c in cells):
            continue
        if first and _is_header(cells[0]):
            first = False
            continue
        first = False
        day = cells[0].date() if isinstance(cells[0], datetime) else cells[0]
        yield RawRow(
            line=line,
            day=day if isinstance(day, date) else _cell(day),
            kind=_cell(cells[1]),
            name=_cell(cells[2]),
        )


def parse_csv(data: bytes) -> list[RawRow]:
    """The rows of a CSV file (columns date, kind, name; `#` lines are comments)."""
    text = _text(data)
    numbered = [
        (n, next(csv.reader([line]), []))
        for n, line in enumerate(text.splitlines(), 1)
        if not line.lstrip().startswith("#")
    ]
    return list(_table_rows(numbered))


def parse_xlsx(data: bytes) -> list[RawRow]:
    """The rows of the first sheet of an Excel workbook (columns date, kind, name)."""
    import openpyxl  # only the import needs it

    unreadable = _("The file is not a readable Excel workbook (.xlsx).")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a broken workbook fails in many ways (zip, XML, openpyxl's own)
        raise CalendarFileError(unreadable) from error
    try:
        if not book.worksheets:
            return []
        sheet = book.worksheets[0]
        rows = (
            (n, list(values))
            for n, values in enumerate(sheet.iter_rows(max_col=3, values_only=True), 1)
        )
        return list(_table_rows(rows))
    except Exception as error:  # malformed sheet XML shows only while reading the rows
        raise CalendarFileError(unreadable) from error
    finally:
        book.close()


def _unfolded(text: str) -> Iterator[tuple[int, str]]:
    """Logical iCalendar lines with the physical line each starts on (RFC 5545 folding)."""
    current: tuple[int, str] | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if line[:1] in (" ", "\t") and current is not None:
            current = (current[0], current[1] + line[1:])
            continue
        if current is not None:
            yield current
        current = (n, line)
    if current is not None:
        yield current


def _ics_unescape(value: str) -> str:
    return (
        value.replace("\\n", " ").replace("\\N", " ").replace("\\,", ",").replace("\\;", ";")
    ).replace("\\\\", "\\")


def summary_kind(summary: str) -> tuple[str, str]:
    """(kind, name) of an event's summary; kind "" when no marker is found."""
    lowered = summary.lower()
    for kind, markers in SUMMARY_MARKERS:
        for marker in markers:
            if marker in lowered:
                name = re.sub(re.escape(marker), "", summary, count=1, flags=re.IGNORECASE)
                return kind, name.strip(" ()（）[]【】-–—:：·")
    return "", summary.strip()


def parse_ics(data: bytes) -> list[RawRow]:
    """The days of the all-day VEVENTs of an iCalendar file, one RawRow a day (the event's
    first line as the line). An event that is not all-day or repeats is a row with the reason
    as its kind, so the checks name it."""
    text = _text(data)
    if "BEGIN:VCALENDAR" not in text.upper():
        raise CalendarFileError(_("The file is not an iCalendar file (no BEGIN:VCALENDAR)."))
    rows: list[RawRow] = []
    event: dict[str, tuple[str, str]] | None = None
    start_line = 0
    for n, line in _unfolded(text):
        key, _sep, value = line.partition(":")
        name, *params = key.split(";")
        name = name.upper()
        if name == "BEGIN" and value.strip().upper() == "VEVENT":
            event, start_line = {}, n
        elif name == "END" and value.strip().upper() == "VEVENT" and event is not None:
            rows.extend(_event_rows(start_line, event))
            event = None
        elif event is not None and name in ("DTSTART", "DTEND", "SUMMARY", "RRULE"):
            event[name] = (";".join(params).upper(), value.strip())
    return rows


_ICS_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _date_of(match: re.Match | None) -> date | None:
    """The date a (year, month, day) match names, None for no match or no such day."""
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def _ics_date(value: str) -> date | None:
    return _date_of(_ICS_DATE.match(value))


def _event_rows(line: int, event: dict[str, tuple[str, str]]) -> list[RawRow]:
    kind, name = summary_kind(_ics_unescape(event.get("SUMMARY", ("", ""))[1]))
    if "RRULE" in event:
        return [RawRow(line, "", "", error=_("a repeating event (RRULE) is not accepted"))]
    _params, start_text = event.get("DTSTART", ("", ""))
    start = _ics_date(start_text)
    if start is None:
        if "T" in start_text:
            return [RawRow(line, "", "", error=_("not an all-day event"))]
        return [RawRow(line, start_text, kind, name)]
    end = _ics_date(event.get("DTEND", ("", ""))[1]) or start + timedelta(days=1)
    if end <= start or (end - start).days > 366:
        return [RawRow(line, "", "", error=_("the event ends before it starts"))]
    return [RawRow(line, start + timedelta(days=i), kind, name) for i in range((end - start).days)]


def parse_file(filename: str, data: bytes) -> list[RawRow]:
    """The rows of a file, by its extension (.csv, .xlsx, .ics)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension == "csv":
        return parse_csv(data)
    if extension == "xlsx":
        return parse_xlsx(data)
    if extension in ("ics", "ical", "ifb"):
        return parse_ics(data)
    raise CalendarFileError(_("Send a .csv, .xlsx or .ics file."))


# -- checking (pure) ----------------------------------------------------------------------------


def read_date(value: date | str) -> date | None:
    if isinstance(value, date):
        return value
    return _date_of(
        re.match(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$", value)
    )


def file_year(rows: Iterable[RawRow]) -> int | None:
    """The year most of the readable dates fall in (the earliest on a tie)."""
    years = Counter(d.year for row in rows if (d := read_date(row.day)) is not None)
    if not years:
        return None
    return min(years, key=lambda y: (-years[y], y))


@dataclass
class CheckedFile:
    year: int | None
    days: list[ListedDay] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def check_rows(rows: list[RawRow], year: int | None = None) -> CheckedFile:
    """Every row checked; all the reasons a row is refused, named by line."""
    year = year or file_year(rows)
    checked = CheckedFile(year=year)
    if not rows:
        checked.errors.append(RowError(0, _("The file lists no day.")))
        return checked
    first_line: dict[date, int] = {}
    for row in rows:
        if row.error:
            checked.errors.append(RowError(row.line, row.error))
            continue
        reasons = []
        day = read_date(row.day)
        kind = KIND_WORDS.get(row.kind.strip().lower())
        if day is None:
            reasons.append(_("“%(value)s” is not a date (write 2027-01-01)") % {"value": row.day})
        if kind is None:
            reasons.append(
                _("“%(value)s” is not a kind (holiday, makeup or closure)") % {"value": row.kind}
            )
        if day is not None:
            if year is not None and day.year != year:
                reasons.append(
                    _("%(day)s is outside the year %(year)s") % {"day": day, "year": year}
                )
            elif day in first_line:
                reasons.append(
                    _("%(day)s is already listed on line %(line)s")
                    % {"day": day, "line": first_line[day]}
                )
            if kind == Kind.MAKEUP and day.weekday() < 5:
                reasons.append(
                    _("%(day)s is a weekday: a make-up working day is a Saturday or Sunday")
                    % {"day": day}
                )
        if len(row.name) > MAX_NAME:
            reasons.append(_("the name is longer than %(max)s characters") % {"max": MAX_NAME})
        if reasons:
            checked.errors.extend(RowError(row.line, reason) for reason in reasons)
        if day is not None:
            first_line.setdefault(day, row.line)
        if not reasons and day is not None and kind is not None:
            checked.days.append(ListedDay(day, kind, row.name, row.line))
    return checked


def ordinary_kind(day: date) -> str:
    return Kind.WEEKEND if day.weekday() >= 5 else Kind.WORKDAY


def year_target(year: int, listed: Iterable[ListedDay]) -> dict[date, tuple[str, str]]:
    """Every day of the year → (kind, name): the listed ones, the others by the ordinary rule."""
    target: dict[date, tuple[str, str]] = {}
    day = date(year, 1, 1)
    while day.year == year:
        target[day] = (ordinary_kind(day), "")
        day += timedelta(days=1)
    for entry in listed:
        target[entry.day] = (entry.kind, entry.name)
    return target


# -- the plan and its application ---------------------------------------------------------------


@dataclass(frozen=True)
class DayChange:
    day: date
    kind: str
    name: str
    old_kind: str = ""  # "" for a day the table did not have
    old_name: str = ""

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label)

    @property
    def old_kind_label(self) -> str:
        return str(Kind(self.old_kind).label) if self.old_kind else ""


@dataclass
class ImportPlan:
    """What an import of `year` will do to the table."""

    year: int
    replace_admin_edits: bool
    added: list[DayChange] = field(default_factory=list)
    changed: list[DayChange] = field(default_factory=list)
    kept: list[DayChange] = field(default_factory=list)  # administrators' edits left alone
    unchanged: int = 0
    was_configured: bool = False  # every day of the year was in the table before

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed)

    @property
    def added_special(self) -> list[DayChange]:
        """The added days that are not ordinary working days or weekends (worth showing)."""
        return [c for c in self.added if c.kind != ordinary_kind(c.day)]

    @property
    def added_ordinary(self) -> int:
        return len(self.added) - len(self.added_special)


def import_plan(
    year: int, listed: Iterable[ListedDay], *, replace_admin_edits: bool = False, lock=False
) -> ImportPlan:
    """Compare the year the file describes with the table (one query)."""
    plan = ImportPlan(year=year, replace_admin_edits=replace_admin_edits)
    rows = CalendarDay.objects.filter(date__year=year)
    if lock:
        rows = rows.select_for_update()
    existing = {row.date: row for row in rows}
    plan.was_configured = len(existing) == (366 if calendar.isleap(year) else 365)
    for day, (kind, name) in year_target(year, listed).items():
        row = existing.get(day)
        if row is None:
            plan.added.append(DayChange(day, kind, name))
        elif (row.kind, row.name) == (kind, name):
            plan.unchanged += 1
        else:
            change = DayChange(day, kind, name, row.kind, row.name)
            if row.source == CalendarDay.Source.ADMIN and not replace_admin_edits:
                plan.kept.append(change)
            else:
                plan.changed.append(change)
    return plan


def import_apply(
    year: int,
    listed: list[ListedDay],
    *,
    replace_admin_edits: bool = False,
    background: bool = True,
) -> ImportPlan:
    """Write the year all at once (source=import), keeping administrators' edits unless told to
    replace them, and announce the change after commit: the edited days of a year that was
    configured already, and the year as loaded if it was not."""
    with transaction.atomic():
        plan = import_plan(year, listed, replace_admin_edits=replace_admin_edits, lock=True)
        source = CalendarDay.Source.IMPORT
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=c.day, kind=c.kind, name=c.name, source=source) for c in plan.added]
        )
        if plan.changed:
            rows = list(CalendarDay.objects.filter(date__in=[c.day for c in plan.changed]))
            by_day = {c.day: c for c in plan.changed}
            for row in rows:
                row.kind, row.name, row.source = (
                    by_day[row.date].kind,
                    by_day[row.date].name,
                    source,
                )
            CalendarDay.objects.bulk_update(rows, ["kind", "name", "source"], batch_size=500)
        if plan.has_changes:
            edited = {c.day for c in plan.changed} | {c.day for c in plan.added}
            calendar_edited_on_commit(
                CalendarChange(
                    days=frozenset(edited) if plan.was_configured else frozenset(),
                    years_loaded=frozenset() if plan.was_configured else frozenset({year}),
                    background=background,
                )
            )
    return plan


def listed_to_payload(year: int, listed: Iterable[ListedDay]) -> dict:
    """A plain form of the checked file, to carry from the preview to the confirmation."""
    return {"year": year, "days": [[d.day.isoformat(), d.kind, d.name, d.line] for d in listed]}


def listed_from_payload(payload: dict) -> tuple[int, list[ListedDay]]:
    days = [
        ListedDay(date.fromisoformat(day), Kind(kind), name, line)
        for day, kind, name, line in payload["days"]
    ]
    return int(payload["year"]), days
