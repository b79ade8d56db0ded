"""The first draft of a circulated notice (通报) on a period: the period's figures (the
dashboard's), the improvement opinions found and whether they were rectified, the filings late
or missing, and the units' scores with the bonus and accountability lists. Written in Chinese,
the language notices are issued in; the leaders edit it before issuing."""

from __future__ import annotations

from datetime import datetime

from kuaiban.campaigns.models import Campaign, Finding
from kuaiban.campaigns.selectors import campaign_progress

from .selectors.common import Period
from .selectors.dashboard import dashboard
from .selectors.scores import unit_scores


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def notice_title(campaign: Campaign, period: Period) -> str:
    return f"关于{period.start:%Y年%m月%d日}至{period.end:%Y年%m月%d日}{campaign.name_zh}情况的通报"


def notice_body(campaign: Campaign, period: Period, now: datetime) -> str:
    board = dashboard({}, period)
    values = board.values
    on_time = _percent(values["on_time"] / values["concluded"] if values["concluded"] else None)
    satisfaction = board.ratings.rate("satisfaction_rate").value
    lines = [
        "各处室、各直属单位：",
        "",
        f"现将{period.start:%Y年%m月%d日}至{period.end:%Y年%m月%d日}{campaign.name_zh}"
        "推进情况通报如下。",
        "",
        "一、总体运行情况",
        f"本期受理办件{values['received']}件，办结{values['concluded']}件，"
        f"承诺时限内办结率{on_time}；逾期{values['overdue']}件，超法定时限{values['breaches']}件；"
        f"好差评满意率{_percent(satisfaction)}。",
        "",
        "二、考评验收发现的问题及整改情况",
    ]
    findings = list(
        Finding.objects.filter(
            evaluation__campaign=campaign,
            opened_at__date__gte=period.start,
            opened_at__date__lte=period.end,
        )
        .select_related("unit", "evaluation__bundle", "evaluation__speedup")
        .order_by("unit__code", "pk")
    )
    if not findings:
        lines.append("本期无新发现问题。")
    for n, finding in enumerate(findings, 1):
        state = f"已于{finding.closed_at:%m月%d日}整改到位" if finding.closed_at else "尚未整改到位"
        lines.append(
            f"{n}. {finding.unit.name_zh}（{finding.evaluation.subject.name_zh}）："
            f"{finding.text}（整改期限{finding.rectify_by:%Y年%m月%d日}，{state}）。"
        )
    lines += ["", "三、报送情况"]
    behind = campaign_progress(campaign, now).behind
    if not behind:
        lines.append("各单位均按时报送。")
    for task in behind:
        how = "逾期报送" if task.submitted_late else "逾期未报送"
        lines.append(f"{task.unit.name_zh}：{task.task.name_zh}{how}。")
    lines += ["", "四、考核得分"]
    scores = unit_scores(campaign, period, now)
    for score in scores:
        extra = f"（加{score.bonus}分）" if score.bonus else ""
        lines.append(f"{score.unit.name_zh}：{score.score}分{extra}")
    accountable = [s.unit.name_zh for s in scores if s.accountable]
    lines += [
        "",
        "五、下一步要求",
        "请"
        + ("、".join(accountable) + "等单位对照问题限期整改，" if accountable else "各单位")
        + "巩固提升快办成效，确保年底目标全面完成。",
        "",
        "局行风办",
    ]
    return "\n".join(lines)
