"""Statements land in a real learning-records store (Ralph) and match the database; the
outbox keeps them while the store is down; nothing is sent twice; the export writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent
from mooc.config import settings
from mooc.courses.models import Lesson, LessonProgress
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.quizzes.models import QuizAttempt
from mooc.training.certificates import revoke
from mooc.training.models import Certificate, Enrolment, EnrolmentState
from mooc.xapi import outbox
from mooc.xapi.commands import where_of
from mooc.xapi.models import XapiOutbox
from tests.conftest import csrf_token, login
from tests.training.conftest import make_course
from tests.training.test_completion import read_and_pass
from tests.xapi.conftest import PASSWORD

_sites = count(1)
HOME = "https://nhansu.thanhtra.gov.vn"


@pytest.fixture
def site(make_app, make_unit, make_staff, make_user, tmp_path, ralph):
    """An app sending to Ralph (each test its own base address: its own statement ids), a
    synced course, and a trainee with an account (staff code 00123) and an administrator."""
    base = f"https://daotao-{next(_sites)}.thanhtra.gov.vn"
    account = ralph.account()
    root = make_course(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(root), BASE_URL=base, ALLOW_FILE_MAIL=True, XAPI_URL=ralph.url,
                   XAPI_USER=account, XAPI_PASSWORD=PASSWORD, XAPI_ACCOUNT_HOMEPAGE=HOME)
    app.lrs_account = account
    with app.app_context():
        sync_tree(root)
        db.session.commit()
    unit = make_unit("Thanh tra tỉnh Ninh Bình", kind="province")
    staff = make_staff("Phạm Thu Hà", unit=unit, staff_code="00123", email="ha.pham@thanhtra.gov.vn")
    user = make_user(email="ha.pham@thanhtra.gov.vn", name="Phạm Thu Hà", staff=staff)
    return app, base, user


def _send(app):
    return app.test_cli_runner().invoke(args=["xapi", "send"])


def _train(app, user, *, fail_first: bool = True) -> None:
    client = app.test_client()
    login(client, user.email)
    if fail_first:
        read_and_pass(client, app, right=False)
    read_and_pass(client, app, right=True)


def _mine(ralph, app) -> list[dict]:
    return ralph.statements(app.lrs_account)


def test_statements_land_in_ralph_and_match_the_database(site, ralph):
    app, base, user = site
    clock.set_now(datetime(2026, 3, 2, 3, tzinfo=UTC))
    _train(app, user)
    result = _send(app)
    assert result.exit_code == 0, result.output
    assert "Sent 8, failed 0; 0 still queued." in result.output

    stored = {s["id"]: s for s in _mine(ralph, app)}
    with app.app_context():
        queued = {row.statement_id: row for row in db.session.scalars(sa.select(XapiOutbox))}
        assert set(stored) == set(queued) and len(stored) == 8
        assert all(row.sent_at is not None for row in queued.values())
        lessons = db.session.execute(
            sa.select(LessonProgress.id, Lesson.key).join(Lesson)).all()
        attempts = db.session.scalars(sa.select(QuizAttempt).order_by(QuizAttempt.number)).all()
        enrolment = db.session.scalar(sa.select(Enrolment))
        certificate = db.session.scalar(sa.select(Certificate))
        assert enrolment.state == EnrolmentState.COMPLETED

    by_verb: dict[str, list[dict]] = {}
    for statement in stored.values():
        by_verb.setdefault(statement["verb"]["id"].rsplit("/", 1)[1], []).append(statement)
        # the person is the register's account, never an e-mail or a name
        assert statement["actor"] == {"objectType": "Agent",
                                      "account": {"homePage": HOME, "name": "00123"}}
        text = json.dumps(statement, ensure_ascii=False)
        assert "ha.pham" not in text and "Phạm Thu Hà" not in text and "mbox" not in text
    assert {verb: len(found) for verb, found in by_verb.items()} == {
        "completed": 3, "attempted": 2, "passed": 1, "failed": 1, "earned": 1}

    lesson_ids = sorted(s["object"]["id"] for s in by_verb["completed"]
                        if s["object"]["definition"]["type"].endswith("/lesson"))
    assert lesson_ids == sorted(f"{base}/courses/luat/lessons/{key}" for _id, key in lessons)
    failed, passed = by_verb["failed"][0], by_verb["passed"][0]
    assert failed["result"]["success"] is False and failed["result"]["score"]["scaled"] == 0
    assert passed["result"] == {"score": {"scaled": 1.0, "raw": attempts[1].score, "min": 0,
                                          "max": attempts[1].max_score},
                                "success": True, "completion": True}
    assert passed["object"]["id"] == f"{base}/courses/luat/quizzes/co-ban/kiem-tra"
    assert passed["object"]["definition"]["name"] == {"vi-VN": "Kiểm tra"}
    assert datetime.fromisoformat(passed["timestamp"]) == attempts[1].submitted_at
    course = next(s for s in by_verb["completed"] if s["object"]["id"] == f"{base}/courses/luat")
    assert course["object"]["definition"]["name"] == {"vi-VN": "Luật Thanh tra 2025"}
    assert datetime.fromisoformat(course["timestamp"]) == enrolment.completed_at
    assert by_verb["earned"][0]["object"]["id"] == f"{base}/verify/{certificate.code}"

    again = _send(app)  # nothing new: nothing collected, nothing sent, nothing stored twice
    assert again.exit_code == 0 and "Sent 0, failed 0" in again.output
    assert len(_mine(ralph, app)) == 8
    with app.app_context():  # every run recorded, for `mooc doctor`
        runs = db.session.scalars(sa.select(AuditEvent.details).where(AuditEvent.action == "xapi.sent")
                                  .order_by(AuditEvent.id)).all()
    assert runs == [{"collected": 8, "sent": 8, "failed": 0, "queued": 0},
                    {"collected": 0, "sent": 0, "failed": 0, "queued": 0}]


def test_the_outbox_keeps_statements_while_the_store_is_down(site, ralph):
    app, base, user = site
    now = datetime(2026, 3, 2, 3, tzinfo=UTC)
    clock.set_now(now)
    ralph.stop()
    try:
        client = app.test_client()
        login(client, user.email)
        page = "/courses/luat/lessons/co-ban/mot"  # the trainee's request does not wait for the store
        assert client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)}).status_code == 302
        down = _send(app)
        assert down.exit_code == 1 and "Sent 0, failed 1" in down.output
        with app.app_context():
            row = db.session.scalar(sa.select(XapiOutbox))
            assert (row.tries, row.sent_at) == (1, None) and "no answer" in row.last_error
            assert row.next_try_at == now + timedelta(minutes=2)
    finally:
        ralph.start()
    soon = _send(app)  # the store is back, but the statement waits for its next try
    assert soon.exit_code == 0 and "Sent 0, failed 0; 1 still queued." in soon.output
    clock.set_now(now + timedelta(minutes=3))
    later = _send(app)
    assert later.exit_code == 0 and "Sent 1, failed 0; 0 still queued." in later.output, later.output
    mine = _mine(ralph, app)
    assert [s["object"]["id"] for s in mine] == [f"{base}/courses/luat/lessons/co-ban/mot"]


def test_a_batch_sent_twice_is_stored_once(site, ralph):
    """A run killed after the store took a batch but before our commit sends it again: the
    statement ids are the facts', so the store keeps one copy."""
    app, base, user = site
    _train(app, user, fail_first=False)
    assert _send(app).exit_code == 0
    with app.app_context():
        db.session.execute(sa.update(XapiOutbox).values(sent_at=None))
        db.session.commit()
    resent = _send(app)
    assert resent.exit_code == 0 and "Sent 6, failed 0" in resent.output
    assert len(_mine(ralph, app)) == 6


def test_the_store_refusing_one_statement_does_not_hold_the_others(site, ralph):
    """The store refuses a batch with one malformed statement (Ralph: HTTP 422): each is then sent
    alone, the good one lands, the bad one waits with its error."""
    app, base, user = site
    client = app.test_client()
    login(client, user.email)
    for key in ("co-ban/mot", "co-ban/hai"):
        page = f"/courses/luat/lessons/{key}"
        client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})
    with app.app_context():
        collected = outbox.collect(where_of(settings()))
        assert collected["lesson"] == 2
        bad = db.session.scalar(sa.select(XapiOutbox).order_by(XapiOutbox.id))
        bad.statement = {key: value for key, value in bad.statement.items() if key != "actor"}
        db.session.commit()
    result = _send(app)
    assert result.exit_code == 1 and "Sent 1, failed 1; 1 still queued." in result.output
    assert "HTTP 422" in result.output
    assert [s["object"]["id"] for s in _mine(ralph, app)] == [f"{base}/courses/luat/lessons/co-ban/hai"]


def test_no_store_configured_says_so_and_export_writes_json_lines(make_app, tmp_path, site):
    app, base, user = site
    _train(app, user, fail_first=False)
    target = tmp_path / "statements.jsonl"
    result = app.test_cli_runner().invoke(args=["xapi", "export", str(target)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 6 and "Luật Thanh tra 2025" in target.read_text(encoding="utf-8")
    unset = make_app(BASE_URL=base, ALLOW_FILE_MAIL=True)
    refused = unset.test_cli_runner().invoke(args=["xapi", "send"])
    assert refused.exit_code == 1 and "MOOC_XAPI_URL is not set" in refused.output


def test_a_revoked_certificate_voids_its_earned_statement(site, ralph):
    app, base, user = site
    _train(app, user, fail_first=False)
    with app.app_context():
        outbox.collect(where_of(settings()))  # "earned" queued...
        certificate = db.session.scalar(sa.select(Certificate))
        revoke(certificate, "Cấp nhầm")  # ...then revoked
        db.session.commit()
        earned = db.session.scalar(sa.select(XapiOutbox.statement_id)
                                   .where(XapiOutbox.kind == "certificate"))
    result = _send(app)
    assert result.exit_code == 0 and "Sent 7, failed 0" in result.output, result.output
    voiding = [s for s in _mine(ralph, app) if s["verb"]["id"].endswith("/voided")]
    assert [s["object"] for s in voiding] == [{"objectType": "StatementRef", "id": earned}]
    assert _send(app).output.count("Sent 0") == 1  # voided once


def test_a_certificate_revoked_before_it_was_reported_is_never_reported(site, ralph):
    app, base, user = site
    _train(app, user, fail_first=False)
    with app.app_context():
        revoke(db.session.scalar(sa.select(Certificate)), "Cấp nhầm")
        db.session.commit()
        outbox.collect(where_of(settings()))
        kinds = db.session.scalars(sa.select(XapiOutbox.kind)).all()
    assert "certificate" not in kinds and "revoked" not in kinds
