"""Journey 1: a trainee finds a required course on the home page, reads two lessons, fails the
quiz, passes it on the second attempt, sees the course completed, downloads the certificate
and checks it at its verify link.

The trainee is new (made for this test) in Phòng Nghiệp vụ 2 of Hà Nội, where the demo's rules
require "Tiếp công dân và xử lý đơn"; they read its first lesson last week.
"""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.pages import HomePage, LessonPage, QuizKey, QuizPage, go, sign_in

COURSE = "Tiếp công dân và xử lý đơn"
COURSE_KEY = "tiep-cong-dan"
QUIZ_KEY = "tiep-cong-dan/kiem-tra"


def _read_first_lesson(live, person) -> None:
    from mooc.courses.models import Course, Lesson
    from mooc.courses.progress import mark_done

    with live.db() as session:
        course = session.scalar(sa.select(Course).where(Course.key == COURSE_KEY))
        first = session.scalar(sa.select(Lesson).where(
            Lesson.course_id == course.id, Lesson.archived.is_(False)).order_by(Lesson.position))
        mark_done(person.user_id, first.id, course.id)


def test_trainee_completes_a_required_course(browsing, live, make_trainee) -> None:
    person = make_trainee("Trịnh Thu Hằng", "HN-P2", "CV")
    _read_first_lesson(live, person)
    page = browsing.new_page()

    # Opens the site's address, is asked to sign in, and lands on "my training".
    go(page, "/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    sign_in(page, person.email, person.password)
    home = HomePage(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Khóa học của tôi")

    # Finds the required course, with its due date and progress, and continues it.
    card = home.card("Khóa học bắt buộc", COURSE)
    expect(card).to_be_visible()
    expect(card.locator(".badge")).to_have_text("Đang học")
    expect(card.locator(".meta")).to_contain_text("còn 60 ngày")
    expect(card.locator(".progress-text")).to_have_text("1/3 bài học, đạt 0/1 bài kiểm tra")
    card.get_by_role("link", name=re.compile("^Học tiếp")).click()

    # Reads the second and the third lesson, to the end, and marks each as done.
    lesson = LessonPage(page)
    expect(page).to_have_url(re.compile(r"/courses/tiep-cong-dan/lessons/tiep-cong-dan/xu-ly-don$"))
    read = []
    for _ in range(2):
        read.append(lesson.title)
        lesson.read_to_the_end()
        lesson.mark_done()
    assert read == ["Xử lý đơn: phân loại, hướng dẫn và chuyển đơn", "Kỹ năng tại bàn tiếp công dân"], read

    # The last lesson leads to the quiz. First attempt: answers as someone who did not study.
    expect(page).to_have_url(re.compile(r"/quizzes/tiep-cong-dan/kiem-tra$"))
    key = QuizKey.load(live, COURSE_KEY, QUIZ_KEY)
    attempt = QuizPage(page).start()
    attempt.answer_all(key, right=False)
    result = attempt.submit()
    expect(result.card).to_contain_text(f"Chưa đạt: điểm đạt là {key.pass_percent}%.")
    expect(result.card.locator(".result-score")).to_have_text("0,0%")
    # The quiz does not give its key away while attempts remain (review: after_close): no
    # right answer, no explanation, no verdict in the page.
    review = page.locator("ol.questions.review")
    expect(review.locator(".question")).to_have_count(key.shown)
    expect(review.locator(".explanation, .tag-ok, .verdict, li.right")).to_have_count(0)
    expect(page.get_by_text("Đáp án đúng và giải thích được hiển thị khi bạn đã đạt")).to_be_visible()

    # Second attempt: studies again, answers right, passes; now the explanations are shown.
    attempt = result.try_again()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lần làm thứ 2")
    attempt.answer_all(key, right=True)
    result = attempt.submit()
    expect(result.card).to_contain_text("Đạt. Chúc mừng bạn!")
    expect(result.card.locator(".result-score")).to_have_text("100,0%")
    expect(review.locator(".explanation")).to_have_count(key.shown)
    expect(review.locator(".verdict").first).to_have_text("Đúng")

    # The course is completed: on the home page, with its certificate.
    HomePage(page).open()
    expect(home.card("Khóa học bắt buộc", COURSE)).to_have_count(0)
    done = home.card("Đã hoàn thành", COURSE)
    expect(done.locator(".badge")).to_have_text("Đã hoàn thành")
    # The link opens the PDF in the browser's viewer; saving it is "save link as": the same
    # request, with the person's session.
    link = done.get_by_role("link", name="Tải chứng nhận (PDF)")
    response = page.context.request.get(link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf", response
    disposition = response.headers["content-disposition"]
    named = r'inline; filename="(chung-nhan-[A-Z0-9-]+\.pdf)"; filename\*=UTF-8\'\'\1'
    assert re.fullmatch(named, disposition), disposition
    pdf = PdfReader(io.BytesIO(response.body()))
    text = " ".join((p.extract_text() or "") for p in pdf.pages)
    assert person.full_name in text and COURSE in text, text
    verify_url = re.search(r"http://127\.0\.0\.1:\d+/verify/[A-Z0-9-]+", text).group(0)

    # Anyone (here: a browser that is not signed in) checks it at the link printed on it.
    checker = browsing.new_page()
    go(checker, verify_url)
    expect(checker.locator(".verify-state")).to_have_text("✓ Chứng nhận này là thật và còn hợp lệ.")
    facts = checker.locator(".facts-list")
    expect(facts).to_contain_text(person.full_name)
    expect(facts).to_contain_text(COURSE)
