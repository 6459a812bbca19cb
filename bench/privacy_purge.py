"""The retention purge at scale: a reorganisation's thousands of leavers over a ministry's audit
trail (docs/performance.md, "Privacy purge at scale").

    python bench/generate.py --staff 10000 --courses 2 --database-url URL
    python bench/privacy_purge.py --database-url URL --events 1000000 --leavers 5000 [--people 50]

Replaces the audit trail of a bench/generate.py dataset with ``--events`` events
(bench/audit_log.py's mix, its fixed seed; ``--keep-events``: the ones there), then marks
``--leavers`` people drawn with a fixed seed as having left on 30 June 2015 (past the default
five years), and runs ``retention.purge`` in-process as `mooc privacy purge` does, counting
the statements sent to the database, and rolls it back (the data stays as it was for the next
run). ``--people N``: only the first N of them are purged (the per-person code of session 13
would take hours over all of them: its time per person is measured and multiplied).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.audit_log import fill
from bench.common import database_label, make_app

LEFT_ON = date(2015, 6, 30)


def mark_leavers(app: Any, leavers: int, seed: int) -> int:
    """``leavers`` people of the roster (a fixed draw), and nobody else, have left on LEFT_ON."""
    import sqlalchemy as sa

    from mooc.extensions import db
    from mooc.roster.models import Staff, StaffStatus

    with app.app_context():
        ids = list(db.session.scalars(sa.select(Staff.id).order_by(Staff.id)))
        chosen = sorted(random.Random(seed).sample(ids, min(leavers, len(ids))))
        db.session.execute(sa.update(Staff).where(Staff.status == StaffStatus.LEFT)
                           .values(status=StaffStatus.ACTIVE, left_on=None))
        for start in range(0, len(chosen), 1000):
            db.session.execute(sa.update(Staff).where(Staff.id.in_(chosen[start:start + 1000]))
                               .values(status=StaffStatus.LEFT, left_on=LEFT_ON))
        db.session.commit()
    return len(chosen)


def run_purge(app: Any, people: int | None) -> tuple[float, int, int]:
    """(seconds, statements, people) of one purge, rolled back."""
    import sqlalchemy as sa

    from mooc.config import settings
    from mooc.extensions import db
    from mooc.privacy import retention

    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    with app.app_context():
        engine = db.engine
        due = retention.due
        if people is not None:
            retention.due = lambda today, days: due(today, days)[:people]  # type: ignore[assignment]
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            started = time.perf_counter()
            report = retention.purge(settings())
            seconds = time.perf_counter() - started
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
            retention.due = due  # type: ignore[assignment]
            db.session.rollback()
            db.session.remove()
    return seconds, statements, len(report.people)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a dataset of bench/generate.py")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep-events", action="store_true", help="keep the audit events already there")
    parser.add_argument("--leavers", type=int, default=5000)
    parser.add_argument("--people", type=int, default=None, help="purge only the first N leavers")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mooc-bench-purge-") as tmp:
        app = make_app(options.database_url, Path(tmp))
        label = database_label(options.database_url)
        if not options.keep_events:
            fill(app, options.events, options.seed, 0.005, print)
        marked = mark_leavers(app, options.leavers, options.seed)
        print(f"{label}: {marked:,} leavers marked")
        for _ in range(options.repeat):
            seconds, statements, people = run_purge(app, options.people)
            per = seconds / people if people else 0.0
            print(f"{label}: purged {people:,} people in {seconds:.1f} s ({per * 1000:.0f} ms a person), "
                  f"{statements:,} statements ({statements / max(people, 1):.1f} a person); rolled back")


if __name__ == "__main__":
    main()
