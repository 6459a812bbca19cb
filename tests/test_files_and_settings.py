"""Issue 16, files and settings: defusedxml is a declared dependency that really guards the XLSX
reader; `mooc serve` says loudly when it runs with development defaults, and the file mailer
refuses to write live links for a site that is not on loopback; /verify never echoes what was
typed."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import openpyxl
import pytest

from mooc.config import ConfigError, build_config, build_settings
from mooc.courses.render import html_to_text
from mooc.roster import reader

ROOT = Path(__file__).resolve().parent.parent
MOOC = [sys.executable, "-c", "from mooc.cli import main; main()"]


# --- defusedxml ---------------------------------------------------------------------------------


def _xlsx_with_entities() -> bytes:
    """A roster XLSX whose sheet declares XML entities (an expansion bomb, in small)."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["Họ và tên", "Mã cán bộ"])
    workbook.active.append(["Nguyễn Văn An", "001"])
    plain = io.BytesIO()
    workbook.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w") as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                assert "<t>Nguyễn Văn An</t>" in text
                text = ('<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                        + text.replace("<t>Nguyễn Văn An</t>", "<t>&b;</t>"))
                data = text.encode()
            archive.writestr(info, data)
    return bomb.getvalue()


def test_defusedxml_is_declared_and_guards_the_xlsx_reader():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.split(">")[0].split("=")[0].strip().lower() == "defusedxml"
               for dep in project["dependencies"]), "declare defusedxml: openpyxl relies on it"
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML  # openpyxl found it and uses it
    with pytest.raises(reader.FileRefused) as refused:
        list(reader.open_sheet(_xlsx_with_entities()).rows())
    assert refused.value.code == "not_a_table"  # refused, never expanded


# --- the file mailer and the development warning ------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://localhost:8000", "http://[::1]:5000",
                                 "http://127.0.0.2"])
def test_the_file_mailer_is_fine_on_loopback(tmp_path, url):
    config = build_settings(environ={"MOOC_INSTANCE_DIR": str(tmp_path), "MOOC_BASE_URL": url})
    assert config.mail_backend == "file"


@pytest.mark.parametrize("url", ["https://daotao.thanhtra.gov.vn", "http://10.0.0.5:5000",
                                 "http://0.0.0.0:5000", "http://localhost.example.vn"])
def test_the_file_mailer_refuses_a_site_others_can_reach(tmp_path, url):
    env = {"MOOC_INSTANCE_DIR": str(tmp_path), "MOOC_BASE_URL": url}
    with pytest.raises(ConfigError, match="MOOC_ALLOW_FILE_MAIL=true") as refused:
        build_config(environ=env)
    assert "MOOC_MAIL_BACKEND=smtp" in str(refused.value) and str(tmp_path / "outbox") in str(refused.value)
    # Told otherwise, explicitly; or sending for real.
    assert build_settings(environ=env | {"MOOC_ALLOW_FILE_MAIL": "true"}).mail_backend == "file"
    assert build_settings(environ=env | {"MOOC_MAIL_BACKEND": "smtp"}).mail_backend == "smtp"
    # Production defaults to smtp; the file mailer there is refused the same way.
    production = env | {"MOOC_ENV": "production", "MOOC_SECRET_KEY": "k" * 40}
    assert build_settings(environ=production).mail_backend == "smtp"
    with pytest.raises(ConfigError, match="not a loopback address"):
        build_config(environ=production | {"MOOC_MAIL_BACKEND": "file"})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_output(env: dict[str, str], port: int) -> str:
    """Start `mooc serve`, wait until it answers, stop it; everything it printed."""
    process = subprocess.Popen([*MOOC, "serve", "--port", str(port), "--workers", "1", "--threads", "1"],  # noqa: S603
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    return output


def _env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOC_")}
    return env | {"MOOC_DATABASE_URL": database_url, "MOOC_INSTANCE_DIR": str(tmp_path),
                  "PYTHONPATH": str(ROOT)} | extra


def test_mooc_serve_refuses_the_file_mailer_for_a_public_address(database_url, tmp_path):
    output = _serve_output(_env(database_url, tmp_path, MOOC_BASE_URL="https://daotao.thanhtra.gov.vn"),
                           _free_port())
    assert "not a loopback address" in output and "MOOC_ALLOW_FILE_MAIL=true" in output
    assert "Serving on" not in output


@pytest.mark.slow
def test_mooc_serve_warns_loudly_with_development_defaults(database_url, tmp_path):
    output = _serve_output(_env(database_url, tmp_path), _free_port())
    assert "Serving on" in output, output
    warning = output.split("Serving on")[0]
    assert "WARNING: MOOC_ENV is development, not production" in warning
    assert "not marked Secure" in warning
    assert f"written, with working sign-in and reset links, into {tmp_path / 'outbox'}" in warning


@pytest.mark.slow
def test_mooc_serve_in_production_says_nothing_of_the_kind(database_url, tmp_path):
    output = _serve_output(_env(database_url, tmp_path, MOOC_ENV="production", MOOC_SECRET_KEY="k" * 40),
                           _free_port())
    assert "Serving on" in output, output
    assert "WARNING" not in output


# --- /verify -----------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["DOAN-THANH-TRA-DA-XAC-NHAN", "<b>HOP-LE<i>", "CHỨNG NHẬN HỢP LỆ"])
def test_verify_never_echoes_what_was_typed(client, typed):
    page = client.get(f"/verify/{typed}")
    assert page.status_code == 404
    text = html_to_text(page.get_data(as_text=True))  # what a person reads (the language form's
    assert "Không có chứng nhận nào mang số này." in text  # return address is not shown)
    for shown in (typed, typed.upper(), typed[:20], typed.upper()[:20], "HOP-LE", "DA-XAC-NHAN"):
        assert shown not in text, shown
