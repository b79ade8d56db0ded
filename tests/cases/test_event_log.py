"""Every transition writes exactly one event, in the same transaction; the log is append-only."""

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError

from bundles.services import applications, guards, submission
from kuaiban.cases.models import Application, CaseEvent, ItemCase
from kuaiban.catalog.models import Bundle
from tests.builders import ready_application
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_creating_a_draft_records_the_initial_state():
    user = UserFactory(citizen=True)
    application = applications.application_start(
        applicant=user, bundle=Bundle.objects.get(code="B10")
    )
    event = CaseEvent.objects.get(application=application)
    assert (event.action, event.from_state, event.to_state, event.actor) == (
        "create",
        "",
        "draft",
        user,
    )


def test_submission_writes_one_event_for_the_application_and_one_per_case():
    user = UserFactory(citizen=True)
    application = ready_application(user)
    before = CaseEvent.objects.filter(application=application).count()
    submission.application_submit(application=application, actor=user)
    new = CaseEvent.objects.filter(application=application).order_by("at", "id")[before:]
    submit = [e for e in new if e.action == "submit"]
    assert len(submit) == 1 and (submit[0].from_state, submit[0].to_state) == ("draft", "submitted")
    cases = ItemCase.objects.filter(application=application)
    assert {e.item_case_id for e in new if e.action == "create"} == {c.pk for c in cases}
    assert len(new) == 1 + cases.count()


def test_a_failure_after_the_transition_leaves_neither_state_nor_event(monkeypatch):
    user = UserFactory(citizen=True)
    application = ready_application(user)
    events_before = CaseEvent.objects.count()

    def broken_notify(**kwargs):
        raise RuntimeError("forced failure after the transition")

    monkeypatch.setattr(guards, "notify", broken_notify)
    with pytest.raises(RuntimeError):
        submission.application_submit(application=application, actor=user)
    assert Application.objects.get(pk=application.pk).state == "draft"
    assert not ItemCase.objects.filter(application=application).exists()
    assert CaseEvent.objects.count() == events_before


def test_the_event_log_refuses_updates_and_deletes_in_the_orm():
    user = UserFactory(citizen=True)
    application = applications.application_start(
        applicant=user, bundle=Bundle.objects.get(code="B10")
    )
    event = CaseEvent.objects.get(application=application)
    with pytest.raises(TypeError):
        CaseEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(TypeError):
        event.delete()
    event.reason = "edited"
    with pytest.raises(TypeError):
        event.save()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_updates_and_deletes_of_events():
    user = UserFactory(citizen=True)
    application = applications.application_start(
        applicant=user, bundle=Bundle.objects.get(code="B10")
    )
    event = CaseEvent.objects.get(application=application)
    for sql in (
        "UPDATE cases_caseevent SET reason = 'x' WHERE id = %s",
        "DELETE FROM cases_caseevent WHERE id = %s",
    ):
        with (
            pytest.raises((InternalError, ProgrammingError)),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert CaseEvent.objects.filter(pk=event.pk, reason="").exists()
