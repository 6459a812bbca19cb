"""The trainee's home page keeps course outlines per course version (mooc.training.outlines)
and nothing about the person: whatever changes shows on the next request, on the worker
where it happened and on another one (a second app on the same database: its own cache, as
another gunicorn worker or another server has).

Each test reads the home page on worker B, changes something through worker A (or the sync),
and reads B's home page again; it also checks that B took the outline from its cache when the
course did not change, and read the new version when it did."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mooc.auth.models import Role
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.training import outlines
from tests.conftest import csrf_token, login
from tests.courses.tree import lesson, write
from tests.quizzes.test_no_trap import LIMITED_QUIZ
from tests.training.test_completion import QUIZ_URL, read_and_pass, require


def _loads(app) -> int:
    """How many times ``app`` read outlines from the database (cache misses)."""
    with app.app_context():
        return outlines.cache().loads


def _workers(org, make_app, person, email="an@example.vn"):
    """Worker A (the org's app) and worker B (a second app on the same database), each with
    the same trainee signed in."""
    app_a, o = org
    app_b = make_app(COURSES_DIR=str(o.root))
    _staff, user = person(o.section_a, name="Nguyễn Văn An", email=email)
    a, b = app_a.test_client(), app_b.test_client()
    login(a, user.email)
    login(b, user.email)
    return app_a, app_b, o, a, b


def _home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _progress_text(page: str, title: str) -> str:
    """The progress line of the card of the course ``title``."""
    card = page[page.index(f">{title}</a>"):]
    return re.search(r'<p class="progress-text">([^<]*)</p>', card).group(1)


def _mark_done(client, key: str) -> None:
    page = f"/courses/luat/lessons/{key}"
    response = client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302


def test_a_lesson_marked_done_on_one_worker_shows_on_the_others_next_home_page(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)
    assert _progress_text(_home(b), "Luật Thanh tra 2025").startswith("0/2 bài học")
    loads = _loads(app_b)
    _mark_done(a, "co-ban/mot")
    page = _home(b)
    assert _progress_text(page, "Luật Thanh tra 2025").startswith("1/2 bài học")
    assert "/courses/luat/lessons/co-ban/hai" in page  # "Continue" goes to the next lesson
    _mark_done(b, "co-ban/hai")
    assert _progress_text(_home(a), "Luật Thanh tra 2025").startswith("2/2 bài học")
    assert _loads(app_b) == loads  # the course did not change: its outline came from B's cache


def test_a_quiz_passed_on_one_worker_shows_the_course_completed_on_the_other(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)
    assert "Tải chứng nhận (PDF)" not in _home(b)
    loads = _loads(app_b)
    read_and_pass(a, app_a)
    page = _home(b)
    completed = page[page.index('id="completed-heading"'):]
    assert "Luật Thanh tra 2025" in completed and "Tải chứng nhận (PDF)" in completed
    required = page[page.index('id="required-heading"'):page.index('id="completed-heading"')]
    assert "Luật Thanh tra 2025" not in required
    assert _loads(app_b) == loads


def test_a_new_enrolment_from_a_rule_shows_on_the_next_home_page(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    before = _home(b)
    available = before[before.index('id="available-heading"'):]
    assert "Luật Thanh tra 2025" in available  # not enrolled: a course one can take
    require(app_a, o)  # a rule for the province, applied
    page = _home(b)
    required = page[page.index('id="required-heading"'):]
    assert "Luật Thanh tra 2025" in required and "0/2 bài học" in required
    assert 'id="available-heading"' not in page or "Luật Thanh tra 2025" not in page[
        page.index('id="available-heading"'):]


def test_a_course_re_synced_shows_its_new_version_on_every_worker(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)
    _mark_done(a, "co-ban/mot")
    _mark_done(a, "co-ban/hai")
    assert _progress_text(_home(b), "Luật Thanh tra 2025").startswith("2/2 bài học")
    assert _progress_text(_home(a), "Luật Thanh tra 2025").startswith("2/2 bài học")
    loads_a, loads_b = _loads(app_a), _loads(app_b)

    # A new lesson in the course's files, synced: a new content hash, so a new version.
    write(o.root, "luat/01-co-ban/03-ba.md", lesson("Bài ba", "## A\n\nBa."))
    with app_a.app_context():
        sync_tree(o.root)
        db.session.commit()
    for client in (a, b):
        page = _home(client)
        assert _progress_text(page, "Luật Thanh tra 2025").startswith("2/3 bài học")
        assert "/courses/luat/lessons/co-ban/ba" in page  # "Continue" goes to the new lesson
    assert (_loads(app_a), _loads(app_b)) == (loads_a + 1, loads_b + 1)

    # A lesson removed from the files (archived by the sync) no longer counts.
    (o.root / "luat/01-co-ban/03-ba.md").unlink()
    (o.root / "luat/01-co-ban/02-hai.md").unlink()
    with app_a.app_context():
        sync_tree(o.root)
        db.session.commit()
    for client in (a, b):
        assert _progress_text(_home(client), "Luật Thanh tra 2025").startswith("1/1 bài học")


def test_a_quiz_out_of_attempts_and_a_grant_show_on_the_next_home_page(org, make_app, person, make_user):
    app_a, o = org
    write(o.root, "luat/01-co-ban/09-kiem-tra.quiz.md", LIMITED_QUIZ)  # one attempt
    with app_a.app_context():
        sync_tree(o.root)
        db.session.commit()
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)
    assert "stuck" not in _home(b)
    read_and_pass(a, app_a, right=False)  # the only attempt, failed
    page = _home(b)
    assert 'class="flash flash-warning stuck"' in page and "“Kiểm tra”" in page
    assert QUIZ_URL not in page
    manager = app_a.test_client()
    login(manager, make_user(role=Role.MANAGER, scope_unit=o.section_a).email)
    with app_a.app_context():
        from mooc.roster.models import Staff

        staff_id = db.session.scalar(sa.select(Staff.id).where(Staff.email == "an@example.vn"))
    record = f"/training/people/{staff_id}"
    grant = re.search(r'action="(/quizzes/\d+/people/\d+/grant)"', manager.get(record).get_data(as_text=True))
    assert manager.post(grant.group(1), data={"csrf_token": csrf_token(manager, record)}).status_code == 302
    page = _home(b)
    assert 'class="flash flash-warning stuck"' not in page and QUIZ_URL in page  # "Continue" to the quiz


def test_the_cache_keeps_no_one_s_progress(org, make_app, person):
    """Two people on one worker, the same course: each page shows its own person's progress."""
    app_a, o = org
    _staff, first = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    _staff, second = person(o.section_b, name="Lê Thị Hai", email="hai@example.vn")
    require(app_a, o)
    one, two = app_a.test_client(), app_a.test_client()
    login(one, first.email)
    login(two, second.email)
    _mark_done(one, "co-ban/mot")
    assert _progress_text(_home(one), "Luật Thanh tra 2025").startswith("1/2 bài học")
    assert _progress_text(_home(two), "Luật Thanh tra 2025").startswith("0/2 bài học")
    with app_a.app_context():
        kept = list(outlines.cache().entries.values())
    assert kept and all(isinstance(outline, outlines.Outline) for outline in kept)


def _import(app, rows: list[list[str]], *, full: bool = False) -> None:
    """A roster import planned and applied in one transaction (as `mooc roster import`)."""
    from mooc.roster import importer
    from tests.roster.helpers import csv_bytes

    with app.app_context():
        plan = importer.plan_import(importer.open_sheet(csv_bytes(rows)), full=full, checksum="c" * 64,
                                    filename="hr.csv")
        assert plan.ok, plan.issues
        importer.apply_plan(plan, source="test", confirmed=True)
        db.session.commit()


def test_a_roster_import_that_moves_a_person_shows_on_every_worker(org, make_app, person):
    """Moved by an import into a unit a rule covers: enrolled in the import's transaction, and
    the next home page on another worker lists the course as required."""
    from mooc.roster.models import OrgUnit, Staff
    from mooc.training.models import AssignmentRule

    app_a, app_b, o, a, b = _workers(org, make_app, person)
    with app_a.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.section_b.id)]
        db.session.add(rule)
        db.session.commit()
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == "an@example.vn"))
        code = staff.staff_code
    page = _home(b)
    assert 'id="required-heading"' not in page or "Luật Thanh tra 2025" not in page[
        page.index('id="required-heading"'):page.index('id="available-heading"')]
    _import(app_a, [[code, "Nguyễn Văn An", "an@example.vn", "NB-2", ""]])
    page = _home(b)
    required = page[page.index('id="required-heading"'):]
    assert "Luật Thanh tra 2025" in required


def test_a_person_an_import_marks_as_left_is_refused_on_every_worker(org, make_app, person):
    """A full roster without them: their account is disabled and their sessions end in the
    import's transaction; the other worker refuses them on its next request."""
    _colleague, _ = person(org[1].section_a, name="Trần Thị Bình", email="binh@example.vn")
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    from mooc.roster.models import Staff

    with app_a.app_context():
        kept = db.session.scalar(sa.select(Staff).where(Staff.email == "binh@example.vn"))
        row = [kept.staff_code, kept.full_name, "binh@example.vn", "NB-1", ""]
    _home(b)
    _import(app_a, [row], full=True)
    for client in (a, b):
        response = client.get("/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
