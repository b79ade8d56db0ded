"""The dashboard's figures counted directly from the case tables, in plain Python.

Written apart from `acceptance.figures` on purpose: it loads every item case, its pauses and the
return and refusal events, and decides each figure case by case from the definitions in the
issue, so a mistake in the ORM definitions (or in the rollup) shows up as a difference.
"""

from datetime import date

from django.utils import timezone

from kuaiban.cases.models import Application, CaseEvent, CasePause, ItemCase


def _day(moment) -> date | None:
    return timezone.localtime(moment).date() if moment else None


def _window_id(application: Application) -> int:
    return application.bundle.window_id if application.bundle_id else application.item.window_id


def matches(case: ItemCase, filters: dict) -> bool:
    application = case.application
    hall = application.hall
    checks = {
        "unit": case.unit_id,
        "item": case.item_id,
        "window": _window_id(application),
        "hall": application.hall_id,
        "district": hall.district_id if hall else None,
    }
    for name, value in checks.items():
        if filters.get(name) and filters[name] != value:
            return False
    bundle = filters.get("bundle")
    if bundle == 0:
        return application.bundle_id is None
    return not (bundle and bundle != application.bundle_id)


def load():
    cases = list(
        ItemCase.objects.select_related(
            "application__bundle", "application__item", "application__hall", "item"
        )
    )
    paused = set(CasePause.objects.values_list("item_case_id", flat=True))
    first_return: dict[int, object] = {}
    for case_id, moment in CaseEvent.objects.filter(
        action="return", item_case__isnull=False
    ).values_list("item_case_id", "at"):
        if case_id not in first_return or moment < first_return[case_id]:
            first_return[case_id] = moment
    refused_at = dict(
        CaseEvent.objects.filter(action="refuse", item_case__isnull=True).values_list(
            "application_id", "at"
        )
    )
    return cases, paused, first_return, refused_at


def direct_sets(filters: dict, start: date, end: date, data=None) -> dict[str, set[int]]:
    """figure → the ids of the item cases it counts, for these filters and days."""
    cases, paused, first_return, refused_at = data or load()

    def within(moment) -> bool:
        day = _day(moment)
        return day is not None and start <= day <= end

    result: dict[str, set[int]] = {}

    def add(name, case):
        result.setdefault(name, set()).add(case.pk)

    for case in cases:
        if not matches(case, filters):
            continue
        if within(case.created_at):
            add("received", case)
        if within(case.accepted_at):
            add("accepted", case)
            if case.statutory_mode:
                add("statutory_mode", case)
            if case.pk in paused:
                add("paused", case)
        if within(first_return.get(case.pk)):
            add("returned", case)
        if case.state == "refused" and within(refused_at.get(case.application_id)):
            add("refused", case)
        if within(case.concluded_at):
            add("concluded", case)
            add("completed_late" if case.completed_late else "on_time", case)
        for name, moment in (
            ("past50", case.flag_50_at),
            ("past75", case.flag_75_at),
            ("overdue", case.overdue_at),
            ("breaches", case.breach_at),
        ):
            if within(moment):
                add(name, case)
        if within(case.decided_at):
            add("decided", case)
            if case.item.kind == "instant":
                add("instant_decided", case)
                if case.handling_minutes <= case.item.instant_minutes:
                    add("instant_in_time", case)
    return result


def direct_counts(filters: dict, start: date, end: date, data=None) -> dict[str, int]:
    return {name: len(ids) for name, ids in direct_sets(filters, start, end, data).items()}


def direct_visits(filters: dict, start: date, end: date) -> dict:
    """Applications concluded in the period matching the filters (one of their cases does)."""
    applications = {}
    for case in ItemCase.objects.select_related(
        "application__bundle", "application__item", "application__hall"
    ):
        application = case.application
        day = _day(application.concluded_at)
        if day and start <= day <= end and matches(case, filters):
            applications[application.pk] = application
    values = [a.visits for a in applications.values()]
    return {
        "applications": len(values),
        "visits": sum(values),
        "multi_visit": sum(1 for v in values if v > 1),
        "multi_visit_ids": {pk for pk, a in applications.items() if a.visits > 1},
    }
