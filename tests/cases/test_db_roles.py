"""The application's PostgreSQL role owns nothing: on the event log (and the access log) it may
SELECT and INSERT, and UPDATE, DELETE, TRUNCATE and ALTER TABLE … DISABLE TRIGGER fail with a
permission error."""

import uuid

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg2 import errors

from kuaiban.cases.audit import verify_chains
from kuaiban.cases.models import CaseEvent
from tests.builders import accepted_instant_case


@pytest.fixture
def roles(committed_db, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    suffix = uuid.uuid4().hex[:8]
    owner, app, password = f"kb_owner_{suffix}", f"kb_app_{suffix}", uuid.uuid4().hex
    monkeypatch.setenv("KUAIBAN_DB_OWNER_PASSWORD", uuid.uuid4().hex)
    monkeypatch.setenv("KUAIBAN_DB_APP_PASSWORD", password)
    call_command("create_db_roles", owner=owner, app=app)
    db = connection.settings_dict
    app_connection = psycopg2.connect(
        dbname=db["NAME"], user=app, password=password, host=db["HOST"] or None, port=db["PORT"]
    )
    yield owner, app, app_connection
    app_connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f'REASSIGN OWNED BY "{owner}" TO CURRENT_USER')
        for role in (owner, app):
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def as_app(app_connection, statement, params=()):
    with app_connection, app_connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def test_the_application_role_may_only_read_and_append_to_the_event_log(roles):
    owner, app, app_connection = roles
    application = accepted_instant_case().application
    event = CaseEvent.objects.filter(application=application).order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
            "WHERE rolname = %s)",
            [app],
        )
        assert cursor.fetchone()[0] == 0  # the application role owns nothing
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'cases_caseevent'")
        assert cursor.fetchone()[0] == owner

    (row,) = as_app(app_connection, "SELECT reason FROM cases_caseevent WHERE id = %s", [event.pk])
    assert row == (event.reason,)
    inserted = as_app(
        app_connection,
        "INSERT INTO cases_caseevent (application_id, action, from_state, to_state, at, reason, "
        "request_id, data, prev_hash, hash) VALUES (%s, 'visit', '', '', now(), 'by the app role', "
        "'', '{}', '', '') RETURNING id, hash",
        [application.pk],
    )
    assert len(inserted[0][1]) == 64  # chained by the trigger, running as the app role

    # Refused by the grants themselves (not the append-only trigger, whose refusal says
    # "append-only"): the role has no such privilege, and is not the table's owner.
    for statement, refusal in (
        ("UPDATE cases_caseevent SET reason = 'edited' WHERE id = %s", "permission denied"),
        ("DELETE FROM cases_caseevent WHERE id = %s", "permission denied"),
        ("TRUNCATE cases_caseevent CASCADE", "permission denied"),
        ("ALTER TABLE cases_caseevent DISABLE TRIGGER ALL", "must be owner"),
    ):
        with pytest.raises(errors.InsufficientPrivilege, match=refusal):
            as_app(app_connection, statement, [event.pk] if "%s" in statement else [])
    # The access log of personal data is guarded the same way.
    as_app(
        app_connection,
        "INSERT INTO cases_accesslog (at, kind, object_id, reference, request_id) "
        "VALUES (now(), 'case_page', '1', '', '')",
    )
    for statement in (
        "UPDATE cases_accesslog SET object_id = '2'",
        "DELETE FROM cases_accesslog",
        "TRUNCATE cases_accesslog",
    ):
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
            as_app(app_connection, statement)
    # Other tables stay writable for the portal.
    as_app(
        app_connection,
        "UPDATE cases_application SET created_at = created_at WHERE id = %s",
        [application.pk],
    )
    assert CaseEvent.objects.filter(pk=event.pk, reason=event.reason).exists()
    assert verify_chains().breaks == []


def test_granting_again_after_a_migration_is_harmless(roles, capsys):
    owner, app, app_connection = roles
    call_command("create_db_roles", owner=owner, app=app)
    call_command("create_db_roles", app=app, grants_only=True)
    assert "already there" in capsys.readouterr().out
    with pytest.raises(errors.InsufficientPrivilege):
        as_app(app_connection, "TRUNCATE cases_caseevent CASCADE")
