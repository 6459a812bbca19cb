"""What a roster import does to accounts (sign-in addresses, administrators), what the
command's plan reads like, and how long an uploaded HR file is kept."""

from __future__ import annotations

import io
import os
import re
import stat
import time
from datetime import date

import sqlalchemy as sa

from mooc.auth.models import AuditEvent, Role, User
from mooc.config import settings
from mooc.extensions import db
from mooc.roster.models import Staff, StaffStatus
from tests.conftest import csrf_token, login
from tests.roster.files.make_files import BASE_ROWS, BASE_STAFF
from tests.roster.helpers import csv_bytes, write_csv
from tests.roster.test_hostile_files import seed, snapshot

ADMIN_EMAIL = BASE_STAFF[0][2]


def _users(app) -> dict[str, User]:
    with app.app_context():
        users = db.session.execute(sa.select(User)).scalars().all()
        db.session.expunge_all()
    return {user.display_name: user for user in users}


def test_the_sign_in_address_follows_the_roster_email(app, tmp_path):
    seed(app)
    rows = [BASE_ROWS[0], ["000102", "Phạm Thu Hà", "an@example.vn", "HN-P1", ""],
            ["000103", "Nguyễn Văn An", "ha@example.vn", "HCM", ""]]
    result = app.test_cli_runner().invoke(args=["roster", "import", str(write_csv(tmp_path / "a.csv", rows))])
    assert result.exit_code == 0, result.output
    assert "ha@example.vn → an@example.vn" in result.output
    assert _users(app)["Phạm Thu Hà"].email == "an@example.vn"
    with app.app_context():
        event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "account.email_changed")
                                   ).scalar_one()
        assert (event.target, event.details["previous"]) == ("an@example.vn", "ha@example.vn")


def test_an_address_another_account_signs_in_with_is_refused(app, tmp_path):
    seed(app)
    with app.app_context():
        db.session.add(User(email="taken@example.vn", display_name="Khách", role=Role.TRAINEE))
        db.session.commit()
    before = snapshot(app)
    rows = [BASE_ROWS[0], ["000102", "Phạm Thu Hà", "taken@example.vn", "HN-P1", ""], BASE_ROWS[2]]
    path = write_csv(tmp_path / "a.csv", rows)
    dry = app.test_cli_runner().invoke(args=["roster", "import", str(path), "--dry-run"])
    result = app.test_cli_runner().invoke(args=["roster", "import", str(path)])
    assert dry.exit_code == result.exit_code == 1
    assert ("dòng 3, Email: Email taken@example.vn là địa chỉ đăng nhập của một tài khoản khác"
            in result.output)
    assert snapshot(app) == before


def test_a_full_upload_that_disables_the_signed_in_admin_needs_their_name(app, client):
    seed(app)
    login(client, ADMIN_EMAIL)
    form = {"csrf_token": csrf_token(client, "/roster/import"), "full": "y",
            "file": (io.BytesIO(csv_bytes(BASE_ROWS[1:])), "hr.csv")}
    url = client.post("/roster/import", data=form, content_type="multipart/form-data").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "tài khoản của chính bạn" in page and "Sẽ không còn quản trị viên nào" in page
    assert f'name="confirm_admin" value="{ADMIN_EMAIL}"' in page
    before = snapshot(app)
    checksum = url.split("/roster/import/")[1].split("?")[0]
    data = {"csrf_token": csrf_token(client, url), "full": "1", "confirm": "y",
            "fingerprint": re.search(r'name="fingerprint" value="([0-9a-f]+)"', page).group(1),
            **dict(re.findall(r'name="(col_\d+)" value="(\w+)"', page))}
    refused = client.post(f"/roster/import/{checksum}", data=data)
    assert refused.status_code == 200 and ADMIN_EMAIL in refused.get_data(as_text=True)
    assert snapshot(app) == before
    applied = client.post(f"/roster/import/{checksum}", data={**data, "confirm_admin": ADMIN_EMAIL})
    assert applied.status_code == 302
    assert _users(app)["Trần Thị Bích Ngọc"].active is False


def test_the_command_names_the_administrators_it_would_disable(app, tmp_path):
    seed(app)
    path = write_csv(tmp_path / "a.csv", [[*BASE_ROWS[0][:4], "Đã nghỉ"],
                                          *[[*row[:4], ""] for row in BASE_ROWS[1:]]],
                     header=["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Trạng thái"])
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["roster", "import", str(path)])
    assert refused.exit_code == 1 and f"--disable-admin {ADMIN_EMAIL}" in refused.output
    assert _users(app)["Trần Thị Bích Ngọc"].active is True
    done = runner.invoke(args=["roster", "import", str(path), "--disable-admin", ADMIN_EMAIL.upper()])
    assert done.exit_code == 0, done.output
    assert _users(app)["Trần Thị Bích Ngọc"].active is False


def test_the_command_prints_names_labels_and_dates_not_ids(app, tmp_path):
    seed(app)
    header = ["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Chức vụ", "Trạng thái", "Ngày nghỉ"]
    rows = [[*BASE_ROWS[0], "", ""], [*BASE_ROWS[1][:3], "HCM", "Thanh tra viên", "Nghỉ phép", ""],
            [*BASE_ROWS[2], "", "31/12/2199"]]
    result = app.test_cli_runner().invoke(args=["roster", "import", str(write_csv(tmp_path / "a.csv", rows,
                                                                                    header=header))])
    assert result.exit_code == 0, result.output
    assert "Đơn vị: Phòng Nghiệp vụ 1 → Thanh tra Thành phố Hồ Chí Minh" in result.output
    assert "Trạng thái: Đang công tác → Nghỉ phép" in result.output
    assert "Ngày nghỉ: — → 31/12/2199" in result.output
    for internal in ("unit_id", "status:", "None", "on_leave", "->"):
        assert internal not in result.output
    with app.app_context():
        an = db.session.execute(sa.select(Staff).where(Staff.staff_code == "000103")).scalar_one()
        assert (an.status, an.left_on) == (StaffStatus.ACTIVE, date(2199, 12, 31))  # leaves on that day


def test_uploaded_files_are_private_and_kept_only_until_applied_or_a_day(app, client):
    seed(app)
    login(client, ADMIN_EMAIL)

    def upload(data: bytes) -> str:
        form = {"csrf_token": csrf_token(client, "/roster/import"), "file": (io.BytesIO(data), "hr.csv")}
        response = client.post("/roster/import", data=form, content_type="multipart/form-data")
        return response.headers["Location"]

    url = upload(csv_bytes(BASE_ROWS))
    folder = settings(app).instance_dir / "imports"
    (stored,) = list(folder.iterdir())
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert client.get(url).status_code == 200
    old = time.time() - 25 * 3600
    os.utime(stored, (old, old))
    assert client.get(url).status_code == 404 and not stored.exists()  # abandoned a day ago: gone
    upload(csv_bytes(BASE_ROWS))
    os.utime(stored, (old, old))
    upload(csv_bytes(BASE_ROWS[:1]))  # any upload sweeps files older than a day
    assert not stored.exists() and len(list(folder.iterdir())) == 1
