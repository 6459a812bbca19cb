"""A quiz taken with the keyboard alone: Tab to move, arrows and Space to choose, typing for
short answers, Enter to start and to submit. Every control reached shows where the focus is.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.pages import QuizKey, go, text_of

COURSE_KEY = "van-ban-thanh-tra"
QUIZ_KEY = "soan-thao-van-ban/kiem-tra"
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '', checked: !!el.checked,
          text: (el.innerText || '').trim(), label: el.labels && el.labels[0] ? el.labels[0].innerText : '',
          focusVisible: el.matches(':focus-visible'),
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
}"""


def press(page: Page, key: str) -> dict:
    page.keyboard.press(key)
    focus = page.evaluate(FOCUSED)
    if focus["tag"] not in ("body", "main"):
        assert focus["focusVisible"] and focus["outline"], f"no visible focus on {focus}"
    return focus


def tab_to(page: Page, wanted, limit: int = 80) -> dict:
    for _ in range(limit):
        focus = press(page, "Tab")
        if wanted(focus):
            return focus
    raise AssertionError("never reached by Tab")


def test_quiz_with_the_keyboard_alone(browsing, live, make_trainee) -> None:
    from tests.e2e.pages import sign_in

    person = make_trainee("Ông Văn Lực", "HCM-P1", "CV")
    page = browsing.new_page()
    sign_in(page, person.email, person.password)
    go(page, f"/courses/{COURSE_KEY}/quizzes/{QUIZ_KEY}")
    key = QuizKey.load(live, COURSE_KEY, QUIZ_KEY)

    # The skip link comes first and leads into the page's content.
    focus = press(page, "Tab")
    assert focus["text"] == "Chuyển đến nội dung chính", focus
    press(page, "Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Bắt đầu làm bài")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#attempt-form")).to_be_visible()

    answered: set[str] = set()
    shown = {name.removeprefix("q-") for name in page.locator(
        "#attempt-form input[name^='q-']:not([type=hidden])").evaluate_all("els => els.map(e => e.name)")}
    while True:
        focus = tab_to(page, lambda f: f["name"].startswith("q-") or f["text"] == "Nộp bài")
        if focus["text"] == "Nộp bài":
            break
        question = focus["name"].removeprefix("q-")
        if focus["type"] == "radio":  # one stop per group: Space picks, arrows move and pick
            right = [c for c in key.questions[question]["choices"] if c["correct"]][0]["text_md"]
            focus = press(page, "Space")
            for _ in range(10):
                if text_of(focus["label"]) == text_of(right):
                    break
                focus = press(page, "ArrowDown")
            assert focus["checked"] and text_of(focus["label"]) == text_of(right), focus
        elif focus["type"] == "checkbox":  # one stop per box: Space ticks the right ones
            if key.choice(question, focus["label"])["correct"] != focus["checked"]:
                press(page, "Space")
        else:
            page.keyboard.type(key.right_text(question))
        answered.add(question)
    assert answered == shown, shown - answered

    page.keyboard.press("Enter")  # on "Nộp bài": the summary opens, every question answered
    expect(page.locator("#submit-dialog")).to_contain_text("Đã trả lời đủ")
    focus = tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Nộp bài")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # on the dialog's "Nộp bài"
    expect(page.locator(".result-card")).to_contain_text("Đạt. Chúc mừng bạn!")
    expect(page.locator(".result-score")).to_have_text("100,0%")
