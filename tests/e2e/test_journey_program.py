"""Journey: a programme step unlocking the next one. The training officer's office requires the
new inspectors' programme of a unit (a rule whose target is the programme, with its preview);
the trainee sees the path on their home page, step 2 locked; the server refuses the locked
course's lesson, not only hides it; the trainee finishes step 1 (its last lesson, in the
browser) and step 2 opens: its lesson reads, the path shows the current step.

The unit is made here for this journey alone, so the rule enrols nobody another journey counts.
"""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.pages import LessonPage, RuleForm, go, sign_in

ADMIN = "quantri@example.vn"
PROGRAM = "Bồi dưỡng nghiệp vụ thanh tra viên mới"
FIRST = "nghiep-vu-thanh-tra"
SECOND_LESSON = "/courses/tiep-cong-dan/lessons/tiep-cong-dan/tiep-cong-dan-theo-luat"


def _almost_done_with_step_one(live, make_trainee):
    """A new inspector in a unit of their own who has read every lesson of the first course but
    its last, and passed its quizzes: one lesson away from finishing step 1."""
    from mooc import clock
    from mooc.courses.models import Course, Lesson, LessonProgress, Module, Quiz
    from mooc.quizzes.models import AttemptStatus, QuizAttempt
    from mooc.roster.models import OrgUnit

    with live.db() as session:
        parent = session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "HCM-P1"))
        session.add(OrgUnit(code="HCM-P1-MOI", name="Tổ Thanh tra viên mới", kind="team", parent=parent))
    person = make_trainee("Đặng Thị Thu Hà", "HCM-P1-MOI", "TTV")
    with live.db() as session:
        course = session.scalar(sa.select(Course).where(Course.key == FIRST))
        lessons = session.execute(
            sa.select(Lesson.id, Lesson.key).join(Module, Module.id == Lesson.module_id)
            .where(Lesson.course_id == course.id, Lesson.archived.is_(False))
            .order_by(Module.position, Lesson.position)).all()
        for lesson_id, _key in lessons[:-1]:
            session.add(LessonProgress(user_id=person.user_id, lesson_id=lesson_id))
        quizzes = session.scalars(sa.select(Quiz).where(Quiz.course_id == course.id,
                                                        Quiz.archived.is_(False)))
        for quiz in quizzes:
            session.add(QuizAttempt(user_id=person.user_id, quiz_id=quiz.id, number=1,
                                    status=AttemptStatus.SUBMITTED, settings=quiz.settings,
                                    questions=quiz.questions, answers={}, score=1, max_score=1, percent=100,
                                    passed=True, submitted_at=clock.now()))
        unit_id = session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "HCM-P1-MOI"))
    return person, unit_id, lessons[-1][1]


def test_a_programme_step_unlocks_the_next_one(browsing, live, make_trainee) -> None:
    person, unit_id, last_lesson = _almost_done_with_step_one(live, make_trainee)

    # The office requires the programme of the unit: a rule like a course's, with its preview.
    admin = browsing.new_page()
    sign_in(admin, ADMIN, "matkhau-demo")
    form = RuleForm(admin).open()
    admin.get_by_label("Khóa học", exact=True).select_option(label=f"{PROGRAM} (CT-TTV-MOI-2026)")
    admin.get_by_label("Đơn vị (gồm cả các đơn vị trực thuộc)").select_option(value=str(unit_id))
    admin.get_by_label("một số ngày sau khi được giao").check()
    admin.get_by_label("Số ngày để hoàn thành").fill("60")
    preview = form.preview()
    expect(preview.get_by_role("listitem")).to_contain_text(["Đặng Thị Thu Hà"])
    form.save()
    expect(admin.locator(".flash-success")).to_be_visible()
    expect(admin.locator("table")).to_contain_text(f"Chương trình: {PROGRAM}")

    # The trainee: the programme on the home page, the path with step 2 locked.
    trainee = browsing.new_page()
    sign_in(trainee, person.email, person.password)
    go(trainee, "/")
    programs = trainee.get_by_role("region", name="Chương trình của tôi")
    expect(programs).to_contain_text(PROGRAM)
    expect(programs).to_contain_text("Đã xong 0/3 bước bắt buộc")
    programs.get_by_role("link", name="Xem lộ trình").click()
    expect(trainee.get_by_role("heading", level=1)).to_have_text(PROGRAM)
    steps = trainee.locator(".program-step")
    expect(steps.nth(0)).to_contain_text("Bước hiện tại")
    expect(steps.nth(1)).to_contain_text("Chưa mở")
    expect(steps.nth(1)).to_contain_text("Mở khi bước 1 đã xong.")
    expect(steps.nth(1).get_by_role("link")).to_have_count(0)

    # The locked course is refused by the server, with the reason.
    with browsing.watch.allow(403):
        refused = trainee.goto(live.url + SECOND_LESSON)
    assert refused is not None and refused.status == 403
    expect(trainee.get_by_role("heading", level=1)).to_have_text("Khóa học này chưa mở cho bạn")
    expect(trainee.locator("main")).to_contain_text("Bước 2 của chương trình")

    # Step 1's last lesson, read in the browser: the course completes, step 2 opens.
    go(trainee, f"/courses/{FIRST}/lessons/{last_lesson}")
    lesson = LessonPage(trainee)
    lesson.read_to_the_end()
    lesson.mark_done()
    go(trainee, "/programs/thanh-tra-vien-moi")
    expect(steps.nth(0)).to_contain_text("✓ Đã xong")
    expect(steps.nth(1)).to_contain_text("Bước hiện tại")
    expect(steps.nth(2)).to_contain_text("Chưa mở")
    expect(trainee.locator(".program-standing")).to_contain_text("Đã xong 1/3 bước bắt buộc")
    steps.nth(1).get_by_role("link", name="Tiếp công dân và xử lý đơn").click()
    expect(trainee.get_by_role("heading", level=1)).to_have_text("Tiếp công dân và xử lý đơn")
    go(trainee, SECOND_LESSON)
    expect(trainee.get_by_role("heading", level=1)).to_have_text("Tiếp công dân theo Luật Tiếp công dân 2013")
