"""`manage.py verify_audit`: a clean log verifies; a changed, removed or reordered event is
reported at the first break of its chain with exit code 1. The tampering is done as the database
superuser with the append-only trigger disabled, as an intruder with the owner's rights would."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from kuaiban.cases.models import CaseEvent
from tests.builders import accepted_instant_case

pytestmark = pytest.mark.django_db


def verify(capsys, *args):
    try:
        call_command("verify_audit", *args)
        code = 0
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def tamper(*statements):
    with connection.cursor() as cursor:
        # A superuser's switch: no trigger fires (the append-only one included) until reset.
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def logged(clerk_of):
    """Two accepted applications; the first one's events in id order."""
    first, second = accepted_instant_case(), accepted_instant_case()
    events = list(CaseEvent.objects.filter(application=first.application).order_by("id"))
    assert len(events) >= 4
    return first.application, second.application, events


def test_a_clean_log_verifies(logged, capsys):
    code, out, err = verify(capsys)
    assert code == 0 and err == ""
    assert out.strip() == f"{CaseEvent.objects.count()} events in 2 chains verified."


def test_a_changed_reason_is_reported_at_that_event(logged, capsys):
    application, other, events = logged
    tamper(("UPDATE cases_caseevent SET reason = 'nothing happened' WHERE id = %s", [events[2].pk]))
    code, _out, err = verify(capsys)
    assert code == 1
    assert f"BROKEN {application.reference}: event {events[2].pk} its fields no longer" in err
    assert other.reference not in err
    assert "1 of 2 chains broken" in err


def test_a_deleted_event_in_the_middle_is_reported_at_the_next_one(logged, capsys):
    application, _other, events = logged
    tamper(("DELETE FROM cases_caseevent WHERE id = %s", [events[1].pk]))
    code, _out, err = verify(capsys)
    assert code == 1
    assert f"BROKEN {application.reference}: event {events[2].pk} does not follow event " in err
    assert f"event {events[0].pk}" in err and "removed" in err


def test_two_events_swapped_are_reported(logged, capsys):
    application, _other, events = logged
    a, b = events[1].pk, events[2].pk
    tamper(
        ("UPDATE cases_caseevent SET id = -1 WHERE id = %s", [a]),
        ("UPDATE cases_caseevent SET id = %s WHERE id = %s", [a, b]),
        ("UPDATE cases_caseevent SET id = %s WHERE id = -1", [b]),
    )
    code, _out, err = verify(capsys)
    assert code == 1
    assert f"BROKEN {application.reference}: event {a} does not follow event {events[0].pk}" in err


def test_one_application_is_verified_alone(logged, capsys):
    application, other, events = logged
    tamper(("UPDATE cases_caseevent SET reason = 'x' WHERE id = %s", [events[2].pk]))
    code, out, _err = verify(capsys, "--application", other.reference.lower())
    count = CaseEvent.objects.filter(application=other).count()
    assert (code, out.strip()) == (0, f"{count} events in 1 chains verified.")
    code, _out, err = verify(capsys, "--application", application.reference)
    assert code == 1 and f"event {events[2].pk}" in err
    with pytest.raises(CommandError, match="No application"):
        call_command("verify_audit", "--application", "KB000000NOPE")
