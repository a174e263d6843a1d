from django import template

from playbooks.badges import BADGE_CAP, badge_counts
from playbooks.panel import panel_context

register = template.Library()


@register.inclusion_tag("playbooks/_case_panel.html", takes_context=True)
def case_playbook_panel(context, case):
    """Runs with per-step status, pending approvals (approve/deny for allowed users) and the
    run / dry-run form; refreshed live by static/js/playbooks.js while a run is active."""
    return panel_context(context.get("request"), case)


STATUS_CSS = {
    "succeeded": "ok", "dry_run": "info", "would_run": "info", "running": "busy", "queued": "busy",
    "retrying": "warn", "waiting_approval": "warn", "pending": "muted", "failed": "bad", "denied": "bad",
    "skipped": "muted",
}


@register.filter
def run_status_css(status: str) -> str:
    return f"pb-status pb-{STATUS_CSS.get(status, 'muted')}"


@register.inclusion_tag("playbooks/_nav_badges.html", takes_context=True)
def nav_badges(context):
    """Approvals waiting for me / open cases assigned to me, kept live by static/js/live.js."""
    request = context.get("request")
    return {"badges": badge_counts(request.user) if request is not None else {"approvals": 0, "assigned": 0},
            "live_badge_seconds": context.get("live_badge_seconds", 30)}


@register.filter
def badge_count(count: int) -> str:
    """A navigation badge's number: "99+" from ``BADGE_CAP`` on (the counts stop there)."""
    return f"{BADGE_CAP - 1}+" if count >= BADGE_CAP else str(count)
