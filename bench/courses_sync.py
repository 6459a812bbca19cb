"""Benchmark: a cold sync and an unchanged re-sync of generated courses.

    python bench/courses_sync.py [--courses 100] [--database-url URL]

Generates COURSES courses (3 modules x 5 lessons each, realistic Vietnamese Markdown with
tables, callouts, footnotes and links) in a temporary folder, migrates an empty database
(a temporary SQLite file unless --database-url is given: that database is emptied!), and
times: check alone, a cold sync, and an unchanged re-sync. The re-sync must render nothing.
Prints whether the cold sync met issue 20's target: within 4 x check alone.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask_migrate import upgrade

from mooc import create_app
from mooc.courses import render
from mooc.courses.check import check_tree
from mooc.courses.sync import sync_tree
from mooc.extensions import db

WORDS = (  # noqa: SIM905 (a paragraph of words reads better than a list)
    "thanh tra quyết định kết luận đối tượng phạm vi thời kỳ thời hạn báo cáo biên bản kiến nghị xử lý "
    "vi phạm pháp luật khiếu nại tố cáo công dân cơ quan đơn vị dữ liệu hồ sơ chứng cứ minh bạch khách quan "
    "trung thực"
).split()


def paragraph(rng: random.Random, words: int = 60) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def lesson_text(rng: random.Random, title: str, next_link: str | None) -> str:
    parts = [f'---\ntitle: "{title}"\nminutes: {rng.randint(5, 15)}\n---\n', paragraph(rng)]
    for section in range(1, 5):
        parts.append(f"## Mục {section}: {rng.choice(WORDS)} {rng.choice(WORDS)}")
        parts.append(paragraph(rng, 90) + "[^" + str(section) + "]")
        if section == 2:
            parts.append(
                "| Cột A | Cột B |\n|---|---|\n| " + paragraph(rng, 5) + " | " + paragraph(rng, 5) + " |"
            )
        if section == 3:
            parts.append('!!! note "Lưu ý"\n    ' + paragraph(rng, 30))
    if next_link:
        parts.append(f"Đọc tiếp [bài sau]({next_link}).")
    parts += [f"[^{n}]: Điều {n} Luật Thanh tra 2025." for n in range(1, 5)]
    parts.append("*[TTCP]: Thanh tra Chính phủ")
    return "\n\n".join(parts) + "\n"


def generate(root: Path, courses: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    count = 0
    for c in range(courses):
        course = root / f"khoa-{c:03d}"
        course.mkdir(parents=True)
        (course / "course.md").write_text(
            f'---\ntitle: "Khóa học {c}"\ncode: K{c:03d}\nedition: 2026\nsummary: "{paragraph(rng, 15)}"\n'
            f"hours: 4\n---\n\n{paragraph(rng)}\n",
            encoding="utf-8",
        )
        for m in range(1, 4):
            module = course / f"0{m}-chuong-{m}"
            module.mkdir()
            (module / "module.md").write_text(f'---\ntitle: "Chương {m}"\n---\n', encoding="utf-8")
            for lesson in range(1, 6):
                following = f"0{lesson + 1}-bai-{lesson + 1}.md" if lesson < 5 else None
                (module / f"0{lesson}-bai-{lesson}.md").write_text(
                    lesson_text(rng, f"Bài {m}.{lesson}", following), encoding="utf-8"
                )
                count += 1
    return count


COLD_TARGET = 4.0  # issue 20: a cold sync within 4 x `check` alone


def cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the render workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


CPU: dict[str, float] = {}  # the last timed() call's CPU seconds, by label


def timed(function, label: str = ""):
    start, cpu = time.perf_counter(), cpu_seconds()
    value = function()
    CPU[label] = cpu_seconds() - cpu
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--courses", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "courses"
        lessons = generate(root, options.courses)
        url = options.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app(
            {
                "ENV": "testing",
                "DATABASE_URL": url,
                "INSTANCE_DIR": tmp,
                "SECRET_KEY": "b" * 40,
                "COURSES_DIR": str(root),
            }
        )
        with app.app_context():
            metadata = sa.MetaData()
            metadata.reflect(db.engine)
            with db.engine.begin() as connection:
                metadata.drop_all(connection)
                connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
            upgrade()
            # the reference, three times (median): on a busy machine one run of it is noise
            checks, check_cpus = [], []
            for _ in range(3):
                checks.append(timed(lambda: check_tree(root), "check"))
                check_cpus.append(CPU["check"])
            check_seconds, result = sorted(checks, key=lambda pair: pair[0])[1]
            check_cpu = sorted(check_cpus)[1]
            assert not result.errors, result.errors[:3]

            def sync_and_commit():
                report = sync_tree(root)
                db.session.commit()
                return report

            renders_before = render.render_calls
            cold_seconds, cold = timed(sync_and_commit, "cold")
            cold_cpu = CPU["cold"]
            cold_renders = render.render_calls - renders_before
            renders_before = render.render_calls
            warm_seconds, warm = timed(sync_and_commit)
            warm_renders = render.render_calls - renders_before
        database = url.split(":", 1)[0].split("+")[0]
    print(f"{options.courses} courses, {lessons} lessons, database {database}")
    print(f"| check only | {check_seconds:.2f} s | median of 3; CPU {check_cpu:.2f} s (median) |")
    print(
        f"| cold sync (check + render + write) | {cold_seconds:.2f} s | {cold_renders} renders, "
        f"{len(cold.added)} rows added; CPU {cold_cpu:.2f} s (with the workers') |"
    )
    print(
        f"| unchanged re-sync | {warm_seconds:.2f} s | {warm_renders} renders, "
        f"{'no changes' if not warm.has_changes else 'CHANGES'} |"
    )
    print(f"re-sync / check-only ratio: {warm_seconds / check_seconds:.2f}")
    ratio = cold_seconds / check_seconds
    verdict = "met" if ratio <= COLD_TARGET else "MISSED"
    print(f"cold sync / check-only ratio: {ratio:.2f} (target <= {COLD_TARGET:g}: {verdict})")
    print(f"cold sync / check-only CPU ratio: {cold_cpu / check_cpu:.2f}")
    print(f"render workers: {cold.render_workers or 'none (rendered in this process)'}")
    if warm_renders or warm.has_changes:
        sys.exit("FAIL: the unchanged re-sync rendered or changed something")


if __name__ == "__main__":
    main()
