"""What an import tells its caller: the counts of an import that went through, or every problem
of a workbook that was refused."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with the workbook, located as Excel shows it."""

    sheet: str = ""
    row: int | None = None
    column: str = ""
    message: str = ""

    def __str__(self) -> str:
        where = ""
        if self.sheet:
            where += f"工作表“{self.sheet}”"
        if self.row:
            where += f"第{self.row}行"
        if self.column:
            where += f"“{self.column}”"
        return f"{where}：{self.message}" if where else self.message


class CatalogImportError(Exception):
    """The workbook was refused; `problems` lists everything wrong with it. Nothing was changed."""

    def __init__(self, problems: Iterable[ImportProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    kept: int = 0  # in the database, not in the workbook, left in place
    drafts: int = 0  # guide changes kept as drafts for legal review, not published

    def __str__(self) -> str:
        text = f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"
        if self.deleted:
            text += f"，删除 {self.deleted}"
        if self.kept:
            text += f"，工作簿未列出（保留） {self.kept}"
        if self.drafts:
            text += f"，服务指南修订稿 {self.drafts}（待政策法规处审核，未发布）"
        return text


@dataclass
class ImportSummary:
    counts: dict[str, Counts] = field(default_factory=dict)  # by sheet title

    def lines(self) -> list[str]:
        return [f"{title}：{counts}" for title, counts in self.counts.items()]

    def __str__(self) -> str:
        return "\n".join(self.lines())
