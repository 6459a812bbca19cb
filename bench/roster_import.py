"""Benchmark: import a generated roster of N people (default 100,000) through the real
command, `mooc roster import`: dry run, apply, then an unchanged re-import.

Each step runs in its own process, so its wall time and peak memory (max RSS) are its
own. A 10-row import is measured the same way as the reference for the memory the app
needs anyway. Every name is generated from invented parts.

    python bench/roster_import.py                       # SQLite in a temporary folder
    python bench/roster_import.py --people 100000 --database-url postgresql+psycopg://postgres@127.0.0.1/mooc_bench

The PostgreSQL database is emptied first (every table dropped): give it one of its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MOOC = [sys.executable, "-c", "from mooc.cli import main; main()"]

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
          "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Thành", "Minh", "Ngọc", "Thu", "Xuân", "Quốc", "Thanh", "Hoàng"]
GIVEN = ["An", "Anh", "Ánh", "Bình", "Châu", "Cường", "Dũng", "Duy", "Đức", "Giang", "Hà", "Hải", "Hạnh",
         "Hòa", "Hùng", "Hương", "Khoa", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngọc", "Phúc",
         "Phương", "Quân", "Quỳnh", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vân", "Việt", "Yến"]
POSITIONS = ["Chánh Thanh tra", "Phó Chánh Thanh tra", "Trưởng phòng", "Phó Trưởng phòng",
             "Thanh tra viên cao cấp", "Thanh tra viên chính", "Thanh tra viên", "Chuyên viên"]


def generate(folder: Path, people: int) -> tuple[Path, Path, Path]:
    rng = random.Random(2025)
    units = folder / "units.csv"
    codes = []
    with units.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên"])
        writer.writerow(["TTCP", "Thanh tra Chính phủ", ""])
        for p in range(1, 35):
            writer.writerow([f"T{p:02d}", f"Thanh tra tỉnh số {p}", ""])
            for s in range(1, 11):
                writer.writerow([f"T{p:02d}-P{s:02d}", f"Phòng Nghiệp vụ {s}", f"T{p:02d}"])
                codes.append(f"T{p:02d}-P{s:02d}")

    def rows(n: int):
        for i in range(n):
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            yield [f"{i:07d}", name, f"cb{i:07d}@example.vn", rng.choice(codes), rng.choice(POSITIONS),
                   "Đang công tác"]

    header = ["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Chức vụ", "Trạng thái"]
    roster = folder / "roster.csv"
    with roster.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows(people))
    small = folder / "small.csv"
    with small.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows(10))
    return units, roster, small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mooc-bench-roster-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "MOOC_INSTANCE_DIR": str(folder), "MOOC_ENV": "development",
               "MOOC_SECRET_KEY": "bench-" + "x" * 40}
        if options.database_url:
            env["MOOC_DATABASE_URL"] = options.database_url
            _drop_everything(options.database_url)
        else:
            env.pop("MOOC_DATABASE_URL", None)
        units, roster, small = generate(folder, options.people)
        run(["db", "upgrade"], env)
        run(["roster", "units", str(units)], env)
        size = roster.stat().st_size / 1e6
        # Each step in a fresh process: measure the reference first (its peak is the floor).
        results = []
        for label, args in [
            ("reference: dry run of 10 rows",
             ["roster", "import", str(small), "--dry-run", "--format", "json"]),
            ("dry run (plan only)", ["roster", "import", str(roster), "--dry-run", "--format", "json"]),
            ("apply (plan + write)", ["roster", "import", str(roster), "--format", "json"]),
            ("unchanged re-import", ["roster", "import", str(roster), "--format", "json"]),
        ]:
            seconds, peak, out = run(args, env)
            plan = json.loads(out)
            results.append((label, seconds, peak, plan))
        database = "PostgreSQL" if options.database_url else "SQLite"
        print(f"{options.people:,} people, {size:.1f} MB CSV, {database}")
        print(f"{'step':32} {'seconds':>8} {'peak RSS MB':>12}  plan")
        for label, seconds, peak, plan in results:
            summary = {k: plan[k] for k in ("added", "changed", "unchanged") if k in plan}
            print(f"{label:32} {seconds:8.2f} {peak:12.0f}  {summary} errors={len(plan['errors'])}")
        assert results[2][3]["added"] == options.people, "apply did not add everyone"
        assert results[3][3]["unchanged"] == options.people, "re-import was not a no-op"
        total = sum(seconds for _label, seconds, _peak, _plan in results[1:])
        print(f"whole cycle (dry run + apply + re-import): {total:.1f} s")


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one `mooc` command in a process of its own."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([*MOOC, *args], env=env, stdout=out, stderr=err, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)  # this process's own peak, not the maximum so far
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            detail = err.read().decode()[-3000:]
            raise SystemExit(f"{' '.join(args)} failed ({process.returncode}):\n{detail}")
        return elapsed, usage.ru_maxrss / 1024, out.read().decode()


def _drop_everything(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        metadata.drop_all(connection)
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


if __name__ == "__main__":
    main()
