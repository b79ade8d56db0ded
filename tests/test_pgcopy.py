"""The one COPY writer (`kuaiban.pgcopy`): any text round-trips through PostgreSQL."""

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from kuaiban.cases.models import FlagKind
from kuaiban.notifications.models import Notification
from kuaiban.pgcopy import NULL, CopyTable, copy_instances, copy_rows, copy_text, json_text
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")
AWKWARD = "a\tb\nc\r\nd\\e \\N \\t 表\u3000末"

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's"
)


def test_values_are_escaped_for_the_text_format():
    assert copy_text(None) == NULL == "\\N"
    assert copy_text("\\N") == "\\\\N"  # the text, not NULL
    assert copy_text("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert copy_text(True) == "t" and copy_text(False) == "f"
    assert copy_text(3) == "3" and copy_text(0.1) == "0.1"
    assert copy_text(date(2026, 1, 2)) == "2026-01-02"
    assert copy_text(FlagKind.OVERDUE) == "overdue"
    assert copy_text({"k": "x\ty"}) == '{"k": "x\\\\ty"}'
    assert json_text("plain") == '"plain"' and json_text(None) == NULL


@needs_postgres
@pytest.mark.django_db
def test_rows_round_trip_through_postgres():
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE copy_probe (t text, j jsonb, d timestamptz, day date, n integer, "
            "f double precision, b boolean)"
        )
    table = CopyTable("copy_probe", ["t", "j", "d", "day", "n", "f", "b"], json_columns=["j"])
    moment = datetime(2026, 11, 24, 10, 0, 30, 123456, tzinfo=SH)
    document = {"text": AWKWARD, "list": [1, "\\", None], "nested": {"tab": "\t"}}
    rows = [
        (AWKWARD, document, moment, date(2026, 2, 28), -7, 0.1 + 0.2, True),
        (None, None, None, None, None, None, None),
        {"t": "", "j": ["x\ny"], "b": False},  # by name; the rest NULL
    ]
    copy_rows(table, rows)
    with connection.cursor() as cursor:
        cursor.execute("SELECT t, j, d, day, n, f, b FROM copy_probe ORDER BY n NULLS LAST, t")
        # Django leaves jsonb as text on raw cursors.
        stored = [(t, j and json.loads(j), *rest) for t, j, *rest in cursor.fetchall()]
    assert stored[0] == (AWKWARD, document, moment, date(2026, 2, 28), -7, 0.1 + 0.2, True)
    assert sorted(stored[1:], key=repr) == sorted(
        [(None, None, None, None, None, None, None), ("", ["x\ny"], None, None, None, None, False)],
        key=repr,
    )


@needs_postgres
@pytest.mark.django_db
def test_model_rows_take_the_field_defaults_and_round_trip():
    user = UserFactory()
    now = datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    copy_instances(
        Notification,
        [
            Notification(
                recipient=user,
                channel=Notification.Channel.IN_APP,
                subject=AWKWARD,
                body="\\\t\n",
                link="/x",
                created_at=now,
            )
        ],
    )
    copy_rows(
        CopyTable.of(Notification),
        [{"recipient_id": user.pk, "subject": "仅主题", "created_at": now}],
    )
    stored = {n.subject: n for n in Notification.objects.filter(recipient=user)}
    assert stored[AWKWARD].body == "\\\t\n"
    assert stored[AWKWARD].channel == Notification.Channel.IN_APP
    only = stored["仅主题"]
    assert (only.body, only.channel, only.attempts, only.sent_at) == ("", "", 0, None)
