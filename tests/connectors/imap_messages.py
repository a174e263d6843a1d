"""Messages for the IMAP mailbox tests, built with the standard library's email package: a
phish (sender, Reply-To, a link, a PDF attachment) and a user's report wrapping it as a
message/rfc822 attachment (Outlook's "Report phishing", Thunderbird's "forward as attachment")."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage

REPORTER = "Alice Analyst <alice@corp.example>"
SENDER = "helpdesk@payroll-update.example"


def invoice(n: int) -> bytes:
    return b"%PDF-1.4 invoice " + str(n).encode() + b" /JavaScript (app.launchURL)"


def invoice_sha256(n: int) -> str:
    return hashlib.sha256(invoice(n)).hexdigest()


def phish(n: int, *, message_id: bool = True) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"IT Helpdesk <{SENDER}>"
    message["To"] = "alice@corp.example"
    message["Reply-To"] = "collect@drop-box.example"
    message["Subject"] = f"Your mailbox is full ({n})"
    message["Date"] = "Mon, 30 Nov 2026 09:00:00 +0000"
    if message_id:
        message["Message-ID"] = f"<phish-{n}@payroll-update.example>"
    message.set_content(f"Sign in at https://login.payroll-update.example/reset?u=alice&n={n} to keep your mail.")
    message.add_attachment(invoice(n), maintype="application", subtype="pdf", filename=f"invoice-{n}.pdf")
    return message


def report(original: EmailMessage, *, reporter: str = REPORTER, n: int = 0) -> bytes:
    """A user's report: their note, and the suspicious message attached as message/rfc822."""
    wrapper = EmailMessage()
    wrapper["From"] = reporter
    wrapper["To"] = "phishing@corp.example"
    wrapper["Subject"] = f"Phishing? {original['Subject']}"
    wrapper["Date"] = "Mon, 30 Nov 2026 09:05:00 +0000"
    wrapper["Message-ID"] = f"<report-{n}@corp.example>"
    wrapper.set_content("This looks like phishing, please check.")
    wrapper.add_attachment(original)
    return wrapper.as_bytes()
