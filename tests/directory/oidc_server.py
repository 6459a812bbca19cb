"""A real OpenID provider for the tests: the certified `oidc-provider` npm package, started
with node on a free loopback port (tests/directory/oidc_provider/provider.js), and an HTTP
client that signs in on its pages as a person would.

Installed by `.ci/run` (`npm ci` in oidc_provider/). Where node or the package is missing the
tests skip, except in CI (the CI variable set), where that is a failure."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

FOLDER = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "mooc"
CLIENT_SECRET = "bi-mat-cua-ung-dung-kiem-thu"

# The directory provider.js holds: login -> password.
PASSWORDS = {"mai.tran": "mat-khau-mai", "nam.le": "mat-khau-nam", "khach.pham": "mat-khau-khach",
             "dao.an": "mat-khau-an"}


def require_node() -> str:
    """The node binary, or a skip (a failure in CI) when it or the package is missing."""
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed (apt-get install nodejs npm)"
    elif not (FOLDER / "node_modules" / "oidc-provider" / "package.json").is_file():
        missing = f"oidc-provider is not installed: run `npm ci` in {FOLDER}"
    if missing:
        if os.environ.get("CI"):  # in CI a missing provider is a failure, never a silent skip
            raise RuntimeError(missing + " (.ci/run installs it)")
        pytest.skip(missing)
    assert node is not None
    return node


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen

    def next_token(self, mode: str) -> None:
        """Make the provider change the next ID token it issues (provider.js: claims, audience)."""
        requests.post(f"{self.issuer}/test/next-token", data={"mode": mode}, timeout=10).raise_for_status()

    def discovery(self) -> dict:
        return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()


@contextmanager
def running_provider(redirect_uris: list[str], post_logout_redirect_uris: list[str], *,
                     conform: bool = False) -> Iterator[Provider]:
    """Start provider.js on a free port, wait for its discovery document, stop it afterwards.
    ``conform``: the ID token carries no claim of the scopes asked for (UserInfo does)."""
    node = require_node()
    port = free_port()
    env = dict(os.environ, PORT=str(port), CLIENT_ID=CLIENT_ID, CLIENT_SECRET=CLIENT_SECRET,
               CONFORM="1" if conform else "",
               REDIRECT_URIS=",".join(redirect_uris),
               POST_LOGOUT_REDIRECT_URIS=",".join(post_logout_redirect_uris))
    log_path = FOLDER / "node_modules" / ".provider.log"
    log = log_path.open("w")
    process = subprocess.Popen([node, "provider.js"], cwd=FOLDER, env=env, stdout=log,  # noqa: S603
                               stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # bounded: 20 s at most
            if process.poll() is not None:
                raise RuntimeError(f"provider.js exited: {log_path.read_text()}")
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("provider.js did not answer within 20 s")
        yield Provider(issuer, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def sign_in_at_provider(authorize_url: str, login: str, *, password: str | None = None,
                        otp: bool = False, browser: requests.Session | None = None) -> str:
    """Open the provider's authorisation URL, sign in on its page, and return the address it
    sends the browser back to (the platform's callback, with code and state): not opened."""
    browser = browser or requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    for _ in range(5):
        if response.status_code not in (302, 303):
            break
        response = browser.get(urljoin(response.url, response.headers["Location"]),
                               allow_redirects=False, timeout=10)
    assert response.status_code == 200, response.text[:500]
    action = FORM_ACTION.search(response.text)
    assert action, response.text[:500]
    form = {"login": login, "password": password or PASSWORDS[login]}
    if otp:
        form["otp"] = "1"
    response = browser.post(urljoin(response.url, unescape(action.group(1))), data=form,
                            allow_redirects=False, timeout=10)
    for _ in range(5):
        assert response.status_code in (302, 303), response.text[:500]
        location = urljoin(response.url, response.headers["Location"])
        if urlsplit(location)[:2] != urlsplit(authorize_url)[:2]:
            return location  # left the provider: back to the platform
        response = browser.get(location, allow_redirects=False, timeout=10)
    raise AssertionError("the provider never sent the browser back")
