"""A page's CPU time per request, in-process (the test client), with its SQL statements.

    python bench/page_cpu.py --database-url URL --manifest M [--path /reports/] [--as reporter]

On a machine shared with other work, wall times measure the neighbours; the process's CPU
time (``time.process_time``) much less so. The page is requested 3 x ``--requests`` times
(best of 3 reported), then once more with each SQL statement's time printed (execute only:
SQLite reads most rows at fetch). On SQLite the CPU includes running the SQL; on
PostgreSQL it does not (the server's CPU is its own).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import make_app, signed_in_client


def main() -> None:
    import sqlalchemy as sa

    from mooc.extensions import db

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--manifest", required=True, help="from bench/generate.py --manifest")
    parser.add_argument("--path", default="/reports/")
    parser.add_argument("--as", dest="who", default="manager", choices=["manager", "reporter", "trainee"])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--instance-dir", default=None)
    args = parser.parse_args()
    manifest = json.loads(Path(args.manifest).read_text())
    with __import__("tempfile").TemporaryDirectory() as tmp:
        app = make_app(args.database_url, Path(args.instance_dir or tmp), SESSION_COOKIE_SECURE=False)
        client = signed_in_client(app, manifest[args.who]["email"])
        for _ in range(3):  # warm
            assert client.get(args.path).status_code == 200
        try:  # as `mooc serve`'s workers do once warm (mooc/serving.py)
            from mooc.serving import freeze_heap
        except ImportError:  # the code before it, measured from `git archive`
            pass
        else:
            freeze_heap()
        runs = []
        for _ in range(3):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.requests):
                client.get(args.path)
            n = args.requests
            runs.append(((time.perf_counter() - wall) / n, (time.process_time() - cpu) / n))
        load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
        best_wall, best_cpu = min(r[0] for r in runs) * 1000, min(r[1] for r in runs) * 1000
        print(f"{args.path} as {args.who}: CPU {best_cpu:.1f} ms, wall {best_wall:.1f} ms per request "
              f"(best of 3 x {args.requests}); load {load}")
        log: list[tuple[float, str]] = []

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["page_cpu_start"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            log.append((time.perf_counter() - conn.info.pop("page_cpu_start"), statement))

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        sa.event.listen(engine, "after_cursor_execute", after)
        client.get(args.path)
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
        print(f"{len(log)} SQL statements:")
        for seconds, statement in log:
            print(f"  {seconds * 1000:7.2f} ms  {' '.join(statement.split())[:150]}")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
