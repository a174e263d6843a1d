"""The IMAP mailbox connector without a server (the real Dovecot runs in
tests/integration/test_imap_dovecot.py): a user's report unwrapped by the e-mail adapter, the
configuration the admin refuses, the SSRF guard, and the run's order (flag or move only once
the alerts are committed; the connection always closed).

The reported-phish samples are built with the standard library (tests/connectors/imap_messages.py):
no genuine public wrapper was found (searched rf-peixoto/phishing_pot, SpamScope/mail-parser and
the code index for message/rfc822 reports, "FW: Phishing", KnowBe4's phish_alert_*.eml; see
tests/fixtures/real/README.md, "Searched for but NOT found")."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from alerts.adapters.email import parse_raw
from alerts.models import Alert
from connectors import services
from connectors.fetchers import Page, imap
from connectors.models import PullConnector
from tests.connectors.imap_messages import REPORTER, SENDER, invoice_sha256, phish, report

pytestmark = pytest.mark.django_db


def test_report_wrapping_the_phish_as_message_rfc822_is_unwrapped():
    alert = parse_raw(report(phish(1)))
    assert alert.entity_value == SENDER and alert.category == "phishing"
    assert alert.title == "Reported e-mail: Your mailbox is full (1)"
    assert alert.source_ref == "<phish-1@payroll-update.example>"  # the original's, not the report's
    assert alert.raw["reporter"] == REPORTER and f"Reported by: {REPORTER}" in alert.description
    values = {(o.type, o.value) for o in alert.observables}
    assert ("hash", invoice_sha256(1)) in values
    assert ("email", "collect@drop-box.example") in values
    assert ("url", "https://login.payroll-update.example/reset?u=alice&n=1") in values
    assert not any(value.endswith("corp.example") for _, value in values)  # the reporter is no indicator


def test_report_with_the_phish_as_an_eml_file_is_unwrapped():
    wrapper = EmailMessage()
    wrapper["From"] = REPORTER
    wrapper["To"] = "phishing@corp.example"
    wrapper["Subject"] = "suspicious"
    wrapper.set_content("see attached")
    wrapper.add_attachment(phish(2).as_bytes(), maintype="application", subtype="octet-stream",
                           filename="Your mailbox is full.eml")
    alert = parse_raw(wrapper.as_bytes())
    assert alert.entity_value == SENDER and alert.raw["reporter"] == REPORTER
    assert ("hash", invoice_sha256(2)) in {(o.type, o.value) for o in alert.observables}


def test_a_phish_sent_straight_to_the_mailbox_has_no_reporter():
    alert = parse_raw(phish(3).as_bytes())
    assert alert.raw["reporter"] == "" and alert.category == "email" and alert.entity_value == SENDER


def form_data(source, **overrides):
    data = {"name": "phish-mailbox", "kind": "imap", "enabled": "on", "source": source.pk,
            "endpoint": "imaps://mail.corp.example:993", "username": "soc-phish", "secret": "app-password-1",
            "query": "", "options": '{"folder": "INBOX", "after": "move", "move_to": "Reported"}',
            "interval_seconds": 60, "page_size": 50, "timeout_seconds": 15, "cursor": "{}"}
    return {**data, **overrides}


def test_admin_creates_an_imap_mailbox_with_a_write_only_app_password(admin_client, make_source):
    source, _ = make_source(name="phish-source", kind="email")
    created = admin_client.post("/admin/connectors/pullconnector/add/", form_data(source))
    assert created.status_code == 302, created.content[:2000]
    connector = PullConnector.objects.get(name="phish-mailbox")
    assert connector.kind == "imap" and connector.secret == "app-password-1"
    page = admin_client.get(f"/admin/connectors/pullconnector/{connector.pk}/change/")
    assert page.status_code == 200 and b"app-password-1" not in page.content


def test_admin_refuses_an_imap_configuration_that_cannot_run(admin_client, make_source, settings):
    source, _ = make_source(name="phish-source", kind="email")
    cases = [
        (form_data(source, endpoint="https://mail.corp.example"), b"imaps://host[:993] (TLS)"),
        (form_data(source, endpoint="imaps://user:pw@mail.corp.example"), b"the user and app password have"),
        (form_data(source, username=""), b"The mailbox&#x27;s log-in"),
        (form_data(source, query="ALL"), b"Not used by the IMAP mailbox"),
        (form_data(source, options='{"tls": "none"}'), b"no encryption) is refused"),
        (form_data(source, options='{"tls": "ssl3"}'), b"tls: one of tls, starttls, none"),
        (form_data(source, options='{"keyword": "bad keyword)"}'), b"keyword: an IMAP keyword"),
        (form_data(source, options='{"folder": "In\\"box"}'), b"folder: a folder name"),
        (form_data(source, options='{"after": "move"}'), b"move_to: the folder processed messages go to"),
        (form_data(source, options='{"after": "delete"}'), b"after: flag or move"),
        (form_data(source, options='{"max_message_bytes": 10}'), b"max_message_bytes: between"),
    ]
    for data, message in cases:
        response = admin_client.post("/admin/connectors/pullconnector/add/", data)
        assert response.status_code == 200 and message in response.content, message
    elastic, _ = make_source(name="es-source", kind="elastic")
    response = admin_client.post("/admin/connectors/pullconnector/add/", form_data(elastic))
    assert response.status_code == 200 and b"alert source of kind email" in response.content
    assert not PullConnector.objects.exists()
    # Without encryption only where a setting allows it (a loopback test server).
    settings.SOAR_CONNECTOR_IMAP_ALLOW_PLAIN = True
    allowed = admin_client.post("/admin/connectors/pullconnector/add/",
                                form_data(source, endpoint="imap://127.0.0.1:1143", options='{"tls": "none"}'))
    assert allowed.status_code == 302


def make_mailbox(make_source, **fields):
    source, _ = make_source(name="phish-source", kind="email")
    fields = {"endpoint": "imaps://127.0.0.1:993", **fields}
    return PullConnector.objects.create(name="phish", kind="imap", username="soc-phish", secret="app-password-1",
                                        source=source, timeout_seconds=2, **fields)


def test_the_ssrf_guard_refuses_a_private_mail_server(make_source, settings):
    settings.SOAR_SSRF_ALLOWLIST = []
    connector = make_mailbox(make_source)
    result = services.run_connector(connector.pk, ignore_schedule=True)
    assert result.status == "failed" and "not a public address" in result.error
    connector.refresh_from_db()
    assert connector.consecutive_failures == 1 and "app-password-1" not in connector.last_error


def test_plain_imap_is_refused_at_run_time_when_the_setting_is_off(make_source, settings):
    connector = make_mailbox(make_source, endpoint="imap://127.0.0.1:143", options={"tls": "none"})
    settings.SOAR_CONNECTOR_IMAP_ALLOW_PLAIN = False
    result = services.run_connector(connector.pk, ignore_schedule=True)
    assert result.status == "failed" and "tls: none is refused" in result.error


def test_messages_are_marked_only_once_their_alerts_are_committed(make_source, monkeypatch):
    connector = make_mailbox(make_source)
    calls: list[str] = []

    def page(connector, cursor):
        return Page(records=[(imap.message_key(b"x"), report(phish(9)))], cursor=cursor,
                    acknowledge=lambda: calls.append(f"ack after {Alert.objects.count()} alert(s), lease held: "
                                                     f"{bool(PullConnector.objects.get(pk=connector.pk).lease_token)}"),
                    release=lambda: calls.append("release"))

    monkeypatch.setattr(services, "fetch_page", page)
    assert services.run_connector(connector.pk, ignore_schedule=True).created == 1
    assert calls == ["ack after 1 alert(s), lease held: True", "release"]
    connector.refresh_from_db()
    assert connector.lease_token == "" and connector.lease_until is None

    # Storing fails (rolled back): nothing is marked on the server, the connection is closed.
    calls.clear()

    def broken_ingest(source, records):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "ingest_pulled", broken_ingest)
    result = services.run_connector(connector.pk, ignore_schedule=True)
    assert result.status == "failed" and calls == ["release"]


def test_a_failed_flag_is_a_warning_and_the_run_stays_ok(make_source, monkeypatch):
    connector = make_mailbox(make_source)

    def lost():
        raise imap.FetchError("phish: UID STORE failed (connection reset by app-password-1)")

    monkeypatch.setattr(services, "fetch_page", lambda c, cursor: Page(
        records=[("k", phish(10).as_bytes())], cursor=cursor, acknowledge=lost))
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "ok"
    connector.refresh_from_db()
    assert connector.consecutive_failures == 0 and "read again next run" in connector.last_warning
    assert connector.lease_token == ""  # released after a failed marking too
    assert "app-password-1" not in connector.last_warning


def test_fetch_reads_the_uid_before_or_after_the_message_literal(make_source):
    """Dovecot answers ``UID n`` before the literal; other servers after it (the text after the
    literal is its own element in imaplib's answer)."""

    class Client:
        def uid(self, command, uid_set, items):
            assert command == "FETCH" and uid_set == "7,9" and items == "(UID BODY.PEEK[]<0.10000000>)"
            return "OK", [(b"1 (UID 7 BODY[]<0> {5}", b"first"), b")",
                          (b"2 (BODY[]<0> {6}", b"second"), b" UID 9)"]

    mailbox = imap.Mailbox(make_mailbox(make_source), dict(imap.DEFAULTS))
    mailbox.client = Client()
    assert mailbox.fetch([7, 9]) == [(7, b"first"), (9, b"second")]


def test_every_user_who_reports_the_same_phish_is_recorded_and_shown_on_the_case(make_source, monkeypatch, client):
    """The second report of a phish is a re-send of the first report's alert (one alert, two
    occurrences); its reporter is added to that alert, once, and the case page lists them."""
    from django.urls import reverse

    from tests.factories import build_world

    connector = make_mailbox(make_source)
    bob = "Bob Builder <bob@corp.example>"
    pages = [[report(phish(11), n=1)], [report(phish(11), reporter=bob, n=2)],
             # Bob's report read again (a crash before the flag), and Alice's address in another form.
             [report(phish(11), reporter=bob, n=2), report(phish(11), reporter="ALICE@corp.example", n=3)]]
    monkeypatch.setattr(services, "fetch_page", lambda c, cursor: Page(
        records=[(imap.message_key(raw), raw) for raw in pages.pop(0)], cursor=cursor))
    for _ in range(3):
        assert services.run_connector(connector.pk, ignore_schedule=True).status == "ok"

    alert = Alert.objects.get()
    assert alert.occurrence_count == 4
    assert alert.raw["reporter"] == REPORTER and alert.raw["reporters"] == [REPORTER, bob]
    assert f"Reported by: {REPORTER}\nAlso reported by: {bob}\n" in alert.description
    assert alert.description.count("Also reported by") == 1

    world = build_world()
    Alert.objects.filter(pk=alert.pk).update(case=world.blue_case)
    client.force_login(world.analyst)
    page = client.get(reverse("cases:detail", args=[world.blue_case.pk])).content.decode()
    assert "Reported by Alice Analyst &lt;alice@corp.example&gt;, Bob Builder &lt;bob@corp.example&gt;" in page
    alert_page = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert "Also reported by: Bob Builder &lt;bob@corp.example&gt;" in alert_page
