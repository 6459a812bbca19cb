"""The trainee's pages on a phone (375 px wide): no sideways scrolling, and every control can be
seen, reached and tapped.

"Usable" here: each button, field, select and button-styled link is at least 24 x 24 px
(WCAG 2.2, 2.5.8; a radio or tick box counts with its label, which taps it too), lies inside
the screen's width (unless it sits in a box that scrolls sideways on purpose, such as a wide
table), is not covered by something else where a finger would tap, and text fields use at
least 16 px text (smaller makes phones zoom in on focus). The check is layout_problems.js.
"""

from __future__ import annotations

import re
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


STAFF_PAGES = [  # (id, account, path): the officers' and managers' pages, with their tables and charts
    ("reports", "quanly.hanoi@example.vn", "/reports/"),
    ("report-people", "quanly.hanoi@example.vn", "/reports/people?status=not_started"),
    ("report-trend", "baocao@example.vn", "/reports/trend"),
    ("roster", "quanly.hanoi@example.vn", "/roster/"),
    ("units", "quantri@example.vn", "/roster/units"),
    ("rules", "quantri@example.vn", "/admin/rules"),
]


@pytest.mark.parametrize(("email", "path"), [(e, p) for _, e, p in STAFF_PAGES],
                         ids=[n for n, _, _ in STAFF_PAGES])
def test_staff_page_fits_a_phone(browsing, email, path) -> None:
    """Besides what every page checks: tables become cards, the header stays short, chart text
    is drawn at a readable size (layout_problems.js)."""
    page = browsing.signed_in(email, viewport=PHONE)
    go(page, path)
    problems = layout_problems(page)
    assert not problems, "\n".join(problems)


def test_the_header_is_short_and_its_menu_opens(browsing) -> None:
    page = browsing.signed_in("quantri@example.vn", viewport=PHONE)
    go(page, "/")
    problems = layout_problems(page)
    assert not problems, "\n".join(problems)
    header = page.locator(".site-header")
    assert header.bounding_box()["height"] <= 120
    nav = page.get_by_role("navigation", name="Menu chính")
    expect(nav).to_be_hidden()
    expect(page.get_by_role("search")).to_be_visible()  # the search box stays at hand
    toggle = page.get_by_role("button", name="Danh mục")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Báo cáo", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    problems = [p for p in layout_problems(page) if not p.startswith("the header is")]  # opened on purpose
    assert not problems, "\n".join(problems)
    nav.get_by_role("link", name="Quy tắc", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Quy tắc")


def test_the_outline_opens_from_the_top_of_a_lesson(browsing) -> None:
    page = browsing.signed_in(TRAINEE, viewport=PHONE)
    go(page, "/courses/nghiep-vu-thanh-tra/lessons/quy-trinh-thanh-tra/chuan-bi-va-quyet-dinh")
    opener = page.locator("summary").filter(has_text="Mục lục khóa học").locator("visible=true")
    expect(opener).to_have_count(1)
    title = page.get_by_role("heading", level=1)
    assert opener.bounding_box()["y"] < title.bounding_box()["y"]  # above the lesson, not after it
    assert opener.bounding_box()["y"] < 740  # on the first screen
    opener.click()
    current = page.locator(".outline-item a[aria-current='page']").locator("visible=true")
    expect(current).to_have_count(1)
    links = page.locator(".outline-item a").locator("visible=true")
    assert links.count() > 3
    links.nth(0).click()
    expect(page).to_have_url(re.compile(r"/courses/nghiep-vu-thanh-tra/lessons/"))


def test_report_tables_are_cards_and_filters_fold(browsing) -> None:
    page = browsing.signed_in("quanly.hanoi@example.vn", viewport=PHONE)
    go(page, "/reports/")
    filters = page.locator("details.filters-fold")
    expect(filters).not_to_have_attribute("open", "")
    expect(page.locator("select[name=course]")).to_be_hidden()
    filters.locator("summary").click()
    expect(page.locator("select[name=course]")).to_be_visible()
    row = page.locator("table.report tbody tr").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    cell = row.locator("td").first
    label = cell.evaluate("c => getComputedStyle(c, '::before').content")
    assert label.strip('"') == "Cán bộ đang công tác (người)", label  # the header, people counted
    # A filter in use stays unfolded.
    go(page, "/reports/?due_from=2020-01-01")
    expect(page.locator("select[name=course]")).to_be_visible()


def test_chart_text_is_readable_on_a_phone(browsing) -> None:
    page = browsing.signed_in("baocao@example.vn", viewport=PHONE)
    go(page, "/reports/")
    sizes = page.evaluate("""() => [...document.querySelectorAll('figure.chart svg text')].map(t => {
      const svg = t.ownerSVGElement;
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      return parseFloat(getComputedStyle(t).fontSize) * scale;
    })""")
    assert sizes and min(sizes) >= 10, sizes
