"""Reports benchmark: the ministry dashboard, a province drill-down, compliance on a date for the
whole ministry and XLSX exports, next to the raw SQL alone.

    python bench/reports.py --database-url URL --manifest instance/bench-manifest.json [--repeat 5]

Measured in-process on a dataset from bench/generate.py, signed in as the ministry reporter
(who sees every unit): ``mooc.reports.queries.rollup()`` alone, the dashboard page and a
province's page (GET through the app, templates and all), the XLSX exports of the dashboard
and, as the export view makes them (streamed: ``queries.people_query`` counted by
``count_rows``, its rows read by ``person_rows`` and written by ``exports.xlsx_chunks`` or
``csv_chunks``, every chunk taken), of a province's list of people and of the whole ministry's
(when it is within the export ceiling), next to the ``people()`` query alone (the same rows,
read into a list). Aim (issue 20): each export <= 3 x its query; the peak memory of writing
the province's XLSX (tracemalloc, a pass of its own, not timed) is printed with the results.
Reference: the dashboard's main aggregate (``queries.obligations_by_unit``: obligations of people
who have not left, counted by status person by person, then by unit) compiled to SQL and run
directly on the driver.
Compliance on a date for the ministry root (every unit, as the reporter sees it): ``compliance()``
and its page (``/reports/compliance?unit=all``), next to its statement
(``queries.compliance_query``) run raw on the driver.
Aim (reports issue, issue 15): the dashboard and compliance within 2x of their raw SQL and under a second.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, database_label, fmt_s, make_app, print_results, signed_in_client
from bench.serving import profile_page

DASHBOARD_RATIO_TARGET = 2.0
DASHBOARD_SECONDS_TARGET = 1.0
EXPORT_RATIO_TARGET = 3.0  # issue 20: an export of a list of people within 3 x its query


def _median(function: Any, repeat: int, before: Any = None) -> tuple[float, Any]:
    if before is not None:
        before()
    function()  # warm: the first call pays for compiling queries and templates
    times, value = [], None
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def raw_aggregate_sql(today: Any) -> str:
    """The dashboard's main aggregate (obligations by unit and status), as the SQL text it runs
    (literal values)."""
    from mooc.extensions import db
    from mooc.reports import queries

    stmt = queries.obligations_by_unit(queries.Filters(), today, None)
    return str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))


def raw_compliance_sql(today: Any) -> list[str]:
    """Compliance on ``today`` for the whole ministry: its statement as SQL text (literal values)."""
    from mooc.extensions import db
    from mooc.reports import queries

    statements = [queries.compliance_by_unit_query(None, today), queries.compliance_query(None, today, 500)]
    return [str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
            for stmt in statements]


def bench_reports(
    database_url: str,
    manifest: dict[str, Any],
    instance_dir: Path,
    size: str,
    *,
    repeat: int = 5,
    profile_missed: bool = True,
    log: Any = print,
    command: str = "",
) -> list[Result]:
    import sqlalchemy as sa

    from mooc import clock
    from mooc.auth.models import User
    from mooc.extensions import db
    from mooc.reports import exports, queries
    from mooc.reports.tables import people_table
    from mooc.reports.views import EXPORT_MAX_ROWS

    database = database_label(database_url)
    app = make_app(database_url, instance_dir, SESSION_COOKIE_SECURE=False)
    today = clock.today()
    province = manifest["province_id"]
    results: list[Result] = []
    # A GET request's context: its transactions begin as readers (BEGIN, not BEGIN IMMEDIATE), as a page's do.
    with app.test_request_context("/reports/"):
        reporter = db.session.scalar(sa.select(User).where(User.email == manifest["reporter"]["email"]))
        sql = raw_aggregate_sql(today)

        def raw() -> list:
            with db.engine.connect() as connection:
                return connection.exec_driver_sql(sql).fetchall()

        raw_seconds, raw_rows = _median(raw, repeat)
        rollup_seconds, rollup = _median(
            lambda: (queries.rollup(reporter, None, queries.Filters(), today), db.session.rollback())[0],
            repeat,
        )
        drill_seconds, _drill = _median(
            lambda: (queries.rollup(reporter, province, queries.Filters(), today), db.session.rollback())[0],
            repeat,
        )

        def people_export(unit: int | None, kind: str = "xlsx") -> Any:
            """What the export view does with a list of people: count it (the ceiling), then
            stream the file from the cursor, every chunk taken (and dropped, as sent)."""

            def run() -> tuple[int, int]:
                stmt = queries.people_query(reporter, unit, queries.Filters(), today, limit=None)
                count = queries.count_rows(stmt, EXPORT_MAX_ROWS + 1)
                headers, table = people_table(queries.person_rows(stmt, today))
                tables = [exports.Table("Bench", headers, table)]
                chunks = (exports.xlsx_chunks("Bench", tables, "stamp") if kind == "xlsx"
                          else exports.csv_chunks("Bench", tables, "stamp"))
                size = sum(len(chunk) for chunk in chunks)
                db.session.rollback()
                return count, size

            return run

        def people_query(unit: int | None) -> Any:
            return lambda: (
                queries.people(reporter, unit, queries.Filters(), today, limit=None),
                db.session.rollback(),
            )[0]

        def peak_memory(function: Any) -> int:
            tracemalloc.start()
            try:
                function()
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        compliance_sql = raw_compliance_sql(today)

        def raw_compliance() -> int:
            with db.engine.connect() as connection:
                return sum(len(connection.exec_driver_sql(sql).fetchall()) for sql in compliance_sql)

        raw_compliance_seconds, _rows = _median(raw_compliance, repeat)
        compliance_seconds, compliance = _median(
            lambda: (queries.compliance(reporter, None, today), db.session.rollback())[0], repeat
        )
        people_seconds, (people_rows, _bytes) = _median(people_export(province), repeat)
        people_csv_seconds, _counted = _median(people_export(province, "csv"), repeat)
        people_query_seconds, _rows = _median(people_query(province), repeat)
        ministry_rows = queries.count_rows(
            queries.people_query(reporter, None, queries.Filters(), today, limit=None), EXPORT_MAX_ROWS + 1)
        ministry: tuple[float, float] | None = None
        if ministry_rows <= EXPORT_MAX_ROWS:
            ministry_seconds, _counted = _median(people_export(None), 1)
            ministry_query_seconds, _rows = _median(people_query(None), 1)
            ministry = (ministry_seconds, ministry_query_seconds)
        province_peak = peak_memory(people_export(province))
        query_peak = peak_memory(people_query(province))
        db.session.rollback()
        db.session.remove()
    log(
        f"    raw SQL {fmt_s(raw_seconds)} ({len(raw_rows)} rows), rollup {fmt_s(rollup_seconds)}, "
        f"drill-down {fmt_s(drill_seconds)}, people xlsx {fmt_s(people_seconds)} ({people_rows} rows), "
        f"compliance raw SQL {fmt_s(raw_compliance_seconds)}, compliance() {fmt_s(compliance_seconds)} "
        f"({compliance.compliant:,}/{compliance.people:,} compliant); peak memory (tracemalloc) of the "
        f"province's XLSX export {province_peak / 2**20:.1f} MB, "
        f"of its people() query {query_peak / 2**20:.1f} MB"
    )

    client = signed_in_client(app, manifest["reporter"]["email"], manifest["password"])

    def page(path: str) -> Any:
        def fetch() -> int:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return len(response.data)

        return fetch

    dashboard_seconds, _ = _median(page("/reports/"), repeat)
    province_seconds, _ = _median(page(f"/reports/units/{province}"), repeat)
    compliance_path = f"/reports/compliance?unit=all&date={today.isoformat()}"
    compliance_page_seconds, _ = _median(page(compliance_path), repeat)
    # Each export right after another page, as a person would click.
    export_seconds, _ = _median(page("/reports/?export=xlsx"), repeat, before=page("/"))
    with app.app_context():
        db.engine.dispose()

    reference = f"raw aggregate SQL {fmt_s(raw_seconds)}"
    target = f"≤ {DASHBOARD_RATIO_TARGET:.0f} x raw SQL and < {DASHBOARD_SECONDS_TARGET:.0f} s"

    def row(
        what: str, seconds: float, ref: float, ref_text: str, target_text: str, met: bool | None
    ) -> Result:
        return Result(
            "reports",
            what,
            size,
            database,
            fmt_s(seconds),
            ref_text,
            f"{seconds / ref:.1f}",
            target_text,
            met,
            command,
        )

    def dashboard_met(seconds: float) -> bool:
        return seconds <= DASHBOARD_RATIO_TARGET * raw_seconds and seconds < DASHBOARD_SECONDS_TARGET

    def compliance_met(seconds: float) -> bool:
        return (
            seconds <= DASHBOARD_RATIO_TARGET * raw_compliance_seconds and seconds < DASHBOARD_SECONDS_TARGET
        )

    compliance_reference = f"its raw SQL {fmt_s(raw_compliance_seconds)}"
    export_target = f"≤ {EXPORT_RATIO_TARGET:.0f} x its query"
    unit_name = manifest["manager"]["unit"]
    results += [
        row(
            "ministry dashboard page (GET /reports/, reporter)",
            dashboard_seconds,
            raw_seconds,
            reference,
            target,
            dashboard_met(dashboard_seconds),
        ),
        row(
            "ministry rollup() alone (the page's queries)",
            rollup_seconds,
            raw_seconds,
            reference,
            target,
            dashboard_met(rollup_seconds),
        ),
        row(
            f"province drill-down page ({unit_name})",
            province_seconds,
            raw_seconds,
            reference,
            f"< {DASHBOARD_SECONDS_TARGET:.0f} s",
            province_seconds < DASHBOARD_SECONDS_TARGET,
        ),
        row(
            f"compliance on a date, whole ministry ({compliance.people:,} people): page",
            compliance_page_seconds,
            raw_compliance_seconds,
            compliance_reference,
            target,
            compliance_met(compliance_page_seconds),
        ),
        row(
            "compliance on a date, whole ministry: compliance() alone",
            compliance_seconds,
            raw_compliance_seconds,
            compliance_reference,
            target,
            compliance_met(compliance_seconds),
        ),
        row(
            "XLSX export of the ministry dashboard",
            export_seconds,
            dashboard_seconds,
            f"dashboard page {fmt_s(dashboard_seconds)}",
            "—",
            None,
        ),
        row(
            f"XLSX export of {unit_name}'s people ({people_rows:,} rows)",
            people_seconds,
            people_query_seconds,
            f"people() query alone {fmt_s(people_query_seconds)}",
            export_target,
            people_seconds <= EXPORT_RATIO_TARGET * people_query_seconds,
        ),
        row(
            f"CSV export of {unit_name}'s people ({people_rows:,} rows)",
            people_csv_seconds,
            people_query_seconds,
            f"people() query alone {fmt_s(people_query_seconds)}",
            export_target,
            people_csv_seconds <= EXPORT_RATIO_TARGET * people_query_seconds,
        ),
    ]
    if ministry is not None:
        results.append(row(
            f"XLSX export of the whole ministry's people ({ministry_rows:,} rows)",
            ministry[0],
            ministry[1],
            f"people() query alone {fmt_s(ministry[1])}",
            export_target,
            ministry[0] <= EXPORT_RATIO_TARGET * ministry[1],
        ))
    results[-1 if ministry is None else -2].notes.append(
        f"peak memory (tracemalloc): the province's XLSX export {province_peak / 2**20:.1f} MB, "
        f"its people() query alone {query_peak / 2**20:.1f} MB")
    if profile_missed:
        for result, path, statements in (
            (results[0], "/reports/", [sql]),
            (results[2], f"/reports/units/{province}", [sql]),
            (results[3], compliance_path, compliance_sql),
        ):
            if result.met is False:
                result.notes = profile_page(
                    database_url,
                    instance_dir,
                    manifest["reporter"]["email"],
                    manifest["password"],
                    path,
                    requests=max(2, repeat),
                )
                for statement in statements:
                    result.notes.append("raw SQL: " + re.sub(r"\s+", " ", statement)[:600])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    manifest = json.loads(Path(options.manifest).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="mooc-bench-reports-") as tmp:
        rows = bench_reports(options.database_url, manifest, Path(tmp), "", repeat=options.repeat)
    print_results(rows)


if __name__ == "__main__":
    main()
