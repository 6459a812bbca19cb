"""A value a view puts into a flash (an e-mail address, a name from HR's file) may break at its
joints on a phone, as the same value shown alone does (``breakable``): the flash is escaped
first, then given its <wbr>s (``breakable_text``). Markup typed into a value stays text."""

from __future__ import annotations

import re

from markupsafe import Markup

from mooc.auth.models import Role
from mooc.formatting import breakable_text
from tests.roster.test_bulk_invitations import post

LONG = "o'brien&co_nguyen.thi.thanh.huong@thanhtra.hanoi.gov.vn"


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash [^"]*" role="status">(.*?)</p>', page, re.DOTALL)


def test_an_address_in_a_flash_breaks_at_its_joints_and_stays_escaped(client, auth, make_unit, make_staff):
    staff = make_staff("Nguyễn Thị Thanh Hương", unit=make_unit(code="HN"), email="huong@example.vn")
    auth.login(role=Role.ADMIN)
    page = f"/roster/staff/{staff.id}"
    response = post(client, f"{page}/email", page, email=LONG)
    (flash,) = _flashes(client.get(response.headers["Location"]).get_data(as_text=True))
    assert flash == ("E-mail đã đổi thành o&#39;brien<wbr>&amp;co_<wbr>nguyen<wbr>.thi<wbr>.thanh<wbr>"
                     ".huong@<wbr>thanhtra<wbr>.hanoi<wbr>.gov.vn.")  # the full stop stays with the address


def test_markup_in_a_flashed_name_stays_text(client, auth, make_unit, make_staff):
    """A name as HR's file wrote it, with markup in it, flashed when there is nothing to remind."""
    name = "<script>alert('x')</script> Nguyễn_Thị_Thanh_Hương<b>"
    staff = make_staff(name, unit=make_unit(code="HN"), email="huong@example.vn")
    auth.login(role=Role.ADMIN)
    page = f"/training/people/{staff.id}"
    response = post(client, f"{page}/remind", page)
    (flash,) = _flashes(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "<script" not in flash and "<b>" not in flash
    assert flash.startswith("&lt;script&gt;alert(&#39;x&#39;)&lt;/<wbr>script&gt; Nguyễn_<wbr>Thị_<wbr>")


def test_the_words_numbers_and_dates_of_a_sentence_stay_whole():
    """Only a word as long as an address is given joints; what the template marked safe is kept."""
    text = "Đã mời 1.234 người ngày 06/12/2026: xem danh_sach_can_bo_2026.xlsx."
    assert breakable_text(text) == ("Đã mời 1.234 người ngày 06/12/2026: xem "
                                    "danh_<wbr>sach_<wbr>can_<wbr>bo_<wbr>2026.xlsx.")
    assert breakable_text(Markup("<em>a_b_c_d_e_f_g_h_i</em>")) == Markup("<em>a_b_c_d_e_f_g_h_i</em>")
    assert breakable_text(None) == ""
