"""deploy/ as an operator installs it: the shipped nginx site, rendered by deploy/render.py
for loopback ports and temporary folders, run by Debian's nginx (its own prefix, pid and
temporary folders) with a throwaway self-signed certificate in front of a real `mooc serve`
in production mode (MOOC_PROXY_COUNT=1, MOOC_ACCEL_REDIRECT=true), on the suite's database.
Everything is checked through nginx, from 127.0.0.2 (nginx reaches the app from 127.0.0.1,
so the client's address and the proxy's differ).

Also: the systemd units pass `systemd-analyze verify`; every scheduled command has its timer,
its row in docs/operations.md, its check in `mooc doctor` and its "cron" in the README; the
commands deploy/smoke-install.sh takes from the guide are the guide's, word for word (the
script itself, which installs as root, is run by .ci/run); and the backups deploy/backup.sh
writes restore (pg_restore as the superuser over TCP on a fresh PostgreSQL database, `mooc
restore` on SQLite) with the same row counts.

nginx, openssl, pg_dump: skipped when missing, failed when CI is set (.ci/run installs them).
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from mooc import create_app, doctor
from mooc.auth.demo_accounts import DEMO_PASSWORD
from mooc.auth.models import AddressThrottle, AuditEvent, Role, User
from mooc.auth.passwords import set_password
from mooc.courses.models import Course
from mooc.demo import load_demo
from mooc.extensions import db
from mooc.reports.exports import XLSX_MIME
from mooc.roster.models import OrgUnit
from mooc.training import programs
from mooc.training.models import ProgramEnrolment
from tests.conftest import FAST_HASH, ROOT, empty_tables, local_postgresql_server

DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx" / "mooc.conf"
ENV_EXAMPLE = DEPLOY / "mooc.env.example"
CLIENT_ADDRESS = "127.0.0.2"   # the visitor; nginx talks to the app from 127.0.0.1
FORGED_ADDRESS = "203.0.113.7"
SECRET_KEY = "deploy-test-secret-" + "x" * 40
UPLOAD_MB = 1
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def program(name: str) -> str:
    """The path of a system program, or skip (fail in CI, where .ci/run installs it)."""
    found = shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name)
                                         if p.exists()), None)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not installed: .ci/run must install it")
    pytest.skip(f"{name} is not installed")


def mooc_command() -> list[str]:
    script = Path(sys.executable).with_name("mooc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mooc.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_env_file(path: Path) -> dict[str, str]:
    sys.path.insert(0, str(DEPLOY))
    try:
        import render  # deploy/render.py: the operator's renderer, used as it is
    finally:
        sys.path.remove(str(DEPLOY))
    return render.read_env_file(path)


def wait_for(check: Any, what: str, timeout: float = 60) -> Any:
    """Poll until ``check()`` is truthy (a process starting, a log line written)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


@dataclass
class Visitor:
    """A browser at 127.0.0.2: HTTPS trusting the test certificate, cookies kept by name."""

    stack: Stack
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookie_lines: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, https: bool = True) -> Answer:
        if https:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                "localhost", self.stack.https_port, context=self.stack.tls, timeout=60,
                source_address=(CLIENT_ADDRESS, 0))
        else:
            connection = http.client.HTTPConnection("localhost", self.stack.http_port, timeout=60,
                                                    source_address=(CLIENT_ADDRESS, 0))
        sent = dict(headers or {})
        if method == "POST":  # as a browser does: Flask-WTF checks it over HTTPS
            sent.setdefault("Referer", f"https://localhost:{self.stack.https_port}{path}")
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        for line in answer.headers.get_all("Set-Cookie") or []:
            self.set_cookie_lines.append(line)
            for name, morsel in SimpleCookie(line).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def sign_in(self, email: str, password: str = DEMO_PASSWORD, headers: dict[str, str] | None = None
                ) -> Answer:
        page = self.get("/login")
        token = CSRF_RE.search(page.body.decode())
        assert token, page.status
        form = urlencode({"csrf_token": token.group(1), "email": email, "password": password}).encode()
        return self.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})


@dataclass
class Stack:
    https_port: int
    http_port: int
    tls: ssl.SSLContext
    app_log: Path
    spool_dir: Path
    error_pages: Path
    acme_root: Path
    certificate: tuple[Path, Path]  # the chain and its key (the throwaway self-signed one)
    app: Any

    def visitor(self) -> Visitor:
        return Visitor(self)

    def app_log_lines(self, marker: str) -> list[str]:
        """The app's access-log lines (gunicorn, one per request it answered) that hold ``marker``."""
        return [line for line in self.app_log.read_text(errors="replace").splitlines() if marker in line]

    def answered_by_app(self, marker: str) -> str:
        """The app's log line of the request with ``marker`` (written once the answer was sent)."""
        lines = wait_for(lambda: self.app_log_lines(marker), f"the app's log line for {marker}")
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"{CLIENT_ADDRESS} "), lines  # the client's address, not nginx's
        return lines[0]


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([program("openssl"), "req", "-x509", "-newkey", "ec",  # noqa: S603
                    "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return cert, key


def _nginx_main_conf(folder: Path, site: Path) -> Path:
    """What /etc/nginx/nginx.conf provides around a site (Debian's gzip on, and its TLS
    versions, 1.0 and 1.1 included, at the http level), with every path of nginx's own in
    ``folder``."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # the workers read the test's private tmp
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    gzip on;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {site};
}}
""")
    return conf


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _https_answers(port: int, tls: ssl.SSLContext) -> bool:
    try:
        connection = http.client.HTTPSConnection("localhost", port, context=tls, timeout=5)
        connection.request("GET", "/healthz")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


@pytest.fixture(scope="module")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx = program("nginx")
    tmp = tmp_path_factory.mktemp("deploy")
    cert, key = _certificate(tmp)
    app_port, https_port, http_port = free_port(), free_port(), free_port()
    folders = {name: tmp / name for name in ("instance", "spool", "error-pages", "nginx", "acme")}
    for folder in folders.values():
        folder.mkdir()

    # The operator's environment file: the shipped example, with this machine's values.
    values = read_env_file(ENV_EXAMPLE) | {
        "MOOC_SECRET_KEY": SECRET_KEY, "MOOC_DATABASE_URL": database_url,
        "MOOC_BASE_URL": f"https://localhost:{https_port}", "MOOC_MAX_UPLOAD_MB": str(UPLOAD_MB),
        "MOOC_INSTANCE_DIR": str(folders["instance"]), "MOOC_COURSES_DIR": str(ROOT / "courses"),
        "MOOC_SPOOL_DIR": str(folders["spool"]), "MOOC_ERROR_PAGES_DIR": str(folders["error-pages"]),
        "MOOC_MAIL_BACKEND": "file",  # a loopback MOOC_BASE_URL: nothing leaves the machine
        "MOOC_APP_HOST": "127.0.0.1", "MOOC_APP_PORT": str(app_port), "MOOC_APP_DIR": str(ROOT),
        "NGINX_ACME_ROOT": str(folders["acme"]),
        "NGINX_SERVER_NAME": "localhost", "NGINX_HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "NGINX_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
        "NGINX_CERTIFICATE": str(cert), "NGINX_CERTIFICATE_KEY": str(key),
        # The manager here exports through nginx; the code step of sign-in is tests/auth's.
        "MOOC_TWO_FACTOR_REQUIRED_ROLES": "none",
    }
    assert values["MOOC_PROXY_COUNT"] == "1" and values["MOOC_ACCEL_REDIRECT"] == "true"
    assert values["MOOC_ENV"] == "production"
    env_file = tmp / "mooc.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    site = folders["nginx"] / "mooc.conf"
    rendered = subprocess.run([sys.executable, str(DEPLOY / "render.py"), str(SITE), str(env_file)],  # noqa: S603
                              capture_output=True, text=True, check=False)
    assert rendered.returncode == 0, rendered.stderr
    site.write_text(rendered.stdout)

    # The demo (fast password hashes), on the suite's database.
    loader = create_app({"ENV": "testing", "DATABASE_URL": database_url,
                         "INSTANCE_DIR": str(folders["instance"]),
                         "SECRET_KEY": SECRET_KEY, "PASSWORD_METHOD": FAST_HASH,
                         "COURSES_DIR": str(ROOT / "courses")})
    with loader.app_context():
        load_demo()
        db.session.commit()

    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOC_")} | {
        k: v for k, v in values.items() if k.startswith("MOOC_")}
    # As mooc.service's ExecStartPre does: the app's 413 page for nginx.
    pages = subprocess.run([*mooc_command(), "error-pages", str(folders["error-pages"])], env=env, cwd=ROOT,  # noqa: S603
                           capture_output=True, text=True, check=False)
    assert pages.returncode == 0, pages.stderr
    app_log = tmp / "app.log"
    app_process = nginx_process = None
    tls = ssl.create_default_context(cafile=str(cert))
    try:
        with open(app_log, "wb") as log:
            app_process = subprocess.Popen([*mooc_command(), "serve", "--host", "127.0.0.1",  # noqa: S603
                                            "--port", str(app_port), "--workers", "1", "--threads", "4",
                                            "--access-log"], env=env, cwd=ROOT, stdout=log, stderr=log)
        main_conf = _nginx_main_conf(folders["nginx"], site)
        nginx_args = [nginx, "-p", str(folders["nginx"]), "-c", str(main_conf),
                      "-e", str(folders["nginx"] / "error.log")]
        checked = subprocess.run([*nginx_args, "-t"], capture_output=True, text=True, check=False)  # noqa: S603
        assert checked.returncode == 0, checked.stderr
        nginx_process = subprocess.Popen([*nginx_args, "-g", "daemon off;"])  # noqa: S603
        wait_for(lambda: app_process.poll() is not None or _https_answers(https_port, tls),
                 "the app behind nginx")
        assert app_process.poll() is None, app_log.read_text()
        yield Stack(https_port, http_port, tls, app_log, folders["spool"], folders["error-pages"],
                    folders["acme"], (cert, key), loader)
    finally:
        _stop(nginx_process)
        _stop(app_process)
        with loader.app_context():
            db.session.remove()
            empty_tables()
            db.engine.dispose()


# --- HTTPS ---------------------------------------------------------------------------------------


def test_plain_http_is_redirected_to_https(stack: Stack) -> None:
    answer = stack.visitor().get("/reports/?x=1", https=False)
    assert answer.status == 301
    assert answer.header("Location") == f"https://localhost:{stack.https_port}/reports/?x=1"


def test_sign_in_over_https_sets_a_secure_cookie_and_hsts(stack: Stack) -> None:
    visitor = stack.visitor()
    answer = visitor.sign_in("hocvien@example.vn")
    assert answer.status == 302, answer.body[:300]
    assert "max-age=" in answer.header("Strict-Transport-Security")
    session_cookie = next(line for line in visitor.set_cookie_lines if line.startswith("mooc_session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    home = visitor.get("/")
    assert home.status == 200  # the app saw https (X-Forwarded-Proto): the cookie came back


def test_tls_is_modern_and_other_host_names_get_no_certificate(stack: Stack) -> None:
    with socket.create_connection(("localhost", stack.https_port)) as raw, \
            stack.tls.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}
    with socket.create_connection(("localhost", stack.https_port)) as raw, pytest.raises(ssl.SSLError):
        stack.tls.wrap_socket(raw, server_hostname="elsewhere.example")  # ssl_reject_handshake


def _old_tls_client(newest: ssl.TLSVersion) -> ssl.SSLContext:
    """A client offering TLS 1.0 up to ``newest`` (OpenSSL 3 offers 1.0 and 1.1 only at
    security level 0); it checks no certificate: only the version is in question."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # the old versions are deprecated: the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        client.minimum_version = ssl.TLSVersion.TLSv1
        client.maximum_version = newest
    return client


def _handshake_with_a_tls_1_1_server(client: ssl.SSLContext, certificate: tuple[Path, Path]) -> str | None:
    """The version ``client`` agrees with a server of our own that speaks TLS 1.1 only, or None:
    whether this machine's OpenSSL can make the old client at all."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(*certificate)
    server.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        server.minimum_version = server.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def answer() -> None:
            connection, _address = listener.accept()
            with connection, contextlib.suppress(OSError), server.wrap_socket(connection, server_side=True):
                pass
        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        try:
            with socket.create_connection(listener.getsockname()) as raw, \
                    client.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.version()
        except OSError:
            return None
        finally:
            thread.join(10)


def test_tls_1_0_and_1_1_are_refused(stack: Stack) -> None:
    """Refused by the site's ssl_protocols, set in the port's default server too (Debian's
    nginx.conf, which the stack copies, allows 1.0 and 1.1). On Debian 12 OpenSSL's own security
    level refuses them as well, so there this holds even without those lines."""
    old = _old_tls_client(ssl.TLSVersion.TLSv1_1)
    if _handshake_with_a_tls_1_1_server(old, stack.certificate) != "TLSv1.1":
        pytest.skip("this machine's OpenSSL cannot make a TLS 1.1 client: nothing to try nginx with")
    with socket.create_connection(("localhost", stack.https_port)) as raw, \
            pytest.raises(ssl.SSLError) as refused:
        old.wrap_socket(raw, server_hostname="localhost")
    reason = str(refused.value)
    assert "PROTOCOL_VERSION" in reason or "UNSUPPORTED_PROTOCOL" in reason, reason
    # The same client allowed TLS 1.2 is answered: the version was refused, not the client.
    with socket.create_connection(("localhost", stack.https_port)) as raw, \
            _old_tls_client(ssl.TLSVersion.TLSv1_2).wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() == "TLSv1.2"


def test_the_acme_challenge_is_served_over_plain_http_not_redirected(stack: Stack) -> None:
    """What certbot's webroot plugin needs, at every renewal with nginx holding port 80: a file
    it puts in NGINX_ACME_ROOT is fetched over plain HTTP; nothing else is."""
    token = uuid.uuid4().hex
    folder = stack.acme_root / ".well-known" / "acme-challenge"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / token).write_text(f"{token}.key-authorisation", encoding="ascii")
    visitor = stack.visitor()
    answer = visitor.get(f"/.well-known/acme-challenge/{token}", https=False)
    assert answer.status == 200, answer.header("Location")
    assert answer.body == f"{token}.key-authorisation".encode()
    assert visitor.get("/.well-known/acme-challenge/no-such-token", https=False).status == 404
    assert visitor.get(f"/{token}", https=False).status == 301


def test_the_app_sees_the_real_client_address_not_a_forged_one(stack: Stack) -> None:
    visitor = stack.visitor()
    marker = uuid.uuid4().hex
    wrong = visitor.sign_in(f"khong-co-{marker}@example.vn", "sai-mat-khau",
                            headers={"X-Forwarded-For": FORGED_ADDRESS})
    assert wrong.status == 200  # the form again, with the error
    with stack.app.app_context():
        addresses = set(db.session.scalars(sa.select(AddressThrottle.address)))
    assert CLIENT_ADDRESS in addresses
    assert FORGED_ADDRESS not in addresses and "127.0.0.1" not in addresses

    visitor.sign_in("quanly.hcm@example.vn", headers={"X-Forwarded-For": FORGED_ADDRESS})
    with stack.app.app_context():
        ips = set(db.session.scalars(sa.select(AuditEvent.ip).where(AuditEvent.ip != "")))
    assert ips == {CLIENT_ADDRESS}


# --- Files nginx sends ---------------------------------------------------------------------------


def test_static_files_come_from_nginx_with_a_long_cache(stack: Stack) -> None:
    visitor = stack.visitor()
    page = visitor.get("/login").body.decode()
    url = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]+)"', page)
    assert url, "the sign-in page links its hashed stylesheet"
    answer = visitor.get(url.group(1), headers={"Accept-Encoding": "gzip"})
    assert answer.status == 200
    assert answer.header("Cache-Control") == "public, max-age=31536000, immutable"
    assert answer.header("Content-Encoding") == "gzip"
    unhashed = visitor.get("/static/css/site.css")
    assert unhashed.header("Cache-Control") == "no-cache"
    assert unhashed.body == (ROOT / "static" / "css" / "site.css").read_bytes()
    assert not stack.app_log_lines("/static/")  # nginx answered, the app never saw them


def test_the_apis_json_is_gzipped_and_the_pages_are_not(stack: Stack) -> None:
    """/api/v1/ answers come gzipped (the public OpenAPI document here); a page with a CSRF
    token does not (BREACH: deploy/nginx/mooc.conf)."""
    visitor = stack.visitor()
    document = visitor.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert document.status == 200 and document.header("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(document.body))["openapi"].startswith("3.")
    page = visitor.get("/login", headers={"Accept-Encoding": "gzip"})
    assert page.status == 200 and CSRF_RE.search(page.body.decode())
    assert "Content-Encoding" not in page.headers


COURSE_FILE = "02-quy-trinh-thanh-tra/images/cac-buoc-thanh-tra.svg"
LOCKED_COURSE, LOCKED_FILE = "giam-sat-so", "01-giam-sat-canh-bao-som/images/thang-can-thiep.svg"


def _trainee_with_a_locked_course(stack: Stack) -> str:
    """An account for a demo person who follows the programme and has not reached its last
    step, where LOCKED_COURSE is (nothing else requires it of them): its files are refused."""
    with stack.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id).where(Course.key == LOCKED_COURSE))
        staff_ids = db.session.scalars(sa.select(ProgramEnrolment.staff_id).where(
            ProgramEnrolment.latest.is_(True), ~ProgramEnrolment.staff_id.in_(
                sa.select(User.staff_id).where(User.staff_id.is_not(None))))
            .order_by(ProgramEnrolment.staff_id)).all()
        staff_id = next(i for i in staff_ids if programs.lock_reason(i, course_id) is not None)
        email = f"khoa-{staff_id}@example.vn"
        user = User(email=email, display_name="Học viên bị khóa", role=Role.TRAINEE, staff_id=staff_id,
                    active=True)
        set_password(user, DEMO_PASSWORD, FAST_HASH)
        db.session.add(user)
        db.session.commit()
        return email
VIDEO_FILE = "02-quy-trinh-thanh-tra/video/chuan-bi-thanh-tra.mp4"


def test_course_files_go_through_the_apps_check_then_nginx(stack: Stack) -> None:
    marker = uuid.uuid4().hex
    path = f"/courses/nghiep-vu-thanh-tra/files/{COURSE_FILE}?t={marker}"
    source = ROOT / "courses" / "nghiep-vu-thanh-tra" / COURSE_FILE

    anonymous = stack.visitor().get(path.replace(marker, "anonymous"))
    assert anonymous.status == 302 and "/login" in anonymous.header("Location")
    assert b"<svg" not in anonymous.body

    trainee = stack.visitor()
    trainee.sign_in("hocvien@example.vn")
    answer = trainee.get(path)
    assert answer.status == 200
    assert answer.body == source.read_bytes()
    assert answer.header("Content-Type").startswith("image/svg+xml")
    assert "sandbox" in answer.header("Content-Security-Policy")
    assert {d.strip() for d in answer.header("Cache-Control").split(",")} == {"private", "max-age=3600"}
    assert len(answer.headers.get_all("Content-Security-Policy") or []) == 1
    assert "X-Accel-Redirect" not in answer.headers
    line = stack.answered_by_app(marker)  # the app checked it, and sent no byte of it
    assert '" 200 0 ' in line or '" 200 - ' in line, line

    video = trainee.get(f"/courses/nghiep-vu-thanh-tra/files/{VIDEO_FILE}", headers={"Range": "bytes=0-99"})
    assert video.status == 206 and len(video.body) == 100
    assert video.body == (ROOT / "courses" / "nghiep-vu-thanh-tra" / VIDEO_FILE).read_bytes()[:100]

    # A way out of the folder to a file that exists, the internal location itself: refused.
    escaped = COURSE_FILE.replace("/", "%2f")
    for refused in (f"/courses/tiep-cong-dan/files/..%2fnghiep-vu-thanh-tra%2f{escaped}",
                    f"/_mooc/courses/nghiep-vu-thanh-tra/{COURSE_FILE}"):
        answer = trainee.get(refused)
        assert answer.status == 404, refused
        assert b"<svg" not in answer.body

    # Another course's file, which exists: this trainee (the course required of them) gets it,
    # a trainee for whom it is a locked step of their programme does not, by its own address,
    # out of an open course's folder, or by the internal location.
    locked_path = f"/courses/{LOCKED_COURSE}/files/{LOCKED_FILE}"
    assert (ROOT / "courses" / LOCKED_COURSE / LOCKED_FILE).is_file()
    assert trainee.get(locked_path).status == 200
    other = stack.visitor()
    assert other.sign_in(_trainee_with_a_locked_course(stack)).status == 302
    locked_escaped = LOCKED_FILE.replace("/", "%2f")
    out_of_an_open_course = f"/courses/nghiep-vu-thanh-tra/files/..%2f{LOCKED_COURSE}%2f{locked_escaped}"
    for refused, status in ((locked_path, 403), (out_of_an_open_course, 404),
                            (f"/_mooc/courses/{LOCKED_COURSE}/{LOCKED_FILE}", 404)):
        answer = other.get(refused)
        assert answer.status == status, (refused, answer.status)
        assert b"<svg" not in answer.body and "X-Accel-Redirect" not in answer.headers


def _unit_id(stack: Stack, code: str) -> int:
    with stack.app.app_context():
        return db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == code))


def test_xlsx_exports_go_through_the_apps_check_then_nginx(stack: Stack) -> None:
    manager = stack.visitor()
    assert manager.sign_in("quanly.hanoi@example.vn").status == 302
    marker = uuid.uuid4().hex
    hanoi = _unit_id(stack, "HN")
    answer = manager.get(f"/reports/units/{hanoi}?export=xlsx&t={marker}")
    assert answer.status == 200, answer.body[:300]
    assert answer.body[:2] == b"PK"
    assert answer.header("Content-Type") == XLSX_MIME
    assert answer.header("Content-Disposition").startswith("attachment;")
    assert answer.header("Cache-Control") == "no-store"
    line = stack.answered_by_app(marker)
    assert '" 200 0 ' in line or '" 200 - ' in line, line
    spooled = [p.name for p in stack.spool_dir.iterdir() if p.suffix == ".xlsx"]
    assert spooled

    # Another unit's export, a trainee's, the spooled file itself: refused, no file made.
    before = set(stack.spool_dir.iterdir())
    other = manager.get(f"/reports/units/{_unit_id(stack, 'HCM')}?export=xlsx")
    assert other.status == 404 and other.body[:2] != b"PK"
    trainee = stack.visitor()
    trainee.sign_in("hocvien@example.vn")
    assert trainee.get(f"/reports/units/{hanoi}?export=xlsx").status == 403
    assert set(stack.spool_dir.iterdir()) == before
    for name in spooled:
        direct = trainee.get(f"/_mooc/spool/{name}")
        assert direct.status == 404 and direct.body[:2] != b"PK"


def test_an_oversize_upload_is_refused_by_nginx_with_the_apps_page(stack: Stack) -> None:
    officer = stack.visitor()
    officer.sign_in("daotao.hanoi@example.vn")
    marker = uuid.uuid4().hex
    boundary = "deploy-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + b"x" * (UPLOAD_MB * 1024 * 1024 + 1) + \
        f"\r\n--{boundary}--\r\n".encode()
    answer = officer.request("POST", f"/roster/import?t={marker}", body=body,
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status == 413
    page = (stack.error_pages / "413.html").read_bytes()
    assert answer.body == page
    assert "Tệp quá lớn".encode() in page  # the default language, Vietnamese
    assert '<link rel="stylesheet"' in page.decode()
    assert not stack.app_log_lines(marker)  # never reached the app


# --- systemd ---------------------------------------------------------------------------------------

UNITS = DEPLOY / "systemd"


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """In a root of their own (--root) laid out as docs/operations.md installs them: the units
    in /etc/systemd/system, stand-ins for /opt/mooc/venv/bin/mooc and deploy/backup.sh, the
    system's own units (targets) copied. Any complaint (an unknown key, a bad value) fails."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # not in CI either: it comes with systemd, which a container lacks
        pytest.skip("systemd-analyze is not installed (it comes with systemd itself)")
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS.iterdir():
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    for stand_in in ("opt/mooc/venv/bin/mooc", "opt/mooc/app/deploy/backup.sh", "bin/kill"):
        (root / stand_in).parent.mkdir(parents=True, exist_ok=True)
        (root / stand_in).write_text("#!/bin/sh\n")
        (root / stand_in).chmod(0o755)
    system_units = next(p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
                        if p.is_dir())
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    names = sorted(unit.name for unit in UNITS.iterdir())
    result = subprocess.run([analyze, "verify", f"--root={root}",  # noqa: S603
                             *(f"/etc/systemd/system/{name}" for name in names)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert "mooc.service" in names


def _timer_commands() -> dict[str, str]:
    """timer name -> its service's command, as the guide writes it (no folders, no --quiet)."""
    commands = {}
    for timer in UNITS.glob("*.timer"):
        service = (UNITS / f"{timer.stem}.service").read_text(encoding="utf-8")
        start = re.search(r"^ExecStart=(.+)$", service, re.MULTILINE)
        assert start, timer.stem
        executable = start.group(1).replace("/opt/mooc/venv/bin/", "").replace("/opt/mooc/app/", "")
        commands[timer.stem] = executable.split(" --quiet")[0]
        assert "Type=oneshot" in service and "EnvironmentFile=/etc/mooc/mooc.env" in service
        assert re.search(r"^OnCalendar=", timer.read_text(), re.MULTILINE), timer.stem
    return commands


def test_every_scheduled_command_has_a_timer_and_a_row_in_the_guide() -> None:
    """One list, four places: a timer per command of docs/operations.md's "Scheduled work"
    table, each with its service, and no timer the table leaves out; `mooc doctor` watches each
    (doctor.SCHEDULED) and the guide's doctor table names its check; the README's command table
    says "cron" of exactly those `mooc` commands."""
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(mooc-[a-z-]+)\.timer` \| `([^`]+)` \|", guide, re.MULTILINE))
    timers = _timer_commands()
    assert rows and rows == timers

    assert sorted(job.command for job in doctor.SCHEDULED) == sorted(timers.values())
    doctor_section = guide[guide.index("## `mooc doctor`"):guide.index("## Progress, exit status")]
    named = set(re.findall(r"`(schedule\.[a-z_]+)`", doctor_section))
    assert named == {job.check for job in doctor.SCHEDULED}

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ours = {command for command in timers.values() if command.startswith("mooc ")}
    cron = {match.group(1) for line in readme.splitlines() if line.startswith("| `mooc ") and "cron" in line
            for match in [re.match(r"\| `(mooc [a-z -]+?)(?: \[|`)", line)] if match}
    assert cron == ours
    # The crontabs of the README and of the guide (a machine without systemd): the same commands.
    assert _crontab_commands(readme) == ours
    assert _crontab_commands(guide) == {*ours, "deploy/backup.sh"}


def _crontab_commands(text: str) -> set[str]:
    """The commands of a text's cron blocks, as the timers' ExecStart names them."""
    found = set()
    for block in re.findall(r"^```cron\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            command = line.split(None, 5)[5].split("#")[0]
            if "backup.sh" in command:
                found.add("deploy/backup.sh")
                continue
            words = command.replace("mooc-admin ", "mooc ").split()
            found.add(" ".join(word for word in words if not word.startswith("-")))
    return found


def _guide_commands() -> set[str]:
    """Every command of docs/operations.md's sh blocks, continuation lines joined, trailing
    comments and spacing dropped."""
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    commands = set()
    for block in re.findall(r"^```sh\n(.*?)^```", guide, re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(re.sub(r"(^|\s)#\s.*$", "", line).split())
            if command:
                commands.add(command)
    return commands


def test_the_smoke_install_runs_the_guides_commands_as_written() -> None:
    """deploy/smoke-install.sh (run as root by .ci/run) marks each command it takes from the
    guide with `guide '...'`: each is, word for word, a command of docs/operations.md, so the
    guide cannot change without the install that proves it changing too."""
    script = (DEPLOY / "smoke-install.sh").read_text(encoding="utf-8")
    taken = [" ".join(match.group(2).split())
             for match in re.finditer(r"\bguide(?:_with_input)? (['\"])(.+?)\1", script)]
    assert len(taken) >= 25
    guide = _guide_commands()
    assert [command for command in taken if command not in guide] == []
    for step in ("adduser --system", "runuser -u postgres -- createdb -O mooc mooc",
                 "mooc-admin users create-admin", "mooc-admin doctor", "ALTER DATABASE mooc RENAME"):
        assert any(step in command for command in taken), step


# --- Backups -------------------------------------------------------------------------------------

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            names = sa.inspect(connection).get_table_names()
            return {name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()  # noqa: S608
                    for name in names}
    finally:
        engine.dispose()


def _load_demo_into(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_DIR": str(instance),
                      "SECRET_KEY": SECRET_KEY, "PASSWORD_METHOD": FAST_HASH,
                      "COURSES_DIR": str(ROOT / "courses")})
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _backup_sh(url: str, folder: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOC_")} | {
        "MOOC_DATABASE_URL": url, "MOOC_BACKUP_DIR": str(folder), "MOOC_BIN": mooc_command()[0],
        "MOOC_INSTANCE_DIR": str(folder), "MOOC_SECRET_KEY": SECRET_KEY}
    result = subprocess.run([str(DEPLOY / "backup.sh")], env=env, capture_output=True, text=True,  # noqa: S603
                            check=False)
    assert result.returncode == 0, result.stderr
    written = Path(result.stdout.strip())
    assert written.parent == folder and written.is_file()
    return written


@pytest.fixture
def pg_databases() -> Iterator[tuple[str, str]]:
    """Two fresh databases of this test's own on the local PostgreSQL, dropped afterwards."""
    program("pg_dump")
    program("pg_restore")
    with local_postgresql_server():  # the other pass of the suite does not restart it meanwhile
        yield from _two_databases()


def _two_databases() -> Iterator[tuple[str, str]]:
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        admin.connect().close()
    except sa.exc.OperationalError:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL at 127.0.0.1:5432 (.ci/run starts it)")
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    suffix = uuid.uuid4().hex[:10]
    names = (f"mooc_deploy_src_{suffix}", f"mooc_deploy_dst_{suffix}")
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield names
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_postgresql_backup_restores_with_pg_restore(pg_databases: tuple[str, str], tmp_path: Path) -> None:
    """deploy/backup.sh (pg_dump, custom format), then the guide's pg_restore into a fresh database."""
    source, target = pg_databases
    _load_demo_into(f"{PG_SERVER}/{source}", tmp_path)
    dump = _backup_sh(f"{PG_SERVER}/{source}", tmp_path / "backups")
    assert dump.suffix == ".dump"
    restored = subprocess.run([program("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",  # noqa: S603
                               f"--dbname=postgresql://postgres@127.0.0.1:5432/{target}", str(dump)],
                              capture_output=True, text=True, check=False)
    assert restored.returncode == 0, restored.stderr
    before, after = _counts(f"{PG_SERVER}/{source}"), _counts(f"{PG_SERVER}/{target}")
    assert before == after
    assert before["staff"] > 0 and before["courses"] > 0 and before["alembic_version"] == 1


def test_sqlite_backup_restores_with_mooc_restore(tmp_path: Path) -> None:
    live = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    _load_demo_into(live, tmp_path)
    copy = _backup_sh(live, tmp_path / "backups")
    assert copy.suffix == ".sqlite3"
    restored_url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOC_")} | {
        "MOOC_DATABASE_URL": restored_url, "MOOC_INSTANCE_DIR": str(tmp_path)}
    result = subprocess.run([*mooc_command(), "restore", "--yes", str(copy)], env=env,  # noqa: S603
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    before = _counts(live)
    assert before == _counts(restored_url) and before["staff"] > 0
