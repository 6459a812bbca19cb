"""A real OpenLDAP server for the tests: Debian's slapd, started on loopback ports with a
throwaway slapd.conf, a self-signed certificate made here (openssl) and a small Vietnamese
directory (names with diacritics, uid, mail, employeeNumber as the staff code).

One server speaks StartTLS on its ldap:// port and TLS from the start on its ldaps:// port.
Nothing here is a mock: ldap3 in mooc/directory/ldap.py talks to this process over TCP.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")

SUFFIX = "dc=thanhtra,dc=gov,dc=vn"
PEOPLE_DN = f"ou=nguoi,{SUFFIX}"
SERVICE_DN = f"cn=mooc-dang-nhap,ou=dich-vu,{SUFFIX}"
SERVICE_PASSWORD = "mat-khau-cua-dich-vu-dang-nhap"


@dataclass(frozen=True)
class DirectoryPerson:
    uid: str
    cn: str
    sn: str
    given_name: str
    mail: str
    staff_code: str
    password: str

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{PEOPLE_DN}"


# The directory of a provincial inspectorate. Passwords hold Vietnamese letters too.
MAI = DirectoryPerson("mai.tran", "Trần Thị Mai", "Trần", "Mai", "Mai.Tran@thanhtra.gov.vn", "00123",
                      "Mật khẩu của Mai 2026")
HA = DirectoryPerson("ha.pham", "Phạm Thu Hà", "Phạm", "Hà", "ha.pham@thanhtra.gov.vn", "00456",
                     "ha-pham-mat-khau-1")
NAM = DirectoryPerson("nam.le", "Lê Văn Nam", "Lê", "Nam", "nam.le@thanhtra.gov.vn", "00789",
                      "nam-le-mat-khau-1")  # in the directory, not on the roster
DUNG = DirectoryPerson("dung.nguyen", "Nguyễn Tiến Dũng", "Nguyễn", "Dũng", "dung.nguyen@thanhtra.gov.vn",
                       "00999", "dung-nguyen-mat-khau")
# A user name with Vietnamese letters (a directory may hold them: uid is a UTF-8 string, matched in
# any case by slapd); an address is ASCII (mail is an IA5 string).
DAO = DirectoryPerson("đào.an", "Đào Văn An", "Đào", "An", "dao.an@thanhtra.gov.vn", "00321",
                      "mat-khau-cua-an-2026")
PEOPLE = (MAI, HA, NAM, DUNG, DAO)


@dataclass(frozen=True)
class Slapd:
    """A running slapd: its two addresses, the CA file that trusts its certificate, and one
    whose certificate names another host."""

    host: str
    ldap_port: int
    ldaps_port: int
    ca_file: Path

    @property
    def starttls_url(self) -> str:
        return f"ldap://{self.host}:{self.ldap_port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.host}:{self.ldaps_port}"

    @property
    def misnamed_url(self) -> str:
        """The StartTLS port under an address its certificate does not name."""
        return f"ldap://127.0.0.2:{self.ldap_port}"

    def settings(self, tls: str = "starttls", **more: object) -> dict[str, object]:
        """create_app overrides that point the app at this directory."""
        config: dict[str, object] = {
            "LDAP_URL": self.ldaps_url if tls == "ldaps" else self.starttls_url,
            "LDAP_TLS": tls, "LDAP_CA_FILE": str(self.ca_file),
            "LDAP_BIND_DN": SERVICE_DN, "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
            "LDAP_BASE_DN": PEOPLE_DN, "LDAP_USER_ATTRIBUTE": "uid",
            "LDAP_EMAIL_ATTRIBUTE": "mail", "LDAP_STAFF_CODE_ATTRIBUTE": "employeeNumber",
            "LDAP_TIMEOUT_SECONDS": 5,
        }
        config.update(more)
        return config


def available() -> bool:
    return Path(SLAPD).exists() and Path(SLAPADD).exists() and (SCHEMA_DIR / "core.schema").exists()


def skip_or_fail() -> None:
    """No slapd here: skip on a laptop, fail in CI (.ci/run installs it)."""
    if os.environ.get("CI"):
        pytest.fail("slapd is not installed: .ci/run must apt-get install slapd ldap-utils")
    pytest.skip("slapd is not installed (apt-get install slapd ldap-utils)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_certificate(folder: Path, name: str, *, dns: str, ip: str | None) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for `dns` (and `ip`); it is its own CA."""
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    alt = f"DNS:{dns}" + (f",IP:{ip}" if ip else "")
    subprocess.run(  # noqa: S603 (fixed arguments)
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",  # noqa: S607
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={dns}",
         "-addext", f"subjectAltName={alt}", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    return key, cert


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 (OpenLDAP's {SSHA} scheme)
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _line(attribute: str, value: str) -> str:
    """One LDIF line: values that are not plain ASCII are base64 (RFC 2849)."""
    if value.isascii() and not value.startswith((" ", ":", "<")):
        return f"{attribute}: {value}"
    return f"{attribute}:: {base64.b64encode(value.encode()).decode()}"


def directory_ldif() -> str:
    entries = [
        [f"dn: {SUFFIX}", "objectClass: dcObject", "objectClass: organization", "dc: thanhtra",
         _line("o", "Thanh tra tỉnh Ninh Bình")],
        [f"dn: {PEOPLE_DN}", "objectClass: organizationalUnit", "ou: nguoi"],
        [f"dn: ou=dich-vu,{SUFFIX}", "objectClass: organizationalUnit", "ou: dich-vu"],
        [f"dn: {SERVICE_DN}", "objectClass: organizationalRole", "objectClass: simpleSecurityObject",
         "cn: mooc-dang-nhap", f"userPassword: {_ssha(SERVICE_PASSWORD)}"],
    ]
    for person in PEOPLE:
        entries.append([
            _line("dn", person.dn), "objectClass: inetOrgPerson", _line("uid", person.uid),
            _line("cn", person.cn), _line("sn", person.sn), _line("givenName", person.given_name),
            f"mail: {person.mail}", f"employeeNumber: {person.staff_code}",
            f"userPassword: {_ssha(person.password)}",
        ])
    return "\n\n".join("\n".join(entry) for entry in entries) + "\n"


def slapd_conf(folder: Path, key: Path, cert: Path) -> str:
    return f"""\
include {SCHEMA_DIR}/core.schema
include {SCHEMA_DIR}/cosine.schema
include {SCHEMA_DIR}/inetorgperson.schema
modulepath {MODULE_DIR}
moduleload back_mdb
pidfile {folder}/slapd.pid
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
sizelimit 50

database mdb
suffix "{SUFFIX}"
directory {folder}/data
maxsize 10485760

# Passwords are only ever used to bind; the service account reads people, nobody else does.
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="{SERVICE_DN}" read
  by self read
  by * none
"""


@contextlib.contextmanager
def running_slapd(folder: Path) -> Iterator[Slapd]:
    """Start slapd in `folder` (loaded offline with slapadd) and stop it afterwards."""
    (folder / "data").mkdir()
    key, cert = make_certificate(folder, "server", dns="localhost", ip="127.0.0.1")
    conf = folder / "slapd.conf"
    conf.write_text(slapd_conf(folder, key, cert), encoding="utf-8")
    ldif = folder / "directory.ldif"
    ldif.write_text(directory_ldif(), encoding="utf-8")
    subprocess.run([SLAPADD, "-f", str(conf), "-l", str(ldif)],  # noqa: S603
                   check=True, capture_output=True, timeout=60)
    ldap_port, ldaps_port = free_port(), free_port()
    # 127.0.0.2 (loopback too) is not named in the certificate: the host name check's test.
    urls = f"ldap://127.0.0.1:{ldap_port}/ ldap://127.0.0.2:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"
    log = (folder / "slapd.log").open("wb")
    # -d 0: stay in the foreground (so the test owns the process), log nothing.
    process = subprocess.Popen([SLAPD, "-f", str(conf), "-h", urls, "-d", "0"],  # noqa: S603
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(process, (ldap_port, ldaps_port), folder)
        yield Slapd("127.0.0.1", ldap_port, ldaps_port, cert)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def _wait_for(process: subprocess.Popen[bytes], ports: tuple[int, ...], folder: Path) -> None:
    """Until slapd accepts connections on every port (it is up in well under a second)."""
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError("slapd stopped at start: "
                               + (folder / "slapd.log").read_text(errors="replace")[-2000:])
        if all(_accepts(port) for port in ports):
            return
        time.sleep(0.05)
    raise RuntimeError("slapd did not open its ports in 15 s")


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session", name="slapd")
def slapd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """`slapd`: the running server, started on first use (import this into a conftest or module)."""
    if not available():
        skip_or_fail()
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server
