"""A real IMAP server (Debian's dovecot-imapd) for the tests: started in the foreground on free
loopback ports with a temporary maildir, configuration and self-signed certificate, stopped at
the end of the session. No system service is involved (the package is installed with a
policy-rc.d guard by .ci/run, and nothing here reads /etc/dovecot).

Ports: ``imaps_port`` (TLS from the first byte) and ``imap_port`` (plain until STARTTLS; log-in
is refused before it: ``disable_plaintext_auth``). One user, ``soc-phish`` with PASSWORD, from a
passwd-file; the certificate (CN localhost, SAN IP 127.0.0.1) is its own CA: ``ca_file``.

Run as root (CI), Dovecot's own unprivileged users run the login and internal processes and the
mailbox belongs to ``nobody``; as any other user, everything runs as that user."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port, self_signed_certificate, wait_until_listening

DOVECOT = "/usr/sbin/dovecot"
USER = "soc-phish"
PASSWORD = "app-pass-7Qx2"  # noqa: S105 - the throw-away test server's user

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {work}/run
state_dir = {work}/state
log_path = {work}/dovecot.log
instance_name = soar-test-{port}
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{work}/mail/%u
mail_uid = {mail_uid}
mail_gid = {mail_gid}
ssl = yes
ssl_cert = <{work}/cert.pem
ssl_key = <{work}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
# A wrong password is answered at once (the default 2 s delay only slows the tests down).
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {work}/users
}}
userdb {{
  driver = static
  args = home={work}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Reported {{
    auto = create
  }}
}}
# The auth process cannot reach anvil's penalty socket, so a failed log-in (a test's wrong
# password) does not slow the next log-ins from 127.0.0.1 down by seconds.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
"""


@dataclass(frozen=True)
class Mailserver:
    imaps_port: int
    imap_port: int
    ca_file: str
    user: str = USER
    password: str = PASSWORD

    def client(self) -> imaplib.IMAP4_SSL:
        """A logged-in test client (to APPEND messages and look at flags), over TLS."""
        context = ssl.create_default_context(cafile=self.ca_file)
        client = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=context, timeout=10)
        client.login(self.user, self.password)
        return client


def _wait_for(port: int, process: subprocess.Popen, work: Path) -> None:
    log = work / "dovecot.log"
    wait_until_listening(port, process, "dovecot", exit_details=lambda: log.read_text() if log.exists() else "")


@contextmanager
def running_dovecot() -> Iterator[Mailserver]:
    if not Path(DOVECOT).exists():
        pytest.fail("dovecot is not installed: apt-get install dovecot-imapd (bash .ci/run installs it)")
    work = Path(tempfile.mkdtemp(prefix="soar-dovecot-"))
    work.chmod(0o755)  # the unprivileged login and mail processes must reach their files
    for name in ("run", "state", "mail"):
        (work / name).mkdir()
    self_signed_certificate(work)  # cert.pem and key.pem, which the configuration names
    (work / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    if os.geteuid() == 0:
        login_user, internal_user = "dovenull", "dovecot"
        mail = pwd.getpwnam("nobody")
        os.chown(work / "mail", mail.pw_uid, mail.pw_gid)
    else:
        login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
        mail = pwd.getpwuid(os.geteuid())
    imaps_port, imap_port = free_port(), free_port()
    config = work / "dovecot.conf"
    config.write_text(CONFIG.format(work=work, port=imaps_port, imaps_port=imaps_port, imap_port=imap_port,
                                    login_user=login_user, internal_user=internal_user, mail_uid=mail.pw_uid,
                                    mail_gid=mail.pw_gid))
    # -F: stays in the foreground (no fork); stopped at the end of the session.
    process = subprocess.Popen([DOVECOT, "-c", str(config), "-F"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for(imaps_port, process, work)
    _wait_for(imap_port, process, work)
    try:
        yield Mailserver(imaps_port=imaps_port, imap_port=imap_port, ca_file=str(work / "cert.pem"))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Mailserver]:
    with running_dovecot() as server:
        yield server
