"""A long e-mail address on a 390 px phone wraps at its joints ("nguyen.van.an.phong1@" /
"thanhtra.hanoi.gov.vn"), never between two letters ("...gov.v" / "n") nor off the screen, on the
pages that show one (a person's roster page, the audit log, the account page), and no Vietnamese
word on them is cut either (the ``breakable`` filter's <wbr>; the stylesheet's last resort).

The check reads where each line of text ends, letter by letter, as the browser laid it out."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.e2e.pages import go, sign_in

PHONE_390 = {"width": 390, "height": 844}
LONG = "nguyen.thi.thanh.huong.phongnghiepvu@thanhtra.hanoi.gov.vn"

# Every place a line of text in <main> ends between two letters (a word cut in two), as
# "left|right" with a few letters of context; and whether the page, or a table's box on it (a
# phone shows each row as a card: nothing should be out of sight there), scrolls sideways.
CUTS = """() => {
  const cuts = [];
  const main = document.querySelector("main");
  const unseen = (element) => {  // not laid out as text to read: a list box, or hidden for screen readers
    if (element.matches("select, option, script, style, textarea")) { return true; }
    const hidden = element.closest(".visually-hidden, thead");  // a phone's card table hides its head
    return hidden !== null && hidden.getBoundingClientRect().width <= 1;
  };
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT,
    {acceptNode: (node) => node.nodeType === Node.ELEMENT_NODE && unseen(node)
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const blockOf = (node) => {
    let element = node.parentElement;
    while (element !== main && ["inline", "contents"].includes(getComputedStyle(element).display)) {
      element = element.parentElement;
    }
    return element;
  };
  let previous = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (node.tagName === "BR") { previous = null; }  // a line ends there on purpose
      continue;
    }
    const block = blockOf(node);
    for (let i = 0; i < node.length; i += 1) {
      if (/\\s/.test(node.data[i])) { previous = null; continue; }  // a space: a line may end there
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getClientRects()[0];
      if (!box || !box.width) { continue; }
      const here = {text: node.data, i, char: node.data[i], top: box.top, bottom: box.bottom, block};
      if (previous && previous.block === block && here.top >= previous.bottom - 2
          && /\\p{L}/u.test(previous.char) && /\\p{L}/u.test(here.char)) {
        cuts.push(previous.text.slice(Math.max(0, previous.i - 8), previous.i + 1) + "|"
                  + here.text.slice(here.i, here.i + 8));
      }
      previous = here;
    }
  }
  const scrolled = [...main.querySelectorAll(".table-scroll")]
    .filter((box) => box.scrollWidth > box.clientWidth + 1);
  return {cuts, sideways: document.documentElement.scrollWidth > window.innerWidth || scrolled.length > 0};
}"""


def _lines_of(page) -> dict:
    page.wait_for_load_state("load")
    return page.evaluate(CUTS)


@pytest.fixture(scope="module")
def long_address(live):
    """A trainee whose roster and sign-in address is long, and who has signed in (an audit event)."""
    from mooc.auth.models import User
    from mooc.roster.models import Staff

    person = live.make_trainee("Nguyễn Thị Thanh Hương", "HN-P1", "CV")
    with live.db() as session:
        session.execute(sa.update(Staff).where(Staff.id == person.staff_id).values(email=LONG))
        session.execute(sa.update(User).where(User.id == person.user_id).values(email=LONG))
    return person


def test_a_long_address_wraps_at_its_joints_on_a_phone(browsing, long_address) -> None:
    trainee = browsing.new_page(PHONE_390)
    sign_in(trainee, LONG, long_address.password)
    admin = browsing.signed_in("quantri@example.vn", viewport=PHONE_390)
    found = {}
    for page, path, shows_it in [(trainee, "/account/password", True), (trainee, "/account/data", False),
                                 (admin, f"/roster/staff/{long_address.staff_id}", True),
                                 (admin, f"/admin/audit?person={LONG}", True)]:
        go(page, path)
        assert not shows_it or LONG in page.locator("main").inner_text(), path
        found[path] = _lines_of(page)
    assert found == dict.fromkeys(found, {"cuts": [], "sideways": False})


def test_a_long_address_in_a_flash_wraps_at_its_joints_on_a_phone(browsing, live) -> None:
    """The flash a view builds with the value in it ("E-mail đã đổi thành <address>.") wraps as
    the value shown alone does (``breakable_text``), its full stop kept with the address."""
    person = live.make_trainee("Trần Thị Thu Trang", "HN-P1", "CV")
    admin = browsing.signed_in("quantri@example.vn", viewport=PHONE_390)
    go(admin, f"/roster/staff/{person.staff_id}")
    new = "tran.thi.thu.trang.phongtochuccanbo@thanhtra.hanoi.gov.vn"
    admin.get_by_label("E-mail", exact=True).fill(new)
    admin.get_by_role("button", name="Lưu e-mail").click()
    flash = admin.locator(".flash")
    assert flash.inner_text() == f"E-mail đã đổi thành {new}."
    assert _lines_of(admin) == {"cuts": [], "sideways": False}
