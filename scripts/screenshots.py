"""Take screenshots of the main pages into docs/screenshots/ (the README shows them).

Usage:
    python scripts/screenshots.py                      # starts its own demo on a fresh SQLite
    python scripts/screenshots.py --base http://127.0.0.1:5000   # against a running `mooc demo`
    python scripts/screenshots.py --only home quiz-result

It drives Debian's Chromium (/usr/bin/chromium; never a downloaded browser) and signs in with
the demo accounts. Pictures are the visible part of the page (1280 x 800, or 375 x 740 for a
phone), not whole pages, and are stored with a 256-colour palette: they stay small in git.
The browser tests (tests/e2e) launch Chromium with the same flags (ARGS).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "matkhau-demo"  # noqa: S105 (the published demo password)
ROOT = Path(__file__).resolve().parent.parent
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

TRAINEE = "hocvien@example.vn"
REPORTER = "baocao@example.vn"
MANAGER = "quanly.hanoi@example.vn"
ADMIN = "quantri@example.vn"
LESSON = "/courses/nghiep-vu-thanh-tra/lessons/quy-trinh-thanh-tra/chuan-bi-va-quyet-dinh"
QUIZ = "/courses/giam-sat-so/quizzes/giam-sat-canh-bao-som/kiem-tra"
SAMPLE_ROSTER = (  # what HR sends: one person promoted, one newcomer
    "Mã cán bộ;Họ và tên;Email;Đơn vị;Chức vụ;Trạng thái\r\n"
    "000203;Vũ Thị Hòa;hoa.vt@example.vn;HN-P1;Thanh tra viên cao cấp;Đang công tác\r\n"
    "000206;Trương Minh Quân;quan.tm@example.vn;HN-P2;Thanh tra viên;Đang công tác\r\n"
)
ROSTER_WITH_MISTAKES = SAMPLE_ROSTER + (  # and what Excel or a hurried typist does to a file
    "1.23E+05;Phan Thị Thu;thu.pt@example.vn;HN-P2;Chuyên viên;Đang công tác\r\n"
    "000208;Lưu Văn Hải;hai.lv@example;HN-P3;Thanh tra viên;Đang công tác\r\n"
)


# --- what each picture shows: a function that gets the page ready -----------------------------


def opened(path: str) -> Callable[[Page, str], None]:
    def show(page: Page, base: str) -> None:
        response = page.goto(base + path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
    return show


def verify(page: Page, base: str) -> None:
    """A certificate's public check, found through the trainee's record."""
    opened("/training/record")(page, base)
    code = page.locator("a[href^='/certificates/']").first.inner_text()
    page.context.clear_cookies()
    opened(f"/verify/{code}")(page, base)


def quiz_attempt(page: Page, base: str) -> None:
    """An attempt in progress, half answered."""
    opened(QUIZ)(page, base)
    page.get_by_role("button", name="Bắt đầu làm bài").or_(page.get_by_role("button", name="Làm lại")).or_(
        page.get_by_role("button", name="Tiếp tục bài đang làm")).first.click()
    expect(page.locator("#attempt-form")).to_be_visible()
    for fieldset in page.locator("#attempt-form fieldset").all()[:3]:
        choice = fieldset.locator("input[type=radio], input[type=checkbox]").first
        if choice.count():
            choice.check()
    page.evaluate("window.scrollTo(0, 0)")


def quiz_result(page: Page, base: str) -> None:
    """A submitted attempt: the score, then the review with right answers and explanations."""
    quiz_attempt(page, base)
    page.get_by_role("button", name="Nộp bài").click()
    page.locator("#submit-dialog").get_by_role("button", name="Nộp bài").click()  # the summary, confirmed
    expect(page.locator(".result-card")).to_be_visible()


def uploaded(content: str, heading: str) -> Callable[[Page, str], None]:
    """The dry run of an HR file (uploaded, never applied), scrolled to ``heading``."""
    def show(page: Page, base: str) -> None:
        opened("/roster/import")(page, base)
        page.locator("input[type=file]").set_input_files(
            files=[{"name": "danh-sach-ha-noi.csv", "mimeType": "text/csv", "buffer": content.encode()}])
        page.get_by_role("button", name="Kiểm tra tệp").click()
        page.locator("h2", has_text=heading).evaluate("el => el.scrollIntoView({block: 'start'})")
    return show


def rule_preview(page: Page, base: str) -> None:
    """A new assignment rule and what it would do, before it is saved."""
    opened("/admin/rules/new")(page, base)
    page.get_by_label("Khóa học", exact=True).select_option(
        label="Soạn thảo văn bản trong hoạt động thanh tra (VBTT-2026)")
    page.get_by_label("Đơn vị (gồm cả các đơn vị trực thuộc)").select_option(label="Thanh tra tỉnh Ninh Bình")
    page.get_by_role("button", name="Xem trước kết quả").click()
    region = page.get_by_role("region", name="Kết quả của quy tắc")
    region.evaluate("el => el.scrollIntoView({block: 'center'})")


def report_people(page: Page, base: str) -> None:
    """The manager's drill-down: a province, one of its sections, its people."""
    opened("/reports/")(page, base)
    page.locator("table.report").get_by_role("link", name="Thanh tra Thành phố Hà Nội").click()
    page.locator("table.report").get_by_role("link", name="Phòng Nghiệp vụ 1").click()
    page.get_by_role("link", name="Cán bộ của đơn vị này").click()


def report_program(page: Page, base: str) -> None:
    """The programme report of the manager's province, opened from the dashboard's list."""
    page.goto(base + "/reports/")
    page.get_by_role("link", name="Bồi dưỡng nghiệp vụ thanh tra viên mới").click()
    page.wait_for_load_state()


def search(page: Page, base: str) -> None:
    opened("/")(page, base)
    box = page.get_by_role("searchbox", name="Tìm trong các khóa học")
    box.fill("thoi han giai quyet khieu nai")
    box.press("Enter")
    expect(page.locator(".search-hit").first).to_be_visible()


SHOTS = [  # (file name, account or None, how to get there, viewport)
    ("login", None, opened("/login"), DESKTOP),
    ("home", TRAINEE, opened("/"), DESKTOP),
    ("home-mobile", TRAINEE, opened("/"), PHONE),
    ("catalog", TRAINEE, opened("/courses/"), DESKTOP),
    ("course", TRAINEE, opened("/courses/nghiep-vu-thanh-tra"), DESKTOP),
    ("lesson", TRAINEE, opened(LESSON), DESKTOP),
    ("lesson-mobile", TRAINEE, opened(LESSON), PHONE),
    ("quiz", TRAINEE, opened(QUIZ), DESKTOP),
    ("quiz-attempt", TRAINEE, quiz_attempt, DESKTOP),
    ("quiz-result", TRAINEE, quiz_result, DESKTOP),
    ("quiz-mobile", TRAINEE, quiz_attempt, PHONE),
    ("search", TRAINEE, search, DESKTOP),
    ("record", TRAINEE, opened("/training/record"), DESKTOP),
    ("verify", TRAINEE, verify, DESKTOP),
    ("program", TRAINEE, opened("/programs/thanh-tra-vien-moi"), DESKTOP),
    ("dashboard", REPORTER, opened("/reports/"), DESKTOP),
    ("dashboard-province", MANAGER, opened("/reports/"), DESKTOP),
    ("report-people", MANAGER, report_people, DESKTOP),
    ("report-program", MANAGER, report_program, DESKTOP),
    ("roster", MANAGER, opened("/roster/"), DESKTOP),
    ("home-manager", MANAGER, opened("/"), DESKTOP),
    ("home-manager-mobile", MANAGER, opened("/"), PHONE),
    ("dashboard-mobile", MANAGER, opened("/reports/"), PHONE),
    ("home-admin", ADMIN, opened("/"), DESKTOP),
    ("import-errors", ADMIN, uploaded(ROSTER_WITH_MISTAKES, "Số lỗi"), DESKTOP),
    ("import-preview", ADMIN, uploaded(SAMPLE_ROSTER, "Những gì sẽ thay đổi khi nhập"), DESKTOP),
    ("rules", ADMIN, opened("/admin/rules"), DESKTOP),
    ("rule-preview", ADMIN, rule_preview, DESKTOP),
    ("units", ADMIN, opened("/roster/units"), DESKTOP),
    ("two-factor", TRAINEE, opened("/account/two-factor"), DESKTOP),
    ("api-tokens", TRAINEE, opened("/account/tokens"), DESKTOP),
    ("my-data", TRAINEE, opened("/account/data"), DESKTOP),
    ("privacy-notice", None, opened("/privacy"), DESKTOP),
    ("report-mail", MANAGER, opened("/reports/subscriptions"), DESKTOP),
    ("audit-log", ADMIN, opened("/admin/audit"), DESKTOP),
    ("legal-impact", ADMIN, opened("/reports/legal"), DESKTOP),
]


# --- taking them --------------------------------------------------------------------------------


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    signed_in = page.get_by_role("button", name="Đăng xuất", include_hidden=True)  # a phone: in the menu
    expect(signed_in).to_be_attached()


def small_png(path: Path) -> None:
    """A 256-colour palette: a screenshot of text and flat colours loses nothing visible."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with fpdf2
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                               dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def take(base: str, out: Path, only: list[str] | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, account, show, viewport in SHOTS:
            if only and name not in only:
                continue
            context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
            page = context.new_page()
            if account:
                sign_in(page, base, account)
            show(page, base)
            path = out / f"{name}.png"
            page.screenshot(path=str(path), animations="disabled", caret="hide")
            small_png(path)
            print(f"{path} ({path.stat().st_size // 1024} KB)")
            context.close()
        browser.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def own_demo() -> Iterator[str]:
    """`mooc demo` on a fresh SQLite database in a temporary folder, stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="mooc-screenshots-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOC_")}
    env.update(MOOC_INSTANCE_DIR=str(folder), MOOC_COURSES_DIR=str(ROOT / "courses"),
               # the pictures are of the pages, not of the authenticator's code step
               MOOC_TWO_FACTOR_REQUIRED_ROLES="none")
    mooc = Path(sys.executable).with_name("mooc")
    command = [str(mooc)] if mooc.exists() else [sys.executable, "-m", "mooc.cli"]
    server = subprocess.Popen([*command, "demo", "--port", str(port), "--workers", "1", "--threads", "4"],  # noqa: S603
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310 (our own loopback server)
                    break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("mooc demo stopped before it served") from None
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="address of a running `mooc demo` (default: start one)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", nargs="*", choices=[shot[0] for shot in SHOTS],
                        help="file names to take (default: all)")
    options = parser.parse_args()
    if options.base:
        take(options.base.rstrip("/"), Path(options.out), options.only)
        return
    with own_demo() as base:
        take(base, Path(options.out), options.only)


if __name__ == "__main__":
    main()
