"""Refreshers: what changed since the edition a person completed, and changed-only renewals."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role
from mooc.courses import editions
from mooc.courses.models import Course, CourseEdition, Lesson, LessonVersion
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.roster.models import OrgUnit
from mooc.training import assign, refreshers
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentState, RenewalMode
from tests.conftest import csrf_token, login
from tests.courses.tree import lesson, write
from tests.reports.test_readable import Tables
from tests.training.test_completion import enrolment_of, read_and_pass, take_quiz

COURSE_MD = ("---\ntitle: Luật Thanh tra 2025\ncode: LTT\nedition: {edition}\n"
             "summary: Khóa học bắt buộc.\nhours: 2\n---\n\nGiới thiệu.\n")
MOT_A = ("## Thời hạn\n\nThời hạn thanh tra không quá 45 ngày theo quy chế năm 2023.\n\n"
         "Đoàn thanh tra làm việc khách quan, trung thực.\n\n"
         "Kết luận thanh tra được công khai theo quy định.\n\n"
         "Người được thanh tra có quyền giải trình.\n")
# Edition B: a number and a decree changed, a paragraph moved to the end, one written decomposed.
MOT_B = ("## Thời hạn\n\nThời hạn thanh tra không quá 30 ngày theo quy chế năm 2025.\n\n"
         "Kết luận thanh tra được công khai theo quy định.\n\n"
         + unicodedata.normalize("NFD", "Người được thanh tra có quyền giải trình.") + "\n\n"
         "Đoàn thanh tra làm việc khách quan, trung thực.\n")
HAI = "## A\n\nHai điều cần nhớ về tiếp công dân: lắng nghe và ghi chép `<b>đầy đủ</b>`.\n"
HAI_B = "## A\n\nHai điều cần nhớ về tiếp công dân: lắng nghe và ghi chép `<b>trung thực</b>`.\n"
BA = "## A\n\nBa bước xử lý đơn thư theo quy trình mới.\n"


def edition_a(root):
    write(root, "luat/course.md", COURSE_MD.format(edition=2025))
    write(root, "luat/01-co-ban/01-mot.md", lesson("Bài một", MOT_A))
    write(root, "luat/01-co-ban/02-hai.md", lesson("Bài hai", HAI))


def edition_b(root, hai: str = HAI):
    write(root, "luat/course.md", COURSE_MD.format(edition=2026))
    write(root, "luat/01-co-ban/01-mot.md", lesson("Bài một", MOT_B))
    write(root, "luat/01-co-ban/02-hai.md", lesson("Bài hai", unicodedata.normalize("NFD", hai)))
    write(root, "luat/01-co-ban/03-ba.md", lesson("Bài ba", BA))


def sync(app, root, when):
    clock.set_now(when)
    with app.app_context():
        sync_tree(root)
        db.session.commit()


def changed_only_rule(app, o):
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30, renew_months=12,
                              renewal=RenewalMode.CHANGED_ONLY)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()


def lesson_ids(app, course_id):
    with app.app_context():
        return dict(db.session.execute(
            sa.select(Lesson.key, Lesson.id).where(Lesson.course_id == course_id)).all())


def content_hash(app, course_id):
    with app.app_context():
        return db.session.get(Course, course_id).content_hash


def section(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}".*?</(section|details)>', html, re.S)
    return match.group(0) if match else ""


def assert_kept_alike(client, page: str) -> None:
    """The course page asked again (served from the kept page, its person part filled from the
    page's glance: courses.queries.course_glance) says the same as ``page``."""
    token = re.compile(r'(csrf[_-]token"[^>]*?(?:value|content)=")[^"]+"')
    again = client.get("/courses/luat").get_data(as_text=True)
    assert token.sub(r"\1", again) == token.sub(r"\1", page)


def mark_done(client, key):
    page = f"/courses/luat/lessons/{key}"
    return client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})


T0 = datetime.now(UTC) + timedelta(days=1)  # after the fixture's own sync (at the real time)


def completed_edition_a(app, o, person):
    """A trainee who completed edition 2025 under a changed-only rule; edition 2026 synced."""
    edition_a(o.root)
    sync(app, o.root, T0)
    staff, user = person(o.section_a, name="Trần Thị Mai")
    changed_only_rule(app, o)
    client = app.test_client()
    clock.set_now(T0 + timedelta(days=2))
    login(client, user.email)
    read_and_pass(client, app)
    first = enrolment_of(app, staff.id, o.course_id)
    assert first.state == EnrolmentState.COMPLETED
    edition_b(o.root)
    sync(app, o.root, T0 + timedelta(days=30))
    login(client, user.email)  # (the session from a month ago has expired)
    return staff, user, client, first


def test_the_sync_keeps_each_lesson_version_and_edition(org):
    app, o = org
    edition_a(o.root)
    sync(app, o.root, T0)
    first = content_hash(app, o.course_id)
    edition_b(o.root)
    sync(app, o.root, T0 + timedelta(days=1))
    sync(app, o.root, T0 + timedelta(days=2))  # nothing changed: nothing new kept
    ids = lesson_ids(app, o.course_id)
    latest = content_hash(app, o.course_id)
    with app.app_context():
        kept = db.session.execute(sa.select(LessonVersion.lesson_id, LessonVersion.text)
                                  .where(LessonVersion.lesson_id == ids["co-ban/mot"])).all()
        assert len(kept) == 3  # the fixture's, edition A's, edition B's
        assert any("45 ngày" in text for _id, text in kept) and any("30 ngày" in text for _id, text in kept)
        rows = db.session.scalars(sa.select(CourseEdition).where(CourseEdition.course_id == o.course_id)
                                  .order_by(CourseEdition.id)).all()
        assert [row.edition for row in rows] == [2026, 2025, 2026]
        assert rows[1].content_hash == first and rows[2].content_hash == latest
        assert sorted(lesson_id for lesson_id, _hash in rows[1].lessons) == sorted(
            [ids["co-ban/mot"], ids["co-ban/hai"]])
        assert [row.current for row in rows] == [False, False, True]


def test_a_trainee_sees_what_changed_since_the_edition_they_completed(org, person):
    app, o = org
    _staff, _user, client, _first = completed_edition_a(app, o, person)
    page = client.get("/courses/luat").get_data(as_text=True)
    assert_kept_alike(client, page)
    changes = section(page, "edition-changes")
    assert "Bài một" in changes and "Bài ba" in changes and "#lesson-changes" in changes
    assert "Bài hai" not in changes  # only written decomposed: the same words
    assert "2025" in changes

    mot = client.get("/courses/luat/lessons/co-ban/mot").get_data(as_text=True)
    diff = section(mot, "lesson-changes")
    assert "<del>45</del><ins>30</ins>" in diff
    assert "quy chế năm <del>2023</del><ins>2025</ins>" in diff
    moved = re.findall(r'<p class="diff-block diff-moved">(.*?)</p>', diff, re.S)
    assert len(moved) == 1 and "Đoàn thanh tra làm việc khách quan, trung thực." in moved[0]
    assert "<del>Đoàn" not in diff and "<ins>Đoàn" not in diff  # moved, not deleted and inserted
    assert "giải trình" not in diff.split("diff-moved")[0] or "<ins>Người" not in diff  # NFD: unchanged
    assert unicodedata.is_normalized("NFC", diff)

    assert 'id="lesson-changes"' not in client.get("/courses/luat/lessons/co-ban/hai").get_data(as_text=True)
    ba = client.get("/courses/luat/lessons/co-ban/ba").get_data(as_text=True)
    assert "lesson-new" in ba and 'id="lesson-changes"' not in ba


def _read_first_by_someone_else(app, o, person, paths: list[str], done: tuple[str, ...] = ()) -> None:
    """Another trainee, with nothing of their own to be told, opens the pages first (after
    marking ``done`` done): each is then kept for the course's version (mooc/kept.py), and
    found by the next reader's request with the same done mark."""
    _staff, other = person(o.section_b, name="Lê Văn Khoa", email="khoa@example.vn")
    client = app.test_client()
    login(client, other.email)
    for key in done:
        assert mark_done(client, key).status_code == 302
    for path in paths:
        page = client.get(path).get_data(as_text=True)
        assert 'id="lesson-changes"' not in page and 'id="refresher-redo"' not in page


def test_a_page_kept_for_other_readers_still_tells_a_returning_reader_what_changed(org, person):
    app, o = org
    _staff, _user, client, _first = completed_edition_a(app, o, person)
    _read_first_by_someone_else(app, o, person, ["/courses/luat/lessons/co-ban/mot",
                                                 "/courses/luat/lessons/co-ban/ba"])
    mot = client.get("/courses/luat/lessons/co-ban/mot").get_data(as_text=True)
    assert "<del>45</del><ins>30</ins>" in section(mot, "lesson-changes")
    assert "lesson-new" in client.get("/courses/luat/lessons/co-ban/ba").get_data(as_text=True)


def test_a_page_kept_for_other_readers_still_asks_a_refresher_reading(org, person):
    app, o = org
    _staff, user, client, first = completed_edition_a(app, o, person)
    clock.set_now(datetime.combine(first.expires_on - timedelta(days=20), datetime.min.time(), tzinfo=UTC))
    with app.app_context():
        assert assign.apply_rules().renewed == 1
        db.session.commit()
    _read_first_by_someone_else(app, o, person, ["/courses/luat/lessons/co-ban/mot"], done=("co-ban/mot",))
    login(client, user.email)
    mot = client.get("/courses/luat/lessons/co-ban/mot").get_data(as_text=True)
    assert 'id="refresher-redo"' in mot and "/courses/luat/lessons/co-ban/mot/done" in mot


def test_the_diff_shows_author_markup_as_text(org, person):
    app, o = org
    edition_a(o.root)
    sync(app, o.root, T0)
    staff, user = person(o.section_a)
    changed_only_rule(app, o)
    client = app.test_client()
    clock.set_now(T0 + timedelta(days=2))
    login(client, user.email)
    read_and_pass(client, app)
    edition_b(o.root, hai=HAI_B)
    sync(app, o.root, T0 + timedelta(days=30))
    login(client, user.email)
    diff = section(client.get("/courses/luat/lessons/co-ban/hai").get_data(as_text=True), "lesson-changes")
    assert "&lt;b&gt;<del>đầy đủ</del><ins>trung thực</ins>&lt;/b&gt;" in diff
    assert "<b>" not in diff


def test_a_changed_only_renewal_asks_only_the_changed_and_added_lessons_and_the_quiz(org, person):
    app, o = org
    staff, user, client, first = completed_edition_a(app, o, person)
    ids = lesson_ids(app, o.course_id)
    clock.set_now(datetime.combine(first.expires_on - timedelta(days=20), datetime.min.time(), tzinfo=UTC))
    with app.app_context():
        assert assign.apply_rules().renewed == 1
        db.session.commit()
    renewal = enrolment_of(app, staff.id, o.course_id)
    assert (renewal.cycle, renewal.refresher_of) == (2, first.completed_version)
    with app.app_context():
        course = db.session.get(Course, o.course_id)
        assert refreshers.lessons_to_take(course, renewal) == {ids["co-ban/mot"], ids["co-ban/ba"]}

    login(client, user.email)
    home = client.get("/").get_data(as_text=True)
    assert "0/2 bài học, đạt 0/1 bài kiểm tra" in home  # the refresher's two lessons, not the course's three
    page = client.get("/courses/luat").get_data(as_text=True)
    assert_kept_alike(client, page)
    assert 'id="continue-course"' in page and "/courses/luat/lessons/co-ban/mot" in page
    mot = client.get("/courses/luat/lessons/co-ban/mot").get_data(as_text=True)
    assert 'id="refresher-redo"' in mot and "/courses/luat/lessons/co-ban/mot/done" in mot
    assert 'id="refresher-redo"' not in client.get("/courses/luat/lessons/co-ban/hai").get_data(as_text=True)

    take_quiz(client, app)
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.IN_PROGRESS
    mark_done(client, "co-ban/hai")  # not asked: changes nothing
    mark_done(client, "co-ban/mot")  # read again, in its new version
    mot = client.get("/courses/luat/lessons/co-ban/mot").get_data(as_text=True)
    assert 'id="refresher-redo"' not in mot
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.IN_PROGRESS  # "ba" is left
    assert "1/2 bài học, đạt 1/1 bài kiểm tra" in client.get("/").get_data(as_text=True)
    mark_done(client, "co-ban/ba")
    done = enrolment_of(app, staff.id, o.course_id)
    assert (done.cycle, done.state) == (2, EnrolmentState.COMPLETED)
    assert done.completed_version == content_hash(app, o.course_id)
    # current now: nothing to tell any more
    assert 'id="edition-changes"' not in client.get("/courses/luat").get_data(as_text=True)


def test_a_refresher_is_not_complete_without_the_quiz_passed_in_the_cycle(org, person):
    app, o = org
    staff, user, client, first = completed_edition_a(app, o, person)
    clock.set_now(datetime.combine(first.expires_on - timedelta(days=20), datetime.min.time(), tzinfo=UTC))
    with app.app_context():
        assign.apply_rules()
        db.session.commit()
    login(client, user.email)
    mark_done(client, "co-ban/mot")
    mark_done(client, "co-ban/ba")
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.IN_PROGRESS
    take_quiz(client, app, right=False)
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.IN_PROGRESS
    take_quiz(client, app, right=True)
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.COMPLETED


def test_a_full_renewal_still_asks_nothing_of_lessons_read_before(org, person):
    """The default renewal is unchanged: a refresher is only what a rule asks for."""
    app, o = org
    staff, user, client, first = completed_edition_a(app, o, person)
    with app.app_context():
        db.session.execute(sa.update(AssignmentRule).values(renewal=RenewalMode.FULL))
        db.session.commit()
    clock.set_now(datetime.combine(first.expires_on - timedelta(days=20), datetime.min.time(), tzinfo=UTC))
    with app.app_context():
        assign.apply_rules()
        db.session.commit()
    assert enrolment_of(app, staff.id, o.course_id).refresher_of is None
    login(client, user.email)
    assert 'id="refresher-redo"' not in client.get("/courses/luat/lessons/co-ban/mot").get_data(as_text=True)


def test_the_preview_counts_the_lessons_each_person_will_take(org, person, make_user):
    app, o = org
    staff, _user, _client, _first = completed_edition_a(app, o, person)
    newcomer, _ = person(o.section_b, name="Lê Văn Bình")
    with app.app_context():
        course = db.session.get(Course, o.course_id)
        assert refreshers.lessons_each(course, [staff.id, newcomer.id]) == {staff.id: 2, newcomer.id: 3}
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    form = {"csrf_token": csrf_token(admin, "/admin/rules/new"), "course": o.course_id,
            "units": [o.province.id], "due_kind": "days", "due_days": 60, "renew_months": 12,
            "renewal": "changed-only"}
    preview = section(admin.post("/admin/rules/new", data=form).get_data(as_text=True), "refresher-preview")
    rows = re.findall(r"<tr><td>(\d+)</td><td class=\"num\">(\d+)</td></tr>", preview)
    assert rows == [("2", "1"), ("3", "1")]
    assert "Trần Thị Mai" in preview and "Lê Văn Bình" in preview
    full = admin.post("/admin/rules/new", data=form | {"renewal": "full"}).get_data(as_text=True)
    assert 'id="refresher-preview"' not in full


def test_open_refreshers_for_given_people_opens_changed_only_cycles(org, person):
    """What a later caller (a superseded legal document) uses: people and a course, previewed
    by rolling back, then opened."""
    app, o = org
    staff, _user, _client, first = completed_edition_a(app, o, person)
    never, _ = person(o.section_b, name="Lê Văn Bình")
    with app.app_context():
        savepoint = db.session.begin_nested()
        report = refreshers.open_refreshers(o.course_id, {staff.id, never.id}, None)
        savepoint.rollback()
        assert (report.opened, report.skipped, report.opened_ids) == (1, 1, [staff.id])
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.staff_id == staff.id)) == 1
        refreshers.open_refreshers(o.course_id, {staff.id, never.id}, None)
        db.session.commit()
    opened = enrolment_of(app, staff.id, o.course_id)
    assert (opened.cycle, opened.refresher_of, opened.state) == (2, first.completed_version,
                                                                 EnrolmentState.NOT_STARTED)


def test_an_unrecorded_edition_is_said_so_and_a_refresher_then_asks_the_whole_course(org, person):
    app, o = org
    staff, _user, client, first = completed_edition_a(app, o, person)
    with app.app_context():
        db.session.execute(sa.delete(CourseEdition)
                           .where(CourseEdition.content_hash == first.completed_version))
        db.session.commit()
        course = db.session.get(Course, o.course_id)
        assert not editions.changes_since(course, first.completed_version + "x").known
    changes = section(client.get("/courses/luat").get_data(as_text=True), "edition-changes")
    assert changes and "/courses/luat/lessons/" not in changes
    with app.app_context():
        renewal = refreshers.open_refreshers(o.course_id, {staff.id}, None)
        db.session.commit()
        assert renewal.opened == 1
    opened = enrolment_of(app, staff.id, o.course_id)
    with app.app_context():
        course = db.session.get(Course, o.course_id)
        assert opened.refresher_of == first.completed_version
        assert refreshers.lessons_to_take(course, opened) is None  # the whole course


def test_the_reports_count_people_current_with_the_latest_editions_beside_completion(org, person, make_user):
    app, o = org
    staff, user, client, first = completed_edition_a(app, o, person)
    reporter = app.test_client()
    login(reporter, make_user(role=Role.REPORTER).email)

    def nb_row():
        table = Tables(reporter.get("/reports/?sort=name").get_data(as_text=True)).tables[0]
        header = table[0]
        row = next(r for r in table if r[0] == "Thanh tra tỉnh Ninh Bình")
        return row[header.index("Đã hoàn thành tất cả (người)")], row[header.index(
            "Cập nhật theo phiên bản mới nhất (người)")]

    assert nb_row() == ("1", "0")  # completed edition 2025; edition 2026 changed two lessons
    clock.set_now(datetime.combine(first.expires_on - timedelta(days=20), datetime.min.time(), tzinfo=UTC))
    with app.app_context():
        assign.apply_rules()
        db.session.commit()
    login(client, user.email)
    login(reporter, make_user(role=Role.REPORTER).email)
    assert nb_row() == ("0", "0")  # the refresher is open (not started)
    mark_done(client, "co-ban/mot")
    mark_done(client, "co-ban/ba")
    take_quiz(client, app)
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.COMPLETED
    assert nb_row() == ("1", "1")
    # an edit that changes no lesson's words (here a reading time) is a new edition that keeps
    # them current; one that changes words does not
    before = content_hash(app, o.course_id)
    write(o.root, "luat/01-co-ban/02-hai.md", lesson("Bài hai", HAI, minutes=9))
    sync(app, o.root, clock.now() + timedelta(minutes=5))
    assert content_hash(app, o.course_id) != before
    assert nb_row() == ("1", "1")
    write(o.root, "luat/01-co-ban/02-hai.md", lesson("Bài hai", HAI_B, minutes=9))
    sync(app, o.root, clock.now() + timedelta(minutes=5))
    assert nb_row() == ("1", "0")


def test_the_migration_keeps_the_lessons_and_editions_there_are(org):
    """Upgrading a database that has courses records each course's current edition and each
    lesson's current words, so completions of the current edition can be compared later."""
    from flask_migrate import downgrade, upgrade

    app, o = org
    edition_a(o.root)
    sync(app, o.root, T0)
    ids = lesson_ids(app, o.course_id)
    current = content_hash(app, o.course_id)
    with app.app_context():
        downgrade(revision="a7c4e2b19d30")  # the revision before lesson versions were kept
        assert "lesson_versions" not in sa.inspect(db.engine).get_table_names()
        upgrade()
    with app.app_context():
        edition = db.session.scalar(sa.select(CourseEdition).where(CourseEdition.course_id == o.course_id))
        assert (edition.content_hash, edition.edition, edition.current) == (current, 2025, True)
        assert sorted(lesson_id for lesson_id, _hash in edition.lessons) == sorted(
            [ids["co-ban/mot"], ids["co-ban/hai"]])
        words = db.session.scalar(sa.select(LessonVersion.text)
                                  .where(LessonVersion.lesson_id == ids["co-ban/mot"]))
        assert "45 ngày" in words
    edition_b(o.root)
    sync(app, o.root, T0 + timedelta(days=1))
    with app.app_context():
        course = db.session.get(Course, o.course_id)
        changes = editions.changes_since(course, current)
        assert changes.known and {c.key for c in changes.changed} == {"co-ban/mot"}
        assert {c.key for c in changes.added} == {"co-ban/ba"}
