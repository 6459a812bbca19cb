"""Browser tests: the real app, served over HTTP, driven in Debian's Chromium by Playwright.

The app is started once for the whole e2e package, on a random loopback port, by a werkzeug
server in a thread of the test process:

- its database is the suite's test database (``database_url`` in tests/conftest.py: SQLite in
  a temporary folder, or ``MOOC_TEST_DATABASE_URL``), emptied, then loaded with the demo
  (``mooc.demo.load_demo()``: the roster, the accounts of the README and the real courses,
  synced from a *copy* of ``courses/`` that the author journey may edit);
- the fixture is package-scoped: it starts before the first e2e test and, after the last
  one, stops the server and empties every table again, so the rest of the suite finds the
  empty database it expects. E2e tests never use ``make_app``/``app`` (whose teardown empties
  the tables under the running server); each journey makes its own people with
  ``live.make_trainee()`` so the tests do not depend on their order.

Every page is watched (``Watch``): a response of 400 or more (the page, its CSS, scripts,
pictures, fetches), a console error (CSP violations are console errors), an uncaught
script error or a failed request fails the test, unless the test said it expected it
(``watch.allow(404)``). Chromium: /usr/bin/chromium, headless, never a downloaded browser.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from mooc import create_app
from mooc.auth.demo_accounts import DEMO_PASSWORD
from mooc.auth.models import Role, User
from mooc.auth.passwords import set_password
from mooc.demo import load_demo
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Position, Staff
from mooc.text import split_full_name
from tests.conftest import FAST_HASH, ROOT, empty_tables

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():  # pragma: no cover - CI installs it (.ci/run); a laptop may not have it
    if os.environ.get("CI"):  # in CI a missing browser is a failure, never a silent skip
        raise RuntimeError("Chromium is not installed: .ci/run must apt-get install chromium")
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

from scripts.screenshots import ARGS as CHROMIUM_ARGS  # noqa: E402 (one list of launch flags)

SECRET_KEY = "e2e-secret-" + "x" * 40
PASSWORD = "mot-mat-khau-e2e"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass  # one line per request would bury the test output


@dataclass
class LiveServer:
    """The running app: its address, its Flask object (for server-side checks) and its folders."""

    url: str
    app: Flask
    courses_dir: Path
    instance_dir: Path
    database_url: str
    _ids: Iterator[int] = field(default_factory=lambda: count(1))

    @contextlib.contextmanager
    def db(self) -> Iterator[Any]:
        """A database session in the app's context, committed at the end (for setup and checks)."""
        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            finally:
                db.session.remove()

    def cli_env(self) -> dict[str, str]:
        """The environment in which `mooc ...` works on this server's database and courses."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOOC_")}
        env.update(MOOC_ENV="testing", MOOC_DATABASE_URL=self.database_url,
                   MOOC_INSTANCE_DIR=str(self.instance_dir), MOOC_COURSES_DIR=str(self.courses_dir),
                   MOOC_SECRET_KEY=SECRET_KEY, MOOC_BASE_URL=self.url)
        return env

    def mooc(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the `mooc` command as an author or operator would, in a process of its own."""
        script = Path(sys.executable).with_name("mooc")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "mooc.cli"]
        return subprocess.run([*command, *args], env=self.cli_env(), cwd=ROOT, capture_output=True,  # noqa: S603
                              text=True, timeout=120, check=False)

    def make_trainee(self, full_name: str, unit_code: str, position_code: str,
                     role: Role = Role.TRAINEE) -> Person:
        """A person on the roster with an account; the assignment rules are applied to them."""
        from mooc.training import assign

        n = next(self._ids)
        email = f"e2e{n}.{_slug(full_name)}@example.vn"
        family, middle, given = split_full_name(full_name)
        with self.db() as session:
            unit = session.scalar(sa.select(OrgUnit).where(OrgUnit.code == unit_code))
            position = session.scalar(sa.select(Position).where(Position.code == position_code))
            staff = Staff(staff_code=f"E2E{n:03d}", full_name=full_name, family_name=family,
                          middle_name=middle, given_name=given, email=email, unit=unit, position=position)
            session.add(staff)
            session.flush()
            user = User(email=email, display_name=full_name, role=role, staff_id=staff.id)
            set_password(user, PASSWORD, FAST_HASH)
            session.add(user)
            session.flush()
            assign.apply_rules(staff_ids={staff.id})
            return Person(email, PASSWORD, full_name, staff.id, user.id)


@dataclass(frozen=True)
class Person:
    email: str
    password: str
    full_name: str
    staff_id: int
    user_id: int


def _slug(text: str) -> str:
    from mooc.text import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(text).lower()).strip("-")


@pytest.fixture(scope="package")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app with the demo loaded, served once for the whole e2e package (see the module doc)."""
    folder = tmp_path_factory.mktemp("e2e")
    courses_dir = folder / "courses"
    shutil.copytree(ROOT / "courses", courses_dir)
    instance_dir = folder / "instance"
    # The port first, then the app: links in e-mails and on certificates point here (BASE_URL).
    server = make_server("127.0.0.1", 0, None, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app({
        "ENV": "testing", "DATABASE_URL": database_url, "INSTANCE_DIR": str(instance_dir),
        "COURSES_DIR": str(courses_dir), "SECRET_KEY": SECRET_KEY, "PASSWORD_METHOD": FAST_HASH,
        "BASE_URL": url,
    })
    with app.app_context():
        empty_tables()  # whatever an interrupted run left behind
        report = load_demo()
        assert report.courses and "not loaded" not in report.courses[0], report.courses
        db.session.commit()
        db.session.remove()
    with serving(server, app):
        yield LiveServer(url, app, courses_dir, instance_dir, database_url)
    with app.app_context():
        db.session.remove()
        empty_tables()
        db.engine.dispose()


@contextlib.contextmanager
def serving(server: Any, app: Flask, name: str = "e2e-server") -> Iterator[None]:
    """Serve ``app`` with ``server`` (a werkzeug server made on a loopback port) in a thread
    for the block; then stop it and let go of the app's database connections."""
    server.app = app
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="package")
def browser(live: LiveServer) -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- watching pages ---------------------------------------------------------------------------


class Watch:
    """Everything that went wrong in a browser context: bad responses, console errors, crashes."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._allowed: set[int] = set()

    @contextlib.contextmanager
    def allow(self, *statuses: int) -> Iterator[None]:
        """Expect these HTTP statuses (and Chromium's console line about them) inside the block."""
        self._allowed.update(statuses)
        try:
            yield
        finally:
            self._allowed.difference_update(statuses)

    def attach(self, page: Any) -> None:
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"script error on {page.url}: {error}"))
        page.on("requestfailed", self._on_request_failed)

    def _on_response(self, response: Any) -> None:
        if response.status >= 400 and response.status not in self._allowed:
            self.problems.append(f"HTTP {response.status} for {response.request.method} {response.url}")

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        if self._allowed and message.text.startswith("Failed to load resource"):
            return
        self.problems.append(f"console error on {message.location.get('url', '?')}: {message.text}")

    def _on_request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        if failure == "net::ERR_ABORTED":
            return  # the page moved on before it finished (an icon, a download); a refused
            # stylesheet or script is also aborted, but Chromium says why on the console
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def check(self) -> None:
        problems, self.problems = self.problems, []
        assert not problems, "the browser saw problems:\n" + "\n".join(problems)


@dataclass
class Browsing:
    """Opens pages in fresh browser contexts (one per person), all watched."""

    browser: Any
    live: LiveServer
    watch: Watch
    signed_in_states: dict[str, Any]
    contexts: list[Any] = field(default_factory=list)

    def new_page(self, viewport: dict[str, int] | None = None, **options: Any) -> Any:
        """``options``: Playwright's context options; ``locale`` (the browser's language, which
        decides how Chromium draws its own controls) is Vietnamese unless said."""
        options = {"locale": "vi-VN", **options}
        context = self.browser.new_context(
            base_url=self.live.url, viewport=viewport or DESKTOP,
            timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True, **options)
        # How long a step may wait for what it expects (a limit for a hang, not a speed check):
        # .ci/run runs the suite's two passes side by side on 2 cores, where a page under
        # load has taken more than 15 s.
        context.set_default_timeout(45_000)
        self.contexts.append(context)
        page = context.new_page()
        self.watch.attach(page)
        return page

    def signed_in(self, email: str, password: str = DEMO_PASSWORD,
                  viewport: dict[str, int] | None = None) -> Any:
        """A page of a person already signed in, before any ``go()``. The journeys sign in through
        the form themselves; the page-by-page checks reuse one session per account (its cookie)."""
        from tests.e2e.pages import sign_in

        if email in self.signed_in_states:
            return self.new_page(viewport, storage_state=self.signed_in_states[email])
        page = self.new_page(viewport)
        sign_in(page, email, password)
        self.signed_in_states[email] = page.context.storage_state()
        return page

    def close(self) -> None:
        """Close every page; a site served only for one test closes them before it stops, so
        that no request of a page still loading (a logo) is cut off (closing twice is fine)."""
        contexts, self.contexts = self.contexts, []
        for context in contexts:
            context.close()


@pytest.fixture(scope="package")
def signed_in_states() -> dict[str, Any]:
    return {}


@pytest.fixture
def browsing(browser: Any, live: LiveServer, signed_in_states: dict[str, Any]) -> Iterator[Browsing]:
    """Pages for a test; at the end, any problem a page had fails the test."""
    watch = Watch()
    session = Browsing(browser, live, watch, signed_in_states)
    try:
        yield session
    finally:
        session.close()
    watch.check()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test itself (not only its teardown) when a page it opened had a problem."""
    result = yield
    browsing = getattr(item, "funcargs", {}).get("browsing")
    if browsing is not None:
        pages = [page for context in browsing.contexts for page in context.pages]
        if pages:
            pages[0].wait_for_timeout(50)  # let late console messages and responses arrive
        browsing.watch.check()
    return result


@pytest.fixture
def make_trainee(live: LiveServer) -> Callable[..., Person]:
    return live.make_trainee
