"""Import of a year's schedule from a file (kuaiban/workdays/imports.py): the parsers (pure), the
checks that name every bad row, and the all-or-nothing import that keeps administrators' edits
and announces the change so open due times move."""

import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command

from bundles.services import intake
from kuaiban.workdays import imports, services
from kuaiban.workdays.imports import RawRow
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.selectors import configured_years
from kuaiban.workdays.services import CalendarChange
from tests.builders import at, clerk_of, single_item_submitted

Kind = CalendarDay.Kind
SAMPLE = Path(settings.KUAIBAN_FIXTURES_DIR) / "calendar_2027_sample.csv"
pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch):
    """The changes announced during the test (the real subscribers are kept aside)."""
    changes: list[CalendarChange] = []
    monkeypatch.setattr(services, "_subscribers", [changes.append])
    return changes


def sample_rows() -> list[list[str]]:
    """The sample file's rows (date, kind, name), without comments and header."""
    lines = [line for line in SAMPLE.read_text("utf-8").splitlines() if line[:1].isdigit()]
    return [line.split(",") for line in lines]


def xlsx_of(rows) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("2027")
    sheet.append(["日期", "类型", "名称"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ics_of(events: list[tuple[str, str, str]]) -> bytes:
    """events: (DTSTART, DTEND, SUMMARY)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//calendar//ZH"]
    for start, end, summary in events:
        lines += ["BEGIN:VEVENT", f"DTSTART;VALUE=DATE:{start}"]
        lines += [f"DTEND;VALUE=DATE:{end}"] if end else []
        lines += [f"SUMMARY:{summary}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines).encode()


def imported(filename: str, data: bytes, year: int | None = None, **kwargs):
    checked = imports.check_rows(imports.parse_file(filename, data), year)
    assert checked.errors == []
    return imports.import_apply(checked.year, checked.days, background=False, **kwargs)


def kinds(*days: date) -> list[str]:
    by_day = dict(CalendarDay.objects.filter(date__in=days).values_list("date", "kind"))
    return [by_day.get(day, "") for day in days]


# -- parsing and checking (pure) -----------------------------------------------------------------


def test_csv_rows_skip_comments_and_the_header_and_keep_line_numbers():
    """Rule CAL-IMPORT-FORMATS: CSV columns date, kind, name; # lines and a header skipped."""
    data = "# a comment\ndate,kind,name\n2027-01-01,holiday,元旦\n\n2027/1/31,调休上班,\n"
    rows = imports.parse_csv(data.encode())
    assert rows == [
        RawRow(3, "2027-01-01", "holiday", "元旦"),
        RawRow(5, "2027/1/31", "调休上班", ""),
    ]


def test_a_csv_saved_by_a_chinese_excel_is_read_as_gb18030():
    rows = imports.parse_csv("2027-01-01,放假,元旦\n".encode("gb18030"))
    assert rows == [RawRow(1, "2027-01-01", "放假", "元旦")]


def test_ics_summaries_name_the_kind_and_a_long_event_gives_each_of_its_days():
    """Rule CAL-IMPORT-FORMATS: all-day events; 班 a make-up day (even in 调休上班), 休 a
    holiday."""
    data = ics_of(
        [
            ("20270205", "20270208", "春节 休"),
            ("20270131", "", "春节（调休上班）"),
            ("20270715", "", "Typhoon closure"),
        ]
    )
    checked = imports.check_rows(imports.parse_ics(data))
    assert checked.errors == []
    assert [(d.day, d.kind, d.name) for d in checked.days] == [
        (date(2027, 2, 5), Kind.HOLIDAY, "春节"),
        (date(2027, 2, 6), Kind.HOLIDAY, "春节"),
        (date(2027, 2, 7), Kind.HOLIDAY, "春节"),
        (date(2027, 1, 31), Kind.MAKEUP, "春节"),
        (date(2027, 7, 15), Kind.CLOSURE, "Typhoon"),
    ]


def test_folded_ics_lines_are_unfolded_and_timed_or_repeating_events_are_named():
    data = (
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nSUMMARY:\xe5\x85\x83"
        b"\r\n \xe6\x97\xa6\xe4\xbc\x91\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20270102T090000"
        b"\r\nSUMMARY:meeting\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270103\r\n"
        b"RRULE:FREQ=YEARLY\r\nSUMMARY:holiday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    checked = imports.check_rows(imports.parse_ics(data), 2027)
    assert [(d.day, d.kind, d.name) for d in checked.days] == [
        (date(2027, 1, 1), Kind.HOLIDAY, "元旦")
    ]
    assert [error.line for error in checked.errors] == [7, 11]


def test_every_bad_row_is_named_with_its_line_and_reason():
    """Rule CAL-IMPORT-CHECKS: bad date, unknown kind, outside the year, duplicate, make-up day on
    a weekday: each named by line, and no day of the file is kept."""
    data = (
        "date,kind,name\n"
        "2027-01-01,holiday,元旦\n"  # 2: fine
        "2027-02-30,holiday,春节\n"  # 3: no such date
        "2027-02-10,vacation,春节\n"  # 4: unknown kind
        "2026-12-31,holiday,元旦\n"  # 5: outside 2027
        "2027-01-01,holiday,元旦\n"  # 6: listed on line 2 already
        "2027-02-22,makeup,春节\n"  # 7: a Monday
    )
    checked = imports.check_rows(imports.parse_csv(data.encode()))
    assert checked.year == 2027
    assert [error.line for error in checked.errors] == [3, 4, 5, 6, 7]
    assert all(error.message for error in checked.errors)


def test_an_empty_file_and_an_unknown_format_are_refused():
    assert [e.line for e in imports.check_rows(imports.parse_csv(b"date,kind,name\n")).errors] == [
        0
    ]
    with pytest.raises(imports.CalendarFileError):
        imports.parse_file("schedule.pdf", b"%PDF-1.4")
    with pytest.raises(imports.CalendarFileError):
        imports.parse_file("schedule.xlsx", b"not a zip")


def test_the_days_not_listed_follow_the_ordinary_rule():
    target = imports.year_target(
        2027, [imports.ListedDay(date(2027, 1, 1), Kind.HOLIDAY, "元旦", 1)]
    )
    assert len(target) == 365
    assert target[date(2027, 1, 1)] == (Kind.HOLIDAY, "元旦")
    assert target[date(2027, 1, 2)] == (Kind.WEEKEND, "")  # a Saturday
    assert target[date(2027, 1, 4)] == (Kind.WORKDAY, "")  # a Monday


# -- the import ---------------------------------------------------------------------------------


def test_the_sample_csv_loads_the_whole_year_2027(heard, django_capture_on_commit_callbacks):
    """Rule CAL-IMPORT-WHOLE-YEAR: a file of holidays and make-up days gives a configured year."""
    assert 2027 not in configured_years()
    with django_capture_on_commit_callbacks(execute=True):
        plan = imported(SAMPLE.name, SAMPLE.read_bytes())
    assert (len(plan.added), plan.changed) == (365, [])
    assert 2027 in configured_years()
    assert kinds(date(2027, 1, 1), date(2027, 1, 31), date(2027, 1, 4), date(2027, 1, 2)) == [
        Kind.HOLIDAY,
        Kind.MAKEUP,
        Kind.WORKDAY,
        Kind.WEEKEND,
    ]
    assert set(CalendarDay.objects.filter(date__year=2027).values_list("source", flat=True)) == {
        CalendarDay.Source.IMPORT
    }
    assert heard == [CalendarChange(years_loaded=frozenset({2027}), background=False)]


def test_an_excel_workbook_gives_the_same_year_as_the_csv():
    """Rule CAL-IMPORT-FORMATS: .xlsx, first sheet, a header row, Excel date cells or text."""
    rows = [
        [date.fromisoformat(d) if i % 2 else d, k, n] for i, (d, k, n) in enumerate(sample_rows())
    ]
    imported("calendar.xlsx", xlsx_of(rows))
    from_xlsx = list(
        CalendarDay.objects.filter(date__year=2027).values_list("date", "kind", "name")
    )
    CalendarDay.objects.filter(date__year=2027).delete()
    imported(SAMPLE.name, SAMPLE.read_bytes())
    from_csv = list(CalendarDay.objects.filter(date__year=2027).values_list("date", "kind", "name"))
    assert from_xlsx == from_csv and len(from_csv) == 365


def test_an_icalendar_file_gives_the_expected_days():
    imported(
        "2027.ics", ics_of([("20271001", "20271008", "国庆节 休"), ("20271009", "", "国庆节 班")])
    )
    assert kinds(date(2027, 10, 1), date(2027, 10, 7), date(2027, 10, 8), date(2027, 10, 9)) == [
        Kind.HOLIDAY,
        Kind.HOLIDAY,
        Kind.WORKDAY,
        Kind.MAKEUP,
    ]
    assert CalendarDay.objects.get(date=date(2027, 10, 1)).name == "国庆节"


def test_a_bad_file_changes_nothing(heard, tmp_path):
    """Rule CAL-IMPORT-ALL-OR-NOTHING: the command refuses the file whole and names each row."""
    bad = SAMPLE.read_text("utf-8") + "2027-13-01,holiday,x\n2027-03-01,makeup,x\n"
    path = tmp_path / "bad_2027.csv"
    path.write_text(bad, "utf-8")
    errors = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_calendar", str(path), stderr=errors)
    assert "line 39" in errors.getvalue() and "line 40" in errors.getvalue()
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    assert heard == []


def test_administrators_edits_are_kept_unless_replaced(heard, django_capture_on_commit_callbacks):
    """Rule CAL-IMPORT-KEEPS-ADMIN-EDITS: a day an administrator edited survives an import unless
    "replace my edits" is asked; days from chinesecalendar or an import are overwritten."""
    own = CalendarDay.objects.create(
        date=date(2027, 1, 1), kind=Kind.CLOSURE, name="台风停工", source=CalendarDay.Source.ADMIN
    )
    plan = imported(SAMPLE.name, SAMPLE.read_bytes())
    assert [c.day for c in plan.kept] == [own.date] and len(plan.added) == 364
    own.refresh_from_db()
    assert (own.kind, own.source) == (Kind.CLOSURE, CalendarDay.Source.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        plan = imported(SAMPLE.name, SAMPLE.read_bytes(), replace_admin_edits=True)
    assert [c.day for c in plan.changed] == [own.date] and plan.unchanged == 364
    own.refresh_from_db()
    assert (own.kind, own.name, own.source) == (Kind.HOLIDAY, "元旦", CalendarDay.Source.IMPORT)
    # 2027 was configured by the first import: now only the edited day is announced
    assert heard[-1] == CalendarChange(days=frozenset({own.date}), background=False)


def _licence_accepted(when):
    with time_machine.travel(when, tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    return application.cases.get()


def _rows_of_year(year: int, extra: str = "") -> bytes:
    """A file of a loaded year's exceptions as the table holds them, plus `extra` lines."""
    rows = CalendarDay.objects.filter(date__year=year).exclude(
        kind__in=[Kind.WORKDAY, Kind.WEEKEND]
    )
    lines = [f"{r.date},{r.kind},{r.name}" for r in rows]
    return ("\n".join(lines) + "\n" + extra).encode()


def test_a_day_of_an_open_case_becoming_a_holiday_moves_its_due_time(
    django_capture_on_commit_callbacks,
):
    """Rule CAL-IMPORT-ANNOUNCED: the import goes through calendar_edited (the deadline engine
    subscribes), and an open case whose span includes a day that becomes a closure is due a
    working day later; the other days of the re-imported year are unchanged."""
    case = _licence_accepted(at(2026, 11, 23, 10, 0))
    assert case.committed_due_at == at(2026, 12, 7, 17, 30)
    data = _rows_of_year(2026, "2026-12-01,closure,台风停工\n")
    with django_capture_on_commit_callbacks(execute=True):
        plan = imported("2026.csv", data)
    assert [(c.day, c.kind) for c in plan.changed] == [(date(2026, 12, 1), Kind.CLOSURE)]
    assert plan.added == []
    case.refresh_from_db()
    assert case.committed_due_at == at(2026, 12, 8, 17, 30)


def test_loading_2027_turns_a_provisional_due_time_into_a_real_one(
    django_capture_on_commit_callbacks,
):
    """Rule CAL-IMPORT-ANNOUNCED: before 2027 is loaded 1 January counts as a working day
    (provisional); the sample makes it a holiday and the due time moves a day."""
    case = _licence_accepted(at(2026, 12, 21, 10, 0))
    assert case.committed_due_at == at(2027, 1, 4, 17, 30)
    with django_capture_on_commit_callbacks(execute=True):
        imported(SAMPLE.name, SAMPLE.read_bytes())
    case.refresh_from_db()
    assert case.committed_due_at == at(2027, 1, 5, 17, 30)


def test_the_command_says_what_it_did_and_a_dry_run_writes_nothing(heard):
    """Rule CAL-IMPORT-COMMAND: import_calendar FILE [--year] [--dry-run] prints the counts."""
    out = io.StringIO()
    call_command("import_calendar", str(SAMPLE), "--dry-run", stdout=out)
    assert "calendar 2027: 365 days would be added" in out.getvalue()
    assert "2027-01-01: holiday '元旦' (added)" in out.getvalue()
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    out = io.StringIO()
    call_command("import_calendar", str(SAMPLE), "--year", "2027", stdout=out)
    assert "calendar 2027: 365 days were added, 0 changed" in out.getvalue()
    assert 2027 in configured_years()
    with pytest.raises(CommandError):
        call_command("import_calendar", str(SAMPLE), "--year", "2028", stderr=io.StringIO())
