"""A worker killed in the middle of a roster import or a course sync leaves the database as it
was: the whole import or sync, or nothing of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.courses.models import Course, Lesson
from mooc.extensions import db
from mooc.roster.models import Staff
from tests.courses.tree import lesson, write

ROOT = Path(__file__).resolve().parent.parent
MOOC = [sys.executable, "-c", "from mooc.cli import main; main()"]


def _env(database_url: str, tmp_path: Path, courses: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, MOOC_DATABASE_URL=database_url, MOOC_INSTANCE_DIR=str(tmp_path),
               MOOC_SECRET_KEY="k" * 40, MOOC_ENV="development", PYTHONPATH=str(ROOT))
    if courses is not None:
        env["MOOC_COURSES_DIR"] = str(courses)
    return env


def _kill_after(command: list[str], env: dict[str, str], delay: float) -> int | None:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: S603
                               start_new_session=True)
    try:
        process.wait(timeout=delay)
        return process.returncode  # finished before the kill
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None


@pytest.mark.parametrize("delay", [2.5, 4.0])
def test_killed_roster_import_is_all_or_nothing(app, make_unit, database_url, tmp_path, delay):
    make_unit("Thanh tra tỉnh Ninh Bình", code="NB")
    people = 20_000
    source = tmp_path / "ds.csv"
    with source.open("w", encoding="utf-8") as handle:
        handle.write("Mã cán bộ;Họ và tên;Đơn vị;Chức vụ\n")
        for n in range(people):
            handle.write(f"{n:07d};Nguyễn Văn Số {n};NB;Thanh tra viên\n")
    finished = _kill_after([*MOOC, "roster", "import", str(source)], _env(database_url, tmp_path), delay)
    with app.app_context():
        db.session.remove()
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Staff))
    assert count in (0, people), f"a partial import was left behind: {count} of {people}"
    if finished is None:
        print(f"killed after {delay}s: {count} rows")


@pytest.mark.parametrize("delay", [2.5, 3.5])
def test_killed_course_sync_is_all_or_nothing(app, database_url, tmp_path, delay):
    courses = tmp_path / "courses"
    for c in range(40):
        write(courses, f"k{c:02d}/course.md", f"---\ntitle: Khóa {c}\ncode: K{c}\nedition: 2026\n"
              "summary: S\nhours: 1\n---\n\nGiới thiệu.\n")
        write(courses, f"k{c:02d}/01-mot/module.md", "---\ntitle: Một\n---\n")
        for n in range(1, 11):
            write(courses, f"k{c:02d}/01-mot/{n:02d}-bai-{n}.md",
                  lesson(f"Bài {n}", "## A\n\n" + "| a | b |\n|---|---|\n| Nội dung | bài học |\n\n" * 150))
    finished = _kill_after([*MOOC, "courses", "sync"], _env(database_url, tmp_path, courses), delay)
    with app.app_context():
        db.session.remove()
        counts = (db.session.scalar(sa.select(sa.func.count()).select_from(Course)),
                  db.session.scalar(sa.select(sa.func.count()).select_from(Lesson)))
    assert counts in ((0, 0), (40, 40 * 10)), counts
    assert finished in (None, 0)
    if finished is None:
        print(f"killed after {delay}s: {counts}")
