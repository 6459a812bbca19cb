"""The `mooc` command: help in plain words, migrations, demo data, the first administrator."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from mooc import demo
from mooc.auth import demo_accounts
from mooc.auth.models import Role, User
from mooc.cli import main
from mooc.extensions import db
from tests.conftest import login


def test_every_command_has_help():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    for command in ("demo", "serve", "db", "users"):
        assert command in top.output
    for args in (["demo", "--help"], ["serve", "--help"], ["users", "create-admin", "--help"],
                 ["db", "upgrade", "--help"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert len(result.output) > 100
    assert "--port" in runner.invoke(main, ["demo", "--help"]).output


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path, monkeypatch):
    instance = tmp_path / "fresh" / "instance"
    monkeypatch.setenv("MOOC_INSTANCE_DIR", str(instance))
    monkeypatch.delenv("MOOC_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(f"sqlite:///{instance / 'mooc.sqlite3'}")
    with engine.connect() as connection:
        assert "users" in sa.inspect(connection).get_table_names()
    engine.dispose()


def test_create_admin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-admin", "--email", "Chief@Example.vn",
                                 "--name", "Trần  Văn   Chánh", "--password", "mot-mat-khau-dai"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.email == "chief@example.vn")).scalar_one()
        assert user.role == Role.ADMIN and user.display_name == "Trần Văn Chánh"
    refused = runner.invoke(args=["users", "create-admin", "--email", "b@example.vn",
                                  "--name", "B", "--password", "short"])
    assert refused.exit_code != 0 and "at least 10" in refused.output


def test_demo_data_loads_once_and_its_logins_work(app):
    with app.app_context():
        first = demo.load_demo()
        db.session.commit()
        second = demo.load_demo()
        db.session.commit()
        assert first.created["users"] == len(demo_accounts.ACCOUNTS)
        assert second.created == {}
        roles = dict(db.session.execute(sa.select(User.email, User.role)).all())
    assert {roles[email] for email, *_ in demo_accounts.ACCOUNTS} == set(Role)
    text = demo.describe(first, "http://127.0.0.1:5000")
    assert demo_accounts.DEMO_PASSWORD in text and "quantri@example.vn" in text
    for email, *_ in demo_accounts.ACCOUNTS:
        client = app.test_client()
        assert login(client, email, demo_accounts.DEMO_PASSWORD).status_code == 302, email
        assert client.get("/").status_code == 200


def test_the_demo_requires_the_shipped_programme_and_its_trainee_sees_the_path(app):
    with app.app_context():
        demo.load_demo()
        db.session.commit()
    client = app.test_client()
    login(client, "hocvien@example.vn", demo_accounts.DEMO_PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert "Chương trình của tôi" in home and "Bồi dưỡng nghiệp vụ thanh tra viên mới" in home
    path = client.get("/programs/thanh-tra-vien-moi").get_data(as_text=True)
    assert "Đã xong 2/3 bước bắt buộc" in path and "Bước hiện tại" in path
