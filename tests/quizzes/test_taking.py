"""Taking a quiz through the app: start, save, submit, time limit, attempts, review, and the
promise that no answer reaches the browser before grading."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.courses.models import Quiz
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.quizzes.models import QuizAttempt
from tests.conftest import csrf_token, login
from tests.courses.tree import make_tree, write

QUIZ = """---
title: Kiểm tra chương 1
pass_percent: 75
attempts: 2
{extra}---

## Ai ký quyết định thanh tra? {{#ky-quyet-dinh}}

- [ ] Thanh tra viên
- [x] Thủ trưởng cơ quan thanh tra
- [ ] Trưởng đoàn thanh tra

> GIAI-THICH-MOT: người ra quyết định thanh tra là Thủ trưởng.

## Chọn tất cả nguyên tắc đúng {{#nguyen-tac}}

- [x] Khách quan
- [x] Công khai
- [ ] Tùy tiện

> GIAI-THICH-HAI.

## Viết tắt của Thanh tra Chính phủ {{#viet-tat}}

= DAP-AN-TTCP

> GIAI-THICH-BA.

## Luật Thanh tra 2025 có bao nhiêu điều? {{#so-dieu}}

= 64 ± 0

> GIAI-THICH-BON.
"""

SECRETS = ("GIAI-THICH", "DAP-AN-TTCP", '"correct"', "correct_", "64 ±", "explanation", 'answers":')


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = make_tree(tmp_path / "courses")
    write(root, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ.format(extra=""))
    return root


def _sync(app, tree: Path) -> None:
    with app.app_context():
        sync_tree(tree)
        db.session.commit()


@pytest.fixture
def site(make_app, tree):
    app = make_app(COURSES_DIR=str(tree))
    _sync(app, tree)
    return app


@pytest.fixture
def trainee(site, make_user):
    client = site.test_client()
    user = make_user()
    assert login(client, user.email).status_code == 302
    return client


QUIZ_URL = "/courses/luat/quizzes/co-ban/kiem-tra"


def choice_keys(site) -> dict[str, dict[str, str]]:
    with site.app_context():
        quiz = db.session.scalar(sa.select(Quiz))
        return {q["key"]: {c["text_md"]: c["key"] for c in q["choices"]} for q in quiz.questions}


def start(client) -> str:
    response = client.post(f"{QUIZ_URL}/start", data={"csrf_token": csrf_token(client, QUIZ_URL)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def answers(site, *, right: bool) -> dict[str, object]:
    keys = choice_keys(site)
    if right:
        return {
            "q-ky-quyet-dinh": keys["ky-quyet-dinh"]["Thủ trưởng cơ quan thanh tra"],
            "q-nguyen-tac": [keys["nguyen-tac"]["Khách quan"], keys["nguyen-tac"]["Công khai"]],
            "q-nguyen-tac-shown": "1",
            "q-viet-tat": "dap-an-ttcp",
            "q-so-dieu": "64",
        }
    return {
        "q-ky-quyet-dinh": keys["ky-quyet-dinh"]["Thanh tra viên"],
        "q-nguyen-tac-shown": "1",
        "q-viet-tat": "sai",
        "q-so-dieu": "65",
    }


def submit(client, attempt_url: str, data: dict[str, object], *, confirm: bool = True):
    """Submit as a trainee who confirmed (the summary step has tests of its own)."""
    extra = {"confirm": "1"} if confirm else {}
    return client.post(f"{attempt_url}/submit",
                       data={"csrf_token": csrf_token(client, attempt_url), **data, **extra})


def test_no_answer_reaches_the_trainee_before_grading(site, trainee):
    """Every response a trainee can reach while the attempt is open is free of the key."""
    pages = [trainee.get(QUIZ_URL).get_data(as_text=True)]
    attempt_url = start(trainee)
    pages.append(trainee.get(attempt_url).get_data(as_text=True))
    token = csrf_token(trainee, attempt_url)
    saved = trainee.post(
        f"{attempt_url}/save",
        data={"csrf_token": token, **answers(site, right=True)},
        headers={"X-Requested-With": "fetch"},
    )
    pages.append(saved.get_data(as_text=True))
    pages.append(trainee.post(f"{attempt_url}/save", data={"csrf_token": token}).get_data(as_text=True))
    pages.append(trainee.get(attempt_url).get_data(as_text=True))  # reload after saving
    pages.append(trainee.get("/courses/luat").get_data(as_text=True))
    assert "Ai ký quyết định thanh tra?" in pages[1]  # the questions are there...
    for page in pages:
        for secret in SECRETS:
            assert secret not in page, secret  # ...and none of the answers
    # The attempt page carries choice keys, but nothing that tells which one is right.
    assert json.loads(saved.get_data(as_text=True))["saved"] is True


def test_answers_are_saved_as_you_go_and_survive_a_reload(site, trainee):
    attempt_url = start(trainee)
    data = answers(site, right=True)
    trainee.post(
        f"{attempt_url}/save",
        data={
            "csrf_token": csrf_token(trainee, attempt_url),
            "q-viet-tat": "TTCP tạm",
            "q-ky-quyet-dinh": data["q-ky-quyet-dinh"],
        },
    )
    page = trainee.get(attempt_url).get_data(as_text=True)
    assert 'value="TTCP tạm"' in page
    assert f'value="{data["q-ky-quyet-dinh"]}" checked' in page
    assert start(trainee) == attempt_url  # "start" again resumes the same attempt


def test_fail_then_pass_with_best_score_kept_and_attempts_limit(site, trainee):
    first = start(trainee)
    result = submit(trainee, first, answers(site, right=False))
    assert result.status_code == 302
    page = trainee.get(first).get_data(as_text=True)
    assert "0,0%" in page and "Chưa đạt" in page
    second = start(trainee)
    assert second != first
    submit(trainee, second, answers(site, right=True))
    page = trainee.get(second).get_data(as_text=True)
    assert "100,0%" in page and "Đạt" in page
    landing = trainee.get(QUIZ_URL).get_data(as_text=True)
    assert "Bạn đã đạt bài kiểm tra này. Điểm cao nhất: 100,0%" in landing
    refused = trainee.post(f"{QUIZ_URL}/start", data={"csrf_token": csrf_token(trainee, QUIZ_URL)})
    assert refused.status_code == 302 and refused.headers["Location"] == QUIZ_URL
    assert "Bạn đã dùng hết số lần làm bài" in trainee.get(QUIZ_URL).get_data(as_text=True)


# What the key looks like in a result page: explanations, accepted answers, the right choice.
KEY_MARKS = ("GIAI-THICH", "DAP-AN-TTCP", "đáp án đúng", "Đáp án được chấp nhận", "right")
VERDICT = 'class="verdict"'


def shows(page: str) -> tuple[bool, bool]:
    """(the marks, the key) as the result page sends them."""
    review = page[page.index('<ol class="questions review">'):]
    key = [mark for mark in KEY_MARKS if re.search(rf"\b{re.escape(mark)}\b", review)]
    assert not key or len(key) == len(KEY_MARKS), key  # the key is sent whole or not at all
    return VERDICT in page, bool(key)


def site_with(make_app, tree, review: str, attempts: int = 2):
    quiz = QUIZ.format(extra=f"review: {review}\n").replace("attempts: 2", f"attempts: {attempts}")
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", quiz)
    app = make_app(COURSES_DIR=str(tree))
    _sync(app, tree)
    return app


def test_review_with_key_shows_answers_and_explanations_after_submit(make_app, tree, make_user):
    app = site_with(make_app, tree, "after_submit_with_key")
    client = app.test_client()
    login(client, make_user().email)
    attempt_url = start(client)
    submit(client, attempt_url, answers(app, right=False))
    page = client.get(attempt_url).get_data(as_text=True)
    assert "GIAI-THICH-MOT" in page and "DAP-AN-TTCP" in page and "đáp án đúng" in page
    assert shows(page) == (True, True)


M, K, MK, NOTHING = (True, False), (False, True), (True, True), (False, False)


@pytest.mark.parametrize(
    "policy, fail_one_left, pass_one_left, fail_none_left, pass_none_left",
    [
        # After a failed first attempt (1 left) / a pass at the first (1 left) / two fails /
        # a fail then a pass (what the page of each attempt shows then).
        ("after_submit_with_key", MK, MK, MK, MK),
        ("after_submit", M, M, M, M),
        ("after_pass", NOTHING, MK, NOTHING, MK),
        ("after_close", NOTHING, MK, MK, MK),
        ("after_last_attempt", NOTHING, NOTHING, MK, MK),
        ("never", NOTHING, NOTHING, NOTHING, NOTHING),
    ],
)
def test_review_policy_decides_what_the_result_page_sends(
    make_app, tree, make_user, policy, fail_one_left, pass_one_left, fail_none_left, pass_none_left
):
    app = site_with(make_app, tree, policy)

    def trainee():
        client = app.test_client()
        login(client, make_user().email)
        return client

    def page(client, url):
        return client.get(url).get_data(as_text=True)

    failing = trainee()
    first = start(failing)
    submit(failing, first, answers(app, right=False))
    assert shows(page(failing, first)) == fail_one_left
    second = start(failing)
    submit(failing, second, answers(app, right=False))
    assert shows(page(failing, first)) == shows(page(failing, second)) == fail_none_left

    passing = trainee()
    first = start(passing)
    submit(passing, first, answers(app, right=True))
    assert shows(page(passing, first)) == pass_one_left

    late = trainee()
    first = start(late)
    submit(late, first, answers(app, right=False))
    second = start(late)
    submit(late, second, answers(app, right=True))
    assert shows(page(late, first)) == shows(page(late, second)) == pass_none_left


def test_blank_first_attempt_of_a_shipped_style_quiz_shows_no_key(make_app, tree, make_user):
    """The farming the issue describes: submit a blank attempt, read the key, pass the next."""
    app = site_with(make_app, tree, "after_submit", attempts=3)
    client = app.test_client()
    login(client, make_user().email)
    attempt_url = start(client)
    submit(client, attempt_url, {})
    page = client.get(attempt_url).get_data(as_text=True)
    assert shows(page) == (True, False)
    assert "Sai" in page and "đáp án đúng không được hiển thị" in page
    for secret in (*SECRETS, "GIAI-THICH", "đáp án đúng</span>"):
        assert secret not in page, secret


def test_nothing_is_reviewed_while_another_attempt_is_open(make_app, tree, make_user):
    app = site_with(make_app, tree, "after_submit_with_key", attempts=3)
    client = app.test_client()
    login(client, make_user().email)
    first = start(client)
    submit(client, first, answers(app, right=False))
    assert shows(client.get(first).get_data(as_text=True)) == (True, True)
    second = start(client)  # open: the first attempt's key would answer it
    page = client.get(first).get_data(as_text=True)
    assert shows(page) == (False, False) and "đang có một lần làm bài" not in page
    assert "còn một lần làm bài chưa nộp" in page
    submit(client, second, answers(app, right=False))
    assert shows(client.get(first).get_data(as_text=True)) == (True, True)


def test_a_stricter_policy_applies_to_past_attempts_and_a_looser_one_does_not(make_app, tree, make_user):
    app = site_with(make_app, tree, "after_submit_with_key", attempts=3)
    client = app.test_client()
    login(client, make_user().email)
    first = start(client)
    submit(client, first, answers(app, right=False))
    assert shows(client.get(first).get_data(as_text=True)) == (True, True)
    # The author sees the key being farmed and tightens the review: the past attempt closes.
    site_with(make_app, tree, "after_last_attempt", attempts=3)
    _sync(app, tree)
    assert shows(client.get(first).get_data(as_text=True)) == (False, False)
    second = start(client)
    submit(client, second, answers(app, right=False))
    # Loosening again opens attempts taken under the loose policy, not the strict one.
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md",
          QUIZ.format(extra="review: after_submit_with_key\n").replace("attempts: 2", "attempts: 3"))
    _sync(app, tree)
    assert shows(client.get(first).get_data(as_text=True)) == (True, True)
    assert shows(client.get(second).get_data(as_text=True)) == (False, False)
    assert "dùng hết số lần làm bài" in client.get(second).get_data(as_text=True)


def test_the_quiz_page_says_when_answers_are_shown(make_app, tree, make_user):
    app = site_with(make_app, tree, "after_close")
    client = app.test_client()
    login(client, make_user().email)
    page = client.get(QUIZ_URL).get_data(as_text=True)
    assert "Đáp án đúng và giải thích được hiển thị khi bạn đã đạt hoặc đã dùng hết số lần làm bài." in page


def test_a_replayed_submit_gives_one_graded_attempt(site, trainee):
    attempt_url = start(trainee)
    good = answers(site, right=True)
    first = submit(trainee, attempt_url, good)
    replay = submit(trainee, attempt_url, answers(site, right=False))  # the same form, again
    assert first.status_code == replay.status_code == 302
    with site.app_context():
        rows = db.session.scalars(sa.select(QuizAttempt)).all()
        assert len(rows) == 1 and rows[0].percent == 100.0 and rows[0].status == "submitted"


def test_concurrent_submits_and_starts(site, make_user):
    client = site.test_client()
    login(client, make_user().email)
    attempt_url = start(client)
    token = csrf_token(client, attempt_url)
    data = {"csrf_token": token, **answers(site, right=True)}
    site.config["PROPAGATE_EXCEPTIONS"] = False
    statuses: list[int] = []

    def go(path: str) -> None:
        other = site.test_client()
        other.set_cookie("mooc_session", client.get_cookie("mooc_session").value)
        statuses.append(other.post(path, data=data).status_code)

    threads = [threading.Thread(target=go, args=(f"{attempt_url}/submit",)) for _ in range(8)]
    threads += [threading.Thread(target=go, args=(f"{QUIZ_URL}/start",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 12
    with site.app_context():
        rows = db.session.scalars(sa.select(QuizAttempt).order_by(QuizAttempt.number)).all()
    # one graded attempt; the starts that came after it opened at most one new attempt
    assert rows[0].status == "submitted" and rows[0].percent == 100.0
    assert len(rows) <= 2 and all(r.status == "in_progress" for r in rows[1:])


def test_time_limit_is_enforced_on_the_server(make_app, tree, make_user):
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ.format(extra="time_limit: 10\n"))
    app = make_app(COURSES_DIR=str(tree))
    _sync(app, tree)
    client = app.test_client()
    login(client, make_user().email)
    start_time = clock.now()
    clock.set_now(start_time)
    attempt_url = start(client)
    assert "Thời gian còn lại: 10 phút" in client.get(attempt_url).get_data(as_text=True)
    token = csrf_token(client, attempt_url)
    good = answers(app, right=True)
    # Saved in time: the first question only.
    client.post(f"{attempt_url}/save", data={"csrf_token": token, "q-ky-quyet-dinh": good["q-ky-quyet-dinh"]})
    clock.set_now(start_time + timedelta(minutes=12))
    client.post(f"{attempt_url}/save", data={"csrf_token": token, "q-viet-tat": "DAP-AN-TTCP"})  # too late
    submit(client, attempt_url, good)  # a late submit with every answer right
    with app.app_context():
        attempt = db.session.scalar(sa.select(QuizAttempt))
        assert attempt.status == "expired"
        assert attempt.percent == 25.0  # only what was saved in time counts
        assert attempt.submitted_at <= start_time + timedelta(minutes=10, seconds=30)


def test_an_abandoned_timed_attempt_is_graded_when_next_seen(make_app, tree, make_user):
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ.format(extra="time_limit: 5\n"))
    app = make_app(COURSES_DIR=str(tree))
    _sync(app, tree)
    client = app.test_client()
    login(client, make_user().email)
    clock.set_now(clock.now())
    attempt_url = start(client)
    clock.set_now(clock.now() + timedelta(hours=1))
    page = client.get(QUIZ_URL).get_data(as_text=True)
    assert "Làm lại" in page  # the old one is closed, a new attempt is allowed
    assert "hết giờ" in client.get(attempt_url).get_data(as_text=True)


def test_nobody_else_can_read_or_submit_your_attempt(site, trainee, make_user):
    attempt_url = start(trainee)
    stranger = site.test_client()
    login(stranger, make_user().email)
    assert stranger.get(attempt_url).status_code == 404
    token = csrf_token(stranger, "/")
    assert stranger.post(f"{attempt_url}/submit", data={"csrf_token": token}).status_code == 404
    assert stranger.post(f"{attempt_url}/save", data={"csrf_token": token}).status_code == 404


def test_editing_the_quiz_never_changes_a_past_result(make_app, tree, make_user):
    site = site_with(make_app, tree, "after_pass")
    trainee = site.test_client()
    login(trainee, make_user().email)
    attempt_url = start(trainee)
    submit(trainee, attempt_url, answers(site, right=True))
    # The author now makes "Thanh tra viên" the right answer and rewrites the explanation.
    edited = (
        QUIZ.format(extra="review: after_pass\n")
        .replace("- [ ] Thanh tra viên", "- [x] Thanh tra viên")
        .replace("- [x] Thủ trưởng", "- [ ] Thủ trưởng")
        .replace("GIAI-THICH-MOT", "GIAI-THICH-MOI")
    )
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", edited)
    _sync(site, tree)
    page = trainee.get(attempt_url).get_data(as_text=True)
    assert "100,0%" in page and "GIAI-THICH-MOT" in page and "GIAI-THICH-MOI" not in page


def test_every_question_type_can_be_answered_in_the_form(site, trainee):
    page = trainee.get(start(trainee)).get_data(as_text=True)
    assert len(re.findall(r'type="radio" id="q-ky-quyet-dinh-\d"', page)) == 3
    assert len(re.findall(r'type="checkbox" id="q-nguyen-tac-\d"', page)) == 3
    assert 'id="q-viet-tat" name="q-viet-tat"' in page
    assert 'inputmode="decimal"' in page
    assert page.count("<fieldset>") == 4 and page.count("<legend>") == 4  # labelled for keyboards and readers


def test_gift_import_command(app, tmp_path):
    gift = tmp_path / "bank.gift"
    gift.write_text(
        "::q1:: Thủ trưởng ký quyết định? {=Đúng ~Sai}\n\n::q2:: Ghép {=a -> 1 =b -> 2}\n", encoding="utf-8"
    )
    out = tmp_path / "09-nhap.quiz.md"
    result = app.test_cli_runner().invoke(args=["courses", "import-gift", str(gift), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 question(s) converted, 1 not converted" in result.output
    assert "matching" in result.output
    assert "{#q1}" in out.read_text(encoding="utf-8")
