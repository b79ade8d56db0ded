"""Every calendar change, whatever its path, is announced once it is committed
(`workdays.services.calendar_edited`): the cached calendar is dropped and the subscribers (the
deadline engine) hear what changed."""

from datetime import date

import pytest

from kuaiban.workdays import services
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.services import CalendarChange, calendar_edited
from speedup.tasks import recompute_after_calendar_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch):
    """The changes announced during the test (the real subscribers are kept aside)."""
    changes = []
    monkeypatch.setattr(services, "_subscribers", [changes.append])
    return changes


def test_the_deadline_engine_subscribes_to_calendar_changes():
    assert recompute_after_calendar_change in services._subscribers


def test_an_administrators_closure_is_announced_with_its_day(
    admin_client, heard, django_capture_on_commit_callbacks
):
    day = CalendarDay.objects.get(date=date(2026, 12, 1))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/workdays/calendarday/{day.pk}/change/",
            {"date": "2026-12-01", "kind": CalendarDay.Kind.CLOSURE, "name": "台风停工"},
        )
    assert response.status_code == 302
    assert heard == [CalendarChange(days=frozenset({date(2026, 12, 1)}), background=True)]


def test_deleting_days_in_the_admin_is_announced_with_the_days(
    admin_client, heard, django_capture_on_commit_callbacks
):
    days = CalendarDay.objects.filter(date__in=[date(2026, 12, 24), date(2026, 12, 25)])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/workdays/calendarday/",
            {
                "action": "delete_selected",
                "_selected_action": [d.pk for d in days],
                "post": "yes",
            },
        )
    assert len(heard) == 1 and heard[0].days == {date(2026, 12, 24), date(2026, 12, 25)}


def test_loading_a_new_year_is_announced_as_years_loaded(heard, django_capture_on_commit_callbacks):
    CalendarDay.objects.filter(date__year=2025).delete()
    with django_capture_on_commit_callbacks(execute=True):
        added = services.calendar_seed_years(years=[2025])
    assert added == 365
    assert heard == [CalendarChange(years_loaded=frozenset({2025}), background=False)]
    assert heard[0].only_new_years


def test_a_failing_subscriber_neither_undoes_the_edit_nor_silences_the_others(monkeypatch):
    heard = []

    def broken(change):
        raise RuntimeError("subscriber failed")

    monkeypatch.setattr(services, "_subscribers", [broken, heard.append])
    assert calendar_edited(CalendarChange()) is False
    assert heard == [CalendarChange()]
