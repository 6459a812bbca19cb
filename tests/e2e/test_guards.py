"""The checks catch broken pages: each test breaks a page on purpose (a missing page, a script
the CSP refuses, a missing stylesheet, a field without its label, a page too wide for a phone)
and asserts that the check that guards every e2e test would have failed.

The pages here are watched by a Watch of their own, so the breakage does not fail this test.
"""

from __future__ import annotations

import pytest

from tests.e2e.a11y import axe_violations
from tests.e2e.conftest import PHONE, Watch
from tests.e2e.pages import go
from tests.e2e.test_mobile import layout_problems


@pytest.fixture
def own_watch(browser, live):
    """A page and its Watch, outside the test's own watch."""
    watch = Watch()
    context = browser.new_context(base_url=live.url, viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    watch.attach(page)
    yield page, watch
    context.close()


def problems_after(page, watch: Watch) -> list[str]:
    page.wait_for_timeout(100)
    try:
        watch.check()
    except AssertionError as error:
        return str(error).splitlines()[1:]
    return []


def test_a_missing_page_fails(own_watch) -> None:
    page, watch = own_watch
    with pytest.raises(AssertionError, match="answered 404"):
        go(page, "/login/no-such-page")
    assert any("HTTP 404" in p for p in problems_after(page, watch))


def test_a_script_refused_by_the_csp_fails(own_watch) -> None:
    page, watch = own_watch

    def inline_script(route) -> None:
        response = route.fetch()
        html = response.text().replace("</body>", "<script>document.title = 'x'</script></body>")
        route.fulfill(response=response, body=html)

    page.route("**/login", inline_script)
    go(page, "/login")
    problems = problems_after(page, watch)
    assert any("Content Security Policy" in p for p in problems), problems


def test_a_missing_stylesheet_fails(own_watch) -> None:
    page, watch = own_watch

    def broken_link(route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("css/site.css", "css/gone.css"))

    page.route("**/login", broken_link)
    go(page, "/login")
    problems = problems_after(page, watch)
    # Chromium refuses the 404 page as a stylesheet (nosniff) and says so on the console.
    assert any("gone.css" in p for p in problems), problems


def test_a_field_without_a_label_fails_axe(own_watch) -> None:
    page, _ = own_watch
    go(page, "/login")
    assert axe_violations(page) == []
    page.evaluate("() => document.querySelector('label[for=email]').remove()")
    assert "label" in {v["id"] for v in axe_violations(page)}


def test_a_page_too_wide_for_a_phone_fails(own_watch) -> None:
    page, _ = own_watch
    go(page, "/login")
    assert layout_problems(page) == []
    page.evaluate("() => { const box = document.querySelector('.auth-card'); box.style.minWidth = '30rem'; }")
    problems = layout_problems(page)
    assert problems and problems[0].startswith("the page scrolls sideways"), problems
