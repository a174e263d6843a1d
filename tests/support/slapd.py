"""A real OpenLDAP server (Debian's slapd) for the tests: started on a loopback port with a
temporary MDB database loaded by slapadd, stopped at the end of the session. No system service
is involved (the package is installed with a policy-rc.d guard by .ci/run, and nothing here
touches /etc/ldap/slapd.d).

The directory: dc=example,dc=org with ou=people (alice: soc-analysts + tier1; lena: soc-leads;
bob: in no Mini-SOAR group; root: same name as the local admin account; dave: for the enrichment
provider, with title/department/mail) and ou=groups (groupOfNames). cn=reader is a bind account
for look-ups; cn=admin is the root DN."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port, wait_until_listening

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
PASSWORDS = {"alice": "alice-pass-1", "lena": "lena-pass-1", "bob": "bob-pass-1", "root": "root-dir-pass",
             "dave": "dave-pass-1"}
READER_DN, READER_PASSWORD = f"cn=reader,{BASE}", "reader-pass"


@dataclass(frozen=True)
class Directory:
    url: str
    port: int
    base: str = BASE
    people: str = PEOPLE
    groups: str = GROUPS
    reader_dn: str = READER_DN
    reader_password: str = READER_PASSWORD


def _person(uid: str, given: str, surname: str, **extra: str) -> str:
    lines = [f"dn: uid={uid},{PEOPLE}", "objectClass: inetOrgPerson", f"uid: {uid}", f"cn: {given} {surname}",
             f"givenName: {given}", f"sn: {surname}", f"mail: {uid}@example.org",
             f"userPassword: {PASSWORDS[uid]}"]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines)


def _group(cn: str, *members: str) -> str:
    return "\n".join([f"dn: cn={cn},{GROUPS}", "objectClass: groupOfNames", f"cn: {cn}",
                      *[f"member: uid={uid},{PEOPLE}" for uid in members]])


LDIF = "\n\n".join([
    f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
    f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
    f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
    f"dn: {READER_DN}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\ncn: reader\n"
    f"userPassword: {READER_PASSWORD}",
    _person("alice", "Alice", "Analyst"),
    _person("lena", "Lena", "Lead"),
    _person("bob", "Bob", "Nobody"),
    _person("root", "Rogue", "Root"),
    _person("dave", "Dave", "Jones", title="Controller", departmentNumber="Finance"),
    _group("soc-analysts", "alice"),
    _group("soc-leads", "lena"),
    _group("tier1", "alice", "lena"),
    _group("soc-admins", "root"),
    _group("marketing", "bob"),
]) + "\n"

CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{base}"
rootdn "cn=admin,{base}"
rootpw admin-pass
directory {dir}/db
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by users read by * none
"""


@pytest.fixture(scope="session")
def slapd():
    if not Path(SLAPD).exists():
        pytest.fail("slapd is not installed: apt-get install slapd ldap-utils (bash .ci/run installs them)")
    work = Path(tempfile.mkdtemp(prefix="soar-slapd-"))
    (work / "db").mkdir()
    config = work / "slapd.conf"
    config.write_text(CONFIG.format(dir=work, base=BASE))
    (work / "data.ldif").write_text(LDIF)
    subprocess.run([SLAPADD, "-f", str(config), "-l", str(work / "data.ldif")], check=True, capture_output=True)
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    # -d 0: stays in the foreground (no fork), logging nothing; killed at the end of the session.
    process = subprocess.Popen([SLAPD, "-h", f"{url}/", "-f", str(config), "-d", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until_listening(port, process, "slapd")
    yield Directory(url=url, port=port)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(work, ignore_errors=True)
