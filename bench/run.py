"""Run every benchmark and write the table in docs/performance.md.

    python bench/run.py --quick                  # 10,000 staff, SQLite: a few minutes on 2 cores
    python bench/run.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/mooc_bench
                                                 # 10,000 and 100,000 staff, SQLite and PostgreSQL

For each database and size: generate the dataset (bench/generate.py; the database is EMPTIED),
serve the app and the bare reference page under gunicorn and load them (bench/serving.py),
measure page weight, run the exam wave (bench/exam.py), time the reports (bench/reports.py),
and run the roster import benchmark at that size (bench/roster_import.py). Once per database:
the course sync (bench/courses_sync.py) and search (bench/search.py) benchmarks, whose size is
courses and lessons, not staff. Every figure sits next to a reference measured in the same
run. No target is asserted: a missed one is written down as missed, with a profile; every
served page with a target is profiled, met or not, so a page's profile can be read before and after.

Results accumulate in bench/results.json (a run replaces the rows of the benchmarks, sizes
and databases it measured), and the block between the bench markers in docs/performance.md
is rewritten from them; everything outside the block is kept as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Result, database_label, fmt_count, fmt_s, sqlite_url

BEGIN = "<!-- bench:begin: written by bench/run.py from bench/results.json; edit those, not this block -->"
END = "<!-- bench:end -->"
GROUPS = ["generate", "serving", "page weight", "exam", "soak", "reports", "import", "sync", "search"]
ALL = ["serving", "weight", "exam", "soak", "reports", "import", "sync", "search"]


def _say(*parts: Any) -> None:
    print(*parts, flush=True)


def _script(name: str, args: list[str], timeout: float) -> tuple[int, str]:
    command = [sys.executable, str(ROOT / "bench" / name), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOC_")}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout:.0f} s"
    return done.returncode, done.stdout + ("\n" + done.stderr if done.returncode else "")


def _failed(group: str, what: str, size: str, database: str, output: str, command: str) -> Result:
    tail = [line for line in output.strip().splitlines() if line.strip()][-6:]
    return Result(group, what, size, database, "FAILED (see notes)", "—", "—", "—", None, command, tail)


def bench_import(url: str, people: int, size: str, command: str) -> list[Result]:
    database = database_label(url)
    args = ["--people", str(people)] + (["--database-url", url] if url.startswith("postgresql") else [])
    code, out = _script("roster_import.py", args, 1800)
    steps = {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r"^(reference: dry run of 10 rows|dry run \(plan only\)|apply \(plan \+ write\)"
            r"|unchanged re-import)"
            r"\s+([\d.]+)\s+([\d.]+)",
            out,
            re.M,
        )
    }
    reference = steps.get("reference: dry run of 10 rows")
    if code or reference is None or len(steps) < 4:
        return [_failed("import", "roster import (mooc roster import)", size, database, out, command)]
    rows = []
    for step, label in (
        ("dry run (plan only)", "roster import: dry run (plan only)"),
        ("apply (plan + write)", "roster import: apply (plan + write)"),
        ("unchanged re-import", "roster import: unchanged re-import"),
    ):
        rows.append(
            Result(
                "import",
                label,
                size,
                database,
                fmt_s(steps[step]),
                f"10-row dry run {fmt_s(reference)} (process + app start)",
                f"{steps[step] / reference:.1f}",
                "—",
                None,
                command,
            )
        )
    return rows


COLD_SYNC_TARGET = 4.0  # issue 20: a cold sync of 100 courses within 4 x `check` alone


def bench_sync(url: str, courses: int, command: str) -> list[Result]:
    database = database_label(url)
    args = ["--courses", str(courses)] + (["--database-url", url] if url.startswith("postgresql") else [])
    code, out = _script("courses_sync.py", args, 1800)
    found = {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r"^\| (check only|cold sync \(check \+ render \+ write\)|unchanged re-sync) \| ([\d.]+) s",
            out,
            re.M,
        )
    }
    lessons = re.search(r"(\d+) lessons", out)
    size = f"{courses} courses, {lessons.group(1) if lessons else '?'} lessons"
    if code or len(found) < 3:
        return [_failed("sync", "course sync", size, database, out, command)]
    check = found["check only"]
    return [
        Result(
            "sync",
            "course sync: cold (check, render, write)",
            size,
            database,
            fmt_s(found["cold sync (check + render + write)"]),
            f"check only {fmt_s(check)}",
            f"{found['cold sync (check + render + write)'] / check:.1f}",
            f"<= {COLD_SYNC_TARGET:g} x check only",
            found["cold sync (check + render + write)"] / check <= COLD_SYNC_TARGET,
            command,
        ),
        Result(
            "sync",
            "course sync: unchanged re-sync",
            size,
            database,
            fmt_s(found["unchanged re-sync"]),
            f"check only {fmt_s(check)}",
            f"{found['unchanged re-sync'] / check:.2f}",
            "renders nothing",
            "0 renders" in out and "no changes" in out,
            command,
        ),
    ]


def bench_search(url: str, lessons: int, queries: int, command: str) -> list[Result]:
    database = database_label(url)
    args = ["--lessons", str(lessons), "--queries", str(queries)]
    args += ["--database-url", url] if url.startswith("postgresql") else []
    code, out = _script("search.py", args, 1800)
    row = re.search(
        r"^\| search \(rank \+ page \+ highlight\) \| ([^|]+) \| [^|]+ \| ([^|]+) \| ([^|]+) \| "
        r"([^|]+) \| ([^|]+) \|",
        out,
        re.M,
    )
    if code or not row:
        return [_failed("search", "search", f"{lessons:,} lessons", database, out, command)]
    size, median, p95, reference, ratio = (part.strip() for part in row.groups())
    return [
        Result(
            "search",
            "search: rank + page + highlight (median)",
            size,
            database,
            f"median {median}, p95 {p95}",
            f"SELECT by primary key, median / p95 {reference}",
            ratio,
            "—",
            None,
            command,
        )
    ]


def run(options: argparse.Namespace, save: Any = None) -> list[Result]:
    from bench.exam import exam_results, run_exam
    from bench.generate import generate
    from bench.reports import bench_reports
    from bench.serving import bench_page_weight, bench_serving

    only = set(options.only.split(",")) if options.only else set(ALL)
    results: list[Result] = []
    saved = 0

    def checkpoint() -> None:  # what is measured is written at once: a long run may be stopped
        nonlocal saved
        if save is not None and len(results) > saved:
            save(results[saved:])
            saved = len(results)

    with tempfile.TemporaryDirectory(prefix="mooc-bench-run-") as tmp:
        folder = Path(tmp)
        urls = []
        for name in options.databases.split(","):
            if name == "sqlite":
                urls.append(sqlite_url(folder))
            elif name == "postgresql":
                if not options.pg_url:
                    raise SystemExit(
                        "--databases postgresql needs --pg-url (a database the harness may empty)"
                    )
                urls.append(options.pg_url)
            else:
                urls.append(name)  # a URL, as the test suite gives it
        for url in urls:
            database = database_label(url)
            for staff in options.sizes:
                size = f"{fmt_count(staff)} staff"
                command = _command(options, database, staff)
                _say(f"== {database}, {size}")
                if url.startswith("sqlite"):
                    for suffix in ("", "-wal", "-shm"):  # a fresh file: dropping tables does not shrink one
                        Path(f"{folder / 'bench.sqlite3'}{suffix}").unlink(missing_ok=True)
                dataset = generate(
                    url,
                    staff,
                    options.courses,
                    attempt_share=options.attempt_share,
                    log=lambda line: _say(line),
                )
                manifest = dataset.manifest
                counts = dataset.counts
                results.append(
                    Result(
                        "generate",
                        "generate the dataset (bulk writes)",
                        size,
                        database,
                        fmt_s(dataset.seconds),
                        "—",
                        "—",
                        "—",
                        None,
                        command,
                        [
                            f"{fmt_count(counts.get('enrolments', 0))} enrolments, "
                            f"{fmt_count(counts.get('lesson_progress', 0))} lessons done, "
                            f"{fmt_count(counts.get('quiz_attempts', 0))} quiz attempts, "
                            f"{fmt_count(counts.get('certificates', 0))} certificates, "
                            f"{fmt_count(counts.get('org_units', 0))} units"
                        ],
                    )
                )
                _say(f"  generated in {dataset.seconds:.1f} s")
                instance = folder / f"instance-{database}-{staff}"
                instance.mkdir()
                app = None
                try:
                    if only & {"serving", "weight", "exam", "soak"}:
                        if "serving" in only:
                            serving = _guarded(
                                results,
                                ("serving", size, database, command),
                                bench_serving,
                                url,
                                manifest,
                                instance,
                                size,
                                seconds=options.seconds,
                                connections=8,
                                tool=options.tool,
                                log=_say,
                                profile=not options.no_profile,
                                command=command,
                            )
                            rows, app = serving or ([], None)
                            results += rows
                        if app is not None:
                            from bench.serving import wait_idle

                            wait_idle(app)
                        if app is None:
                            from bench.serving import Server, default_workers

                            app = Server("app", url, instance, default_workers(), 4, "/healthz")
                        if "weight" in only:
                            results += (
                                _guarded(
                                    results,
                                    ("page weight", size, database, command),
                                    bench_page_weight,
                                    app,
                                    manifest,
                                    size,
                                    database,
                                    command,
                                )
                                or []
                            )
                        if "exam" in only:
                            _say(f"  exam: {options.trainees} trainees")
                            outcome = _guarded(
                                results,
                                ("exam", size, database, command),
                                run_exam,
                                app.base,
                                url,
                                manifest,
                                options.trainees,
                                server_group=app.process.pid,
                            )
                            if outcome is not None:
                                results += exam_results(outcome, size, database, command)
                                _say(f"    {results[-1].value}")
                        if "soak" in only:
                            from bench.soak import run_soak, soak_results

                            _say(f"  soak: {options.soak_users} people for {options.soak_seconds:.0f} s")
                            outcome = _guarded(
                                results,
                                ("soak", size, database, command),
                                run_soak,
                                app,
                                url,
                                manifest,
                                options.soak_seconds,
                                options.soak_users,
                            )
                            if outcome is not None:
                                results += soak_results(outcome, size, database, command)
                                _say(f"    {outcome['requests']:,} requests, {outcome['errors']} errors; "
                                     f"{results[-1].value}")
                finally:
                    if app is not None:
                        app.stop()
                if "reports" in only:
                    _say("  reports")
                    results += (
                        _guarded(
                            results,
                            ("reports", size, database, command),
                            bench_reports,
                            url,
                            manifest,
                            instance,
                            size,
                            repeat=options.repeat,
                            log=_say,
                            profile_missed=not options.no_profile,
                            command=command,
                        )
                        or []
                    )
                if "import" in only:
                    _say(f"  roster import: {staff:,} people")
                    results += bench_import(url, staff, size, command)
                checkpoint()
            command = _command(options, database, None)
            if "sync" in only:
                _say(f"  course sync: {options.sync_courses} courses")
                results += bench_sync(url, options.sync_courses, command)
            if "search" in only:
                _say(f"  search: {options.search_lessons} lessons")
                results += bench_search(url, options.search_lessons, options.search_queries, command)
            checkpoint()
    return results


def _guarded(
    results: list[Result], where: tuple[str, str, str, str], function: Any, *args: Any, **kw: Any
) -> Any:
    """function(*args, **kw), or None with a FAILED row: one benchmark failing must not lose the others."""
    group, size, database, command = where
    try:
        return function(*args, **kw)
    except Exception as error:
        import traceback

        tail = traceback.format_exc().strip().splitlines()[-6:]
        _say(f"  {group} FAILED: {type(error).__name__}: {error}")
        results.append(_failed(group, group, size, database, "\n".join(tail), command))
        return None


def _command(options: argparse.Namespace, database: str, staff: int | None) -> str:
    parts = ["python bench/run.py"]
    if options.quick:
        parts.append("--quick")
    parts.append(
        "--databases "
        + ("postgresql --pg-url " + str(options.pg_url) if database == "PostgreSQL" else "sqlite")
    )
    if staff is not None:
        parts.append(f"--sizes {staff}")
    return " ".join(parts)


# --- the document ---------------------------------------------------------------------------------------


def merge(stored: list[dict[str, Any]], new: list[Result], mode: str) -> list[dict[str, Any]]:
    """Stored rows, less those of the (group, size, database) triples measured now, plus the new."""
    measured = {(r.group, r.size, r.database) for r in new}
    kept = [
        r
        for r in stored
        if not (r.get("mode") == mode and (r["group"], r["size"], r["database"]) in measured)
    ]
    stamp = datetime.now().strftime("%d/%m/%Y %H:%M")
    load = f"{os.getloadavg()[0]:.1f}"
    return kept + [{**r.as_dict(), "mode": mode, "measured": stamp, "load": load} for r in new]


def _when(stamp: str) -> tuple[int, ...]:
    """A row's "measured" stamp (dd/mm/yyyy hh:mm) as (year, month, day, hour, minute)."""
    numbers = [int(n) for n in re.findall(r"\d+", stamp)]
    return (numbers[2], numbers[1], numbers[0], *numbers[3:]) if len(numbers) >= 3 else tuple(numbers)


def _size_order(size: str) -> int:
    digits = re.sub(r"[^\d]", "", size.split(" ")[0])
    return int(digits) if digits else 0


def _load_range(rows: list[dict[str, Any]]) -> str:
    loads = sorted(float(r["load"]) for r in rows if r.get("load"))
    if not loads:
        return "unknown"
    return f"{loads[0]:.1f}" if loads[0] == loads[-1] else f"{loads[0]:.1f} to {loads[-1]:.1f}"


def render(rows: list[dict[str, Any]]) -> str:
    lines = [BEGIN, "", "## The harness: bench/run.py", "", HARNESS_TEXT.strip(), ""]
    for mode, title in (("full", "Results (full run)"), ("quick", "Results (quick run, `--quick`)")):
        chosen = [r for r in rows if r.get("mode") == mode]
        if not chosen:
            continue
        chosen.sort(
            key=lambda r: (
                r["database"] != "SQLite",
                GROUPS.index(r["group"]) if r["group"] in GROUPS else 99,
                _size_order(r["size"]),
            )
        )
        stamps = sorted({r["measured"] for r in chosen}, key=_when)  # dd/mm/yyyy: by date, not text
        lines += [
            f"## {title}",
            "",
            f"Measured {stamps[0]}"
            + (f" to {stamps[-1]}" if len(stamps) > 1 else "")
            + " on the project's 2-core machine, shared with other work (1-minute load average "
            + _load_range(chosen)
            + " when rows were written): read the ratio column, not the absolute figures.",
            "",
            "| what | size | database | time or throughput | reference (same run) | ratio | target | met |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in chosen:
            met = {True: "yes", False: "**MISSED**", None: "—"}[r["met"]]
            cells = [
                r["what"],
                r["size"],
                r["database"],
                r["value"],
                r["reference"],
                r["ratio"],
                r["target"],
                met,
            ]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
        lines.append("")
        commands = sorted({r["command"] for r in chosen if r["command"]})
        lines += [
            "Each row comes from one of these commands (`--only GROUP` narrows a run to some benchmarks):",
            "",
            "```sh",
            *commands,
            "```",
            "",
        ]
        generated = [r for r in chosen if r["group"] == "generate" and r["notes"]]
        if generated:
            lines += [
                "Datasets: "
                + "; ".join(f"{r['size']} on {r['database']}: {r['notes'][0]}" for r in generated)
                + ".",
                "",
            ]
        lines += _profiles_of_met_pages(chosen, mode)
        missed = [r for r in chosen if r["met"] is False or r["value"].startswith("FAILED")]
        if missed:
            lines += [f"### Missed targets and failures ({mode} run)", ""]
            for r in missed:
                verdict = "failed" if r["value"].startswith("FAILED") else "missed"
                lines += [
                    f"**{r['what']}** ({r['size']}, {r['database']}) {verdict}: {r['value']} against "
                    f"{r['target']}.",
                    "",
                ]
                if r["notes"]:
                    lines += ["```", *r["notes"], "```", ""]
    lines.append(END)
    return "\n".join(lines)


def _profiles_of_met_pages(chosen: list[dict[str, Any]], mode: str) -> list[str]:
    """The profile of every served page that met its target (a missed one's is with the misses)."""
    met = [r for r in chosen if r["group"] == "serving" and r["met"] is True and r["notes"]]
    if not met:
        return []
    lines = [f"### Where the time goes on the pages that met their target ({mode} run)", ""]
    for r in met:
        lines += [f"**{r['what']}** ({r['size']}, {r['database']}): {r['value']}, {r['ratio']} x bare.", "",
                  "```", *r["notes"], "```", ""]
    return lines


def write_document(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Performance\n"
    if BEGIN.split(":")[0] in text and END in text:
        start = text.index(BEGIN.split(":")[0])
        end = text.index(END) + len(END)
        text = text[:start] + block + text[end:]
    else:
        match = re.search(r"^## ", text, re.M)
        at = match.start() if match else len(text)
        text = text[:at].rstrip("\n") + "\n\n" + block + "\n\n" + text[at:]
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


HARNESS_TEXT = """
`bench/run.py` runs every benchmark below and rewrites this block. For each database and
size it generates a dataset, then measures:

- **Serving** (`bench/serving.py`): the app and a bare Flask page (`bench/bare_app.py`: one
  small template, one query on a unique index) each under gunicorn through
  `mooc.serving.serve` (what `mooc serve` runs), same workers and threads, on loopback, loaded
  for a fixed time at 8 connections by wrk (`apt-get install wrk`; a pure-Python loop in
  `bench/load.py` when wrk is absent). The bare page is loaded before and after the app's pages;
  its mean is the reference. The trainee and the manager sign in through the real login form
  first; every page is checked to answer 200 before and after the load.
  Then each page with a target is profiled in-process, met or not (cProfile over 30 requests
  through the test client, with its SQL statements and the driver's time).
- **Page weight**: HTML + CSS + JS (images apart) of a first visit, raw and gzip -6.
- **Exam wave** (`bench/exam.py`): 1,000 trainees (`--trainees`) signed in, then at one barrier
  each starts the same quiz (one in ten double-clicks), opens the attempt, answers and submits;
  the database is checked for exactly one graded attempt each. Target (issue 20): 0 errors,
  0 duplicates, p95 start < 2 s, p95 submit < 2 s. Its reference: the same number of clients
  each GET /healthz at one barrier (the floor of that many clients on this machine).
- **Soak** (`bench/soak.py`): the day's mix for a bounded time on the same server: trainees
  (home, course, lesson, mark done, quiz start / answer / submit / result, search), unit
  managers (their unit's and a section's report, the overdue list, CSV and XLSX exports) and
  the ministry reporter (dashboard, XLSX), each signed in with their own session and a short
  think time; every answer is checked. Errors and latency per step, and the memory of
  gunicorn's master and workers after the warm-up, at the end and at the peak.
- **Reports** (`bench/reports.py`): the ministry dashboard (page and `rollup()` alone), a
  province drill-down, XLSX exports, next to the dashboard's main aggregate
  (`queries.obligations_by_unit`) run as raw SQL on the driver; compliance on a date for the
  whole ministry (page and `compliance()` alone) next to its statement run raw.
- **Import** (`bench/roster_import.py`), **sync** (`bench/courses_sync.py`), **search**
  (`bench/search.py`): the features' own benchmarks, run as they are and their output read.

Each benchmark also runs alone on a generated database, e.g. `python bench/generate.py --staff
10000 --manifest instance/bench-manifest.json`, then `python bench/serving.py` (or `exam.py`,
`reports.py`) `--database-url sqlite:///instance/bench.sqlite3 --manifest
instance/bench-manifest.json`. The test suite runs the harness at 300 staff
(`tests/test_bench.py`, Python load loop, no time asserted).

The dataset (`bench/generate.py --staff N --courses C [--database-url URL]`, bulk writes:
sqlite3 executemany, PostgreSQL COPY): Thanh tra Chính phủ and 12 departments, the 34
provinces of the 2025 map and 6-10 sections each; 8 positions; people with Vietnamese names
(family names at their real frequencies), 95% active, 3% on leave, 2% gone; an account each,
a manager per province, a reporter, an admin; the real courses plus copies up to C (20);
assignment rules (everyone, the provinces, some positions; renewals every 12 or 24 months; a
fixed date) and enrolments from them in every state with due dates around today, renewal
cycles, exemptions, closed ones, certificates; lesson progress; quiz attempts with the synced
quiz's question snapshot, answers and the grader's results for 10% of the enrolments under
way or done (`--attempt-share`: a snapshot is about 16 KB, so all of them at 100,000 staff
would be several GB).
"""


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10,000 staff, 5 s loads, small sync and search")
    parser.add_argument(
        "--databases",
        default=None,
        help="comma-separated: sqlite, postgresql (needs --pg-url), or URLs; "
        "default sqlite (+ postgresql when --pg-url is given)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("MOOC_BENCH_DATABASE_URL"),
        help="a PostgreSQL database the harness may EMPTY (default $MOOC_BENCH_DATABASE_URL)",
    )
    parser.add_argument("--sizes", default=None, help="staff counts, comma-separated (default 10000,100000)")
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--only", default=None, help=f"comma-separated: {', '.join(ALL)}")
    parser.add_argument(
        "--seconds", type=float, default=None, help="load time per page (default 10, quick 5)"
    )
    parser.add_argument("--trainees", type=int, default=1000)
    parser.add_argument("--soak-seconds", type=float, default=None, help="soak time (default 300, quick 60)")
    parser.add_argument("--soak-users", type=int, default=24)
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed repeats of a report (default 5, quick 3)"
    )
    parser.add_argument("--attempt-share", type=float, default=0.1)
    parser.add_argument("--sync-courses", type=int, default=None)
    parser.add_argument("--search-lessons", type=int, default=None)
    parser.add_argument("--search-queries", type=int, default=200)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-profile", action="store_true",
                        help="do not profile the pages (every served page with a target) nor missed reports")
    parser.add_argument("--results", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    options = parser.parse_args(argv)
    if options.databases is None:
        options.databases = "sqlite" + (",postgresql" if options.pg_url else "")
    options.sizes = [
        int(s) for s in (options.sizes or ("10000" if options.quick else "10000,100000")).split(",")
    ]
    options.seconds = options.seconds or (5 if options.quick else 10)
    options.repeat = options.repeat or (3 if options.quick else 5)
    options.soak_seconds = options.soak_seconds or (60 if options.quick else 300)
    options.sync_courses = options.sync_courses or (10 if options.quick else 100)
    options.search_lessons = options.search_lessons or (500 if options.quick else 5000)
    started = time.perf_counter()
    results_path = Path(options.results)

    def save(rows: list[Result]) -> None:
        stored = json.loads(results_path.read_text(encoding="utf-8")) if results_path.is_file() else []
        merged = merge(stored, rows, "quick" if options.quick else "full")
        results_path.write_text(json.dumps(merged, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        write_document(Path(options.output), render(merged))

    results = run(options, save)
    _say(f"done in {time.perf_counter() - started:.0f} s: {len(results)} rows; wrote {options.output}")
    for r in results:
        flag = {True: "ok", False: "MISSED", None: ""}[r.met]
        _say(f"  {r.database:10} {r.size:14} {r.what[:55]:55} {r.value[:70]:70} {r.ratio:>6} {flag}")
    return results


if __name__ == "__main__":
    main()
