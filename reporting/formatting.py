"""Human-readable figures for the dashboard and the report e-mails."""

from __future__ import annotations


def duration(seconds) -> str:
    if seconds is None:
        return "n/a"
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s"


def percent(rate) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def breakdown_rows(rows: list[dict]) -> list[dict]:
    """Per-team/per-analyst rows with their durations and rate formatted."""
    return [{**row, "name": row.get("team", row.get("analyst")), "mtta": duration(row["mtta_seconds"]),
             "mttr": duration(row["mttr_seconds"]), "automation": percent(row["automation_rate"])}
            for row in rows]


def false_positive_rows(rows: list[dict]) -> list[dict]:
    """Per-rule/source/detection rows with the rate as a percentage."""
    return [{**row, "rate": percent(row["false_positive_rate"])} for row in rows]


def figures_context(summary: dict) -> dict:
    """The template context both the dashboard and the report e-mail build from a summary."""
    cases = summary["cases"]
    return {
        "summary": summary,
        "cases": cases,
        "mtta": duration(cases["mtta_seconds"]),
        "mttr": duration(cases["mttr_seconds"]),
        "automation": percent(cases["automation_rate"]),
        "per_team": breakdown_rows(summary["per_team"]),
        "per_analyst": breakdown_rows(summary["per_analyst"]),
        **_false_positive_context(summary.get("false_positives")),
    }


def _false_positive_context(figures: dict | None) -> dict:
    """Absent from summaries cached before the figures existed: empty tables then."""
    figures = figures or {}
    return {
        "fp": figures,
        "fp_rate": percent(figures.get("false_positive_rate")),
        "fp_per_rule": false_positive_rows(figures.get("per_rule", [])),
        "fp_per_source": false_positive_rows(figures.get("per_source", [])),
        "fp_per_detection": false_positive_rows(figures.get("per_detection", [])),
    }
