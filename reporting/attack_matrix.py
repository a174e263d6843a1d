"""The ATT&CK matrix of the dashboard (/reports/attack/): per tactic, in matrix order, the
techniques seen in the report's range with how many cases (created in the range, carrying the
technique) and alerts (received in the range, mapped to it) the user may see. Three queries
(case counts, alert counts, the techniques with their tactics), whatever the range."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from attack import selectors as attack_selectors
from cases.roles import Actor
from reporting.selectors import ReportScope, scoped_alerts, scoped_cases


@dataclass
class MatrixCell:
    technique: Any  # attack.models.Technique
    cases: int
    alerts: int


@dataclass
class MatrixColumn:
    tactic: Any  # attack.models.Tactic
    cells: list[MatrixCell] = field(default_factory=list)


@dataclass
class AttackMatrix:
    columns: list[MatrixColumn]
    techniques_seen: int
    cases: int  # cases of the range with at least one technique
    alerts: int  # alerts of the range with at least one technique


def attack_matrix(user: Actor, scope: ReportScope) -> AttackMatrix:
    cases = scoped_cases(user, scope).filter(techniques__isnull=False)
    alerts = scoped_alerts(user, scope).filter(techniques__isnull=False)
    case_counts = dict(cases.order_by().values_list("techniques").annotate(n=Count("pk", distinct=True)))
    alert_counts = dict(alerts.order_by().values_list("techniques").annotate(n=Count("pk", distinct=True)))
    seen = set(case_counts) | set(alert_counts)
    columns = {tactic.pk: MatrixColumn(tactic) for tactic in attack_selectors.matrix_tactics()}
    for technique in attack_selectors.techniques_with_tactics(seen):
        cell = MatrixCell(technique, case_counts.get(technique.pk, 0), alert_counts.get(technique.pk, 0))
        for tactic in technique.tactics.all():
            if tactic.pk in columns:
                columns[tactic.pk].cells.append(cell)
    for column in columns.values():
        column.cells.sort(key=lambda c: (-c.cases, -c.alerts, c.technique.external_id))
    return AttackMatrix(list(columns.values()), len(seen), cases.values("pk").distinct().count(),
                        alerts.values("pk").distinct().count())
