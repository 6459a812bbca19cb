"""The benchmark harness at a small size: it must keep working. No time is asserted.

Runs bench/run.py against the test database (SQLite, or MOOC_TEST_DATABASE_URL): generates a
few hundred people, serves the app and the bare page under gunicorn, loads them with the
pure-Python loop for a moment, weighs pages, runs a small exam wave, a few seconds of the soak
mix and the reports, and writes
the table to a temporary file. The generator empties and re-migrates the database; the tables
are emptied again afterwards, as after any test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from bench import run
from bench.generate import Names, _code

from .conftest import empty_tables


def test_names_are_vietnamese_and_codes_unique() -> None:
    import random

    names = Names(random.Random(1))
    drawn = [names.draw() for _ in range(2000)]
    families = [family for family, _middle, _given in drawn]
    assert families.count("Nguyễn") > 500  # the most common family name, about 38%
    assert any(middle.startswith("Thị") for _family, middle, _given in drawn)
    codes = {_code(n) for n in range(1, 50_000)}
    assert len(codes) == 49_999


@pytest.mark.slow
def test_small_run_writes_the_table(database_url: str, app: Flask, tmp_path: Path) -> None:
    output = tmp_path / "performance.md"
    kept = "## Course sync (issue: courses in Markdown)\n\nKept."
    output.write_text(f"# Performance\n\nIntro kept.\n\n{kept}\n", encoding="utf-8")
    results_file = tmp_path / "results.json"
    try:
        results = run.main([
            "--databases", database_url, "--sizes", "300", "--courses", "4",
            "--only", "serving,weight,exam,soak,reports", "--seconds", "0.5", "--trainees", "12",
            "--repeat", "1", "--soak-seconds", "4", "--soak-users", "8",
            "--tool", "python", "--no-profile", "--results", str(results_file), "--output", str(output),
        ])
    finally:
        from mooc.extensions import db

        with app.app_context():
            empty_tables()
            db.engine.dispose()
    groups = {r.group for r in results}
    assert groups == {"generate", "serving", "page weight", "exam", "soak", "reports"}
    assert all(not r.value.startswith("FAILED") for r in results)
    exam = next(r for r in results if r.group == "exam")
    # no errors, no duplicate attempts: a correctness check, not a time (met also asks p95 < 2 s)
    assert "0 errors, 12 attempts for 12 people, 0 duplicates, 12 graded" in exam.value, exam.value
    soak = {r.what: r for r in results if r.group == "soak"}
    for step in ("soak: lesson page", "soak: report: own unit", "soak: report: ministry dashboard"):
        assert step in soak and soak[step].met is True, (step, soak.get(step))  # it ran, without errors
    assert "soak: server memory (gunicorn master + workers)" in soak
    text = output.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nIntro kept.")
    assert kept in text  # the sections other benchmarks wrote are kept
    assert "| what | size | database | time or throughput | reference (same run) | ratio |" in text
    assert "lesson page (trainee)" in text and "exam wave" in text and "ministry dashboard" in text
    stored = json.loads(results_file.read_text(encoding="utf-8"))
    assert len(stored) == len(results)
    # A second run rewrites the block in place and keeps the rest.
    run.write_document(output, run.render(stored))
    assert output.read_text(encoding="utf-8").count(run.END) == 1


def test_a_met_page_keeps_its_profile_in_the_table() -> None:
    """Issue 20 asks for each hot page's profile before and after: a page that met its target is
    profiled too, and its profile is written down (not only the missed pages')."""
    from bench.common import Result

    def served(what: str, met: bool | None, notes: list[str]) -> Result:
        return Result("serving", what, "10,000 staff", "SQLite", "900 req/s", "bare 1,000 req/s", "0.90",
                      "≥ 0.5 x bare" if met is not None else "—", met, "python bench/run.py", notes)

    rows = run.merge([], [
        served("lesson page (trainee)", True, ["lesson: 2 statements, cumulative 1.0 ms"]),
        served("course page (trainee)", False, ["course: 5 statements"]),
        served("bare Flask page", None, []),
    ], "full")
    text = run.render(rows)
    assert "### Where the time goes on the pages that met their target (full run)" in text
    assert "lesson: 2 statements, cumulative 1.0 ms" in text
    met_part = text.split("### Where the time goes on the pages that met their target")[1].split("###")[0]
    assert "course page" not in met_part  # a missed page's profile is with the misses
    assert "course: 5 statements" in text.split("### Missed targets and failures (full run)")[1]
