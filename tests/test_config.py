"""Settings come from MOOC_* variables and are checked before anything starts."""

from __future__ import annotations

import pytest

from mooc.config import ConfigError, build_config


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
    assert config["MOOC_COURSES_DIR"].name == "courses"
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
