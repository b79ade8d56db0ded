"""Writing some fields of many rows at once: the clock recomputes after a calendar edit.

Django's `bulk_update` builds one `CASE WHEN id = … THEN …` per field with a branch per row, which
PostgreSQL evaluates for every row: thousands of rows cost time in the square of their number
(5,000 follow-ups took 20 s). On PostgreSQL `values_update` writes `UPDATE … FROM unnest(arrays)`,
linear in the rows, a chunk at a time; elsewhere (the demo's SQLite) `bulk_update` in small
batches.
"""

from collections.abc import Sequence
from typing import cast

from django.db import connection, models

CHUNK = 2000


def values_update(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]):
    """Write `fields` of `objs` (rows of `model` with primary keys) in one statement per chunk."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields, batch_size=500)
        return
    quote = connection.ops.quote_name
    columns = [cast(models.Field, model._meta.get_field(name)) for name in fields]
    pk = model._meta.pk
    # One array per column, not a VALUES row per object: the statement's text and its plan stay
    # the same size whatever the number of rows, and psycopg adapts each list in one call.
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in [pk, *columns])
    # Date-times go to psycopg as they are (aware, computed by the clock code): Django's
    # per-value preparation of them costs more than the arithmetic that computed them.
    as_is = [isinstance(field, models.DateTimeField) for field in columns]
    names = ", ".join(quote(field.column) for field in columns)
    sets = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns)
    table, key = quote(model._meta.db_table), quote(pk.column)
    sql = (
        f"UPDATE {table} AS t SET {sets} "  # noqa: S608
        f"FROM unnest({arrays}) AS v(id, {names}) WHERE t.{key} = v.id"
    )
    for start in range(0, len(objs), CHUNK):
        chunk = objs[start : start + CHUNK]
        params: list[list] = [[obj.pk for obj in chunk]]
        for field, plain in zip(columns, as_is, strict=True):
            attname = field.attname
            if plain:
                params.append([getattr(obj, attname) for obj in chunk])
            else:
                prep = field.get_db_prep_save
                params.append([prep(getattr(obj, attname), connection) for obj in chunk])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
