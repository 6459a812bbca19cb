"""Progress bars of the long commands: the real `mooc` on a pseudo-terminal shows them (in the
interface language); --quiet, --format json and output that is not a terminal never do."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.extensions import db
from mooc.roster.models import Staff
from tests.courses.tree import make_tree
from tests.roster.helpers import write_csv

MOOC = str(Path(sys.executable).parent / "mooc")
ROWS = [[f"{n:06d}", f"Nguyễn Văn Số {n}", f"so{n}@example.vn", "HN", "Chuyên viên"] for n in range(1, 301)]


@pytest.fixture
def env(app, make_unit, tmp_path, database_url) -> dict[str, str]:
    """The environment of a real `mooc` run on the tests' database (the app fixture empties it after)."""
    make_unit(code="HN")
    values = {name: value for name, value in os.environ.items() if not name.startswith("MOOC_")}
    values.update({"MOOC_ENV": "testing", "MOOC_DATABASE_URL": database_url,
                   "MOOC_INSTANCE_DIR": str(tmp_path),
                   "MOOC_SECRET_KEY": "k" * 40, "MOOC_COURSES_DIR": str(make_tree(tmp_path / "courses")),
                   "MOOC_DEFAULT_LOCALE": "vi", "TERM": "xterm", "COLUMNS": "100"})
    return values


def on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `mooc ARGS` with standard output and error on a pseudo-terminal: (exit status, all it wrote)."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.execve(MOOC, [MOOC, *args], env)  # noqa: S606 (our own command)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _pid, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode("utf-8", "replace")
    return os.waitstatus_to_exitcode(status), text.replace("\r\n", "\n")


def test_a_roster_import_shows_its_phases_on_a_terminal(app, env, tmp_path):
    path = write_csv(tmp_path / "hr.csv", ROWS)
    code, output = on_terminal(["roster", "import", str(path)], env)
    assert code == 0, output
    for phase in ("Đọc tệp", "Đối chiếu", "Ghi"):
        assert phase in output
    assert "300/300" in output and "4/4" in output  # counts, of the rows and of the writing steps
    assert output.rstrip().endswith("Đã áp dụng.")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 300


def test_json_output_on_a_terminal_has_no_progress(env, tmp_path):
    path = write_csv(tmp_path / "hr.csv", ROWS)
    code, output = on_terminal(["roster", "import", str(path), "--format", "json"], env)
    assert code == 0, output
    assert json.loads(output)["added"] == 300  # nothing but the JSON
    assert "Đọc tệp" not in output


def test_quiet_on_a_terminal_prints_only_the_summary(env, tmp_path):
    path = write_csv(tmp_path / "hr.csv", ROWS)
    code, output = on_terminal(["roster", "import", str(path), "--quiet", "--dry-run"], env)
    assert code == 0, output
    assert "Đọc tệp" not in output and "\r" not in output and "\x1b" not in output
    assert "Thêm mới: 300" in output


def test_output_that_is_not_a_terminal_gets_only_the_summary(env, tmp_path):
    path = write_csv(tmp_path / "hr.csv", ROWS)
    result = subprocess.run([MOOC, "roster", "import", str(path), "--dry-run"],  # noqa: S603
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Đọc tệp" not in result.stdout and "\r" not in result.stdout
    assert "Thêm mới: 300" in result.stdout


@pytest.mark.parametrize(("args", "phases"), [
    (["courses", "sync"], ("Kiểm tra", "Ghi")),
    (["training", "assign"], ("Áp dụng quy tắc",)),
    (["reminders", "send"], ("Gửi thư",)),
    (["search", "reindex"], ("Lập chỉ mục",)),
])
def test_every_long_command_shows_progress_on_a_terminal(env, args, phases):
    code, output = on_terminal(args, env)
    assert code == 0, output
    for phase in phases:
        assert phase in output
