"""The operation evaluation of an acceptance evaluation (考评验收): the dashboard's own figures
for the evaluated bundle (or for each item of the speed-up entry) over the evaluation's period,
so the evaluation and the dashboard never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model

from kuaiban.campaigns.models import Evaluation

from .common import Period
from .dashboard import Dashboard, dashboard


@dataclass
class OperationFigures:
    subject: Model
    filters: dict
    board: Dashboard

    def value(self, key: str) -> int:
        return self.board.values[key]


def operation_figures(evaluation: Evaluation) -> list[OperationFigures]:
    period = Period(evaluation.period_start, evaluation.period_end)
    scopes: list[tuple[Model, dict]] = []
    if evaluation.bundle is not None:
        scopes = [(evaluation.bundle, {"bundle": evaluation.bundle.pk})]
    elif evaluation.speedup is not None:
        scopes = [(item, {"item": item.pk}) for item in evaluation.speedup.items.order_by("code")]
    return [OperationFigures(subject, f, dashboard(f, period)) for subject, f in scopes]
