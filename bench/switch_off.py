"""A programme rule switched off for N people: how long it takes and how many statements it sends.

    python bench/switch_off.py --staff 5000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mooc_bench

The database is EMPTIED first (every table dropped), then migrated. A province with three
sections; N people imported (``mooc roster import``); a programme of four courses (step 1 open
for everyone, step 2 for half of them after an imported completion of step 1) required of the
province by a rule. Then, timed on its own, in one process: the rule switched off as an
administrator confirms it (``rules.deactivate_rule``, committed): every open programme cycle
closes with the courses it opened. Printed: the time, the statements the engine ran (and the
rows their executemany carried) and what was closed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_label, drop_everything, make_app  # noqa: E402

PROGRAM = """---
title: "Bồi dưỡng thanh tra viên mới"
code: "CT-MOI"
summary: "Lộ trình."
---

Giới thiệu chương trình.

## Các bước

1. co-ban
2. tiep-dan (sau bước trước)
3. 1 trong: van-ban, giam-sat (sau bước trước)
"""


def course_tree(root: Path) -> Path:
    for key, title, code in [("co-ban", "Nghiệp vụ cơ bản", "CB"), ("tiep-dan", "Tiếp công dân", "TD"),
                             ("van-ban", "Văn bản", "VB"), ("giam-sat", "Giám sát số", "GS")]:
        files = {f"{key}/course.md": f"---\ntitle: {title}\ncode: {code}\nedition: 2026\nsummary: Thử.\n"
                                     "hours: 1\n---\n\nGiới thiệu.\n",
                 f"{key}/01-mot/module.md": "---\ntitle: Một\n---\n",
                 f"{key}/01-mot/01-bai.md": f"---\ntitle: Bài của {title}\nminutes: 5\n---\n\n## A\n\nNội "
                                            "dung.\n"}
        for relative, text in files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
    (root / "_chuong-trinh").mkdir(parents=True, exist_ok=True)
    (root / "_chuong-trinh" / "moi.md").write_text(PROGRAM, encoding="utf-8")
    return root


def prepare(app: Any, tree: Path, folder: Path, staff: int) -> int:
    """The roster, the programme and its rule (applied); returns the rule's id."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from mooc.courses.sync import sync_tree
    from mooc.extensions import db
    from mooc.roster.models import OrgUnit
    from mooc.training import rules
    from mooc.training.assign import RuleDraft
    from mooc.training.models import Program

    with app.app_context():
        drop_everything(db.engine)
        upgrade()
        sync_tree(tree)
        province = OrgUnit(code="NB", name="Thanh tra tỉnh Ninh Bình", kind="province")
        db.session.add(province)
        db.session.flush()
        db.session.add_all([OrgUnit(code=f"NB-{n}", name=f"Phòng {n}", kind="section", parent_id=province.id)
                            for n in (1, 2, 3)])
        db.session.commit()
    roster = folder / "roster.csv"
    roster.write_text("Mã cán bộ;Họ và tên;Email;Đơn vị;Chức vụ\n" + "".join(
        f"{n:06d};Người Thứ {n};nguoi{n}@thanhtra.gov.vn;NB-{n % 3 + 1};Thanh tra viên\n"
        for n in range(1, staff + 1)), encoding="utf-8")
    _cli(app, "roster", "import", str(roster), "--quiet")
    with app.app_context():
        program_id = db.session.scalar(sa.select(Program.id))
        province_id = db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "NB"))
        rule, _report = rules.create_rule(RuleDraft(None, [province_id], due_days=30, program_id=program_id))
        db.session.commit()
        rule_id = rule.id
    history = folder / "history.csv"
    history.write_text("Mã cán bộ;Khóa học;Ngày hoàn thành\n" + "".join(
        f"{n:06d};CB;15/01/2026\n" for n in range(1, staff + 1, 2)), encoding="utf-8")
    _cli(app, "training", "import-history", str(history), "--quiet")
    return rule_id


def _cli(app: Any, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exit_code != 0:
        raise SystemExit(f"{' '.join(args)}: {result.output}{result.exception or ''}")


def switch_off(app: Any, rule_id: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from mooc.extensions import db
    from mooc.training import rules
    from mooc.training.models import AssignmentRule

    seen = {"statements": 0, "rows": 0}

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        seen["statements"] += 1
        seen["rows"] += len(parameters) if executemany and parameters else 1

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            started = time.perf_counter()
            rule = db.session.get_one(AssignmentRule, rule_id)
            report = rules.deactivate_rule(rule)
            db.session.commit()
            seconds = time.perf_counter() - started
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    return {"seconds": seconds, "closed": report.closed, **seen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--staff", type=int, default=5000)
    parser.add_argument("--database-url", required=True, help="a database of its own: it is EMPTIED first")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mooc-bench-switch-off-") as tmp:
        folder = Path(tmp)
        tree = course_tree(folder / "courses")
        app = make_app(options.database_url, folder, COURSES_DIR=str(tree))
        rule_id = prepare(app, tree, folder, options.staff)
        result = switch_off(app, rule_id)
    print(f"{database_label(options.database_url)}, {options.staff:,} people: a programme rule switched off "
          f"in {result['seconds']:.2f} s, {result['statements']:,} statements "
          f"({result['rows']:,} counting each row of an executemany), {result['closed']:,} cycles closed")


if __name__ == "__main__":
    main()
