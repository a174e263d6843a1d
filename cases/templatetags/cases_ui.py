"""Badges and markdown for the analyst pages. Everything goes through format_html/escaping;
only sanitized markdown output is marked safe."""

from datetime import UTC, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from cases.markdown import render_markdown
from cases.models import Case
from cases.templatetags.timefmt import absolute, relative, utc_title

register = template.Library()
SOON = timedelta(hours=1)


@register.filter(name="markdown")
def markdown_filter(text):
    return mark_safe(render_markdown(text))  # noqa: S308 - nh3-sanitized allow-list output


@register.simple_tag
def severity_badge(severity):
    return format_html('<span class="badge sev sev-{}">{}</span>', severity, str(severity).capitalize())


@register.simple_tag
def status_pill(status):
    try:
        label = Case.Status(status).label
    except ValueError:
        label = status
    return format_html('<span class="pill st-{}">{}</span>', str(status).lower(), label)


@register.simple_tag
def sla_badge(case):
    """Breached / due soon / on track, from the case's due times (no query)."""
    if case.sla_breached:
        which = "ack" if case.sla_ack_breached else "resolve"
        return format_html('<span class="badge sla sla-breached" title="SLA {} target missed">SLA breached</span>',
                           which)
    if case.status in (Case.Status.RESOLVED, Case.Status.CLOSED) or not case.sla_resolve_due:
        return format_html('<span class="badge sla sla-met">{}</span>', "SLA met" if case.sla_resolve_due else "—")
    now = timezone.now()
    due = case.sla_ack_due if case.triaged_at is None and case.sla_ack_due else case.sla_resolve_due
    if due - now < SOON:
        return format_html('<span class="badge sla sla-soon" title="due {}">due soon</span>', due.isoformat())
    return format_html('<span class="badge sla sla-ok" title="due {}">on track</span>', due.isoformat())


@register.simple_tag
def sla_countdown(case):
    """The time left on the SLA target that applies now ("in 40 min", "missed 2 h ago"): the
    acknowledge target while the case is untriaged, then the resolve target. Closed cases
    show whether the target was met. No query."""
    if case.status in (Case.Status.RESOLVED, Case.Status.CLOSED):
        if not case.sla_resolve_due:
            return "—"
        return format_html('<span class="sla-countdown {}">{}</span>', *(
            ("sla-breached", "missed") if case.sla_breached else ("sla-met", "met")))
    untriaged = case.triaged_at is None and case.sla_ack_due
    due = case.sla_ack_due if untriaged else case.sla_resolve_due
    if not due:
        return "—"
    target = "acknowledge" if untriaged else "resolve"
    now = timezone.now()
    if due <= now:
        text, state = f"missed {relative(due, now)}", "sla-breached"
    else:
        text, state = relative(due, now), "sla-soon" if due - now < SOON else "sla-ok"
    return format_html('<time class="sla-countdown {}" datetime="{}" title="{} due {} · {}">{}</time>', state,
                       due.astimezone(UTC).isoformat(), target.capitalize(), absolute(due), utc_title(due), text)
