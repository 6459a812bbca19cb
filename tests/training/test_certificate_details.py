"""Certificates name who issues them, the holder's staff code and unit, the course's hours; and
their links (like every link in a mail) use the address the site is served on when
MOOC_BASE_URL is not set (issue 19, "Phone and first look")."""

from __future__ import annotations

import io

import sqlalchemy as sa
from pypdf import PdfReader

from mooc.config import public_url
from mooc.cron import links_line
from mooc.extensions import db
from mooc.training.models import Certificate
from tests.conftest import login
from tests.training.test_completion import read_and_pass, require

HOST = "hoc.thanhtra.example:8123"


def pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def passed(org, person, host: str | None = None):
    app, o = org
    if host:
        app.config["SERVER_NAME"] = host  # the test client then asks http://<host>/
    staff, user = person(o.section_a, name="Đặng Quốc Bảo", email="bao@example.vn")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    read_and_pass(client, app)
    with app.app_context():
        code = db.session.scalar(sa.select(Certificate.code))
    return app, client, staff, code


def test_certificate_names_issuer_holder_unit_and_hours(org, person) -> None:
    app, client, staff, code = passed(org, person, host=HOST)
    text = pdf_text(client.get(f"/certificates/{code}.pdf"))
    assert "NGÀNH THANH TRA" in text  # MOOC_ISSUER's default
    assert f"Mã cán bộ: {staff.staff_code}" in text
    assert "Phòng 1 — Thanh tra tỉnh Ninh Bình" in text
    assert "Thời lượng: 2 giờ" in text
    # Served on another address, MOOC_BASE_URL unset: the QR code's link is that address.
    assert f"http://{HOST}/verify/{code}" in text and "127.0.0.1:5000" not in text


def test_the_issuer_is_a_setting(make_app, tmp_path, org, person) -> None:
    app, o = org
    assert app.extensions  # the org's app
    from mooc.config import settings

    with app.app_context():
        assert settings().issuer == "Ngành Thanh tra"
    other = make_app(ISSUER="Thanh tra tỉnh Ninh Bình", BASE_URL="https://daotao.thanhtra.example",
                     ALLOW_FILE_MAIL=True)
    with other.test_request_context("/", base_url=f"http://{HOST}"):
        assert settings().issuer == "Thanh tra tỉnh Ninh Bình"
        assert public_url() == "https://daotao.thanhtra.example"  # set: the request's host is not used


def test_public_url_without_a_setting(make_app) -> None:
    app = make_app()
    with app.test_request_context("/", base_url=f"http://{HOST}/"):
        assert public_url() == f"http://{HOST}"
    with app.app_context():  # the CLI: no request to ask
        assert public_url() == "http://127.0.0.1:5000"
    production = make_app(ENV="production", MAIL_BACKEND="smtp", MAIL_HOST="smtp.example")
    with production.test_request_context("/", base_url="http://evil.example/"):
        assert public_url() == "http://127.0.0.1:5000"  # a visitor's Host header builds no link


def test_the_reminders_command_says_which_address_links_use(make_app) -> None:
    from mooc.config import settings

    with make_app().app_context():
        assert "MOOC_BASE_URL is not set" in links_line(settings())
        assert "http://127.0.0.1:5000" in links_line(settings())
    with make_app(BASE_URL="https://daotao.example/", ALLOW_FILE_MAIL=True).app_context():
        assert links_line(settings()) == "Links in the mails point to https://daotao.example (MOOC_BASE_URL)."


def test_record_pdf_writes_scores_the_vietnamese_way(org, person) -> None:
    app, client, staff, _code = passed(org, person)
    text = pdf_text(client.get(f"/training/people/{staff.id}/record.pdf"))
    assert "100,0%" in text and "100.0%" not in text


def test_a_certificate_printed_from_the_english_interface_stays_vietnamese(org, person) -> None:
    """The certificate is a Vietnamese document: its course's 1.5 hours read "1,5 giờ" whatever
    the language of the person printing it (it read "1.5 giờ" from the English interface)."""
    from mooc.courses.models import Course
    from mooc.i18n import LANG_COOKIE

    app, client, _staff, code = passed(org, person)
    with app.app_context():
        db.session.execute(sa.update(Course).values(hours=1.5))
        db.session.commit()
    client.set_cookie(LANG_COOKIE, "en")
    assert "Thời lượng: 1,5 giờ" in pdf_text(client.get(f"/certificates/{code}.pdf"))
