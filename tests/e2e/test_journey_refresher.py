"""Journey: a refresher that teaches what changed. A trainee completed the course "Soạn thảo văn
bản"; an author changes a lesson (a few words, a paragraph moved) and adds one, and syncs; the
training officer makes a rule whose renewal asks only what changed and sees, before saving,
how many lessons the trainee will take; the trainee sees what changed since the edition they
completed, reads the word-level diff on the lesson's own page, and completes the short cycle:
the two lessons and the quiz.

The course files edited are the e2e app's own copy (MOOC_COURSES_DIR); the unit is made here
for this journey alone, so the rule enrols nobody another journey counts.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.pages import AttemptPage, LessonPage, QuizKey, QuizPage, RuleForm, go, sign_in

ADMIN = "quantri@example.vn"
COURSE = "van-ban-thanh-tra"
COURSE_TITLE = "Soạn thảo văn bản trong hoạt động thanh tra"
LESSON_FILE = "van-ban-thanh-tra/01-soan-thao-van-ban/02-viet-ro-rang-co-can-cu.md"
NEW_FILE = "van-ban-thanh-tra/01-soan-thao-van-ban/04-can-cu-luat-moi.md"
CHANGED = f"/courses/{COURSE}/lessons/soan-thao-van-ban/viet-ro-rang-co-can-cu"
ADDED = f"/courses/{COURSE}/lessons/soan-thao-van-ban/can-cu-luat-moi"
QUIZ = f"/courses/{COURSE}/quizzes/soan-thao-van-ban/kiem-tra"
OLD_SENTENCE = "Nhảy thẳng từ tầng 1 đến tầng 4 là lỗi phổ biến nhất của người mới."
NEW_SENTENCE = "Nhảy thẳng từ tầng 1 đến tầng 4 là lỗi thường gặp nhất của người mới vào nghề."
MOVED_START = "Văn bản thanh tra không cần văn hay"  # the lesson's first paragraph, moved down
NEW_LESSON = """---
title: "Căn cứ theo luật mới"
minutes: 3
legal: [84/2025/QH15]
legal_mentions: [11/2022/QH15]
---

Từ ngày 01/7/2025, kết luận thanh tra dẫn chiếu Luật Thanh tra số 84/2025/QH15, không dẫn
chiếu Luật Thanh tra năm 2022 cho các hành vi xảy ra sau ngày đó.
"""


def _completed_the_current_edition(live, make_trainee):
    """A trainee in a unit of their own who completed the course as it is now, their
    certificate expiring in ten days (the renewal opens 30 days ahead)."""
    from mooc import clock
    from mooc.courses.models import Course, Lesson, LessonProgress
    from mooc.roster.models import OrgUnit
    from mooc.training.completion import complete
    from mooc.training.models import Enrolment, EnrolmentSource

    with live.db() as session:
        parent = session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "HCM-P1"))
        unit = OrgUnit(code="HCM-P1-CN", name="Tổ Cập nhật kiến thức", kind="team", parent=parent)
        session.add(unit)
    person = make_trainee("Hồ Thị Ngọc Ánh", "HCM-P1-CN", "TTV")
    with live.db() as session:
        course = session.scalar(sa.select(Course).where(Course.key == COURSE))
        read = clock.now() - timedelta(days=350)
        for lesson_id in session.scalars(sa.select(Lesson.id).where(Lesson.course_id == course.id,
                                                                     Lesson.archived.is_(False))):
            session.add(LessonProgress(user_id=person.user_id, lesson_id=lesson_id, completed_at=read))
        enrolment = Enrolment(staff_id=person.staff_id, course_id=course.id, cycle=1,
                              source=EnrolmentSource.MANUAL, required=True, assigned_on=read.date())
        session.add(enrolment)
        session.flush()
        complete(enrolment, course, None, read)
        enrolment.expires_on = clock.today() + timedelta(days=10)
        unit_id = session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "HCM-P1-CN"))
    return person, unit_id


def test_refresher_teaches_what_changed_and_completes_with_the_changed_lessons(
        browsing, live, make_trainee) -> None:
    person, unit_id = _completed_the_current_edition(live, make_trainee)

    # The author rewords a sentence, moves a paragraph, adds a lesson, checks and syncs.
    path = live.courses_dir / LESSON_FILE
    text = path.read_text(encoding="utf-8")
    assert OLD_SENTENCE in text
    moved = next(p for p in text.split("\n\n") if p.startswith(MOVED_START))
    text = text.replace(moved + "\n\n", "", 1).replace(OLD_SENTENCE, NEW_SENTENCE, 1)
    text = text.replace("## Viết sự việc, không viết cảm tưởng",
                        moved + "\n\n## Viết sự việc, không viết cảm tưởng", 1)
    path.write_text(text, encoding="utf-8")
    (live.courses_dir / NEW_FILE).write_text(NEW_LESSON, encoding="utf-8")
    synced = live.mooc("courses", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    # The training officer's rule: renewal asks only what changed; the preview counts the lessons.
    admin = browsing.new_page()
    sign_in(admin, ADMIN, "matkhau-demo")
    form = RuleForm(admin).open()
    admin.get_by_label("Khóa học", exact=True).select_option(label=f"{COURSE_TITLE} (VBTT-2026)")
    admin.get_by_label("Đơn vị (gồm cả các đơn vị trực thuộc)").select_option(value=str(unit_id))
    admin.get_by_label("một số ngày sau khi được giao").check()
    admin.get_by_label("Số ngày để hoàn thành").fill("30")
    admin.get_by_label("Học lại sau mỗi (tháng; để trống: không học lại)").fill("12")
    admin.get_by_label("chỉ các bài học được thêm hoặc sửa", exact=False).check()
    form.preview()
    lessons = admin.get_by_role("region", name="Số bài học mỗi người sẽ phải học khi gia hạn")
    expect(lessons.locator("tbody td")).to_have_text(["2", "1"])  # 2 lessons: 1 person
    expect(lessons.get_by_role("listitem")).to_contain_text(["Hồ Thị Ngọc Ánh"])
    expect(lessons.get_by_role("listitem")).to_contain_text(["2 bài học"])
    form.save()
    expect(admin.locator(".flash-success")).to_be_visible()

    # The trainee: the course is required again, with two lessons and the quiz.
    trainee = browsing.new_page()
    sign_in(trainee, person.email, person.password)
    go(trainee, f"/courses/{COURSE}")
    changes = trainee.get_by_role("region", name="Những gì đã thay đổi so với phiên bản bạn đã hoàn thành")
    expect(changes.get_by_role("listitem")).to_have_count(2)
    expect(changes).to_contain_text("Thay đổi: Viết rõ ràng: sự việc, chứng cứ, căn cứ pháp lý")
    expect(changes).to_contain_text("Mới: Căn cứ theo luật mới")
    expect(changes).to_contain_text(
        "Đợt học cập nhật của bạn gồm 2 bài học và các bài kiểm tra của khóa học.")

    # The changed lesson shows its changes word by word, on its own page.
    changes.get_by_role("link", name="Viết rõ ràng: sự việc, chứng cứ, căn cứ pháp lý").click()
    expect(trainee).to_have_url(live.url + CHANGED + "#lesson-changes")
    diff = trainee.locator("#lesson-changes")
    expect(diff).to_be_visible()
    expect(diff.locator("del")).to_contain_text(["phổ biến"])
    expect(diff.locator("ins")).to_contain_text(["thường gặp", "vào nghề"])
    expect(diff.locator(".diff-moved")).to_have_count(1)
    expect(diff.locator(".diff-moved")).to_contain_text(MOVED_START)
    expect(diff.locator(".diff-moved del, .diff-moved ins")).to_have_count(0)
    expect(trainee.locator("#refresher-redo")).to_be_visible()
    lesson = LessonPage(trainee)
    lesson.read_to_the_end()
    lesson.mark_done()
    go(trainee, CHANGED)
    expect(trainee.locator("header .status-done")).to_have_text("✓ Đã xong")
    expect(trainee.locator("#refresher-redo")).to_have_count(0)

    go(trainee, ADDED)
    expect(trainee.locator(".lesson-new")).to_be_visible()
    LessonPage(trainee).mark_done()

    go(trainee, QUIZ)
    attempt: AttemptPage = QuizPage(trainee).start()
    attempt.answer_all(QuizKey.load(live, COURSE, "soan-thao-van-ban/kiem-tra"), right=True)
    expect(attempt.submit().card).to_contain_text("Đạt")

    go(trainee, f"/courses/{COURSE}")
    expect(trainee.locator(".course-standing")).to_contain_text("Đã hoàn thành")
    expect(trainee.locator("#edition-changes")).to_have_count(0)  # current again
