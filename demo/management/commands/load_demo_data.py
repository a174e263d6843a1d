"""Demo data for a first look: roles, two teams, users, one source per adapter, a few hundred
alerts through the real ingestion and correlation, cases in every status, the example playbooks
with demo connectors (``demo://``: they record what they would send, nothing leaves), one
containment run that went end to end and approvals waiting for a SOC lead.

Everything is dated in the past: no timestamp is later than the moment the command started
(the dashboard's counts must not creep up while nothing arrives).

Idempotent: a second run only re-checks roles, teams and users (alerts/cases are loaded once)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from alerts import services as alert_services
from alerts.correlation import process_alerts, promote_alerts
from alerts.models import Alert, AlertSource, CorrelationRule
from cases import services
from cases.models import Case, CaseEvent, Team
from demo.payloads import BUILDERS, payloads
from playbooks.services.demo_setup import ensure_demo_connectors, run_demo_playbooks

PASSWORD = "soar-demo-123"  # noqa: S105 - the documented demo password; refused in production
USERS = [
    # username, roles, teams, superuser
    ("admin", ["admin"], [], True),
    ("lead1", ["lead"], ["Blue Team", "Red Team"], False),
    ("analyst1", ["analyst"], ["Blue Team"], False),
    ("analyst2", ["analyst"], ["Red Team"], False),
    ("auditor1", ["auditor"], [], False),
]
SOURCE_TEAMS = {"generic": "Blue Team", "elastic": "Blue Team", "splunk": "Blue Team", "email": "Blue Team",
                "wazuh": "Red Team", "suricata": "Red Team", "alertmanager": "Red Team"}
ALERTS_PER_SOURCE = {"generic": 60, "elastic": 50, "splunk": 50, "wazuh": 50, "suricata": 50, "alertmanager": 20,
                     "email": 30}
STATUS_PLAN = ["NEW", "TRIAGED", "IN_PROGRESS", "RESOLVED", "CLOSED", "NEW", "IN_PROGRESS", "CLOSED", "REOPENED"]
TAGS = ["phishing", "brute-force", "malware", "false-positive", "vip", "needs-review", "lateral-movement"]
NOTES = [
    "Checked the **firewall logs**: traffic blocked at the edge after 10:42.",
    "Contacted the user by phone; they did *not* initiate the login.\n\n- password reset\n- MFA re-enrolled",
    "IOC matches an open threat-intel report. Escalating to the lead.",
    "False positive: scheduled vulnerability scan from the security team.",
]


class Command(BaseCommand):
    help = "Load demo users, teams, sources, alerts and cases (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, seed=42, **options):
        if settings.PRODUCTION:
            raise CommandError("Refusing to create demo users with a published password when SOAR_ENV=production.")
        self.rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not a secret
        self.now = timezone.now()  # the latest moment any loaded timestamp may have
        call_command("setup_roles", stdout=open("/dev/null", "w"))  # noqa: SIM115
        teams = {name: Team.objects.get_or_create(name=name, defaults={"slug": name.lower().replace(" ", "-")})[0]
                 for name in ("Blue Team", "Red Team")}
        users = self._users(teams)
        if AlertSource.objects.filter(name__startswith="demo-").exists():
            self.stdout.write("Demo alerts and cases are already loaded; users and roles re-checked.")
        else:
            tokens = self._sources(teams)
            self._rule()
            self._alerts()
            self._cases(users)
            self._playbooks(users)
            self.stdout.write("\nSource tokens (shown once; rotate them in the admin):")
            for name, token in tokens.items():
                self.stdout.write(f"  {name:<18} {token}")
        self.stdout.write(f"\nCases: {Case.objects.count()}, alerts: {Alert.objects.count()}")
        self.stdout.write("\nLog in at http://127.0.0.1:8000/ with:")
        self.stdout.write("  admin / admin              (superuser, admin console at /admin/)")
        for username, roles, team_names, _ in USERS[1:]:
            where = ", ".join(team_names) or "all teams (read-only)"
            self.stdout.write(f"  {username + ' / ' + PASSWORD:<26} ({roles[0]}; {where})")

    def _users(self, teams):
        User = get_user_model()
        users = {}
        for username, roles, team_names, superuser in USERS:
            user, created = User.objects.get_or_create(username=username, defaults={
                "email": f"{username}@example.com", "is_superuser": superuser, "is_staff": superuser})
            if created:
                user.set_password("admin" if username == "admin" else PASSWORD)
                user.save()
            user.groups.add(*Group.objects.filter(name__in=roles))
            for name in team_names:
                teams[name].members.add(user)
            users[username] = user
        return users

    def _sources(self, teams) -> dict[str, str]:
        tokens = {}
        for kind in BUILDERS:
            source = AlertSource(name=f"demo-{kind}", kind=kind, description=f"Demo {kind} sender",
                                 default_team=teams[SOURCE_TEAMS[kind]])
            tokens[source.name] = source.rotate_token()
            source.save()
        return tokens

    def _rule(self):
        CorrelationRule.objects.get_or_create(name="Severe alerts by entity (demo)", defaults={
            "key": "entity", "window_minutes": 60, "min_severity": "high", "min_confidence": 70,
            "threshold_mode": "any", "priority": 500})

    def _alerts(self):
        now = self.now
        for kind, count in ALERTS_PER_SOURCE.items():
            source = AlertSource.objects.get(name=f"demo-{kind}")
            stored = alert_services.ingest(source, payloads(kind, self.rng, count, now), batch=True)
            # With a broker the workers process them too; processing twice is a no-op.
            process_alerts([s.id for s in stored if s.created])

    def _cases(self, users):
        now = self.now
        # Some queued alerts become cases by hand, as an analyst would from the alert queue.
        for team_name, analyst in (("Blue Team", "analyst1"), ("Red Team", "analyst2")):
            team = Team.objects.get(name=team_name)
            queued = list(Alert.objects.filter(case__isnull=True, source__default_team=team)
                          .values_list("pk", flat=True)[:3])
            if queued:
                promote_alerts(queued, actor=users[analyst], team=team)
        cases = list(Case.objects.select_related("team").order_by("pk"))
        for index, case in enumerate(cases):
            plan = STATUS_PLAN[index % len(STATUS_PLAN)]
            # Open cases are recent (a SOC does not leave them for weeks); finished ones span the fortnight.
            age = timedelta(hours=self.rng.uniform(0.1, 6)) if plan in ("NEW", "TRIAGED", "IN_PROGRESS") \
                else timedelta(days=self.rng.uniform(1, 14))
            self._spread_in_time(case, now - age)
            self._work_on(case, plan, users)
        # Queued alerts arrive over the fortnight too.
        for alert_id in Alert.objects.filter(case__isnull=True).values_list("pk", flat=True):
            moment = now - timedelta(minutes=self.rng.randint(5, 14 * 24 * 60))
            Alert.objects.filter(pk=alert_id).update(received_at=moment, last_seen_at=moment, occurred_at=moment)

    def _spread_in_time(self, case, start):
        alert_ids = list(case.alerts.order_by("pk").values_list("pk", flat=True))
        # A case's alerts arrive a few minutes apart, all between its creation and now: a recent
        # case with many alerts gets them closer together rather than "received" in the future.
        room = (self.now - start) / max(len(alert_ids), 1)
        for offset, alert_id in enumerate(alert_ids):
            step = min(timedelta(minutes=self.rng.randint(1, 7)), room)
            moment = min(start + offset * step, self.now)
            Alert.objects.filter(pk=alert_id).update(received_at=moment, last_seen_at=moment, occurred_at=moment)
        Case.objects.filter(pk=case.pk).update(created_at=start)
        case.created_at = start
        services.apply_sla(case)
        Case.objects.filter(pk=case.pk).update(sla_ack_due=case.sla_ack_due, sla_resolve_due=case.sla_resolve_due)
        CaseEvent.objects.filter(case=case).update(created_at=start)

    @transaction.atomic
    def _work_on(self, case, plan: str, users):
        team = case.team.name if case.team else "Blue Team"
        analyst = users["analyst1" if team == "Blue Team" else "analyst2"]
        actor = analyst
        path = {"NEW": [], "TRIAGED": ["TRIAGED"], "IN_PROGRESS": ["TRIAGED", "IN_PROGRESS"],
                "RESOLVED": ["TRIAGED", "IN_PROGRESS", "RESOLVED"],
                "CLOSED": ["TRIAGED", "IN_PROGRESS", "RESOLVED", "CLOSED"],
                "REOPENED": ["TRIAGED", "IN_PROGRESS", "RESOLVED", "CLOSED", "IN_PROGRESS"]}[plan]
        if plan != "NEW" or self.rng.random() < 0.5:
            services.assign_case(case, analyst, actor=users["lead1"])
        if self.rng.random() < 0.6:
            services.change_tags(case, add=self.rng.sample(TAGS, self.rng.randint(1, 2)), actor=actor)
        for step, status in enumerate(path):
            if status == "IN_PROGRESS" and step == 1 and self.rng.random() < 0.7:
                services.add_note(case, self.rng.choice(NOTES), actor=actor)
            reason = "New alerts after closure; the host is still beaconing." if step == 4 else ""
            verdict = self.rng.choice(("true-positive", "false-positive", "benign")) if status == "RESOLVED" else ""
            services.transition_case(case, status, actor=actor, reason=reason, resolution=verdict,
                                     summary="Checked the alerts and the host; see the notes." if verdict else "")
        self._realistic_times(case)

    def _realistic_times(self, case):
        """Move lifecycle timestamps and their timeline entries to plausible moments after creation."""
        case.refresh_from_db()
        moment = case.created_at
        stamps = {}
        now = self.now
        for field, low, high in (("triaged_at", 2, 40), ("in_progress_at", 5, 60), ("resolved_at", 20, 240),
                                 ("closed_at", 30, 600)):
            if getattr(case, field) is None:
                break
            moment = min(moment + timedelta(minutes=self.rng.randint(low, high)), now)
            stamps[field] = moment
        if stamps:
            Case.objects.filter(pk=case.pk).update(**stamps)
        latest = max(stamps.values(), default=case.created_at)
        by_status = {"TRIAGED": "triaged_at", "IN_PROGRESS": "in_progress_at", "RESOLVED": "resolved_at",
                     "CLOSED": "closed_at"}
        for event in CaseEvent.objects.filter(case=case).exclude(kind=CaseEvent.Kind.CREATED):
            if event.kind == CaseEvent.Kind.STATUS_CHANGED:
                when = stamps.get(by_status.get(event.data.get("to", ""), ""), latest)
                if event.data.get("reopen"):
                    when = latest + timedelta(hours=2)
            elif event.kind == CaseEvent.Kind.ALERT_ATTACHED or event.kind == CaseEvent.Kind.SEVERITY_CHANGED:
                when = case.created_at
            else:
                when = stamps.get("triaged_at", case.created_at) + timedelta(minutes=self.rng.randint(1, 20))
            CaseEvent.objects.filter(pk=event.pk).update(created_at=min(when, now))

    def _playbooks(self, users):
        """The example playbooks, enabled, with demo connectors; containment on three open cases
        that name a host (one approved and done, two waiting for a lead) and one escalation."""
        call_command("load_demo_playbooks", enable=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
        ensure_demo_connectors()
        open_cases = Case.objects.filter(status__in=Case.OPEN_STATUSES, merged_into__isnull=True).order_by("pk")
        with_host = list(open_cases.filter(observables__type="hostname").distinct()[:3])
        escalate = open_cases.exclude(pk__in=[c.pk for c in with_host]).first()
        run_demo_playbooks(contain=with_host, escalate=escalate, approver=users["lead1"])
