"""Programmes: sync identity, rules, enrolment in open steps, prerequisite locking (refused by
the server), choice steps, credit for earlier completions, renewal, the certificate."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mooc import clock, config
from mooc.auth.models import Role, User
from mooc.courses.models import Course, Lesson, LessonProgress, Quiz
from mooc.courses.progress import mark_done
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.quizzes import attempts
from mooc.quizzes.models import AttemptStatus, QuizAttempt
from mooc.reminders import messages, schedule
from mooc.roster.models import Staff
from mooc.training import completion, exemptions, history, programs, refreshers
from mooc.training.assign import RuleDraft
from mooc.training.models import (
    AssignmentRule,
    Enrolment,
    EnrolmentSource,
    EnrolmentState,
    Program,
    ProgramCertificate,
    ProgramEnrolment,
    RenewalMode,
)
from mooc.training.rules import create_rule, deactivate_rule, preview_deactivation, update_rule
from tests.conftest import count_queries, csrf_token, login
from tests.courses.tree import SVG, lesson, write
from tests.training.programs_tree import PROGRAM, make_programs_tree
from tests.training.test_certificate_details import pdf_text


@pytest.fixture
def world(make_app, tmp_path, make_unit, make_staff, make_user):
    root = make_programs_tree(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(root))
    with app.app_context():
        sync_tree(root)
        db.session.commit()
    unit = make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    staff = make_staff("Trần Thị Bình", unit=unit)
    user = make_user(email="binh@example.vn", staff=staff)
    return app, root, unit, staff, user


def ids(app) -> dict[str, int]:
    with app.app_context():
        return {key: id_ for key, id_ in db.session.execute(sa.select(Course.key, Course.id))}


def program_id(app, key: str = "moi") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Program.id).where(Program.key == key))


def require(app, unit, renew_months=None, due_days=60) -> None:
    with app.app_context():
        create_rule(RuleDraft(None, [unit.id], due_days=due_days, renew_months=renew_months,
                              program_id=program_id(app)))
        db.session.commit()


def finish(app, user, course_key: str) -> None:
    """Read every lesson of a course without a quiz (the completion follows)."""
    with app.app_context():
        course = db.session.scalar(sa.select(Course).where(Course.key == course_key))
        for lesson_id in db.session.scalars(sa.select(Lesson.id).where(Lesson.course_id == course.id)):
            mark_done(user.id, lesson_id, course.id)
        db.session.commit()


def course_enrolments(app, staff) -> dict[str, tuple[str, bool, str]]:
    """course key -> (source, required, state) of the person's latest cycles."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Course.key, Enrolment.source, Enrolment.required, Enrolment.state)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Enrolment.staff_id == staff.id, Enrolment.latest.is_(True), Enrolment.closed_at.is_(None)))
        return {key: (source.value, required, state.value) for key, source, required, state in rows}


def the_cycle(app, staff) -> ProgramEnrolment:
    with app.app_context():
        cycle = db.session.scalar(sa.select(ProgramEnrolment).where(
            ProgramEnrolment.staff_id == staff.id, ProgramEnrolment.latest.is_(True)))
        db.session.expunge(cycle)
        return cycle


# --- sync ---------------------------------------------------------------------------------------------


def test_sync_stores_the_programme_and_its_steps_and_a_second_sync_changes_nothing(world):
    app, root, *_ = world
    with app.app_context():
        program = db.session.scalar(sa.select(Program))
        assert (program.key, program.code, program.title) == ("moi", "CT-MOI", "Bồi dưỡng thanh tra viên mới")
        assert [([c.key for c in s.courses], s.pick, s.after_previous) for s in program.steps] == [
            (["co-ban"], 1, False), (["tiep-dan"], 1, True), (["van-ban", "giam-sat"], 1, True)]
        report = sync_tree(root)
        db.session.commit()
    assert not [line for line in report.added + report.changed if "programme" in line]


INTRO = ("Dành cho **công chức mới** về cơ quan thanh tra: bắt đầu với\n"
         "[Nghiệp vụ cơ bản](../co-ban/course.md)[^1].\n\n- học theo thứ tự\n- làm bài kiểm tra\n\n"
         "<script>alert(1)</script>\n\n[^1]: Theo Luật Thanh tra 2025.\n")


def test_the_introduction_is_markdown_rendered_at_sync_like_a_lesson(world):
    """A programme's introduction is Markdown: the path page shows it rendered and sanitised (as
    a lesson), never with its stars; a sync that changes nothing renders nothing; a programme
    stored before (no intro_hash: the migration b7d2e4f6a8c1) gets its HTML at the next sync."""
    app, root, unit, _staff, _user = world
    write(root, "_chuong-trinh/moi.md", PROGRAM.replace("Giới thiệu chương trình.\n", INTRO))
    with app.app_context():
        report = sync_tree(root)
        db.session.commit()
        assert "programme moi" in report.changed
        html = db.session.scalar(sa.select(Program.intro_html))
        again = sync_tree(root)
        db.session.commit()
        assert again.rendered == 0 and not again.has_changes
    assert "<strong>công chức mới</strong>" in html and "**" not in html
    assert '<a href="/courses/co-ban" rel="noopener noreferrer">Nghiệp vụ cơ bản</a>' in html
    assert "<li>học theo thứ tự</li>" in html and 'id="u-fn:1"' in html
    assert "<script" not in html and "alert" not in html
    require(app, unit)
    client = app.test_client()
    login(client, "binh@example.vn")
    page = client.get("/programs/moi").get_data(as_text=True)
    assert html in page and "**" not in page
    with app.app_context():  # as the migration leaves a programme: its Markdown, no HTML yet
        db.session.execute(sa.update(Program).values(intro_html="", intro_hash=""))
        db.session.commit()
    assert "**công chức mới**" in client.get("/programs/moi").get_data(as_text=True)  # as before, until...
    with app.app_context():
        assert sync_tree(root).rendered == 1  # ...the next sync, which changes nothing else
        db.session.commit()
        assert db.session.scalar(sa.select(Program.intro_html)) == html


def test_a_renamed_programme_keeps_its_row_and_its_people(world):
    app, root, unit, staff, _user = world
    require(app, unit)
    before = program_id(app)
    (root / "_chuong-trinh/moi.md").unlink()
    write(root, "_chuong-trinh/ttv-moi.md", PROGRAM.replace('summary:', 'previously: moi\nsummary:'))
    with app.app_context():
        report = sync_tree(root)
        db.session.commit()
    assert report.renamed == ["programme moi -> ttv-moi"]
    assert program_id(app, "ttv-moi") == before
    assert the_cycle(app, staff).program_id == before


def test_a_programme_whose_file_goes_is_archived_and_comes_back(world):
    app, root, *_ = world
    text = (root / "_chuong-trinh/moi.md").read_text()
    (root / "_chuong-trinh/moi.md").unlink()
    with app.app_context():
        assert sync_tree(root).archived == ["programme moi"]
        db.session.commit()
    write(root, "_chuong-trinh/moi.md", text)
    with app.app_context():
        assert sync_tree(root).restored == ["programme moi"]
        db.session.commit()
        assert db.session.scalar(sa.select(Program.archived)) is False


def test_an_edit_of_the_steps_is_written_again(world):
    app, root, *_ = world
    write(root, "_chuong-trinh/moi.md", PROGRAM.replace("1 trong: van-ban", "2 trong: van-ban"))
    with app.app_context():
        assert sync_tree(root).changed == ["programme moi"]
        db.session.commit()
        assert db.session.scalar(sa.select(Program)).steps[2].pick == 2


# --- rules, steps, locking -----------------------------------------------------------------------------


def test_a_rule_enrols_in_the_programme_and_in_its_first_step_only(world):
    app, _root, unit, staff, _user = world
    require(app, unit, due_days=60)
    cycle = the_cycle(app, staff)
    assert cycle.due_on == clock.today() + timedelta(days=60)
    assert (cycle.steps_done, cycle.steps_required) == (0, 3)
    assert course_enrolments(app, staff) == {"co-ban": ("program", True, "not_started")}
    with app.app_context():
        due = db.session.scalar(sa.select(Enrolment.due_on).where(Enrolment.staff_id == staff.id))
    assert due == cycle.due_on  # a step's course is due with the programme


def test_a_locked_step_is_refused_by_the_server_and_opens_when_the_step_before_is_done(world):
    app, _root, unit, staff, user = world
    require(app, unit)
    client = app.test_client()
    login(client, "binh@example.vn")
    locked = client.get("/courses/tiep-dan/lessons/mot/bai")
    assert locked.status_code == 403 and locked.mimetype == "text/html"
    page = locked.get_data(as_text=True)
    assert "Bước 2 của chương trình “Bồi dưỡng thanh tra viên mới”" in page and "Nghiệp vụ cơ bản" in page
    token = csrf_token(client, "/")
    form = {"csrf_token": token}
    assert client.post("/courses/tiep-dan/lessons/mot/bai/done", data=form).status_code == 403
    assert client.get("/courses/tiep-dan/quizzes/mot/kiem-tra").status_code == 403
    assert client.post("/courses/tiep-dan/quizzes/mot/kiem-tra/start", data=form).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).join(Course).where(
            Course.key == "tiep-dan")) == 0  # nothing recorded
    assert client.get("/courses/co-ban/lessons/mot/bai").status_code == 200  # the open step
    finish(app, user, "co-ban")
    assert client.get("/courses/tiep-dan/lessons/mot/bai").status_code == 200
    assert course_enrolments(app, staff)["tiep-dan"] == ("program", True, "not_started")
    assert the_cycle(app, staff).steps_done == 1


def test_a_lesson_page_kept_for_other_readers_is_refused_to_a_person_for_whom_it_is_locked(
        world, make_unit, make_staff, make_user):
    app, _root, unit, _staff, _user = world
    require(app, unit)
    elsewhere = make_unit("Thanh tra tỉnh Cao Bằng", code="CB", kind="province")
    make_user(email="khoa@example.vn", staff=make_staff("Lê Văn Khoa", unit=elsewhere))
    other = app.test_client()
    login(other, "khoa@example.vn")
    assert other.get("/courses/tiep-dan/lessons/mot/bai").status_code == 200  # no programme: kept
    client = app.test_client()
    login(client, "binh@example.vn")
    assert client.get("/courses/tiep-dan/lessons/mot/bai").status_code == 403
    page = client.get("/courses/tiep-dan")
    assert page.status_code == 200 and "Bước 2 của chương trình" in page.get_data(as_text=True)  # and why


# The arguments of every route that serves a locked course's content, for the sweep below.
LOCKED_ROUTE_VALUES = {"key": "tiep-dan", "lesson_key": "mot/bai", "quiz_key": "mot/kiem-tra",
                       "filename": "01-mot/images/so-do.svg"}
CONTENT_ROUTES = {"courses.lesson", "courses.mark_done", "courses.file", "quizzes.quiz", "quizzes.start",
                  "quizzes.attempt", "quizzes.save", "quizzes.confirm", "quizzes.submit", "training.join"}


def test_every_route_of_a_locked_courses_content_is_refused(world):
    """A sweep of the URL map: every route under /courses/<key>/ (lessons, files, quizzes,
    joining) and every attempt's route answers 403 for a course locked for the person, an
    attempt started before the lock included; a new route that forgets the lock fails here.
    Only the course's own page (/courses/<key>: the outline, which says why it is locked)
    is left open."""
    app, root, unit, _staff, user = world
    write(root, "tiep-dan/01-mot/images/so-do.svg", SVG)
    with app.app_context():
        quiz = db.session.scalar(sa.select(Quiz).join(Course).where(Course.key == "tiep-dan"))
        started = attempts.start_attempt(user.id, quiz)  # before the programme locked the course
        db.session.commit()
        values = LOCKED_ROUTE_VALUES | {"attempt_id": started.id}
    require(app, unit)
    client = app.test_client()
    login(client, "binh@example.vn")
    form = {"csrf_token": csrf_token(client, "/")}
    swept = set()
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/courses/<key>/") or rule.rule.startswith("/attempts/")):
            continue
        method = "POST" if "POST" in (rule.methods or ()) else "GET"
        url = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
        answer = client.post(url, data=form) if method == "POST" else client.get(url)
        assert answer.status_code == 403, (rule.endpoint, url, answer.status_code)
        assert "Bước 2 của chương trình" in answer.get_data(as_text=True), rule.endpoint
        swept.add(rule.endpoint)
    assert swept >= CONTENT_ROUTES
    with app.app_context():  # nothing recorded: no enrolment (joining), no progress, no answer
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).join(Course).where(
            Course.key == "tiep-dan")) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LessonProgress)) == 0
        assert db.session.get(QuizAttempt, values["attempt_id"]).status == AttemptStatus.IN_PROGRESS

    finish(app, user, "co-ban")  # step 1 done: the same addresses open
    picture = client.get("/courses/tiep-dan/files/01-mot/images/so-do.svg")
    assert picture.status_code == 200 and picture.get_data(as_text=True) == SVG
    assert client.get(f"/attempts/{values['attempt_id']}").status_code == 200


def test_search_shows_a_locked_courses_lessons_by_title_only_and_links_to_its_page(world):
    """Bình's step 2 (Tiếp công dân) is locked: searching finds its lesson, with the course's
    and the lesson's titles and why it is locked, but no heading or excerpt of its text, and
    the link goes to the course's page (which says why). The open step shows its excerpt.
    The locked set is found once per page: more hits, locked or not, run no more statements."""
    app, root, unit, staff, user = world
    write(root, "tiep-dan/01-mot/01-bai.md",
          lesson("Bài của Tiếp công dân",
                 "## Sổ tiếp nhận đơn\n\nGhi sổ tiếp công dân theo mẫu bí mật. Nội dung khác."))
    write(root, "co-ban/01-mot/01-bai.md",
          lesson("Bài của Nghiệp vụ cơ bản", "## Ghi chép\n\nGhi sổ theo dõi hằng ngày. Nội dung."))
    with app.app_context():
        sync_tree(root)
        db.session.commit()
    require(app, unit)
    courses = ids(app)
    client = app.test_client()
    login(client, "binh@example.vn")
    page = client.get("/search/", query_string={"q": "ghi sổ"}).get_data(as_text=True)
    assert "Tìm thấy 2 bài học" in page
    hits = re.findall(r'<li class="search-hit[^"]*">.*?</li>', page, re.S)
    locked_hit = next(hit for hit in hits if "Tiếp công dân" in hit)
    assert 'href="/courses/tiep-dan"' in locked_hit and "/lessons/" not in locked_hit
    assert "Bài của Tiếp công dân" in locked_hit and "Chưa mở" in locked_hit
    assert "Bước 2 của chương trình “Bồi dưỡng thanh tra viên mới”" in locked_hit
    assert "mẫu bí mật" not in page and "tiếp nhận đơn" not in page  # neither excerpt nor heading
    open_hit = next(hit for hit in hits if "Nghiệp vụ cơ bản" in hit)
    assert 'href="/courses/co-ban/lessons/mot/bai' in open_hit and "hằng ngày" in open_hit
    assert "Chưa mở" not in open_hit
    with app.app_context():
        locked = programs.locked_courses(staff.id)
        assert set(locked) == {courses["tiep-dan"], courses["van-ban"], courses["giam-sat"]}
        assert locked == {course_id: programs.lock_reason(staff.id, course_id) for course_id in locked}
    # One hit or four (three of them locked): the same statements.
    assert count_queries(app, client, "/search/?q=m%E1%BA%ABu+b%C3%AD") == \
        count_queries(app, client, "/search/?q=n%E1%BB%99i+dung")
    assert "Tìm thấy 4 bài học" in client.get("/search/?q=nội dung").get_data(as_text=True)

    finish(app, user, "co-ban")  # step 1 done: step 2 opens, its text shows
    page = client.get("/search/", query_string={"q": "ghi sổ"}).get_data(as_text=True)
    assert "mẫu bí mật" in page
    assert 'href="/courses/tiep-dan/lessons/mot/bai' in page and "Chưa mở" not in page


def test_a_course_required_directly_is_never_locked(world, make_staff):
    app, _root, unit, staff, _user = world
    require(app, unit)
    courses = ids(app)
    with app.app_context():
        assert programs.lock_reason(staff.id, courses["tiep-dan"]) is not None
        create_rule(RuleDraft(courses["tiep-dan"], [unit.id], due_days=30))
        db.session.commit()
        assert programs.lock_reason(staff.id, courses["tiep-dan"]) is None
        assert programs.lock_reason(staff.id, courses["van-ban"]) is not None


def test_a_choice_step_offers_its_courses_and_is_done_with_one(world):
    app, _root, unit, staff, user = world
    require(app, unit)
    finish(app, user, "co-ban")
    with app.app_context():  # step 2 has a quiz: count it done by an imported completion
        plan = history.plan_history(f"Mã cán bộ,Khóa học,Ngày hoàn thành\n{staff.staff_code},TD,01/06/2026\n"
                                    .encode(), clock.today())
        history.apply_history(plan)
        db.session.commit()
    enrolments = course_enrolments(app, staff)
    assert enrolments["van-ban"] == ("program", False, "not_started")  # an option: not required by itself
    assert enrolments["giam-sat"] == ("program", False, "not_started")
    assert the_cycle(app, staff).steps_done == 2
    finish(app, user, "giam-sat")
    cycle = the_cycle(app, staff)
    assert cycle.completed_at is not None and cycle.steps_done == 3
    # the option not taken, never started, leaves the list (it stayed "not started" for ever)
    assert "van-ban" not in course_enrolments(app, staff)
    with app.app_context():
        certificate = db.session.scalar(sa.select(ProgramCertificate))
        assert certificate.holder_name == "Trần Thị Bình"
        assert certificate.program_title == "Bồi dưỡng thanh tra viên mới"


def test_a_choice_option_the_person_started_stays_theirs_when_the_step_is_done(world):
    app, _root, unit, staff, user = world
    require(app, unit)
    finish(app, user, "co-ban")
    with app.app_context():
        rows = f"Mã cán bộ,Khóa học,Ngày hoàn thành\n{staff.staff_code},TD,01/06/2026\n"
        history.apply_history(history.plan_history(rows.encode(), clock.today()))
        started = db.session.scalar(sa.select(Enrolment).join(Course).where(
            Enrolment.staff_id == staff.id, Course.key == "van-ban", Enrolment.latest.is_(True)))
        started.state = EnrolmentState.IN_PROGRESS
        db.session.commit()
    finish(app, user, "giam-sat")
    assert the_cycle(app, staff).completed_at is not None
    assert course_enrolments(app, staff)["van-ban"] == ("program", False, "in_progress")


def test_earlier_completions_count_when_still_valid(world, make_staff):
    app, _root, unit, staff, user = world
    other = make_staff("Lê Văn Cường", unit=unit)
    with app.app_context():  # done before the programme: co-ban by both, expired for the second
        for person, expires in ((staff, None), (other, clock.today() - timedelta(days=1))):
            db.session.add(Enrolment(staff_id=person.id, course_id=ids(app)["co-ban"],
                                     source=EnrolmentSource.IMPORT, assigned_on=date(2025, 1, 1),
                                     state=EnrolmentState.COMPLETED,
                                     completed_at=clock.now() - timedelta(days=400), expires_on=expires))
        db.session.commit()
    require(app, unit)
    assert the_cycle(app, staff).steps_done == 1
    assert "tiep-dan" in course_enrolments(app, staff)  # the next step opened at once
    assert the_cycle(app, other).steps_done == 0  # expired: done again
    assert course_enrolments(app, other)["co-ban"] == ("program", True, "not_started")


def test_an_exemption_counts_as_the_course_done(world, make_user):
    app, _root, unit, staff, _user = world
    require(app, unit)
    admin = make_user(role=Role.ADMIN)
    with app.app_context():
        enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == staff.id))
        exemptions.exempt(enrolment, "Đã học lớp trực tiếp", actor=db.session.get(User, admin.id))
        db.session.commit()
    assert the_cycle(app, staff).steps_done == 1
    assert course_enrolments(app, staff)["tiep-dan"] == ("program", True, "not_started")


def test_a_programme_renews_and_asks_its_courses_again(world):
    app, _root, unit, staff, user = world
    require(app, unit, renew_months=24)
    ids_ = ids(app)
    for key in ("co-ban",):
        finish(app, user, key)
    with app.app_context():
        plan = history.plan_history(f"Mã cán bộ,Khóa học,Ngày hoàn thành\n{staff.staff_code},TD,01/06/2026\n"
                                    f"{staff.staff_code},VB,01/06/2026\n".encode(), clock.today())
        history.apply_history(plan)
        db.session.commit()
    first = the_cycle(app, staff)
    assert first.completed_at is not None and first.expires_on is not None
    clock.set_now(clock.now() + timedelta(days=24 * 31 - 20))  # 20 days before it expires... about
    with app.app_context():
        report = programs.apply_program_rules()
        db.session.commit()
    assert report.renewed == 1
    second = the_cycle(app, staff)
    assert second.cycle == 2 and second.completed_at is None and second.steps_done == 0
    enrolments = course_enrolments(app, staff)
    assert enrolments["co-ban"] == ("program", True, "not_started")  # asked again
    # the import completed the programme's open cycle of it (no second cycle): its order holds, not asked yet
    assert enrolments["tiep-dan"] == ("program", True, "completed")
    with app.app_context():  # lessons read before count in a renewal (a course without quiz: done again)
        completion.refresh(db.session.get(User, user.id), db.session.get(Course, ids_["co-ban"]))
        db.session.commit()
    assert the_cycle(app, staff).steps_done == 1
    assert course_enrolments(app, staff)["tiep-dan"] == ("program", True, "not_started")


def test_a_changed_only_programme_rule_renews_with_refreshers(world):
    """A programme rule whose renewal is "changed lessons only" renews each course the person
    completed as a refresher: only the lesson added since (the option was offered on the
    programme's rule form and ignored: the whole course was asked again)."""
    app, root, unit, staff, user = world
    with app.app_context():
        create_rule(RuleDraft(None, [unit.id], due_days=60, renew_months=24, program_id=program_id(app),
                              renewal=RenewalMode.CHANGED_ONLY))
        db.session.commit()
    finish(app, user, "co-ban")
    with app.app_context():  # the other steps from past completions: the programme is complete
        plan = history.plan_history(f"Mã cán bộ,Khóa học,Ngày hoàn thành\n{staff.staff_code},TD,01/06/2026\n"
                                    f"{staff.staff_code},VB,01/06/2026\n".encode(), clock.today())
        history.apply_history(plan)
        db.session.commit()
    assert the_cycle(app, staff).completed_at is not None
    write(root, "co-ban/01-mot/02-moi.md", lesson("Bài mới", "## B\n\nQuy định mới."))
    with app.app_context():
        sync_tree(root)
        db.session.commit()
    clock.set_now(clock.now() + timedelta(days=24 * 31 - 20))
    with app.app_context():
        assert programs.apply_program_rules().renewed == 1
        db.session.commit()
        course = db.session.scalar(sa.select(Course).where(Course.key == "co-ban"))
        cycles = db.session.scalars(sa.select(Enrolment).where(
            Enrolment.staff_id == staff.id, Enrolment.course_id == course.id).order_by(Enrolment.cycle)).all()
        assert [c.cycle for c in cycles] == [1, 2]
        assert cycles[1].refresher_of == cycles[0].completed_version is not None
        added = db.session.scalar(sa.select(Lesson.id).where(Lesson.course_id == course.id,
                                                             Lesson.title == "Bài mới"))
        assert refreshers.lessons_to_take(course, cycles[1]) == {added}


def test_moving_out_closes_the_programme_and_the_courses_it_opened(world, make_unit):
    app, _root, unit, staff, _user = world
    require(app, unit)
    elsewhere = make_unit("Thanh tra TP Hà Nội", code="HN", kind="province")
    with app.app_context():
        db.session.get(Staff, staff.id).unit_id = elsewhere.id
        db.session.flush()
        programs.apply_program_rules(staff_ids={staff.id})
        db.session.commit()
    assert the_cycle(app, staff).closed_at is not None
    assert course_enrolments(app, staff) == {}


# --- the trainee's path, the certificate --------------------------------------------------------------


def test_the_path_page_shows_done_current_and_locked_steps_and_the_home_lists_it(world):
    app, _root, unit, _staff, user = world
    require(app, unit, due_days=60)
    finish(app, user, "co-ban")
    client = app.test_client()
    login(client, "binh@example.vn")
    home = client.get("/").get_data(as_text=True)
    assert "Chương trình của tôi" in home and "Đã xong 1/3 bước bắt buộc" in home
    assert "Đang học: bước 2 — Tiếp công dân" in home
    page = client.get("/programs/moi")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    due = (clock.today() + timedelta(days=60)).strftime("%d/%m/%Y")
    assert f"hạn {due}" in text
    assert text.count("✓ Đã xong") == 1 and "Bước hiện tại" in text and text.count("</svg> Chưa mở") == 1
    assert "Mở khi bước 2 đã xong." in text and "Chọn 1 trong các khóa học sau:" in text
    assert client.get("/programs/khong-co").status_code == 404


def complete_by_history(app, staff) -> str:
    """Import the completions of the programme's three required steps: its certificate's code."""
    with app.app_context():
        plan = history.plan_history(f"Mã cán bộ,Khóa học,Ngày hoàn thành\n{staff.staff_code},CB,01/06/2026\n"
                                    f"{staff.staff_code},TD,02/06/2026\n{staff.staff_code},GS,03/06/2026\n"
                                    .encode(), clock.today())
        history.apply_history(plan)
        db.session.commit()
        return db.session.scalar(sa.select(ProgramCertificate.code).join(ProgramEnrolment).where(
            ProgramEnrolment.staff_id == staff.id))


def test_the_programme_certificate_is_a_pdf_and_verifiable(world):
    app, _root, unit, staff, user = world
    require(app, unit, renew_months=12)
    code = complete_by_history(app, staff)
    with app.app_context():
        expires = db.session.scalar(sa.select(ProgramCertificate.expires_on))
    assert expires is not None  # the rule renews it
    client = app.test_client()
    login(client, "binh@example.vn")
    assert f"/programs/certificates/{code}.pdf" in client.get("/programs/moi").get_data(as_text=True)
    text = pdf_text(client.get(f"/programs/certificates/{code}.pdf"))
    assert "Trần Thị Bình" in text and "Bồi dưỡng thanh tra viên mới" in text and code in text
    assert "hoàn thành chương trình" in text
    public = app.test_client().get(f"/verify/{code.lower()}")
    assert public.status_code == 200
    shown = public.get_data(as_text=True)
    assert "Trần Thị Bình" in shown and "Bồi dưỡng thanh tra viên mới" in shown and "Chương trình" in shown
    assert expires.strftime("%d/%m/%Y") in shown


def test_the_programme_certificate_names_the_unit_with_its_parent_as_a_courses_does(world, make_unit,
                                                                                     make_staff, make_user):
    app, _root, unit, _staff, _user = world
    section = make_unit("Phòng 1", parent=unit)
    staff = make_staff("Đặng Quốc Bảo", unit=section)
    make_user(email="bao@example.vn", staff=staff)
    require(app, unit)
    code = complete_by_history(app, staff)
    client = app.test_client()
    login(client, "bao@example.vn")
    text = pdf_text(client.get(f"/programs/certificates/{code}.pdf"))
    assert f"Mã cán bộ: {staff.staff_code} · Phòng 1 — Thanh tra tỉnh Ninh Bình" in text  # was "· Phòng 1"


def record_csv(client, staff) -> list[list[str]]:
    body = client.get(f"/training/people/{staff.id}/record.csv").get_data(as_text=True)
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def test_the_record_lists_the_programmes_on_the_page_in_the_pdf_and_the_csv(world, make_user):
    app, _root, unit, staff, user = world
    require(app, unit, due_days=60)
    finish(app, user, "co-ban")
    client = app.test_client()
    login(client, "binh@example.vn")
    page = client.get("/training/record", follow_redirects=True).get_data(as_text=True)
    assert "<h2 id=\"record-programs\">Chương trình</h2>" in page
    assert "Bồi dưỡng thanh tra viên mới" in page and "CT-MOI" in page
    assert "Số bước bắt buộc đã xong" in page and "<td>1/3</td>" in page and "Đúng tiến độ" in page
    pdf = pdf_text(client.get(f"/training/people/{staff.id}/record.pdf"))
    assert "Bồi dưỡng thanh tra viên mới" in pdf and "Đúng tiến độ" in pdf
    rows = record_csv(client, staff)
    heading = rows.index(["Mã cán bộ", "Họ và tên", "Mã chương trình", "Chương trình", "Chu kỳ", "Trạng thái",
                          "Ngày giao", "Hạn", "Đã hoàn thành", "Có giá trị đến",
                          "Số bước bắt buộc đã xong", "Số bước bắt buộc", "Chứng nhận"])
    assert rows[heading - 1] == [] and rows[heading + 1][2:4] == ["CT-MOI", "Bồi dưỡng thanh tra viên mới"]
    assert rows[heading + 1][5] == "Đúng tiến độ" and rows[heading + 1][8:] == ["", "", "1", "3", ""]

    code = complete_by_history(app, staff)  # completed: the date and the certificate, linked
    page = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert f'href="/programs/certificates/{code}.pdf"' in page and "<td>3/3</td>" in page
    assert code in pdf_text(client.get(f"/training/people/{staff.id}/record.pdf"))
    done = record_csv(client, staff)[-1]
    assert done[5] == "Đã hoàn thành" and done[8] == clock.today().strftime("%d/%m/%Y") and done[-1] == code
    manager = app.test_client()  # the manager of the unit reads it too, and opens the certificate
    login(manager, make_user(role=Role.MANAGER, scope_unit=unit).email)
    on_the_page = manager.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert f'href="/programs/certificates/{code}.pdf"' in on_the_page
    assert manager.get(f"/programs/certificates/{code}.pdf").status_code == 200


# --- reminders and digests mention the programme --------------------------------------------------------


def test_reminders_and_digests_name_the_programme_of_a_course(world):
    app, _root, unit, staff, _user = world
    require(app, unit, due_days=60)
    with app.app_context(), app.test_request_context():
        today = clock.today()
        plan = schedule.plan(today, schedule.Schedule.of(config.settings()))
        message = next(m for m in plan.trainees if m.email == "binh@example.vn")
        assert [(i.course_title, i.program_title) for i in message.items] == [
            ("Nghiệp vụ cơ bản", "Bồi dưỡng thanh tra viên mới")]
        _subject, text, _html = messages.trainee_message(message, "https://daotao.example.vn")
        assert "Nghiệp vụ cơ bản (thuộc chương trình “Bồi dưỡng thanh tra viên mới”)" in text
        rows = schedule._behind_by_unit(today, 14, {unit.id})[unit.id]
        assert [(r.course_title, r.program_title) for r in rows] == [
            ("Nghiệp vụ cơ bản", "Bồi dưỡng thanh tra viên mới")]


def test_editing_and_switching_off_a_programme_rule_follow_the_course_rules(world):
    app, _root, unit, staff, _user = world
    require(app, unit, due_days=60)
    with app.app_context():
        rule = db.session.scalar(sa.select(AssignmentRule))
        draft = RuleDraft.of(rule)
        draft.due_days = 90
        report = update_rule(rule, draft)
        db.session.commit()
        assert report.due_changed == 1
        assert db.session.scalar(sa.select(Enrolment.due_on).where(Enrolment.staff_id == staff.id)) \
            == clock.today() + timedelta(days=90)  # the step's course follows the programme
        preview = preview_deactivation(rule)
        assert (preview.open_before, preview.report.closed) == (1, 1)
        deactivate_rule(rule)
        db.session.commit()
    assert the_cycle(app, staff).closed_at is not None
    assert course_enrolments(app, staff) == {}
    assert the_cycle(app, staff).due_on == clock.today() + timedelta(days=90)
