"""The working-day calendar for administrators: a year as twelve month grids, and the import of
a year's schedule from a file (upload → preview → confirm). The rules live in
kuaiban/workdays/imports.py; every change is announced through `workdays.services.calendar_edited`
there, so open clocks are recomputed."""

from django.contrib import messages
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from kuaiban.accounts.decorators import administrator_required
from kuaiban.workdays import imports
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.selectors import YearCalendar, calendar_coverage, year_calendar

from ..forms import CalendarImportConfirmForm, CalendarImportForm

FIRST_YEAR, LAST_YEAR = 2000, 2100
_SIGNING_SALT = "desk.calendar-import"
_PREVIEW_MAX_AGE = 3600  # seconds a preview may be confirmed


def _weekday_letters() -> list[str]:
    return [_("Mo"), _("Tu"), _("We"), _("Th"), _("Fr"), _("Sa"), _("Su")]


def _legend(calendar: YearCalendar) -> list[tuple[str, str, int]]:
    """(css kind, label, days) for each colour of the grid, the days not loaded last."""
    unknown = calendar.days_in_year - calendar.known_days
    return [
        *((kind, str(label), calendar.counts[kind]) for kind, label in CalendarDay.Kind.choices),
        ("unknown", _("Not loaded"), unknown),
    ]


@administrator_required
def calendar_this_year(request):
    return redirect("staff:calendar_year", year=timezone.localdate().year)


@administrator_required
def calendar_year(request, year: int):
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Http404
    change_prefix, change_suffix = reverse("admin:workdays_calendarday_change", args=[0]).rsplit(
        "/0/", 1
    )
    calendar = year_calendar(year)
    return render(
        request,
        "desk/calendar_year.html",
        {
            "calendar": calendar,
            "coverage": calendar_coverage(),
            "legend": _legend(calendar),
            "change_prefix": change_prefix + "/",
            "change_suffix": "/" + change_suffix,
            "add_url": reverse("admin:workdays_calendarday_add"),
            "previous_year": year - 1 if year > FIRST_YEAR else None,
            "next_year": year + 1 if year < LAST_YEAR else None,
            "weekdays": list(zip(_weekday_letters(), WEEKDAYS.values(), strict=True)),
        },
    )


def _import_page(request, form, **context):
    return render(
        request,
        "desk/calendar_import.html",
        {"form": form, "kind_words": imports.KIND_WORDS, **context},
    )


@administrator_required
def calendar_import(request):
    if request.method != "POST":
        return _import_page(request, CalendarImportForm())
    if "payload" in request.POST:
        return _import_confirm(request)
    form = CalendarImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, form)
    upload = form.cleaned_data["file"]
    try:
        rows = imports.parse_file(upload.name, upload.read())
    except imports.CalendarFileError as error:
        return _import_page(request, form, errors=[imports.RowError(0, str(error))])
    checked = imports.check_rows(rows, form.cleaned_data["year"])
    if checked.errors or checked.year is None:
        return _import_page(request, form, errors=checked.errors, filename=upload.name)
    replace = form.cleaned_data["replace_admin_edits"]
    plan = imports.import_plan(checked.year, checked.days, replace_admin_edits=replace)
    payload = signing.dumps(
        imports.listed_to_payload(checked.year, checked.days), salt=_SIGNING_SALT, compress=True
    )
    confirm = CalendarImportConfirmForm(
        initial={"payload": payload, "replace_admin_edits": replace}
    )
    return _import_page(
        request, form, plan=plan, confirm=confirm, filename=upload.name, listed=checked.days
    )


def _import_confirm(request):
    confirm = CalendarImportConfirmForm(request.POST)
    try:
        if not confirm.is_valid():
            raise signing.BadSignature
        payload = signing.loads(
            confirm.cleaned_data["payload"], salt=_SIGNING_SALT, max_age=_PREVIEW_MAX_AGE
        )
        year, listed = imports.listed_from_payload(payload)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        messages.error(request, _("The preview has expired; please send the file again."))
        return redirect("staff:calendar_import")
    plan = imports.import_apply(
        year, listed, replace_admin_edits=confirm.cleaned_data["replace_admin_edits"]
    )
    messages.success(
        request,
        _(
            "Calendar %(year)s imported: %(added)s days added, %(changed)s changed, "
            "%(kept)s of your edits kept. Open due times are being recomputed."
        )
        % {
            "year": year,
            "added": len(plan.added),
            "changed": len(plan.changed),
            "kept": len(plan.kept),
        },
    )
    return redirect("staff:calendar_year", year=year)
