"""Realistic alert payloads in each adapter's own format, for `manage.py load_demo_data`."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

ATTACKER_IPS = [f"203.0.113.{n}" for n in (7, 12, 19, 23, 41, 55, 66, 77, 88, 99, 120, 145, 171, 200, 222)]
INTERNAL_IPS = [f"10.20.{a}.{b}" for a, b in ((1, 10), (1, 11), (2, 20), (3, 5), (4, 44), (5, 50), (6, 61))]
# The Red Team's sensors watch another network, so their alerts correlate among themselves.
RED_IPS = [f"198.51.100.{n}" for n in (3, 14, 27, 38, 45, 59, 64, 72, 86, 93, 108, 131)]
RED_HOSTS = ["k8s-node-01.lab.example.net", "k8s-node-02.lab.example.net", "ci-runner.lab.example.net",
             "grafana.lab.example.net", "nfs-01.lab.example.net"]
HOSTS = ["bastion-01.example.com", "web-01.example.com", "web-02.example.com", "db-01.example.com",
         "mail.example.com", "vpn-gw-01.example.com", "ws-alice.example.com", "ws-bob.example.com",
         "ws-carol.example.com", "build-01.example.com"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "svc-backup", "root"]
BAD_DOMAINS = ["update-check.example.test", "cdn-login.example.test", "parcel-track.example.test",
               "invoice-portal.example.test", "c2.badcorp.example.test"]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def generic(rng: random.Random, when: datetime, n: int) -> dict:
    ip, user = rng.choice(ATTACKER_IPS), rng.choice(USERS)
    title, category, sev = rng.choice([
        ("Brute force against VPN", "credential-access", "high"),
        ("Impossible travel login", "initial-access", "medium"),
        ("MFA fatigue: repeated push denials", "credential-access", "high"),
        ("Login from TOR exit node", "initial-access", "critical"),
    ])
    return {"title": title, "severity": sev, "source_ref": f"vpnmon-{n:05d}",
            "confidence": rng.choice([40, 60, 80, 95]),
            "category": category, "description": f"Suspicious activity for {user} from {ip}.",
            "entity": {"type": "ip", "value": ip},
            "observables": [{"type": "user", "value": user}, {"type": "domain", "value": "vpn.example.com"}],
            "occurred_at": _iso(when), "data": {"attempts": rng.randint(5, 120)}}


def elastic(rng: random.Random, when: datetime, n: int) -> dict:
    host, user = rng.choice(HOSTS), rng.choice(USERS)
    rule, sev, risk = rng.choice([
        ("Potential SSH Brute Force Detected", "medium", 47),
        ("Suspicious PowerShell Encoded Command", "high", 73),
        ("Credential Dumping via LSASS Access", "critical", 99),
        ("Unusual Parent-Child Process", "low", 21),
    ])
    return {"@timestamp": _iso(when), "kibana.alert.uuid": f"demo-elastic-{n:05d}", "kibana.alert.rule.name": rule,
            "kibana.alert.severity": sev, "kibana.alert.risk_score": risk,
            "kibana.alert.reason": f"process event on {host} by {user} created {sev} alert {rule}.",
            "host.name": host, "user.name": user, "source.ip": rng.choice(ATTACKER_IPS + INTERNAL_IPS)}


def splunk(rng: random.Random, when: datetime, n: int) -> dict:
    search, urgency = rng.choice([("Excessive Failed Logins", "high"), ("Web Proxy Malware Download", "critical"),
                                  ("Rare Process on Server", "medium"), ("New Local Admin Account", "high")])
    src, user = rng.choice(ATTACKER_IPS), rng.choice(USERS)
    return {"sid": f"scheduler__demo__search__{n:05d}", "search_name": search, "app": "search", "owner": "admin",
            "result": {"_time": str(int(when.timestamp())), "_cd": f"{n}:1", "src": src, "user": user,
                       "dest": rng.choice(HOSTS), "urgency": urgency, "count": str(rng.randint(3, 90))}}


def wazuh(rng: random.Random, when: datetime, n: int) -> dict:
    description, level, groups = rng.choice([
        ("sshd: brute force trying to get access to the system.", 10, ["syslog", "sshd", "authentication_failures"]),
        ("Integrity checksum changed.", 7, ["ossec", "syscheck"]),
        ("Successful sudo to ROOT executed.", 3, ["syslog", "sudo"]),
        ("Multiple web server 400 error codes from same source ip.", 12, ["web", "accesslog"]),
    ])
    agent, src = rng.choice(RED_HOSTS), rng.choice(RED_IPS)
    return {"timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "rule": {"level": level, "description": description, "id": str(5700 + level), "groups": groups},
            "agent": {"id": f"{RED_HOSTS.index(agent):03d}", "name": agent}, "id": f"demo.{n}",
            "full_log": f"{description} srcip={src}",
            "data": {"srcip": src, "dstuser": rng.choice(USERS)}, "location": "/var/log/auth.log"}


def suricata(rng: random.Random, when: datetime, n: int) -> dict:
    signature, category, severity = rng.choice([
        ("ET EXPLOIT Apache Log4j RCE Attempt (CVE-2021-44228)", "Attempted Administrator Privilege Gain", 1),
        ("ET SCAN Nmap Scripting Engine User-Agent Detected", "Web Application Attack", 2),
        ("ET INFO Observed DNS Query to .test TLD", "Potentially Bad Traffic", 3),
        ("ET MALWARE Cobalt Strike Beacon Observed", "A Network Trojan was detected", 1),
    ])
    return {"timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000000+0000"), "flow_id": 900000000000000 + n,
            "event_type": "alert", "src_ip": rng.choice(RED_IPS), "src_port": rng.randint(1024, 65000),
            "dest_ip": rng.choice(INTERNAL_IPS), "dest_port": rng.choice([80, 443, 53, 22]), "proto": "TCP",
            "alert": {"action": "allowed", "gid": 1, "signature_id": 2020000 + severity * 100 + n % 7, "rev": 1,
                      "signature": signature, "category": category, "severity": severity},
            "http": {"hostname": rng.choice(BAD_DOMAINS), "url": "/"}}


def alertmanager(rng: random.Random, when: datetime, n: int) -> dict:
    name, severity, summary = rng.choice([
        ("InstanceDown", "critical", "Instance {} down"),
        ("HighErrorRate", "warning", "High 5xx error rate on {}"),
        ("DiskAlmostFull", "warning", "Disk almost full on {}"),
    ])
    instance = f"{rng.choice(RED_HOSTS)}:9100"
    return {"version": "4", "status": "firing", "receiver": "mini-soar", "groupLabels": {"alertname": name},
            "commonLabels": {"alertname": name, "job": "node"}, "commonAnnotations": {},
            "alerts": [{"status": "firing",
                        "labels": {"alertname": name, "instance": instance, "job": "node", "severity": severity},
                        "annotations": {"summary": summary.format(instance)},
                        "startsAt": _iso(when), "endsAt": "0001-01-01T00:00:00Z",
                        "fingerprint": f"demo{n:012x}"}]}


def email(rng: random.Random, when: datetime, n: int) -> dict:
    domain = rng.choice(BAD_DOMAINS)
    subject = rng.choice(["Your parcel could not be delivered", "Invoice overdue - action required",
                          "Password expires today", "Shared document: Q4 salaries.xlsx"])
    return {"message_id": f"<demo-{n}@{domain}>", "from": f"no-reply@{domain}",
            "to": [f"{rng.choice(USERS)}@example.com"],
            "subject": subject, "body": f"Please act now: https://{domain}/r/{n}",
            "received_at": when.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "urls": [f"https://{domain}/r/{n}"],
            "reporter": f"{rng.choice(USERS)}@example.com", "severity": rng.choice(["medium", "high"])}


BUILDERS = {"generic": generic, "elastic": elastic, "splunk": splunk, "wazuh": wazuh, "suricata": suricata,
            "alertmanager": alertmanager, "email": email}


def payloads(kind: str, rng: random.Random, count: int, now: datetime) -> list[dict]:
    return [BUILDERS[kind](rng, now - timedelta(minutes=rng.randint(1, 60)), n) for n in range(count)]
