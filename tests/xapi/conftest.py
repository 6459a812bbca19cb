"""A real learning-records store for the tests: Ralph (ralph-malph), its file-system backend in a
temporary folder, started on a free loopback port.

Ralph lives in a venv of its own (``.cache/ralph``, made by the first test run that needs it,
from the package registry): its command line pins click below 8.2.1, and click 8.2.0 breaks the
`mooc` command's shell completion, so it cannot share the project's venv.

Ralph's file-system backend (its development backend) stores the statements of one account
in one file, written once: a second write of new statements to the same file is refused
("already exists"). So each test gets an account of its own (its own file) and sends its new
statements in one request; Elasticsearch, MongoDB or ClickHouse behind Ralph in production
have no such limit."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

PASSWORD = "mat-khau-lrs"
ACCOUNTS = 12  # one per test that sends


ROOT = Path(__file__).resolve().parents[2]
RALPH_VENV = ROOT / ".cache" / "ralph"
RALPH = "ralph-malph[cli,lrs,backend-fs]==5.1.0"


def _ralph() -> Path:
    """Ralph's venv (made once): its `ralph` command is beside its python."""
    program = RALPH_VENV / "bin" / "ralph"
    if program.exists():
        return program
    try:
        subprocess.run([sys.executable, "-m", "venv", str(RALPH_VENV)], check=True,  # noqa: S603
                       capture_output=True)
        # requests: ralph 5.1's API imports it without declaring it
        subprocess.run([str(RALPH_VENV / "bin" / "pip"), "install", "-q", RALPH, "requests"],  # noqa: S603
                       check=True, capture_output=True, timeout=1200)
    except (subprocess.SubprocessError, OSError) as error:
        shutil.rmtree(RALPH_VENV, ignore_errors=True)
        message = f"could not install Ralph ({RALPH}) into {RALPH_VENV}: {error}"
        if os.environ.get("CI"):  # in CI a missing store is a failure, never a silent skip
            pytest.fail(message)
        pytest.skip(message)
    return program


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Ralph:
    """Start, stop and read the store; its statements survive a restart (files on disk)."""

    def __init__(self, folder: Path) -> None:
        self.program = str(_ralph())
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/xAPI/"
        self._accounts = count(1)
        self.env = os.environ | {
            "RALPH_APP_DIR": str(folder / "app"),
            "RALPH_AUTH_FILE": str(folder / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
        }
        self.process: subprocess.Popen[bytes] | None = None
        hashed = subprocess.run(  # noqa: S603 (bcrypt, as the store checks them, in its venv; fast cost)
            [str(RALPH_VENV / "bin" / "python"), "-c",
             "import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())",
             PASSWORD], check=True, capture_output=True, text=True).stdout.strip()
        users = []
        for n in range(1, ACCOUNTS + 1):
            (folder / "data" / f"t{n}").mkdir(parents=True)
            users.append({"agent": {"objectType": "Agent",
                                    "account": {"homePage": "https://lrs.test", "name": f"t{n}"}},
                          "scopes": ["all"], "target": f"t{n}", "hash": hashed, "username": f"t{n}"})
        (folder / "auth.json").write_text(json.dumps(users), encoding="utf-8")

    def account(self) -> str:
        """A user name of the store whose statements no other test writes or reads."""
        return f"t{next(self._accounts)}"

    def start(self) -> None:
        with (self.folder / "ralph.log").open("ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(  # noqa: S603 (our own command line)
                [self.program, "runserver", "-b", "fs", "--fs-default-directory-path",
                 str(self.folder / "data"), "-h", "127.0.0.1", "-p", str(self.port)],
                env=self.env, cwd=self.folder / "app" if (self.folder / "app").exists() else self.folder,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                if self.process.poll() is not None:
                    break
                time.sleep(0.3)
        raise RuntimeError("Ralph did not start: " + (self.folder / "ralph.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the server and its reloader
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def statements(self, account: str) -> list[dict]:
        """Every statement the store holds for ``account``, following its "more" links."""
        token = base64.b64encode(f"{account}:{PASSWORD}".encode()).decode()
        found: list[dict] = []
        address = f"http://127.0.0.1:{self.port}/xAPI/statements/?limit=500"
        while address:
            request = urllib.request.Request(address, headers={
                "Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"})
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                page = json.load(answer)
            found.extend(page["statements"])
            more = page.get("more")
            address = f"http://127.0.0.1:{self.port}{more}" if more else ""
        return found


@pytest.fixture(scope="module")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ralph]:
    store = Ralph(tmp_path_factory.mktemp("ralph"))
    store.start()
    yield store
    store.stop()
