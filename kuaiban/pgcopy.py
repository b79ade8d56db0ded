"""Bulk writes with PostgreSQL's `COPY … FROM STDIN`, text format: one row a line, columns
separated by tabs, NULL as `\\N`, and backslash, tab, newline and carriage return escaped inside
values (so any text round-trips). JSON columns get `json.dumps` of the value; dicts and lists
anywhere are JSON too.

Why COPY: the rollup's full rebuild and the history generator write hundreds of thousands of rows
at a time, several times faster than INSERTs. Values go in as the database stores them: no field's
`get_db_prep_save` runs per value (a custom field, say an encrypted one, is prepared by the
caller). PostgreSQL only; elsewhere the callers use `bulk_create`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection, models, transaction

NULL = "\\N"
ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def json_text(value) -> str:
    """A value of a JSON column in COPY text format (None is SQL NULL, as Django saves it)."""
    if value is None:
        return NULL
    return json.dumps(value, ensure_ascii=False).translate(ESCAPES)


# By exact type, the common case first; anything else (choices enums, UUID, Decimal) is `str()`.
# Each converter takes a value of its key's type, which a dict's type cannot say: `Any` in.
_CONVERTERS: dict[type, Callable[[Any], str]] = {
    type(None): lambda value: NULL,
    str: lambda value: value.translate(ESCAPES),
    int: repr,
    float: repr,
    bool: lambda value: "t" if value else "f",
    datetime: datetime.isoformat,
    date: date.isoformat,
    dict: json_text,
    list: json_text,
}


def copy_text(value) -> str:
    """One value in COPY text format."""
    convert = _CONVERTERS.get(type(value))
    if convert is None:
        return str(value).translate(ESCAPES)
    return convert(value)


class CopyTable:
    """One table's COPY statement, and how rows become its text: a row is a dict by name
    (columns it leaves out take their default; NULL when none was given) or a sequence in column
    order."""

    def __init__(
        self,
        db_table: str,
        columns: Sequence[str],
        *,
        names: Sequence[str] | None = None,
        json_columns: Iterable[str] = (),
        defaults: Mapping[str, object] | None = None,
    ) -> None:
        names = list(names or columns)
        if len(names) != len(columns):
            raise ValueError("one name per column")
        quote = connection.ops.quote_name
        self.db_table = db_table
        self.names = tuple(names)
        self.sql = "COPY {} ({}) FROM STDIN".format(
            quote(db_table), ", ".join(quote(column) for column in columns)
        )
        self.position = {name: i for i, name in enumerate(names)}
        self.json_names = frozenset(json_columns)
        unknown = self.json_names - set(names)
        if unknown:
            raise ValueError(f"JSON columns not in the table: {sorted(unknown)}")
        self.is_json = tuple(name in self.json_names for name in names)
        defaults = defaults or {}
        self.defaults = [self.text(name, defaults.get(name)) for name in names]

    @classmethod
    def of(cls, model: type[models.Model], *, with_pk: bool = False) -> CopyTable:
        """The model's concrete columns (the primary key only `with_pk`), rows by attribute name;
        defaults are the fields' defaults, evaluated once, here."""
        fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        json_fields = [f.attname for f in fields if isinstance(f, models.JSONField)]
        defaults = {}
        for f in fields:
            db_default = getattr(f, "db_default", models.NOT_PROVIDED)
            if not f.has_default() and db_default is not models.NOT_PROVIDED:
                # Only a database default (db_default=""): its literal, as the column stores it.
                if isinstance(db_default, models.Value):
                    db_default = db_default.value
                default = None if hasattr(db_default, "resolve_expression") else db_default
            else:
                default = f.get_default()
                if not isinstance(f, models.JSONField):
                    default = f.get_db_prep_save(default, connection=connection)
            defaults[f.attname] = default
        return cls(
            model._meta.db_table,
            [f.column for f in fields],
            names=[f.attname for f in fields],
            json_columns=json_fields,
            defaults=defaults,
        )

    def text(self, name: str, value) -> str:
        return json_text(value) if name in self.json_names else copy_text(value)

    def render(self, rows: Iterable[dict | Sequence]) -> str:
        """The rows as COPY text."""
        position, defaults, json_names = self.position, self.defaults, self.json_names
        converters, is_json = _CONVERTERS, self.is_json
        lines = []
        for row in rows:
            if isinstance(row, dict):
                values = defaults.copy()
                for name, value in row.items():
                    # Inlined `text()`: this loop runs for every value of a bulk import.
                    if name in json_names:
                        values[position[name]] = json_text(value)
                        continue
                    convert = converters.get(type(value))
                    values[position[name]] = (
                        convert(value) if convert else str(value).translate(ESCAPES)
                    )
            else:
                values = [
                    json_text(value) if as_json else copy_text(value)
                    for value, as_json in zip(row, is_json, strict=True)
                ]
            lines.append("\t".join(values))
        lines.append("")
        return "\n".join(lines)


def copy_rendered(statements: Iterable[tuple[str, str]]) -> None:
    """Run rendered COPY statements `(sql, text)` in one transaction on this thread's
    connection."""
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, text in statements:
            cursor.copy_expert(sql, io.StringIO(text))


def copy_rows(table: CopyTable, rows: Iterable[dict | Sequence]) -> None:
    """COPY rows (dicts by name, or sequences in column order) into the table."""
    copy_rendered([(table.sql, table.render(rows))])


def copy_instances(model: type[models.Model], objs: Iterable[models.Model]) -> None:
    """COPY unsaved model instances (their primary keys are left to the table's sequence)."""
    table = CopyTable.of(model)
    copy_rows(table, ([getattr(obj, name) for name in table.names] for obj in objs))
