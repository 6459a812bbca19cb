"""Journey: a law is superseded, and the people trained on it are refreshed. A trainee completed
"Giám sát số"; its lesson on data quality rests on the Law on Data (60/2024/QH15). An author
records in the legal registry that a new law supersedes it, moves the lesson to the new law,
checks and syncs; a training officer finds the document on the legal impact page, previews
the refreshers (one person, one lesson to read again) and opens them; the trainee sees what
changed since the edition they completed, reads the word-level diff on the lesson, and
completes the short cycle: the one lesson and the course's quizzes.

The files edited are the e2e app's own copy of the courses (MOOC_COURSES_DIR); the new law is
a test document that exists only in that copy. The unit and the officer are made here for this
journey alone, so the refreshers open for nobody another journey counts.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from mooc.auth.models import Role
from tests.e2e.pages import AttemptPage, LessonPage, QuizKey, QuizPage, go, sign_in

COURSE = "giam-sat-so"
LESSON_FILE = "giam-sat-so/02-lam-viec-voi-du-lieu/01-chat-luong-du-lieu.md"
QUIZZES = ["giam-sat-canh-bao-som/kiem-tra", "lam-viec-voi-du-lieu/kiem-tra",
           "bao-ve-du-lieu-ca-nhan/kiem-tra"]
OLD, NEW = "60/2024/QH15", "99/2026/QH15"
NEW_LAW = f"""
  - number: {NEW}
    kind: Luật
    title: Luật Dữ liệu (sửa đổi, văn bản thử của kiểm thử e2e)
    issuer: Quốc hội
    signed: 01/11/2026
    in_force: 01/12/2026
    source: https://example.vn/luat-du-lieu-sua-doi
"""


def _completed(live, make_trainee):
    """A trainee in a unit of their own who completed the course as it is now, and a training
    officer of that unit."""
    from mooc import clock
    from mooc.courses.models import Course, Lesson, LessonProgress
    from mooc.roster.models import OrgUnit
    from mooc.training.completion import complete
    from mooc.training.models import Enrolment, EnrolmentSource

    with live.db() as session:
        parent = session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "HCM-P1"))
        session.add(OrgUnit(code="HCM-P1-DL", name="Tổ Dữ liệu", kind="team", parent=parent))
    person = make_trainee("Phạm Thị Thu Trang", "HCM-P1-DL", "TTV")
    officer = make_trainee("Vũ Minh Khoa", "HCM-P1-DL", "TTV", role=Role.OFFICER)
    with live.db() as session:
        from mooc.auth.models import User

        unit_id = session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "HCM-P1-DL"))
        session.get(User, officer.user_id).scope_unit_id = unit_id
        course = session.scalar(sa.select(Course).where(Course.key == COURSE))
        read = clock.now() - timedelta(days=120)
        for lesson_id in session.scalars(sa.select(Lesson.id).where(Lesson.course_id == course.id,
                                                                     Lesson.archived.is_(False))):
            session.add(LessonProgress(user_id=person.user_id, lesson_id=lesson_id, completed_at=read))
        enrolment = session.scalar(sa.select(Enrolment).where(  # a rule of the demo may require it
            Enrolment.staff_id == person.staff_id, Enrolment.course_id == course.id))
        if enrolment is None:
            enrolment = Enrolment(staff_id=person.staff_id, course_id=course.id, cycle=1,
                                  source=EnrolmentSource.MANUAL, required=True, assigned_on=read.date())
            session.add(enrolment)
            session.flush()
        complete(enrolment, course, None, read)
    return person, officer


def test_a_superseded_law_refreshes_the_people_trained_on_it(browsing, live, make_trainee) -> None:
    person, officer = _completed(live, make_trainee)

    # The author: the new law in the registry, the old one superseded by it, the lesson moved.
    registry = live.courses_dir / "_phap-ly.yaml"
    text = registry.read_text(encoding="utf-8")
    entry = text.index(f"number: {OLD}")
    end = text.index("\n\n", entry)
    text = (text[:end] + f"\n    superseded: {{by: {NEW}, from: 01/12/2026}}" + text[end:]).replace(
        "\nunverified:", NEW_LAW + "\nunverified:", 1)
    registry.write_text(text, encoding="utf-8")
    lesson_path = live.courses_dir / LESSON_FILE
    lesson_path.write_text(lesson_path.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    checked = live.mooc("courses", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    synced = live.mooc("courses", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    # The training officer: the impact page names the old law, the course updated since, one person.
    page = browsing.new_page()
    sign_in(page, officer.email, officer.password)
    go(page, "/reports/legal")
    row = page.get_by_role("row").filter(has_text=OLD)
    expect(row).to_contain_text(f"bị thay thế bởi {NEW} từ ngày 01/12/2026")
    expect(row).to_contain_text("đã cập nhật: không bài học nào còn dựa trên văn bản này")
    expect(row.locator("td.number")).to_contain_text("1")
    row.get_by_role("link", name="Bồi dưỡng cập nhật…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bồi dưỡng cập nhật do {OLD} bị thay thế")
    plan = page.get_by_role("row").filter(has_text="Giám sát")
    expect(plan).to_contain_text("1 người:")
    expect(plan.get_by_role("checkbox")).to_be_checked()
    lessons = plan.locator("td").last.inner_text()
    assert lessons.startswith("1 người: 1 trên "), lessons  # one lesson of the course's many
    page.get_by_role("button", name="Mở các đợt bồi dưỡng cập nhật").click()
    expect(page.locator(".flash-success")).to_contain_text("Đã mở đợt bồi dưỡng cập nhật cho 1 người")

    # The trainee: what changed since the edition they completed, and the diff on the lesson.
    trainee = browsing.new_page()
    sign_in(trainee, person.email, person.password)
    go(trainee, f"/courses/{COURSE}")
    changes = trainee.get_by_role("region", name="Những gì đã thay đổi so với phiên bản bạn đã hoàn thành")
    expect(changes.get_by_role("listitem")).to_have_count(1)
    expect(changes).to_contain_text("Thay đổi: Chất lượng dữ liệu")
    changes.get_by_role("link", name="Chất lượng dữ liệu", exact=False).click()
    diff = trainee.locator("#lesson-changes")
    expect(diff).to_be_visible()
    expect(diff.locator("del")).to_contain_text([OLD])
    expect(diff.locator("ins")).to_contain_text([NEW])
    expect(trainee.locator("section.legal-basis")).to_contain_text(NEW)
    expect(trainee.locator("#refresher-redo")).to_be_visible()
    lesson = LessonPage(trainee)
    lesson.read_to_the_end()
    lesson.mark_done()

    for quiz in QUIZZES:
        go(trainee, f"/courses/{COURSE}/quizzes/{quiz}")
        attempt: AttemptPage = QuizPage(trainee).start()
        attempt.answer_all(QuizKey.load(live, COURSE, quiz), right=True)
        expect(attempt.submit().card).to_contain_text("Đạt")

    go(trainee, f"/courses/{COURSE}")
    expect(trainee.locator(".course-standing")).to_contain_text("Đã hoàn thành")
    expect(trainee.locator("#edition-changes")).to_have_count(0)  # current again
    from mooc.training.legal import completions_resting_on

    with live.app.app_context():
        assert person.staff_id not in completions_resting_on(OLD)
