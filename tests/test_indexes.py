"""No index of the project's tables repeats the leading columns of another: it would be written
on every insert and every non-HOT update for nothing (typically a foreign key's own index where
an index or unique constraint in Meta already leads with its column; `db_index=False` there).
Partial and unique indexes are left alone: they say something the longer one does not."""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db


def _project_tables() -> set[str]:
    """The tables of the project's own models (not the many-to-many tables Django makes, whose
    indexes it decides)."""
    tables = set()
    for model in apps.get_models():
        app_path = Path(model._meta.app_config.path).resolve()
        if Path(settings.BASE_DIR) in app_path.parents and ".venv" not in app_path.parts:
            tables.add(model._meta.db_table)
    return tables


def test_no_index_repeats_the_leading_columns_of_another():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indexrelid::regclass::text, i.indkey::int2[]::int[], "
            "i.indpred IS NOT NULL, i.indisunique FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indrelid "
            "WHERE c.relnamespace = 'public'::regnamespace"
        )
        rows = cursor.fetchall()
    tables = _project_tables()
    assert {"cases_itemcase", "cases_caseevent", "speedup_caseflag"} <= tables
    indexes = [row for row in rows if row[0] in tables]
    repeated = sorted(
        (table, name, other)
        for table, name, columns, partial, unique in indexes
        if not partial and not unique
        for other_table, other, other_columns, other_partial, _unique in indexes
        if other_table == table
        and other != name
        and not other_partial
        and len(other_columns) > len(columns)
        and other_columns[: len(columns)] == columns
    )
    assert repeated == []


def test_an_open_item_case_writes_no_entry_to_the_decision_indexes_nor_one_for_its_item():
    """The sweep and a recompute rewrite open cases (never HOT): the decided and concluded
    moments are indexed only where set, and the item (a few dozen values) has no index of its
    own, so none of the three is written for an open case."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases_itemcase'"
        )
        indexes = dict(cursor.fetchall())
    assert "WHERE (decided_at IS NOT NULL)" in indexes["itemcase_decided"]
    assert "WHERE (concluded_at IS NOT NULL)" in indexes["itemcase_concluded"]
    assert not [name for name, sql in indexes.items() if sql.endswith("(item_id)")]
