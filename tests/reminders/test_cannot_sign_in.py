"""People who cannot sign in are seen: on each row of the managers' digest, in a section of
their own with what to do, and on the administrators' reminders page (today's skipped
reminders and the people with training to finish who cannot sign in)."""

from __future__ import annotations

from datetime import date, timedelta

from mooc.auth.models import Role, User
from mooc.extensions import db
from tests.conftest import login
from tests.reminders.conftest import at, enrol, html_of, run, text_of

MONDAY = date(2026, 3, 2)
LONG_AGO = MONDAY - timedelta(days=60)


def setup(app, o, person, make_staff, make_user):
    late, _ = person(o.section_a, name="Trần Văn Trễ", email="tre@example.vn")
    enrol(app, late, o.course_id, LONG_AGO, MONDAY - timedelta(days=10))
    nobody = make_staff(full_name="Lê <b>Chưa</b> Có", unit=o.section_a, email="chuaco@example.vn")
    enrol(app, nobody, o.course_id, LONG_AGO, MONDAY - timedelta(days=10))
    invited, user = person(o.section_b, name="Võ Văn Mời", email="moi@example.vn")
    enrol(app, invited, o.course_id, LONG_AGO, MONDAY + timedelta(days=40))
    away = make_staff(full_name="Hà Ngoài", unit=o.other)
    enrol(app, away, o.course_id, LONG_AGO, MONDAY - timedelta(days=3))
    with app.app_context():
        db.session.get(User, user.id).password_hash = None  # invited, not accepted
        db.session.commit()
    make_user(email="ql-nb@example.vn", name="Quản Lý Tỉnh", role=Role.MANAGER, scope_unit=o.province)


def test_the_digest_shows_who_cannot_sign_in_and_what_to_do(mail_app, person, make_staff, make_user, smtp):
    app, o, _factory = mail_app
    setup(app, o, person, make_staff, make_user)
    at(MONDAY)
    result = run(app)
    assert "1 reminder(s) skipped: no active account" in result.output
    (digest,) = [m for m in smtp.inbox.messages if m["To"].addresses[0].addr_spec == "ql-nb@example.vn"]
    text = text_of(digest)
    assert "- Lê <b>Chưa</b> Có (Phòng 1): Luật Thanh tra 2025, hạn 20/02/2026, quá hạn 10 ngày " \
           "[không đăng nhập được: Chưa có tài khoản]" in text
    assert "- Trần Văn Trễ (Phòng 1): Luật Thanh tra 2025, hạn 20/02/2026, quá hạn 10 ngày\n" in text
    section = text.split("KHÔNG ĐĂNG NHẬP ĐƯỢC (2)\n", 1)[1]
    assert section.index("Lê <b>Chưa</b> Có (Phòng 1): Chưa có tài khoản") < \
        section.index("Võ Văn Mời (Phòng 2): Đã mời")
    assert "mời" in section.split("\n")[0]  # what to do
    assert f"/reports/people?unit={o.province.id}&status=to_do&account=cannot_sign_in" in section
    assert "Hà Ngoài" not in text
    assert "Lê &lt;b&gt;Chưa&lt;/b&gt; Có" in html_of(digest)


def test_the_reminders_page_counts_and_lists_who_cannot_sign_in(mail_app, person, make_staff, make_user):
    app, o, _factory = mail_app
    setup(app, o, person, make_staff, make_user)
    make_user(email="admin@example.vn", role=Role.ADMIN)
    at(MONDAY)
    client = app.test_client()
    login(client, "admin@example.vn")
    page = client.get("/admin/reminders/").get_data(as_text=True)
    section = page.split('id="cannot-heading"', 1)[1].split("</section>", 1)[0]
    assert "3 người" in section.split("</h2>", 1)[0]
    assert "Hôm nay 1 lời nhắc không được gửi" in section
    for name in ("Lê &lt;b&gt;Chưa&lt;/b&gt; Có", "Võ Văn Mời", "Hà Ngoài"):
        assert name in section
    assert "Trần Văn Trễ" not in section
    assert "Đã mời" in section and "Chưa có tài khoản" in section
