"""No quiz traps a trainee (issue 19): a summary before grading, extra attempts when they
ran out, a lost session that loses nothing, and a clear end once the course is complete."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, AuthSession, Role
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.quizzes.models import AttemptGrant, AttemptStatus, QuizAttempt
from mooc.training import assign
from mooc.training.models import Enrolment, EnrolmentState
from tests.conftest import csrf_token, login
from tests.courses.tree import write
from tests.quizzes.test_taking import QUIZ_URL, answers, start
from tests.training.test_completion import require


def attempt_of(app, attempt_url: str) -> QuizAttempt:
    with app.app_context():
        attempt = db.session.get(QuizAttempt, int(attempt_url.rsplit("/", 1)[1]))
        db.session.expunge(attempt)
        return attempt


# --- 1. a summary before grading -------------------------------------------------------------


def test_a_submit_with_blank_questions_asks_first_and_keeps_what_was_sent(site, trainee):
    attempt_url = start(trainee)
    token = csrf_token(trainee, attempt_url)
    one = {k: v for k, v in answers(site, right=True).items() if k == "q-ky-quyet-dinh"}
    page = trainee.post(f"{attempt_url}/submit", data={"csrf_token": token, **one})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="card narrow-card submit-summary"' in html
    for n in (2, 3, 4):  # the blank questions, each a link back to it
        assert f'{attempt_url}#question-{n}"' in html
    assert f'{attempt_url}#question-1"' not in html
    attempt = attempt_of(site, attempt_url)
    assert attempt.status == AttemptStatus.IN_PROGRESS  # nothing graded, no attempt burnt
    assert attempt.answers["ky-quyet-dinh"] == one["q-ky-quyet-dinh"]  # what was sent is kept
    assert 'name="confirm" value="1"' in html
    # A blank submit, by accident: still nothing graded.
    trainee.post(f"{attempt_url}/submit", data={"csrf_token": token})
    assert attempt_of(site, attempt_url).status == AttemptStatus.IN_PROGRESS
    # Confirmed: graded on what was saved.
    done = trainee.post(f"{attempt_url}/submit", data={"csrf_token": token, "confirm": "1"})
    assert done.status_code == 302
    graded = attempt_of(site, attempt_url)
    assert graded.status == AttemptStatus.SUBMITTED and graded.score == 1


def test_a_complete_submit_needs_no_second_step(site, trainee):
    attempt_url = start(trainee)
    token = csrf_token(trainee, attempt_url)
    response = trainee.post(f"{attempt_url}/submit", data={"csrf_token": token, **answers(site, right=True)})
    assert response.status_code == 302
    assert attempt_of(site, attempt_url).passed is True


def test_the_attempt_page_carries_the_dialog_and_the_idle_limit(site, trainee):
    html = trainee.get(start(trainee)).get_data(as_text=True)
    assert 'id="submit-dialog"' in html and 'data-idle-seconds="7200"' in html
    assert 'id="question-4"' in html and 'id="signed-out"' in html and 'id="idle-warning"' in html


# --- 3. a lost session ----------------------------------------------------------------------------


def _lapse(app, *, revoke: bool = False) -> None:
    """Every session ends by time (idle past the limit), or on purpose."""
    with app.app_context():
        values = {"revoked_at": clock.now()} if revoke else {
            "last_seen_at": clock.now() - timedelta(minutes=121)}
        db.session.execute(sa.update(AuthSession).values(**values))
        db.session.commit()


def test_a_submit_after_the_session_lapsed_is_kept_and_sign_in_returns_to_it(site, make_user):
    client = site.test_client()
    user = make_user()
    login(client, user.email)
    attempt_url = start(client)
    token = csrf_token(client, attempt_url)
    _lapse(site)
    autosave = client.post(f"{attempt_url}/save", data={"csrf_token": token, "q-viet-tat": "x"},
                           headers={"X-Requested-With": "fetch"})
    assert autosave.status_code == 401  # the page's script says "signed out"
    response = client.post(f"{attempt_url}/submit", data={"csrf_token": token, **answers(site, right=True)})
    assert response.status_code == 302  # not a 401 page
    confirm_url = f"{attempt_url}/confirm"
    assert response.headers["Location"].startswith("/login?next=")
    assert "confirm" in response.headers["Location"]
    attempt = attempt_of(site, attempt_url)
    assert attempt.status == AttemptStatus.IN_PROGRESS  # kept, not graded without a session
    assert attempt.answers["viet-tat"] == "dap-an-ttcp"
    signed_in = login(client, user.email, next=confirm_url)
    assert signed_in.headers["Location"] == confirm_url
    page = client.get(confirm_url)
    assert page.status_code == 200 and "submit-summary" in page.get_data(as_text=True)
    client.post(f"{attempt_url}/submit", data={"csrf_token": csrf_token(client, confirm_url), "confirm": "1"})
    assert attempt_of(site, attempt_url).passed is True


def test_a_submit_from_a_session_ended_on_purpose_writes_nothing(site, make_user):
    client = site.test_client()
    user = make_user()
    login(client, user.email)
    attempt_url = start(client)
    token = csrf_token(client, attempt_url)
    _lapse(site, revoke=True)  # e.g. the password was changed elsewhere
    response = client.post(f"{attempt_url}/submit", data={"csrf_token": token, **answers(site, right=True)})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert attempt_of(site, attempt_url).answers == {}


def test_a_lapsed_session_cannot_write_someone_elses_attempt(site, make_user):
    owner, other = site.test_client(), site.test_client()
    login(owner, make_user().email)
    login(other, make_user().email)
    attempt_url = start(owner)
    token = csrf_token(other, "/")
    _lapse(site)
    other.post(f"{attempt_url}/submit", data={"csrf_token": token, **answers(site, right=True)})
    assert attempt_of(site, attempt_url).answers == {}


# --- 2. out of attempts: what to do, and a grant -------------------------------------------------

LIMITED_QUIZ = """---
title: Kiểm tra
pass_percent: 50
attempts: 1
---

## Ai ký quyết định thanh tra? {#ky}

- [ ] Thanh tra viên
- [x] Thủ trưởng cơ quan thanh tra
"""


def _limit_attempts(app, o) -> None:
    write(o.root, "luat/01-co-ban/09-kiem-tra.quiz.md", LIMITED_QUIZ)
    with app.app_context():
        sync_tree(o.root)
        db.session.commit()


def _read_lessons(client) -> None:
    for key in ("co-ban/mot", "co-ban/hai"):
        page = f"/courses/luat/lessons/{key}"
        client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})


def _take(client, app, right: bool) -> str:
    response = client.post(f"{QUIZ_URL}/start", data={"csrf_token": csrf_token(client, QUIZ_URL)})
    attempt_url = response.headers["Location"]
    with app.app_context():
        attempt = db.session.get(QuizAttempt, int(attempt_url.rsplit("/", 1)[1]))
        choices = {c["text_md"]: c["key"] for c in attempt.questions[0]["choices"]}
    answer = choices["Thủ trưởng cơ quan thanh tra" if right else "Thanh tra viên"]
    client.post(f"{attempt_url}/submit", data={"csrf_token": csrf_token(client, attempt_url), "q-ky": answer})
    return attempt_url


def test_out_of_attempts_says_what_to_do_and_a_manager_grants_one(org, person, make_user):
    app, o = org
    _limit_attempts(app, o)
    staff, user = person(o.section_a, name="Phạm Thu Hà")
    require(app, o)
    trainee = app.test_client()
    login(trainee, user.email)
    _read_lessons(trainee)
    attempt_url = _take(trainee, app, right=False)
    assert "flash flash-warning" in trainee.get(attempt_url).get_data(as_text=True)
    home = trainee.get("/").get_data(as_text=True)
    assert 'class="flash flash-warning stuck"' in home
    assert QUIZ_URL not in home  # no "Continue" into a quiz that cannot be taken
    course_page = trainee.get("/courses/luat").get_data(as_text=True)
    assert 'id="continue-course"' not in course_page and "Kiểm tra" in course_page

    outsider = app.test_client()
    login(outsider, make_user(role=Role.MANAGER, scope_unit=o.section_b).email)
    manager = app.test_client()
    login(manager, make_user(role=Role.MANAGER, scope_unit=o.section_a).email)
    record = f"/training/people/{staff.id}"
    page = manager.get(record).get_data(as_text=True)
    action = re.search(r'action="(/quizzes/\d+/people/\d+/grant)"', page).group(1)
    refused = outsider.post(action, data={"csrf_token": csrf_token(outsider, "/")})
    assert refused.status_code == 404
    trainee_try = trainee.post(action, data={"csrf_token": csrf_token(trainee, "/")})
    assert trainee_try.status_code == 403
    granted = manager.post(action, data={"csrf_token": csrf_token(manager, record)})
    assert granted.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AttemptGrant)) == 1
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "quiz.attempt_granted"))
        assert event is not None and event.target == staff.staff_code
    assert "grant-attempt" not in manager.get(record).get_data(as_text=True)  # not stuck any more
    assert 'class="flash flash-warning stuck"' not in trainee.get("/").get_data(as_text=True)
    # A second grant while the attempt is unused is refused (nothing needed).
    again = manager.post(action, data={"csrf_token": csrf_token(manager, record)}, follow_redirects=True)
    assert again.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AttemptGrant)) == 1
    _take(trainee, app, right=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(QuizAttempt)
                                 .where(QuizAttempt.passed.is_(True))) == 1


# --- 4. the end: course complete, certificate, no "Continue" ------------------------------------


def test_the_pass_that_completes_the_course_offers_the_certificate(org, person):
    app, o = org
    staff, user = person(o.section_a, name="Phạm Thu Hà")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    before = client.get("/courses/luat").get_data(as_text=True)
    assert 'id="continue-course" href="/courses/luat/lessons/co-ban/mot"' in before
    assert "badge badge-not_started" in before  # the enrolment's status, and its due date
    _read_lessons(client)
    to_quiz = client.get("/courses/luat").get_data(as_text=True)
    assert f'id="continue-course" href="{QUIZ_URL}"' in to_quiz  # the quiz is the next undone item
    attempt_url = _take(client, app, right=True)
    result = client.get(attempt_url).get_data(as_text=True)
    assert 'class="card course-complete"' in result
    certificate = re.search(r'class="button primary" href="(/certificates/[A-Z0-9-]+\.pdf)"', result)
    assert certificate is not None
    assert "Continue the course" not in result
    after = client.get("/courses/luat").get_data(as_text=True)
    assert 'id="continue-course"' not in after
    assert certificate.group(1) in after and "badge badge-completed" in after


# --- 3. a renewal cycle gives the attempts again -------------------------------------------------


def test_a_renewal_cycle_counts_its_own_attempts_and_grants(org, person, make_user):
    """attempts: 1, passed in cycle 1: cycle 2 must let the person take the quiz again (it
    needs a pass since the cycle opened), and once that attempt fails, the person is stuck in
    cycle 2 (not "passed" by cycle 1's pass), so a manager can grant one; a grant of cycle 1
    does not count in cycle 2. Every page that counts attempts agrees: the quiz page, the
    start itself, the course page, home, and the manager's record."""
    app, o = org
    _limit_attempts(app, o)
    staff, user = person(o.section_a, name="Phạm Thu Hà")
    require(app, o, renew_months=12)
    trainee = app.test_client()
    manager = app.test_client()
    manager_email = make_user(role=Role.MANAGER, scope_unit=o.section_a).email
    clock.set_now(datetime(2026, 3, 2, 3, tzinfo=UTC))
    login(manager, manager_email)
    record = f"/training/people/{staff.id}"
    login(trainee, user.email)
    _read_lessons(trainee)
    _take(trainee, app, right=False)
    action = re.search(r'action="(/quizzes/\d+/people/\d+/grant)"',
                       manager.get(record).get_data(as_text=True)).group(1)
    assert manager.post(action, data={"csrf_token": csrf_token(manager, record)}).status_code == 302
    _take(trainee, app, right=True)  # cycle 1: two attempts used (one granted), passed
    with app.app_context():
        assert db.session.scalar(sa.select(Enrolment.state)) == EnrolmentState.COMPLETED

    clock.set_now(datetime(2027, 2, 20, 3, tzinfo=UTC))
    with app.app_context():
        assert assign.apply_rules().renewed == 1
        db.session.commit()
    login(trainee, user.email)  # a year on: both sessions expired
    login(manager, manager_email)
    quiz_page = trainee.get(QUIZ_URL).get_data(as_text=True)
    assert f'action="{QUIZ_URL}/start"' in quiz_page  # may start: cycle 2 has its own attempt
    assert 'class="flash flash-warning stuck"' not in trainee.get("/").get_data(as_text=True)
    _take(trainee, app, right=False)  # cycle 2's one attempt, failed: stuck now
    with app.app_context():
        attempts = db.session.scalars(sa.select(QuizAttempt).order_by(QuizAttempt.number)).all()
        assert [a.number for a in attempts] == [1, 2, 3]  # numbers go on across cycles
    assert 'class="flash flash-warning stuck"' in trainee.get("/").get_data(as_text=True)
    assert 'id="continue-course"' not in trainee.get("/courses/luat").get_data(as_text=True)
    refused = trainee.post(f"{QUIZ_URL}/start", data={"csrf_token": csrf_token(trainee, QUIZ_URL)})
    assert "/attempts/" not in refused.headers.get("Location", "")
    page = manager.get(record).get_data(as_text=True)
    assert "grant-attempt" in page  # stuck in cycle 2: the manager can act
    assert manager.post(action, data={"csrf_token": csrf_token(manager, record)}).status_code == 302
    _take(trainee, app, right=True)
    with app.app_context():
        latest = db.session.scalar(sa.select(Enrolment).order_by(Enrolment.cycle.desc()))
        assert (latest.cycle, latest.state) == (2, EnrolmentState.COMPLETED)
