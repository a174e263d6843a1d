"""Safe action: notify people by e-mail (SMTP) or in a chat channel (Slack-compatible webhook).

Notifications are at-least-once: a chat webhook cannot deduplicate, so a crash between the
send and the commit can repeat a message (the Idempotency-Key header is sent anyway, and
e-mails carry a Message-ID derived from it so mail clients can collapse repeats)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

from django.conf import settings

from enrichment.ssrf import SSRFError, check_host
from playbooks.actions.base import Action, ActionContext, ActionError, TransientActionError, list_param, text_param
from playbooks.actions.http import call, demo_answer, get_connector, is_demo_connector
from playbooks.models import Connector

CHANNELS = ("email", "slack")


class Notify(Action):
    name = "notify"
    label = "Notify"
    connector_kinds = ("smtp", "slack")
    required = ("channel",)
    optional = ("to", "subject", "text")

    def validate_values(self, params, path):
        channel = params.get("channel")
        if channel and channel not in CHANNELS:
            return [f"{path}.channel: must be one of {', '.join(CHANNELS)}; got {channel!r}"]
        errors = []
        if not params.get("text"):
            errors.append(f"{path}.text: required for action notify")
        if channel == "email":
            errors += [f"{path}.{key}: required for e-mail" for key in ("to", "subject") if not params.get(key)]
        return errors

    def describe(self, params):
        if params.get("channel") == "email":
            return f"E-mail {', '.join(map(str, list_param(params, 'to')))}: {str(params.get('subject'))[:120]}"
        return f"Post to chat: {str(params.get('text'))[:150]}"

    def run(self, ctx: ActionContext) -> dict:
        channel = ctx.params.get("channel")
        if channel == "email":
            return self._email(ctx)
        if channel == "slack":
            connector = get_connector(ctx.params.get("connector"), ("slack",))
            text = text_param(ctx.params, "text", max_length=4000)
            status, _ = call(connector, "POST", "", idempotency_key=ctx.idempotency_key, payload={"text": text},
                             auth="none")
            return {"channel": "slack", "connector": connector.name, "status": status}
        raise ActionError(f"Unknown channel {channel!r}")

    def _email(self, ctx: ActionContext) -> dict:
        connector = self._smtp_connector(ctx.params.get("connector"))
        recipients = [str(r).strip() for r in list_param(ctx.params, "to") if "@" in str(r)]
        if not recipients:
            raise ActionError("No valid recipient in 'to'")
        options = connector.options or {}
        message = EmailMessage()
        message["From"] = options.get("from", "mini-soar@localhost")
        message["To"] = ", ".join(recipients)
        message["Subject"] = text_param(ctx.params, "subject", max_length=250).replace("\n", " ")
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{ctx.idempotency_key}@mini-soar>"
        message.set_content(text_param(ctx.params, "text"))
        if is_demo_connector(connector):
            _, recorded = demo_answer(connector, "SMTP", "", {"to": recipients, "subject": message["Subject"]})
            return {"channel": "email", "connector": connector.name, "to": recipients, **recorded}
        self._send(connector, message, recipients)
        return {"channel": "email", "connector": connector.name, "to": recipients,
                "message_id": message["Message-ID"]}

    @staticmethod
    def _smtp_connector(name: str | None) -> Connector:
        """The named/first SMTP connector; without any, the project's e-mail settings."""
        try:
            return get_connector(name, ("smtp",))
        except ActionError:
            if name:
                raise
        return Connector(name="settings", kind="smtp", base_url=f"smtp://{settings.EMAIL_HOST}:{settings.EMAIL_PORT}",
                         username=settings.EMAIL_HOST_USER, secret=settings.EMAIL_HOST_PASSWORD,
                         timeout_seconds=float(settings.EMAIL_TIMEOUT or 10),
                         options={"from": settings.DEFAULT_FROM_EMAIL, "starttls": settings.EMAIL_USE_TLS})

    @staticmethod
    def _send(connector, message, recipients) -> None:
        parts = urlsplit(connector.base_url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ActionError(f"Connector {connector.name}: base URL must be smtp://host:port or smtps://host:port")
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        if not _is_configured_mail_server(parts.hostname, port):
            try:
                check_host(parts.hostname, port)
            except SSRFError as exc:
                raise ActionError(f"Connector {connector.name}: {exc}")
        options = connector.options or {}
        try:
            client: smtplib.SMTP
            if parts.scheme == "smtps":
                client = smtplib.SMTP_SSL(parts.hostname, port, timeout=connector.timeout_seconds,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(parts.hostname, port, timeout=connector.timeout_seconds)
            with client:
                if options.get("starttls"):
                    client.starttls(context=ssl.create_default_context())
                if connector.username and connector.secret:
                    client.login(connector.username, connector.secret)
                client.send_message(message, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ActionError(f"The mail server refused every recipient: {list(exc.recipients)[:5]}")
        except smtplib.SMTPAuthenticationError:
            raise ActionError(f"Connector {connector.name}: SMTP authentication failed")
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientActionError(f"Mail server answered {exc.smtp_code} (temporary)")
            raise ActionError(f"Mail server answered {exc.smtp_code}: {exc.smtp_error[:200]!r}")
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientActionError(f"Could not talk to the mail server ({exc.__class__.__name__})")


def _is_configured_mail_server(host: str, port: int) -> bool:
    """The project's own mail server (SOAR_SMTP_HOST / SOAR_SMTP_PORT) is trusted: an
    administrator set it in the environment, and it is usually a relay on loopback or the
    private network, which the SSRF guard refuses (the default 127.0.0.1:25 made every
    settings-based e-mail fail). Only that exact host *and* port: a connector pointing at
    another port of the same host (Redis, PostgreSQL...) is still checked."""
    return host.lower() == str(settings.EMAIL_HOST).strip().lower() and port == int(settings.EMAIL_PORT)
