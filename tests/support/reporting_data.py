"""A small, hand-computable world for the reporting tests (fixed timestamps in January 2026).

Team red: c1 (high, alice, triaged +10 min, resolved +2 h, within SLA, 2 playbook events),
          c2 (critical, alice, triaged +30 min, unresolved; ack and resolve SLA breached),
          c3 (low, unassigned, untouched; ack and resolve SLA breached),
          c_old (red, created in December: outside the January range).
Team blue: c4 (medium, bob, triaged +50 min, resolved +4 h, no SLA, 1 playbook event).
Alerts: siem (feeds red) a1, a2 -> c1 (ip 10.0.0.1), a3 -> c2 (host web1), a6 queued (ip 10.0.0.9);
        edr (feeds blue) a4 -> c4 (ip 10.0.0.1), a5 queued (user mallory)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from alerts.models import Alert, AlertSource
from cases import roles
from cases.models import Case, CaseEvent, Team

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 10, 0, 0, tzinfo=UTC)
JAN_START = dt.datetime(2026, 1, 1, tzinfo=UTC)
FEB_START = dt.datetime(2026, 2, 1, tzinfo=UTC)
NOW = dt.datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def make_user(username, *groups, teams=(), superuser=False):
    User = get_user_model()
    # No password (tests sign in with force_login): hashing five passwords per test is slow.
    user = User.objects.create_user(username, f"{username}@example.org", None,
                                    is_superuser=superuser, is_staff=superuser)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    for team in teams:
        team.members.add(user)
    return user


def make_case(title, *, team, severity="medium", assignee=None, status=Case.Status.NEW, **stamps):
    case = Case.objects.create(title=title, team=team, severity=severity, assignee=assignee, status=status)
    Case.objects.filter(pk=case.pk).update(**stamps)
    case.refresh_from_db()
    return case


def make_alert(source, title, *, case=None, entity=("", ""), received_at=T0, severity="high", **fields):
    status = Alert.Status.IN_CASE if case else Alert.Status.QUEUED
    alert = Alert.objects.create(source=source, title=title, severity=severity, fingerprint=title, case=case,
                                 entity_type=entity[0], entity_value=entity[1], status=status,
                                 processing=Alert.Processing.DONE, **fields)
    Alert.objects.filter(pk=alert.pk).update(received_at=received_at)
    return alert


def _source(name, team):
    source = AlertSource(name=name, kind="generic", default_team=team)
    source.rotate_token()
    source.save()
    return source


def build_world():
    red = Team.objects.create(name="Red", slug="red")
    blue = Team.objects.create(name="Blue", slug="blue")
    alice = make_user("alice", roles.ANALYST, teams=[red])
    bob = make_user("bob", roles.ANALYST, teams=[blue])
    lead = make_user("rita", roles.LEAD, teams=[red])
    auditor = make_user("audrey", roles.AUDITOR)
    admin = make_user("root", superuser=True)

    c1 = make_case("c1 phishing", team=red, severity="high", assignee=alice, status=Case.Status.RESOLVED,
                   created_at=T0, triaged_at=T0 + 10 * MIN, resolved_at=T0 + 2 * HOUR,
                   sla_ack_due=T0 + HOUR, sla_resolve_due=T0 + 8 * HOUR)
    t2 = T0 + DAY
    c2 = make_case("c2 ransomware", team=red, severity="critical", assignee=alice, status=Case.Status.TRIAGED,
                   created_at=t2, triaged_at=t2 + 30 * MIN, sla_ack_due=t2 + 15 * MIN, sla_resolve_due=t2 + 4 * HOUR)
    t3 = T0 + DAY + 2 * HOUR
    c3 = make_case("c3 scan", team=red, severity="low", created_at=t3, sla_ack_due=t3 + 8 * HOUR,
                   sla_resolve_due=t3 + 72 * HOUR)
    t4 = T0 + 2 * DAY
    c4 = make_case("c4 malware", team=blue, severity="medium", assignee=bob, status=Case.Status.RESOLVED,
                   created_at=t4, triaged_at=t4 + 50 * MIN, resolved_at=t4 + 4 * HOUR)
    c_old = make_case("old red case", team=red, severity="info", created_at=dt.datetime(2025, 12, 1, tzinfo=UTC))
    for case in (c1, c1, c4):
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.PLAYBOOK, actor_label="automation")
    CaseEvent.objects.create(case=c2, kind=CaseEvent.Kind.NOTE, message="not automation")

    siem, edr = _source("siem", red), _source("edr", blue)
    alerts = SimpleNamespace(
        a1=make_alert(siem, "a1", case=c1, entity=("ip", "10.0.0.1"), received_at=T0),
        a2=make_alert(siem, "a2", case=c1, entity=("ip", "10.0.0.1"), received_at=T0 + HOUR, severity="medium"),
        a3=make_alert(siem, "a3", case=c2, entity=("host", "web1"), received_at=t2, severity="critical"),
        a4=make_alert(edr, "a4", case=c4, entity=("ip", "10.0.0.1"), received_at=t4),
        a5=make_alert(edr, "a5", entity=("user", "mallory"), received_at=t4, severity="low"),
        a6=make_alert(siem, "a6", entity=("ip", "10.0.0.9"), received_at=t3, severity="low"),
    )
    return SimpleNamespace(red=red, blue=blue, alice=alice, bob=bob, lead=lead, auditor=auditor, admin=admin,
                           c1=c1, c2=c2, c3=c3, c4=c4, c_old=c_old, siem=siem, edr=edr, alerts=alerts)
