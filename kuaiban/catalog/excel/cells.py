"""Cell types: how one value of a catalog row goes into a cell of the workbook and comes back.

Each column of the schema has one; `to_excel` is what the writer puts in the cell, `from_excel`
reads whatever the bureau typed (or an older .xls stored) back into the model's value.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models

YES, NO = "是", "否"
_TRUE = {YES, "y", "yes", "true", "t", "1", "√", "✓", "✔"}
_FALSE = {NO, "n", "no", "false", "f", "0", "×", "✗", "✘"}
# Several codes in one cell (附件2's 事项编码, a hall's windows): the exporter joins with "、".
_LIST_SEPARATORS = re.compile(r"[、,，;；\s]+")


class CellError(ValueError):
    """A cell that cannot be read as its column's type; the message is shown to the user."""


def blank(raw: Any) -> bool:
    """An empty cell, or one holding only spaces."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def as_text(raw: Any) -> str:
    # Legacy .xls files store codes and phone numbers typed as numbers as floats (12333.0).
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


class Text:
    width = 24
    wrap = False  # the exporter wraps the cell's text (several lines in one cell)

    def __init__(self, width: int | None = None):
        if width:
            self.width = width

    def to_excel(self, value):
        return value if value not in ("", None) else None

    def from_excel(self, raw):
        return None if blank(raw) else as_text(raw)

    @property
    def dropdown(self) -> list[str] | None:
        """The values the cell's dropdown offers; None for free input."""
        return None


class Code(Text):
    width = 14

    def from_excel(self, raw):
        return None if blank(raw) else as_text(raw).strip()


class Lines(Text):
    """One entry per line inside the cell (Alt+Enter in Excel), kept as written: the entries may
    contain "、" and "，" themselves, so a line break is the only lossless separator."""

    width = 30
    wrap = True


class Int(Text):
    width = 10

    def from_excel(self, raw):
        if blank(raw):
            return None
        if isinstance(raw, bool):
            raise CellError("须为整数")
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
            raw = int(raw)
        if not isinstance(raw, int):
            raise CellError(f"“{raw}”不是整数")
        if raw < 0:
            raise CellError("须为不小于0的整数")
        return raw


class Bool(Text):
    width = 8
    dropdown = [YES, NO]

    def to_excel(self, value):
        return YES if value else NO

    def from_excel(self, raw):
        if blank(raw):
            return None
        if isinstance(raw, bool):
            return raw
        text = as_text(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise CellError(f"须填写“是”或“否”，不能是“{raw}”")


class Choice(Text):
    """Written as the choice's Chinese label; read as the label or the stored value."""

    width = 14

    def __init__(self, choices: type[models.TextChoices] | list[tuple[str, Any]]):
        self.choices = choices if isinstance(choices, list) else choices.choices
        self.labels = dict(self.choices)

    @property
    def dropdown(self) -> list[str]:
        return [str(label) for _value, label in self.choices]

    def to_excel(self, value):
        return str(self.labels[value]) if value in self.labels else value or None

    def from_excel(self, raw):
        if blank(raw):
            return None
        text = as_text(raw).strip().lower()
        for value, label in self.choices:
            if text in (value.lower(), str(label).lower()):
                return value
        raise CellError(f"须为以下之一：{'、'.join(self.dropdown)}，不能是“{raw}”")


class Ref(Code):
    """A code naming a row of another sheet (or of the database)."""

    def __init__(
        self, model: type[models.Model], noun: str, *, in_workbook: bool = False, within: str = ""
    ):
        self.model = model
        self.noun = noun
        # The parent of a composition row must be listed in the workbook itself: its list is
        # replaced, so a code the workbook does not describe is almost certainly a typo.
        self.in_workbook = in_workbook
        # Codes unique only within another column's row (a question within its bundle).
        self.within = within

    def to_excel(self, value):
        return value.code if value is not None else None


class Refs(Text):
    """Several codes in one cell, joined by "、"."""

    def __init__(self, model: type[models.Model], noun: str, width: int = 24):
        super().__init__(width)
        self.model = model
        self.noun = noun

    def to_excel(self, manager):
        return "、".join(sorted(obj.code for obj in manager.all())) or None

    def from_excel(self, raw):
        if blank(raw):
            return []
        return [code for code in _LIST_SEPARATORS.split(as_text(raw).strip()) if code]
