"""Take screenshots of the main pages into docs/screenshots/ (README shows them).

Usage: python scripts/screenshots.py [--base http://127.0.0.1:5000] [--out docs/screenshots]
It signs in with the demo accounts, so run it against `mooc demo`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "matkhau-demo"  # noqa: S105 (the published demo password)

PAGES = [  # (file name, account or None, path, viewport width)
    ("login", None, "/login", 1280),
    ("home", "hocvien@example.vn", "/", 1280),
    ("home-mobile", "hocvien@example.vn", "/", 375),
    ("dashboard", "baocao@example.vn", "/reports/", 1280),
    ("dashboard-province", "quanly.hanoi@example.vn", "/reports/", 1280),
    ("catalog", "hocvien@example.vn", "/courses/", 1280),
    ("course", "hocvien@example.vn", "/courses/nghiep-vu-thanh-tra", 1280),
    ("lesson", "hocvien@example.vn",
     "/courses/nghiep-vu-thanh-tra/lessons/quy-trinh-thanh-tra/chuan-bi-va-quyet-dinh", 1280),
    ("lesson-mobile", "hocvien@example.vn",
     "/courses/nghiep-vu-thanh-tra/lessons/quy-trinh-thanh-tra/chuan-bi-va-quyet-dinh", 375),
]


QUIZ = "/courses/nghiep-vu-thanh-tra/quizzes/he-thong-thanh-tra/kiem-tra"


def quiz_pages(page, base: str, out: Path) -> None:  # noqa: ANN001
    """The quiz page, an attempt in progress, and its result with the review."""
    page.goto(base + QUIZ)
    page.screenshot(path=str(out / "quiz.png"))
    page.click("form[action$='/start'] button")
    page.wait_for_selector("#attempt-form")
    for group in page.query_selector_all("fieldset"):
        choice = group.query_selector("input[type=radio], input[type=checkbox]")
        if choice:
            choice.check()
        elif text := group.query_selector("input[type=text]"):
            text.fill("84/2025/QH15")
    page.screenshot(path=str(out / "quiz-attempt.png"))
    page.click("button.primary[type=submit]")
    page.wait_for_selector(".result-card")
    page.screenshot(path=str(out / "quiz-result.png"))
    print(f"{out}/quiz.png, quiz-attempt.png, quiz-result.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--only", nargs="*", help="file names to take (default: all)")
    options = parser.parse_args()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, account, path, width in PAGES:
            if options.only and name not in options.only:
                continue
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
            page = context.new_page()
            if account:
                page.goto(options.base + "/login")
                page.fill("#email", account)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit].primary")
            page.goto(options.base + path)
            page.screenshot(path=str(out / f"{name}.png"), full_page=width < 600)
            print(f"{out / name}.png")
            if name == "course" and (not options.only or "quiz" in options.only):
                quiz_pages(page, options.base, out)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
