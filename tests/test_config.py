"""Settings come from MOOC_* variables and are checked before anything starts."""

from __future__ import annotations

import dataclasses
import re

import pytest

from mooc.config import ConfigError, Settings, build_config, build_settings, settings
from tests.conftest import ROOT


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {"MOOC_ENV": "production", "MOOC_INSTANCE_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="MOOC_SECRET_KEY"):
        build_config(environ=env)
    with pytest.raises(ConfigError, match="too short"):
        build_config(environ=env | {"MOOC_SECRET_KEY": "short"})
    config = build_config(environ=env | {"MOOC_SECRET_KEY": "k" * 40})
    assert config["SESSION_COOKIE_SECURE"] is True


def test_defaults_work_on_a_laptop(tmp_path):
    config = build_config(environ={"MOOC_INSTANCE_DIR": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'mooc.sqlite3'}"
    assert config["BABEL_DEFAULT_LOCALE"] == "vi"
    assert build_settings(environ={"MOOC_INSTANCE_DIR": str(tmp_path)}).courses_dir.name == "courses"
    assert config["WTF_CSRF_TIME_LIMIT"] is None  # a long quiz must not lose its token


def test_development_reads_the_secret_file(tmp_path):
    (tmp_path / "secret_key").write_text("from-the-file-" + "z" * 30 + "\n")
    config = build_config(environ={"MOOC_INSTANCE_DIR": str(tmp_path)})
    assert config["SECRET_KEY"] == "from-the-file-" + "z" * 30


def test_settings_are_converted_and_checked(tmp_path):
    env = {"MOOC_INSTANCE_DIR": str(tmp_path)}
    config = build_config(environ=env | {"MOOC_MAX_UPLOAD_MB": "3",
                                         "MOOC_DATABASE_URL": "postgres://u@h/db"})
    assert config["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    with pytest.raises(ConfigError, match="MOOC_MAX_UPLOAD_MB"):
        build_config(environ=env | {"MOOC_MAX_UPLOAD_MB": "lots"})
    with pytest.raises(ConfigError, match="MOOC_DEFAULT_LOCALE"):
        build_config(environ=env | {"MOOC_DEFAULT_LOCALE": "fr"})
    with pytest.raises(ConfigError, match="MOOC_ENV"):
        build_config(environ=env | {"MOOC_ENV": "staging"})


def test_one_frozen_typed_settings_object_per_app(make_app, tmp_path):
    """The settings are built once, typed, frozen, and read by attribute; app.config keeps only
    Flask's keys and its extensions' (no second copy of a setting to drift apart)."""
    app = make_app(BASE_URL="http://127.0.0.1:8080/", REMINDER_DAYS_BEFORE=(3, 21), MAIL_PASSWORD="bí-mật")
    current = settings(app)
    assert isinstance(current, Settings)
    assert current.base_url == "http://127.0.0.1:8080" and current.reminder_days_before == (21, 3)
    assert current.instance_dir == tmp_path and current.testing and not current.production
    with pytest.raises(dataclasses.FrozenInstanceError):
        current.base_url = "http://elsewhere"  # type: ignore[misc]
    assert "bí-mật" not in repr(current) and "test-secret" not in repr(current)
    assert [key for key in app.config if key.startswith("MOOC_")] == []
    assert app.config["SECRET_KEY"] == current.secret_key and app.config["TESTING"] is True
    with app.app_context():
        assert settings() is current


def test_an_override_that_is_not_a_setting_is_refused(tmp_path):
    """A misspelt or prefixed override would otherwise land in app.config, read by nobody."""
    env = {"MOOC_INSTANCE_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="'BASE_URL'"):
        build_settings({"MOOC_BASE_URL": "http://127.0.0.1"}, environ=env)
    assert build_config({"WTF_CSRF_ENABLED": False}, environ=env)["WTF_CSRF_ENABLED"] is False


def test_no_code_reads_a_setting_from_flask_config():
    """Settings are read by attribute (``settings().base_url``), never by a string key."""
    pattern = re.compile(r"""config(\[|\.get\()\s*["']MOOC_""")
    readers = [f"{path.relative_to(ROOT)}:{number}"
               for path in sorted((ROOT / "mooc").rglob("*")) if path.suffix in {".py", ".html", ".txt"}
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if pattern.search(line)]
    assert readers == []


def test_a_read_replica_is_a_postgresql_beside_a_postgresql_primary(tmp_path):
    env = {"MOOC_INSTANCE_DIR": str(tmp_path)}
    assert build_settings(environ=env).database_replica_url == ""  # none by default
    with pytest.raises(ConfigError, match="MOOC_DATABASE_REPLICA_URL"):
        build_settings(environ=env | {"MOOC_DATABASE_REPLICA_URL": "postgresql://u@replica/db"})  # on SQLite
    with pytest.raises(ConfigError, match="MOOC_DATABASE_REPLICA_URL"):
        build_settings(environ=env | {"MOOC_DATABASE_URL": "postgresql://u@h/db",
                                      "MOOC_DATABASE_REPLICA_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}"})
    both = build_settings(environ=env | {"MOOC_DATABASE_URL": "postgresql://u@h/db",
                                         "MOOC_DATABASE_REPLICA_URL": "postgres://u@replica/db"})
    assert both.database_replica_url == "postgresql+psycopg://u@replica/db"
    assert "u@replica" not in repr(both)  # the URL may hold a password


def test_without_a_replica_every_statement_uses_the_one_engine(app, auth, client):
    """No MOOC_DATABASE_REPLICA_URL (the default): no second engine, reports on the primary."""
    from mooc import replica
    from mooc.auth.models import Role

    assert replica.replica_of(app) is None and replica.engines(app) == []
    auth.login(role=Role.REPORTER)
    assert client.get("/reports/").status_code == 200
    assert client.get_cookie(replica.STICKY_COOKIE) is None  # no replica: nothing to stick to
