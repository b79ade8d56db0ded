"""The workbooks (openpyxl write-only: rows stream to disk, memory stays flat).

Headers are Chinese: the bureau reads these files. Personal data follows the default-export rule
(docs/quality.md, "Personal data"): no resident ID, phone or bank number is ever written; a
citizen's name is shown as the surname and stars (张**); an enterprise's name in full (an
organisation's name is not personal data). Times are local (Asia/Shanghai) without a zone, as
Excel wants them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import openpyxl
from django.utils import timezone, translation

from acceptance import columns as col
from acceptance.figures import FIGURES
from acceptance.rating_figures import RATING_FIGURES
from kuaiban import xlsx
from kuaiban.accounts.models import Role
from kuaiban.cases.models import CaseState, FlagKind

CHUNK = 2000  # rows fetched per round trip, and rows between two progress updates

YES, NO = "是", "否"


Headers = list[tuple[Any, int]]


def header_texts(headers: Headers) -> list[str]:
    """The headers' words as the workbook writes them: Chinese (a label shared with the screen,
    acceptance/columns.py, is translated; a plain text is Chinese already)."""
    with translation.override("zh-hans"):
        return [str(text) for text, _width in headers]


class Book:
    """A write-only workbook with styled, frozen header rows. Every row of every sheet passes the
    formula guard (kuaiban/xlsx.py): names typed by the bureau and by applicants included. Each
    table sheet gets an autofilter over its rows when the workbook is saved."""

    def __init__(self) -> None:
        self.workbook = openpyxl.Workbook(write_only=True)
        self.tables: list[xlsx.GuardedSheet] = []

    def sheet(self, title: str, headers: Headers, *, table: bool = True) -> xlsx.GuardedSheet:
        """A new sheet; headers are (text, column width). `table`: one table under its header
        (filtered); a sheet of several tables one below the other gets no filter."""
        widths = [width for _text, width in headers]
        sheet = xlsx.guarded_sheet(
            self.workbook, title, list(zip(header_texts(headers), widths, strict=True))
        )
        if table:
            self.tables.append(sheet)
        return sheet

    def about(self, pairs: list[tuple[str, Any]]) -> None:
        """The last sheet, 说明: what the workbook covers, who made it and when."""
        sheet = self.sheet("说明", [("项目", 16), ("内容", 60)], table=False)
        for pair in pairs:
            sheet.append(pair)

    def save(self, path_or_file) -> None:
        for sheet in self.tables:
            sheet.filter_table()
        self.workbook.save(path_or_file)

    def __enter__(self) -> Book:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """Left by an error (a cancelled run's included): its temporary files are removed."""
        if error is not None:
            self.abandon()

    def abandon(self) -> None:
        """After a failure: close the sheets' streams and remove their temporary files."""
        for sheet in self.workbook.worksheets:
            try:
                sheet.close()
                # A write-only sheet's private writer (not in openpyxl's stubs): None until used.
                writer = getattr(sheet, "_writer", None)
                if writer is not None:
                    writer.cleanup()
            except Exception:  # noqa: S112 - best effort; the job is failing anyway
                continue


_TZ = None


def local(moment: datetime | None) -> datetime | None:
    global _TZ  # the default zone, looked up once
    if moment is None:
        return None
    if _TZ is None:
        _TZ = timezone.get_default_timezone()
    return moment.astimezone(_TZ).replace(tzinfo=None)


def mask_name(name: str | None, role: str | None) -> str:
    """张三 → 张*, 欧阳小明 → 欧***: the surname only (an organisation keeps its name)."""
    if not name:
        return ""
    if role == Role.ENTERPRISE:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def _labels(choices) -> dict[str, str]:
    with translation.override("zh-hans"):
        return {value: str(label) for value, label in choices}


# -- the case list ---------------------------------------------------------------------------

# The case lists' words (the pages "cases behind a figure" and "overdue now"); the columns the
# pages fold into one (item and unit, received and accepted) are one column each here.
CASE_HEADERS: Headers = [
    (col.REFERENCE, 22),
    (col.BUNDLE, 8),
    (col.ITEM_CODE, 10),
    (col.ITEM, 30),
    (col.UNIT, 22),
    (col.HALL, 22),
    (col.STAGE, 6),
    (col.STATE, 14),
    ("申请人", 14),  # masked (张**): no list on screen shows the applicant
    (col.RECEIVED_AT, 18),
    (col.ACCEPTED_AT, 18),
    (col.COMMITTED_DUE, 18),
    (col.STATUTORY_DUE, 18),
    (col.DECIDED_AT, 18),
    (col.CONCLUDED_AT, 18),
    (col.qualified(col.HANDLING, "工作分钟"), 12),
    (col.COMPLETED_LATE, 8),
    (col.STATUTORY_MODE, 8),
    ("预警标记", 24),
    (col.HELD_BY, 14),
    (col.VISITS, 8),
]
# The columns read per case (values_list: no model instances, constant memory per chunk).
CASE_VALUES = (
    "application__reference",
    "application__bundle__code",
    "item__code",
    "item__name_zh",
    "unit__name_zh",
    "application__hall__name_zh",
    "stage",
    "state",
    "application__applicant__real_name",
    "application__applicant__role",
    "created_at",
    "accepted_at",
    "committed_due_at",
    "statutory_due_at",
    "decided_at",
    "concluded_at",
    "handling_minutes",
    "completed_late",
    "statutory_mode",
    "flag_50_at",
    "flag_75_at",
    "overdue_at",
    "breach_at",
    "reviewer__display_name",
    "reviewer__username",
    "application__visits",
)


def case_row_maker() -> Callable[[tuple], list]:
    states = _labels(CaseState.choices)

    def row(v: tuple) -> list:
        flags = []
        if v[19]:
            flags.append("已过50%")
        if v[20]:
            flags.append("已过75%")
        if v[21]:
            flags.append("超期")
        if v[22]:
            flags.append("超法定时限")
        return [
            v[0],
            v[1] or "",
            v[2],
            v[3],
            v[4],
            v[5] or "",
            v[6],
            states.get(v[7], v[7]),
            mask_name(v[8], v[9]),
            local(v[10]),
            local(v[11]),
            local(v[12]),
            local(v[13]),
            local(v[14]),
            local(v[15]),
            round(v[16]) if v[16] is not None else None,
            YES if v[17] else NO,
            YES if v[18] else NO,
            "、".join(flags),
            v[23] or v[24] or "",
            v[25],
        ]

    return row


# -- the flag history ------------------------------------------------------------------------

FLAG_HEADERS: Headers = [
    (col.REFERENCE, 22),
    (col.ITEM_CODE, 10),
    (col.ITEM, 30),
    (col.UNIT, 22),
    ("标记类型", 24),
    ("阈值时间", 18),
    ("标记时间", 18),
]
FLAG_VALUES = (
    "item_case__application__reference",
    "item_case__item__code",
    "item_case__item__name_zh",
    "item_case__unit__name_zh",
    "kind",
    "threshold_at",
    "flagged_at",
)


def flag_row_maker() -> Callable[[tuple], list]:
    kinds = _labels(FlagKind.choices)

    def row(v: tuple) -> list:
        return [v[0], v[1], v[2], v[3], kinds.get(v[4], v[4]), local(v[5]), local(v[6])]

    return row


def stream(
    sheet,
    rows: Iterable[tuple],
    make: Callable[[tuple], list],
    *,
    tick: Callable[[int], None] | None = None,
) -> int:
    """Append every row; call `tick(rows written)` every CHUNK rows. Returns the rows written."""
    written = 0
    append = sheet.append
    for values in rows:
        append(make(values))
        written += 1
        if tick and written % CHUNK == 0:
            tick(written)
    return written


# -- small tables ----------------------------------------------------------------------------


def rate(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


MEASURES = {"office_minutes": "工作分钟", "working_days": "工作日", "calendar_days": "自然日"}
FIGURE_HEADERS: Headers = [
    ("指标代码", 16),
    (col.FIGURE, 24),
    (col.PERIOD, 10),
    (col.SHARE, 10),
    ("占比基数", 14),
    (col.LAST_WEEK, 10),
    (col.WEEK_BEFORE, 10),
    (col.CHANGE, 10),
    ("环比增减率", 12),
    (col.DEFINITION, 60),
]


def figure_rows(board, percent: Callable[[float | None], Any]) -> Iterator[list]:
    with translation.override("zh-hans"):
        labels = {f.key: (str(f.label), str(f.definition)) for f in board.figures}
        for f in board.figures:
            base = labels.get(_share_of(f.key), ("", ""))[0] if f.base is not None else ""
            yield [
                f.key,
                labels[f.key][0],
                f.value,
                percent(f.share),
                base,
                f.last_week,
                f.week_before,
                f.change,
                percent(f.change_share),
                labels[f.key][1],
            ]


def _share_of(key: str) -> str:
    from acceptance.selectors.dashboard import SHARE_OF

    return SHARE_OF.get(key, "")


# The dashboard's units table: its columns in its order (the screen shows "按时" as the share
# of the concluded cases, and the statutory mode and pauses as counts with their shares).
UNIT_HEADERS: Headers = [
    (col.CODE, 10),
    (col.UNIT, 24),
    (col.ACCEPTED, 8),
    (col.STATUTORY_MODE, 10),
    (col.qualified(col.STATUTORY_MODE, col.SHARE), 12),
    (col.PAUSED, 8),
    (col.qualified(col.PAUSED, col.SHARE), 10),
    (col.CONCLUDED, 8),
    (col.ON_TIME, 8),
    (col.COMPLETED_LATE, 8),
    (col.OVERDUE, 8),
    (col.BREACHES, 10),
]


def unit_rows(units, percent: Callable[[float | None], Any]) -> Iterator[list]:
    for r in units:
        yield [
            r.unit.code,
            r.unit.name_zh,
            r.accepted,
            r.statutory_mode,
            percent(rate(r.statutory_mode, r.accepted)),
            r.paused,
            percent(rate(r.paused, r.accepted)),
            r.concluded,
            percent(rate(r.on_time, r.concluded)),
            r.completed_late,
            r.overdue,
            r.breaches,
        ]


# The dashboard's handling-time table; a number's unit of measure in the column after it.
HANDLING_HEADERS: Headers = [
    (col.ITEM_CODE, 10),
    (col.ITEM, 30),
    (col.DECIDED, 8),
    ("计量单位", 10),
    (col.MEDIAN, 10),
    (col.P90, 10),
    (col.COMMITTED_LIMIT, 10),
    (col.qualified(col.COMMITTED_LIMIT, "计量单位"), 10),
    (col.STATUTORY_LIMIT, 10),
    (col.qualified(col.STATUTORY_LIMIT, "计量单位"), 10),
    (col.OVER_COMMITMENT, 10),
    (col.MEDIAN_SHARE, 12),
]


def handling_rows(handling, percent: Callable[[float | None], Any]) -> Iterator[list]:
    for h in handling:
        committed, committed_unit = h.committed
        statutory, statutory_unit = h.statutory
        yield [
            h.item.code,
            h.item.name_zh,
            h.decided,
            MEASURES.get(h.measure, h.measure),
            round(h.median, 2) if h.median is not None else None,
            round(h.p90, 2) if h.p90 is not None else None,
            committed,
            MEASURES.get(committed_unit, committed_unit or ""),
            statutory,
            MEASURES.get(statutory_unit, statutory_unit or ""),
            YES if h.over_committed else NO,
            percent(h.share_of_statutory),
        ]


VISIT_HEADERS: Headers = [(col.FIGURE, 30), ("数值", 12)]


def visit_rows(visits, percent: Callable[[float | None], Any]) -> list[list]:
    per = visits.per_application
    return [
        ["本期办结申请数", visits.applications],
        ["到场总次数", visits.visits],
        ["平均到场次数", round(per, 2) if per is not None else None],
        ["到场超过一次的申请数", visits.multi_visit],
        ["跑动次数符合承诺的申请数", visits.within_target],
        ["跑动次数符合承诺的比例", percent(visits.within_share)],
        ["承诺一次不用跑的申请数", visits.no_visit_promised],
        ["其中未到场的申请数", visits.no_visit_kept],
        ["一次不用跑兑现率", percent(visits.no_visit_share)],
        ["承诺最多跑一次的申请数", visits.at_most_once_promised],
        ["其中到场不超过一次的申请数", visits.at_most_once_kept],
        ["最多跑一次兑现率", percent(visits.at_most_once_share)],
        ["跑动次数超过承诺的申请数", visits.broke_target],
    ]


# -- 好差评 (ratings) ------------------------------------------------------------------------

RATING_HEADERS: Headers = [
    ("指标代码", 20),
    (col.FIGURE, 28),
    (col.COUNTED, 12),
    (col.OUT_OF, 10),
    (col.RATE, 10),
    (col.TARGET, 8),
    ("未达目标", 8),
    (col.DEFINITION, 60),
]


def rate_rows(ratings, percent: Callable[[float | None], Any]) -> list[list]:
    """Each 好差评 rate of a Satisfaction: numerator, denominator, the rate and its goal as
    percentages (`percent` makes the cell: `GuardedSheet.percent`), below the goal or not, and
    what it divides."""
    rows = []
    with translation.override("zh-hans"):
        labels = {key: str(f.label) for key, f in RATING_FIGURES.items()}
        labels["concluded"] = str(FIGURES["concluded"].label)
        for r in ratings.rates:
            goal = r.rate.goal
            rows.append(
                [
                    r.key,
                    str(r.label),
                    r.numerator,
                    r.denominator,
                    percent(r.value),
                    percent(goal),
                    (YES if r.below_goal else NO) if goal is not None else "",
                    " + ".join(labels[n] for n in r.rate.numerators)
                    + " ÷ "
                    + " + ".join(labels[n] for n in r.rate.denominators),
                ]
            )
    return rows


def rating_rows(ratings, percent: Callable[[float | None], Any]) -> list[list]:
    """The 好差评 sheet: each rate (`rate_rows`), then each count with its definition."""
    rows = rate_rows(ratings, percent)
    with translation.override("zh-hans"):
        for key, label, count in ratings.figures:
            definition = str(RATING_FIGURES[key].definition)
            rows.append([key, str(label), count, None, None, None, "", definition])
    return rows


# The per-member sheets: dimension → (sheet title, code header, name header, the row without a
# member). The units' sheet is the dashboard's own table (`board.unit_ratings`); the others come
# from `satisfaction_by` (`GROUPED_DIMENSIONS`).
RATING_GROUPS = {
    "unit": ("好差评-单位", col.CODE, col.UNIT, "（整件申请的评价，不属于单位）"),
    "item": ("好差评-事项", "事项编码", "事项", "（整件申请的评价，不属于单个事项）"),
    "bundle": ("好差评-一件事", "一件事编码", "一件事", "（单事项申请，不属于一件事）"),
    "window": ("好差评-窗口", "窗口编码", "窗口", "（无受理窗口）"),
    "hall": ("好差评-服务大厅", "大厅编码", "服务大厅", "（无受理大厅）"),
    "district": ("好差评-县区", "区划代码", "县（市、区）", "（无所属县（市、区））"),
}
GROUPED_DIMENSIONS = ("item", "bundle", "window", "hall", "district")
# The dashboard's units' 好差评 table, with the counts behind its rates.
RATING_GROUP_COLUMNS: Headers = [
    (col.CONCLUDED, 8),
    ("已评价", 8),
    (col.RATING_RATE, 8),
    (col.SATISFACTION_RATE, 8),
    (col.BAD_REVIEWS, 8),
    (col.qualified(col.BAD_REVIEWS, col.SHARE), 8),
    (col.FOLLOW_UPS_DUE, 10),
    ("已答复", 8),
    (col.ANSWERED_RATE, 8),
    (col.ANSWERED_ON_TIME, 10),
    (col.RECTIFICATION, 10),
    ("申诉", 8),
    (col.APPEALS_UPHELD, 8),
]


def rating_group_headers(dimension: str) -> Headers:
    _title, code, name, _none = RATING_GROUPS[dimension]
    return [(code, 12), (name, 30), *RATING_GROUP_COLUMNS]


def rating_group_row(code: str, name: str, f, percent: Callable[[float | None], Any]) -> list:
    """One member's 好差评 figures (`f`: a Satisfaction)."""
    return [
        code,
        name,
        f.concluded,
        f["rated"],
        percent(f.rate("rating_rate").value),
        percent(f.rate("satisfaction_rate").value),
        f["bad"],
        percent(f.rate("bad_rate").value),
        f["fu_due"],
        f["fu_answered"],
        percent(f.rate("answered_rate").value),
        percent(f.rate("on_time_rate").value),
        percent(f.rate("rectification_rate").value),
        f["fu_appealed"],
        f["fu_appeals_upheld"],
    ]


def rating_group_rows(dimension: str, groups, percent) -> list[list]:
    """The rows of a dimension's sheet from `satisfaction_by` (`GroupSatisfaction`s)."""
    none = RATING_GROUPS[dimension][3]
    return [
        rating_group_row(g.member.code, g.member.name_zh, g.figures, percent)
        if g.member is not None
        else rating_group_row("", none, g.figures, percent)
        for g in groups
    ]


def write_kpi(
    path_or_file, board, about: list[tuple[str, Any]], groups: dict[str, list] | None = None
) -> int:
    """The dashboard's tables: figures (with week-over-week change), units, handling times,
    visits, the 好差评 rates and counts and the units' 好差评 figures; then, from `groups`
    (dimension → `satisfaction_by` rows, same filters and period), a 好差评 sheet per item,
    bundle, window, hall and district. Returns the data rows written."""
    n = 0
    with Book() as book:
        for title, headers, rows in (
            ("指标", FIGURE_HEADERS, lambda percent: list(figure_rows(board, percent))),
            ("各单位", UNIT_HEADERS, lambda percent: list(unit_rows(board.units, percent))),
            (
                "办理用时",
                HANDLING_HEADERS,
                lambda percent: list(handling_rows(board.handling, percent)),
            ),
            ("到场次数", VISIT_HEADERS, lambda percent: visit_rows(board.visits, percent)),
        ):
            sheet = book.sheet(title, headers)
            n += _fill(sheet, rows(sheet.percent))
        sheet = book.sheet("好差评", RATING_HEADERS)
        n += _fill(sheet, rating_rows(board.ratings, sheet.percent))
        sheet = book.sheet(RATING_GROUPS["unit"][0], rating_group_headers("unit"))
        n += _fill(
            sheet,
            [
                rating_group_row(u.unit.code, u.unit.name_zh, u.figures, sheet.percent)
                for u in board.unit_ratings
            ],
        )
        for dimension, members in (groups or {}).items():
            sheet = book.sheet(RATING_GROUPS[dimension][0], rating_group_headers(dimension))
            n += _fill(sheet, rating_group_rows(dimension, members, sheet.percent))
        book.about(about)
        book.save(path_or_file)
    return n


def _fill(sheet: xlsx.GuardedSheet, rows: list[list]) -> int:
    for row in rows:
        sheet.append(row)
    return len(rows)


# -- the report to bureau leaders ------------------------------------------------------------

REASONS = {
    "on_time": "按时办结率低于90%",
    "statutory_mode": "适用法定时限比例超过平均值两倍",
    "breaches": "有超法定时限案件",
}
RATING_REASONS = {
    "answered": "整改答复率未达100%",
    "bad_rate": "差评率居前",
}


def progress_rows(data, percent: Callable[[float | None], Any]) -> list[list]:
    status, speed = data.programme, data.speedup
    return [
        ["一件事投入运行数", status.bundles_in_service, status.bundle_goal, f"截至{status.end}"],
        ["一件事办结申请数", status.bundle_applications_concluded, None, f"截至{status.end}"],
        [
            "提速50%以上的事项数（年度累计）",
            status.speedup.faster_count,
            status.speedup_goal,
            f"{status.start}至{status.end}",
        ],
        [
            "提速50%以上的事项数（本期）",
            speed.faster_count,
            speed.goal,
            f"{data.period.start}至{data.period.end}",
        ],
        [
            "即办事项按时办结率（年度累计）",
            percent(status.instant_share),
            percent(status.instant_goal),
            f"{status.instant_in_time}/{status.instant_decided}",
        ],
    ]


def problem_rows(data) -> list[list]:
    v = data.values
    return [
        ["当前超期未办结案件", data.overdue_now],
        ["其中已超法定时限", data.breached_now],
        ["本期超法定时限标记", v.get("breaches", 0)],
        ["本期超时办结", v.get("completed_late", 0)],
        ["本期超期标记", v.get("overdue", 0)],
        ["本期好差评整改应答复", data.answered_rate.denominator],
        ["其中已答复", data.answered_rate.numerator],
        ["好差评整改在办", data.follow_ups.open if data.follow_ups else 0],
        ["其中已超答复时限", data.follow_ups.overdue if data.follow_ups else 0],
        ["其中已升级至局行风办", data.follow_ups.escalated if data.follow_ups else 0],
    ]


def write_leader(path_or_file, data, next_steps: str, about: list[tuple[str, Any]]) -> None:
    """One sheet per section: progress, outcomes, problems, next steps (and what it covers)."""
    book = Book()
    sheet = book.sheet(
        "进展", [("项目", 34), ("数值", 12), ("目标", 10), ("说明", 30)], table=False
    )
    for row in progress_rows(data, sheet.percent):
        sheet.append(row)
    sheet.append([])
    sheet.append(["一件事", "受理", "办结", "投入运行"])
    for b in data.programme.bundles:
        sheet.append(
            [
                f"{b.bundle.code} {b.bundle.name_zh}",
                b.received,
                b.concluded,
                YES if b.in_service else NO,
            ]
        )
    sheet.append([])
    sheet.append(["提速事项（本期）", "已计量", "提速50%以上"])
    for e in data.speedup.entries:
        sheet.append(
            [str(e.entry), YES if e.measured else NO, YES if e.at_least_half_faster else NO]
        )

    sheet = book.sheet("成效", FIGURE_HEADERS, table=False)
    for row in figure_rows(data.board, sheet.percent):
        sheet.append(row)
    sheet.append([])
    sheet.append(["好差评"])
    sheet.append(header_texts(RATING_HEADERS))
    for row in rate_rows(data.ratings, sheet.percent):
        sheet.append(row)

    sheet = book.sheet(
        "问题", [("项目", 30), ("数值", 16), ("", 12), ("", 12), ("", 30)], table=False
    )
    for row in problem_rows(data):
        sheet.append(row)
    sheet.append([])
    sheet.append(["进度滞后的单位", "按时办结率", "法定时限适用率", "超法定时限", "原因"])
    for u in data.units_behind:
        sheet.append(
            [
                u.row.unit.name_zh,
                sheet.percent(u.row.on_time_rate),
                sheet.percent(u.row.statutory_mode_rate),
                u.row.breaches,
                "；".join(REASONS[r] for r in u.reasons),
            ]
        )
    sheet.append([])
    sheet.append(["好差评滞后的单位", "评价率", "差评率", "应答复整改", "答复率", "原因"])
    for r in data.ratings_behind:
        f = r.row.figures
        sheet.append(
            [
                r.row.unit.name_zh,
                sheet.percent(f.rate("rating_rate").value),
                sheet.percent(f.rate("bad_rate").value),
                f["fu_due"],
                sheet.percent(f.rate("answered_rate").value),
                "；".join(RATING_REASONS[reason] for reason in r.reasons),
            ]
        )
    sheet.append([])
    sheet.append(["超期案件（最多20件）", "事项", "承办单位", "承诺期限", "已超法定时限"])
    for o in data.overdue_rows:
        sheet.append(
            [
                o.case.application.reference,
                o.case.item.name_zh,
                o.case.unit.name_zh,
                local(o.case.committed_due_at),
                YES if o.breached else NO,
            ]
        )

    sheet = book.sheet("下一步", [("下一步工作", 100)], table=False)
    sheet.append([sheet.wrapped(next_steps or "")])

    book.about(about)
    book.save(path_or_file)
