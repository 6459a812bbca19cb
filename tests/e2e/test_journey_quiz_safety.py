"""No quiz traps a trainee (issue 19), in Chromium at desktop and phone width: the summary
before grading, and a session lost in the middle of an attempt that loses nothing.

The session is ended as the idle limit would end it: its last activity moved back in the
database, past MOOC_SESSION_IDLE_MINUTES.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.pages import QuizKey, QuizPage, go, sign_in

COURSE_KEY = "tiep-cong-dan"
QUIZ_KEY = "tiep-cong-dan/kiem-tra"
QUIZ_URL = f"/courses/{COURSE_KEY}/quizzes/{QUIZ_KEY}"
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


def _end_sessions_by_time(live, user_id: int) -> None:
    from mooc import clock
    from mooc.auth.models import AuthSession

    with live.db() as session:
        session.execute(sa.update(AuthSession).where(AuthSession.user_id == user_id)
                        .values(last_seen_at=clock.now() - timedelta(hours=3)))


def _saved_answers(live, attempt_id: int) -> dict:
    from mooc.quizzes.models import QuizAttempt

    with live.db() as session:
        return dict(session.get(QuizAttempt, attempt_id).answers or {})


def _pick(fieldset, key: QuizKey, question_key: str, right: bool) -> None:
    question = key.questions[question_key]
    for item in fieldset.locator("ul.choices li").all():
        if key.choice(question_key, item.locator("label").inner_text())["correct"] == right:
            item.locator("input").check()
            return
    raise AssertionError(f"no choice to pick in {question_key}: {question['type']}")


@VIEWPORTS
def test_submitting_shows_a_summary_and_asks_first(browsing, live, make_trainee, viewport) -> None:
    person = make_trainee("Đinh Thị Cẩn", "HN-P2", "CV")
    page = browsing.new_page(viewport)
    sign_in(page, person.email, person.password)
    go(page, QUIZ_URL)
    key = QuizKey.load(live, COURSE_KEY, QUIZ_KEY)
    attempt = QuizPage(page).start()
    questions = attempt.questions()

    # Presses "Nộp bài" with nothing answered (a slip of the thumb): nothing is sent.
    dialog = attempt.ask_to_submit()
    expect(dialog).to_contain_text(f"Còn {len(questions)}/{len(questions)} câu chưa trả lời.")
    expect(dialog.get_by_role("link", name="Câu 1", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Quay lại làm tiếp").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#attempt-form")).to_be_visible()

    # Answers the first question only: the summary names the ones left, each a link to it.
    first_key, first = questions[0]
    if key.questions[first_key]["type"] in ("single", "true_false", "multiple"):
        _pick(first, key, first_key, right=True)
    else:
        first.get_by_label("Câu trả lời của bạn").fill(key.right_text(first_key))
    dialog = attempt.ask_to_submit()
    expect(dialog).to_contain_text(f"Còn {len(questions) - 1}/{len(questions)} câu chưa trả lời.")
    expect(dialog.get_by_role("link", name="Câu 1", exact=True)).to_have_count(0)
    dialog.get_by_role("link", name="Câu 2", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"#question-2$"))

    # Answers it, and submits for real.
    attempt.answer_all(key, right=True)
    dialog = attempt.ask_to_submit()
    expect(dialog).to_contain_text(f"Đã trả lời đủ {len(questions)} câu.")
    dialog.get_by_role("button", name="Nộp bài").click()
    expect(page.locator(".result-card")).to_contain_text("Đạt")


@VIEWPORTS
def test_a_session_lost_mid_attempt_loses_no_answer(browsing, live, make_trainee, viewport) -> None:
    person = make_trainee("Kiều Văn Bền", "HN-P2", "CV")
    page = browsing.new_page(viewport)
    sign_in(page, person.email, person.password)
    go(page, QUIZ_URL)
    key = QuizKey.load(live, COURSE_KEY, QUIZ_KEY)
    attempt = QuizPage(page).start()
    attempt_url = page.url
    attempt_id = int(attempt_url.rsplit("/", 1)[1])
    choice_questions = [(k, f) for k, f in attempt.questions()
                        if key.questions[k]["type"] in ("single", "true_false")]
    assert len(choice_questions) >= 2, "the demo quiz has one-answer questions"
    (first_key, first), (second_key, second) = choice_questions[:2]

    # Answers one question: saved as they go.
    _pick(first, key, first_key, right=True)
    expect(page.locator("#save-status")).to_contain_text("Đã lưu lúc")

    # Leaves the page open past the idle limit, then answers another: the page says
    # "signed out", not "connection lost", and keeps the answer on screen.
    _end_sessions_by_time(live, person.user_id)
    with browsing.watch.allow(401):
        _pick(second, key, second_key, right=True)
        expect(page.locator("#signed-out")).to_be_visible()
        expect(page.locator("#save-status")).to_contain_text("Đã bị đăng xuất")
    expect(page.locator("#save-status")).not_to_contain_text("mất kết nối")
    assert second_key not in _saved_answers(live, attempt_id)

    # Signs in again from the page, and is back in the attempt with every answer.
    page.locator("#signed-out").get_by_role("link", name="Đăng nhập lại").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    sign_in(page, person.email, person.password)
    expect(page).to_have_url(attempt_url)
    expect(first.locator("input:checked")).to_have_count(1)
    expect(second.locator("input:checked")).to_have_count(1)
    expect(page.locator("#save-status")).to_contain_text("Đã lưu lúc")
    saved = _saved_answers(live, attempt_id)
    assert first_key in saved and second_key in saved, saved

    # Signed out again, answers everything and submits: kept, and asked to sign in (no 401 page).
    _end_sessions_by_time(live, person.user_id)
    with browsing.watch.allow(401):
        attempt.answer_all(key, right=True)
        expect(page.locator("#signed-out")).to_be_visible()
    attempt.ask_to_submit().get_by_role("button", name="Nộp bài").click()
    expect(page).to_have_url(re.compile(r"/login\?next=.*confirm"))
    expect(page.get_by_text("Câu trả lời của bạn đã được lưu: hãy đăng nhập")).to_be_visible()
    sign_in(page, person.email, person.password)
    expect(page).to_have_url(f"{attempt_url}/confirm")
    expect(page.locator(".submit-summary")).to_contain_text("Đã trả lời đủ")
    page.locator(".submit-summary").get_by_role("button", name="Nộp bài").click()
    expect(page.locator(".result-card")).to_contain_text("Đạt")
