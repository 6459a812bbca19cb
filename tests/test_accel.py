"""MOOC_ACCEL_REDIRECT without nginx: what the app answers (tests/test_deploy.py runs nginx on it).
On, a course file and an export are an empty answer naming nginx's internal location; the
access checks come first, and a refused request names nothing. Off, the app sends the bytes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mooc import accel
from mooc.auth.models import Role
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from tests.conftest import login
from tests.courses.tree import make_tree

PICTURE = "/courses/luat/files/01-co-ban/images/so-do.svg"


@pytest.fixture
def site(make_app, tmp_path: Path):
    def build(accel_on: bool):
        tree = tmp_path / "courses"
        if not tree.exists():
            make_tree(tree)
        app = make_app(COURSES_DIR=str(tree), ACCEL_REDIRECT=accel_on, SPOOL_DIR=str(tmp_path / "spool"))
        with app.app_context():
            sync_tree(tree)
            db.session.commit()
        return app
    return build


def _signed_in(app, make_user, role: Role = Role.TRAINEE):
    client = app.test_client()
    assert login(client, make_user(role=role).email).status_code == 302
    return client


def test_a_course_file_is_handed_to_nginx_after_the_checks(site, make_user):
    app = site(True)
    anonymous = app.test_client().get(PICTURE)
    assert anonymous.status_code == 302 and "X-Accel-Redirect" not in anonymous.headers
    client = _signed_in(app, make_user)
    answer = client.get(PICTURE)
    assert answer.status_code == 200 and answer.data == b""
    assert answer.headers["X-Accel-Redirect"] == "/_mooc/courses/luat/01-co-ban/images/so-do.svg"
    assert answer.headers["Content-Type"].startswith("image/svg+xml")
    assert "private" in answer.headers["Cache-Control"] and "max-age=3600" in answer.headers["Cache-Control"]
    for refused in ("/courses/luat/files/%2e%2e/%2e%2e/secret.png", "/courses/khong-co/files/a.svg",
                    "/courses/luat/files/01-co-ban/01-khai-niem.md"):
        answer = client.get(refused)
        assert answer.status_code == 404 and "X-Accel-Redirect" not in answer.headers


def test_an_export_is_spooled_whole_then_handed_to_nginx(site, make_user, tmp_path):
    app = site(True)
    spool = tmp_path / "spool"
    spool.mkdir()
    stale = spool / "old.xlsx"
    stale.write_bytes(b"PK")
    os.utime(stale, (time.time() - accel.SPOOL_MINUTES * 60 - 5,) * 2)
    trainee = _signed_in(app, make_user)
    assert trainee.get("/reports/?export=xlsx").status_code == 403
    assert {p.name for p in spool.iterdir()} == {"old.xlsx"}
    reporter = _signed_in(app, make_user, Role.REPORTER)
    answer = reporter.get("/reports/?export=xlsx")
    assert answer.status_code == 200 and answer.data == b""
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    name = answer.headers["X-Accel-Redirect"].removeprefix("/_mooc/spool/")
    assert name.endswith(".xlsx") and len(name) > 30
    assert (spool / name).read_bytes()[:2] == b"PK"
    assert not stale.exists()  # an old export was swept
    assert [p.name for p in spool.iterdir()] == [name]  # no partial file left


def test_without_the_setting_the_app_sends_the_bytes(site, make_user):
    app = site(False)
    client = _signed_in(app, make_user)
    answer = client.get(PICTURE)
    assert answer.status_code == 200 and answer.data.startswith(b"<svg")
    assert "X-Accel-Redirect" not in answer.headers
    export = _signed_in(app, make_user, Role.REPORTER).get("/reports/?export=csv")
    assert export.status_code == 200 and export.data.startswith(b"\xef\xbb\xbf")
    assert "X-Accel-Redirect" not in export.headers
