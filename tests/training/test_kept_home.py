"""The trainee's home page is kept whole (mooc/kept.py) under the facts its one statement reads
(mooc/training/queries.py ``glance``: the open courses, the person's cycles, certificates, roster
status, lessons done, attempts, grants) and the day, with the person's name and token as holes.

Each test reads the home page on worker B (a second app on the same database, its own caches, as
another gunicorn worker or another server has) until B keeps it, changes something elsewhere,
and reads B's page again: it must be the page a third app with nothing kept renders at that
moment, and B must have kept a new page for the new facts (a page kept under the old ones would
be served stale). Both databases (MOOC_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Enrolment, EnrolmentSource
from tests.conftest import TEST_PASSWORD, count_queries, login
from tests.courses.tree import lesson, write
from tests.training.test_completion import read_and_pass, require
from tests.training.test_home_fresh import _home, _import, _mark_done, _progress_text, _workers

TOKEN = re.compile(r'(name="csrf_token" value=")[^"]*(")')
KEPT = "mooc.kept_homes"


def _kept(app) -> int:
    """How many home pages ``app`` keeps."""
    cache = app.extensions.get(KEPT)
    return len(cache.entries) if cache is not None else 0


def _fresh_page(make_app, o, email: str, lang: str | None = None) -> str:
    """The home page as an app with nothing kept renders it now."""
    fresh = make_app(COURSES_DIR=str(o.root))
    client = fresh.test_client()
    login(client, email)
    if lang:
        client.set_cookie("lang", lang)
    return _home(client)


def _same(page: str, other: str) -> bool:
    return TOKEN.sub(r"\1\2", page) == TOKEN.sub(r"\1\2", other)


def _kept_on(app_b, b) -> str:
    """B's page, read until B serves it from what it kept (the second read keeps nothing new)."""
    _home(b)
    kept = _kept(app_b)
    page = _home(b)
    assert kept >= 1 and _kept(app_b) == kept, "the home page was not kept"
    return page


def _after(change, app_b, b, make_app, o, email="an@example.vn") -> str:
    """B's page after ``change``: the page rendered fresh, and kept anew on B."""
    before = _kept_on(app_b, b)
    kept = _kept(app_b)
    change()
    page = _home(b)
    assert _same(page, _fresh_page(make_app, o, email))
    assert not _same(page, before), "the change did not show"
    assert _kept(app_b) == kept + 1  # new facts, a new page
    return page


def test_a_lesson_marked_done_shows_on_the_other_worker(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)
    page = _after(lambda: _mark_done(a, "co-ban/mot"), app_b, b, make_app, o)
    assert _progress_text(page, "Luật Thanh tra 2025").startswith("1/2 bài học")


def test_a_quiz_submitted_shows_on_the_other_worker(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)
    page = _after(lambda: read_and_pass(a, app_a), app_b, b, make_app, o)
    assert "Tải chứng nhận (PDF)" in page[page.index('id="completed-heading"'):]


def test_a_new_enrolment_from_a_rule_shows_on_the_other_worker(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    page = _after(lambda: require(app_a, o), app_b, b, make_app, o)
    assert "Luật Thanh tra 2025" in page[page.index('id="required-heading"'):]


def test_a_course_sync_shows_on_the_other_worker(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)

    def sync() -> None:
        write(o.root, "luat/01-co-ban/03-ba.md", lesson("Bài ba", "## A\n\nBa."))
        write(o.root, "tuy-chon/course.md", "---\ntitle: Kỹ năng mềm mới\ncode: KNM\nedition: 2026\n"
              "summary: Tự chọn, bản mới.\nhours: 1\n---\n\nGiới thiệu.\n")
        with app_a.app_context():
            sync_tree(o.root)
            db.session.commit()

    page = _after(sync, app_b, b, make_app, o)
    assert _progress_text(page, "Luật Thanh tra 2025").startswith("0/3 bài học")
    assert "Kỹ năng mềm mới" in page and "Tự chọn, bản mới." in page


def test_a_roster_change_shows_on_the_other_worker(org, make_app, person):
    """Moved by an import into a unit a rule covers (enrolled in the import's transaction); then
    marked as left on the roster alone, the account still open (held to no due date: an overdue
    course is no longer flagged overdue)."""
    from mooc.roster.models import OrgUnit
    from mooc.training.models import AssignmentRule

    app_a, app_b, o, a, b = _workers(org, make_app, person)
    with app_a.app_context():
        rule = AssignmentRule(course_id=o.optional_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.section_b.id)]
        db.session.add(rule)
        db.session.commit()
        code = db.session.scalar(sa.select(Staff.staff_code).where(Staff.email == "an@example.vn"))
    page = _after(lambda: _import(app_a, [[code, "Nguyễn Văn An", "an@example.vn", "NB-2", ""]]),
                  app_b, b, make_app, o)
    assert "Kỹ năng mềm" in page[page.index('id="required-heading"'):]

    def overdue() -> None:
        with app_a.app_context():
            db.session.execute(sa.update(Enrolment).values(due_on=clock.today() - timedelta(days=3)))
            db.session.commit()

    assert "flash-error" in _after(overdue, app_b, b, make_app, o)

    def left() -> None:
        with app_a.app_context():
            staff = db.session.scalar(sa.select(Staff).where(Staff.email == "an@example.vn"))
            staff.status = StaffStatus.LEFT
            db.session.commit()

    assert "flash-error" not in _after(left, app_b, b, make_app, o)


def test_a_due_date_extended_shows_on_the_other_worker(org, make_app, person):
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)

    def extend() -> None:
        with app_a.app_context():
            enrolment = db.session.scalar(sa.select(Enrolment))
            enrolment.due_on = enrolment.due_on + timedelta(days=40)
            db.session.commit()

    _after(extend, app_b, b, make_app, o)


def test_the_next_day_is_another_page(org, make_app, person):
    """Ten to midnight in Vietnam, then ten past: the day is in the key (days left, overdue)."""
    clock.set_now(datetime(2026, 12, 6, 16, 50, tzinfo=UTC))
    try:
        app_a, app_b, o, a, b = _workers(org, make_app, person)
        require(app_a, o)
        assert "còn 30 ngày" in _kept_on(app_b, b)
        page = _after(lambda: clock.set_now(clock.now() + timedelta(minutes=20)), app_b, b, make_app, o)
        assert "còn 29 ngày" in page
    finally:
        clock.set_now(None)


def test_each_person_gets_their_own_name_and_facts_on_one_worker(org, make_app, person):
    """Two people with the same facts share nothing but what they show alike; a new name shows
    at once (a hole, not a key)."""
    app, o = org
    _staff, first = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    _staff, second = person(o.section_a, name="Lê Thị Hai", email="hai@example.vn")
    require(app, o)
    one, two = app.test_client(), app.test_client()
    login(one, first.email)
    login(two, second.email)
    _mark_done(one, "co-ban/mot")
    page_one, page_two = _home(one), _home(two)
    assert "Lê Thị Một" in page_one and "Lê Thị Hai" not in page_one
    assert "Lê Thị Hai" in page_two and "Lê Thị Một" not in page_two
    assert _progress_text(page_one, "Luật Thanh tra 2025").startswith("1/2 bài học")
    assert _progress_text(page_two, "Luật Thanh tra 2025").startswith("0/2 bài học")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == first.id).values(display_name="Lê Thị Mười"))
        db.session.commit()
    kept = _kept(app)
    page = _home(one)
    assert "Xin chào, Lê Thị Mười." in page and "Lê Thị Một" not in page
    assert _kept(app) == kept  # the same facts: the same kept page, the new name in its hole
    assert _same(page, _fresh_page(make_app, o, first.email))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_kept_home_page_is_the_page_its_template_renders(org, make_app, person, lang):
    """Required, optional and completed cards, warnings, the courses one may take: kept and
    fresh, the same page, in each language."""
    app, o = org
    _staff, user = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    require(app, o)
    with app.app_context():
        staff_id = db.session.scalar(sa.select(Staff.id).where(Staff.email == "mot@example.vn"))
        db.session.add(Enrolment(staff_id=staff_id, course_id=o.optional_id, required=False,
                                 source=EnrolmentSource.SELF, assigned_on=clock.today()))
        db.session.execute(sa.update(Enrolment).where(Enrolment.course_id == o.course_id)
                           .values(due_on=clock.today() + timedelta(days=2)))
        db.session.commit()
    client = app.test_client()
    login(client, user.email)
    client.set_cookie("lang", lang)
    _mark_done(client, "co-ban/mot")
    first = _home(client)  # rendered with holes, kept
    again = _home(client)  # joined from what was kept
    assert _same(first, again) and _same(again, _fresh_page(make_app, o, user.email, lang))
    assert 'class="flash flash-warning"' in again and "Kỹ năng mềm" in again
    read_and_pass(client, app)
    done = _home(client)
    assert _same(done, _fresh_page(make_app, o, user.email, lang))
    assert 'id="completed-heading"' in done


def test_a_home_page_kept_costs_two_statements(org, make_app, person):
    """The session with its account, then the glance (SQLite's BEGIN counted too), however many
    courses the person has; the page served from what was kept."""
    app_a, app_b, o, a, b = _workers(org, make_app, person)
    require(app_a, o)
    _mark_done(a, "co-ban/mot")
    _kept_on(app_a, a)
    dialect = sa.engine.make_url(app_a.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    assert count_queries(app_a, a, "/") <= 2 + (1 if dialect == "sqlite" else 0)


@pytest.mark.parametrize(("role", "part"), [(Role.MANAGER, 'id="team-heading"'),
                                            (Role.ADMIN, 'id="first-steps-heading"')])
def test_pages_with_a_team_or_first_steps_are_rendered_in_full(org, make_app, make_user, role, part):
    """What the glance does not read (a manager's team, an administrator's first steps, a
    programme's path) is never kept: those pages are rendered each time, and still right."""
    app, o = org
    someone = make_user(role=role, scope_unit=o.province if role.scoped else None, email="ql@example.vn")
    client = app.test_client()
    login(client, someone.email)
    assert part in _home(client) and _kept(app) == 0
    assert _same(_home(client), _fresh_page(make_app, o, someone.email))
    assert _kept(app) == 0


@pytest.mark.slow
def test_two_server_processes_never_serve_a_stale_home_page(org, database_url, person, tmp_path):
    """Two gunicorn servers (what `mooc serve` runs), each warmed; one browser sent to either."""
    from tests.courses.test_cache_freshness import two_servers

    app, o = org
    _staff, user = person(o.section_a, name="Nguyễn Văn An", email="an@example.vn")
    require(app, o)
    with two_servers(database_url, tmp_path) as (servers, client_of):
        one = client_of(servers[0]).login(user.email, TEST_PASSWORD)
        two = client_of(servers[1], one.cookies)

        def home(client) -> str:
            status, _headers, body = client.request("GET", "/")
            assert status == 200, status
            return body.decode()

        for client in (one, two, one, two):
            home(client)  # both kept
        assert _progress_text(home(two), "Luật Thanh tra 2025").startswith("0/2 bài học")
        page = "/courses/luat/lessons/co-ban/mot"
        status, _h, _b = one.request("POST", f"{page}/done", {"csrf_token": one.csrf(page)})
        assert status == 302
        assert _progress_text(home(two), "Luật Thanh tra 2025").startswith("1/2 bài học")
        write(o.root, "luat/01-co-ban/03-ba.md", lesson("Bài ba", "## A\n\nBa."))
        with app.app_context():
            sync_tree(o.root)
            db.session.commit()
        for client in (one, two):
            assert _progress_text(home(client), "Luật Thanh tra 2025").startswith("1/3 bài học")
        with app.app_context():
            db.session.execute(sa.update(Enrolment).values(due_on=clock.today() - timedelta(days=1)))
            db.session.commit()
        for client in (one, two):
            assert "flash-error" in home(client)


def test_every_change_of_a_course_row_raises_the_catalogs_version(org, make_app):
    """The home page keeps the open courses' rows per version of the catalog
    (``versions.COURSES``): a course added, retitled, archived, or given a new version (a lesson
    changed) raises it, whoever writes; reading does not."""
    from mooc import versions
    from mooc.courses.models import Course, Lesson

    app, o = org

    def version() -> int | None:
        with app.app_context():
            return versions.read_version(db.session, versions.COURSES)

    def changed(change) -> bool:
        before = version()
        with app.app_context():
            change()
            db.session.commit()
        return version() != before

    assert version() is not None
    assert not changed(lambda: db.session.scalars(sa.select(Course)).all())
    assert changed(lambda: setattr(db.session.get(Course, o.optional_id), "title", "Kỹ năng mềm (2)"))
    assert changed(lambda: setattr(db.session.scalar(sa.select(Lesson)), "title", "Bài một (2)"))
    assert changed(lambda: setattr(db.session.get(Course, o.optional_id), "archived", True))
    write(o.root, "moi/course.md", "---\ntitle: Khóa mới\ncode: KM\nedition: 2026\nsummary: Mới.\nhours: 1\n"
          "---\n\nGiới thiệu.\n")
    write(o.root, "moi/01-mot/module.md", "---\ntitle: Một\n---\n")
    write(o.root, "moi/01-mot/01-bai.md", lesson("Bài", "## A\n\nB."))
    assert changed(lambda: sync_tree(o.root))


def test_no_write_of_courses_bypasses_the_catalogs_version():
    """A bulk write of ``courses`` (no flush: no listener) would leave the catalog's version as it
    was: there is none in mooc/, or it raises the version itself."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    silent = []
    for path in sorted((root / "mooc").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for call in ast.walk(node):
                bulk = (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr in {"update", "insert", "delete"} and call.args
                        and isinstance(call.args[0], ast.Name) and call.args[0].id == "Course")
                raw = (isinstance(call, ast.Constant) and isinstance(call.value, str) and re.search(
                    r"\b(UPDATE|INSERT INTO|DELETE FROM)\s+courses\b", call.value, re.IGNORECASE))
                if (bulk or raw) and "raise_version" not in ast.unparse(node):
                    silent.append(f"{path.relative_to(root)}:{node.name}")
    assert silent == []


def test_the_glance_reads_each_fact_as_its_column_does(org, person, make_app):
    """The text of the glance's JSON, decoded, gives the values the mapped columns give (dates,
    timestamps with their microseconds in UTC, booleans, states, percents), on each database."""
    from mooc.courses.models import LessonProgress
    from mooc.quizzes.models import AttemptGrant, QuizAttempt
    from mooc.training import queries
    from mooc.training.models import Certificate

    app, o = org
    staff, user = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    read_and_pass(client, app)
    with app.test_request_context():
        enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == staff.id))
        enrolment.completed_at = enrolment.completed_at.replace(microsecond=123)
        quiz_id = db.session.scalar(sa.select(QuizAttempt.quiz_id))
        db.session.add(AttemptGrant(user_id=user.id, quiz_id=quiz_id, extra=2, granted_by_id=user.id))
        db.session.commit()
        seen = queries.glance(user.id, staff.id)
        home = queries.Home([], [], [], [])
        _courses, cycles, _versions, status = queries._courses_and_cycles(seen, home)
        (read, code), = cycles[o.course_id]
        enrolment = db.session.get(Enrolment, enrolment.id)
        assert tuple(read) == (enrolment.id, enrolment.cycle, enrolment.latest, enrolment.required,
                               enrolment.state, enrolment.assigned_on, enrolment.due_on,
                               enrolment.completed_at, enrolment.expires_on, enrolment.closed_at,
                               enrolment.refresher_of)
        assert read.completed_at.microsecond == 123 and read.completed_at.tzinfo is not None
        assert code == db.session.scalar(sa.select(Certificate.code)) and status == StaffStatus.ACTIVE
        mine = queries._person_progress(seen)
        attempt = db.session.scalar(sa.select(QuizAttempt))
        assert [tuple(a) for a in mine.attempts] == [(
            attempt.quiz_id, attempt.percent, attempt.passed, attempt.submitted_at, attempt.status,
            attempt.started_at)]
        grant = db.session.scalar(sa.select(AttemptGrant))
        assert mine.granted == {quiz_id: [(2, grant.granted_at)]}
        assert mine.done == set(db.session.scalars(sa.select(LessonProgress.lesson_id)))
        assert not home.read_more
