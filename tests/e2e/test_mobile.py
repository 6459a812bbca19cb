"""The trainee's pages on a phone (375 px wide): no sideways scrolling, and every control can be
seen, reached and tapped.

"Usable" here: each button, field, select and button-styled link is at least 24 x 24 px
(WCAG 2.2, 2.5.8; a radio or tick box counts with its label, which taps it too), lies inside
the screen's width (unless it sits in a box that scrolls sideways on purpose, such as a wide
table), is not covered by something else where a finger would tap, and text fields use at
least 16 px text (smaller makes phones zoom in on focus). The check is layout_problems.js.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.pages import QuizKey, QuizPage, go

TRAINEE = "hocvien@example.vn"

PAGES = [  # (id, signed in?, path)
    ("login", False, "/login"),
    ("verify", False, "/verify/{certificate}"),
    ("home", True, "/"),
    ("catalog", True, "/courses/"),
    ("course", True, "/courses/nghiep-vu-thanh-tra"),
    ("lesson-with-picture", True, "/courses/nghiep-vu-thanh-tra/lessons/he-thong-thanh-tra/he-thong-hai-cap"),
    ("lesson-with-table", True,
     "/courses/nghiep-vu-thanh-tra/lessons/quy-trinh-thanh-tra/chuan-bi-va-quyet-dinh"),
    ("quiz", True, "/courses/nghiep-vu-thanh-tra/quizzes/he-thong-thanh-tra/kiem-tra"),
    ("search", True, "/search/?q=ket+luan+thanh+tra"),
    ("record", True, "/training/record"),
    ("password", True, "/account/password"),
]

LAYOUT_PROBLEMS = (Path(__file__).resolve().parent / "layout_problems.js").read_text(encoding="utf-8")


def layout_problems(page) -> list[str]:
    # Measure the page as laid out: after a form submit the new DOM can be there before its
    # stylesheet is applied (seen on a loaded CI machine), which measures unstyled controls.
    page.wait_for_load_state("load")
    page.wait_for_function("() => [...document.styleSheets].some(s => s.href && s.href.includes('site.css'))")
    return page.evaluate(LAYOUT_PROBLEMS)


@pytest.fixture(scope="module")
def certificate(live) -> str:
    import sqlalchemy as sa

    from mooc.training.models import Certificate

    with live.db() as session:
        return session.scalar(sa.select(Certificate.code).order_by(Certificate.id))


@pytest.mark.parametrize(("signed_in", "path"), [(s, p) for _, s, p in PAGES], ids=[n for n, _, _ in PAGES])
def test_trainee_page_fits_a_phone(browsing, certificate, signed_in, path) -> None:
    page = browsing.signed_in(TRAINEE, viewport=PHONE) if signed_in else browsing.new_page(PHONE)
    go(page, path.format(certificate=certificate))
    problems = layout_problems(page)
    assert not problems, "\n".join(problems)


def test_taking_a_quiz_on_a_phone(browsing, live, make_trainee) -> None:
    """The attempt form and the result with its review, at 375 px, answered by tapping."""
    person = make_trainee("Lò Văn Pả", "NB", "TTV")
    page = browsing.signed_in(person.email, person.password, viewport=PHONE)
    go(page, "/courses/tiep-cong-dan/quizzes/tiep-cong-dan/kiem-tra")
    attempt = QuizPage(page).start()
    problems = layout_problems(page)
    assert not problems, "\n".join(problems)
    attempt.answer_all(QuizKey.load(live, "tiep-cong-dan", "tiep-cong-dan/kiem-tra"), right=True)
    result = attempt.submit()
    expect(result.card).to_contain_text("Đạt")
    problems = layout_problems(page)
    assert not problems, "\n".join(problems)


def test_the_menu_fits_a_phone(browsing) -> None:
    """A manager's header has the most links: it wraps, it does not push the page sideways."""
    page = browsing.signed_in("quanly.hanoi@example.vn", viewport=PHONE)
    go(page, "/")
    problems = layout_problems(page)
    assert not problems, "\n".join(problems)
