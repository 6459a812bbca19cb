"""Load and soak: the realistic mix of a working day, for a bounded time, on loopback.

    python bench/soak.py --database-url URL --manifest instance/bench-manifest.json \
        [--seconds 300] [--users 24] [--managers 4]

The app runs under gunicorn (``mooc.serving``, production settings) on a dataset from
bench/generate.py. Virtual people, each with their own signed-in session and keep-alive
connection, act in a loop with a short think time between steps:

- trainees: the home page, a course, a lesson, "mark as done", now and then a quiz (start,
  answer, submit, read the result) and a search;
- unit managers: their unit's report, a section's report, the list of people behind, a CSV
  export of the dashboard and an XLSX export of a section's overdue people;
- a ministry reporter: the ministry dashboard and its XLSX export.

Reported per kind of step: how many, errors (5xx, unexpected answers, broken connections),
p50/p95/p99/max latency; and the memory of the server (resident set of gunicorn's master and
workers, summed) after the warm-up, at the end and at its peak: growth over a long run is the
sign of a leak. Each step checks what it got (status and a marker in the page), so an error
page served fast does not count as a success.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, database_label, fmt_ms, percentile, print_results
from bench.exam import _answers
from bench.serving import CSRF_RE, Client, Server, default_workers

LESSON_RE = re.compile(r'href="(/courses/[^/"]+/lessons/[^"#?]+)"')
QUIZ_RE = re.compile(r'href="(/courses/[^/"]+/quizzes/[^"#?]+)"')
UNIT_RE = re.compile(r'href="/reports/units/(\d+)')
SEARCHES = ["thanh tra vien", "quyet dinh thanh tra", "tiếp công dân", "khiếu nại", "giám sát",
            '"kết luận"']
MEMORY_EVERY = 2.0  # seconds between two samples of the server's memory
WARM_SHARE = 0.15  # memory growth is measured from this share of the run on


class Unexpected(Exception):
    """The server answered, but not what a person would have got."""


def _trainees(database_url: str, course_key: str, count: int) -> list[str]:
    """E-mails of active trainees enrolled in ``course_key``."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            emails = connection.execute(
                sa.text(
                    "SELECT u.email FROM users u JOIN staff s ON s.id = u.staff_id "
                    "JOIN enrolments e ON e.staff_id = s.id JOIN courses c ON c.id = e.course_id "
                    "WHERE u.active AND u.role = 'trainee' AND s.status = 'active' AND c.key = :course "
                    "AND e.latest ORDER BY u.id LIMIT :n"
                ),
                {"course": course_key, "n": count},
            ).scalars().all()
    finally:
        engine.dispose()
    if len(emails) < count:
        raise RuntimeError(f"only {len(emails)} trainees enrolled in {course_key}; generate more staff")
    return list(emails)


def _server_rss(pgid: int) -> int:
    """Resident memory (bytes) of every process in the server's process group."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:  # field 5 of stat, after pid and (comm): the process group
                continue
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return total


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: dict[str, str] = {}

    def step(self, kind: str, client: Client, method: str, path: str, form: dict | None = None,
             expect: tuple[int, ...] = (200,), marker: str | None = None) -> tuple[Any, str]:
        started = time.perf_counter()
        try:
            status, headers, body = client.request(method, path, form)
            text = body.decode(errors="replace") if b"\x00" not in body[:200] else ""
            if status not in expect:
                raise Unexpected(f"{method} {path} answered {status}")
            if marker is not None and marker not in text:
                raise Unexpected(f"{method} {path}: no {marker!r} in the answer")
        except Exception as error:
            with self.lock:
                self.errors[kind] += 1
                self.examples.setdefault(kind, f"{type(error).__name__}: {error}"[:300])
            raise
        with self.lock:
            self.latencies[kind].append(time.perf_counter() - started)
        return headers, text


def _person(base: str, email: str, password: str, deadline: float, one_round: Callable[[Client], None],
            rest: Callable[[], float]) -> None:
    """Someone signed in with their own session, doing ``one_round`` until the deadline and
    resting ``rest()`` seconds after each. A failed step (already counted by the recorder)
    costs a fresh connection, not the session."""
    client = Client(base).login(email, password)
    try:
        while time.monotonic() < deadline:
            try:
                one_round(client)
            except Exception:
                client.close()
                client = Client(base, dict(client.cookies))
            time.sleep(rest())
    finally:
        client.close()


def _trainee_round(client: Client, course: str, rec: Recorder, rng: random.Random, think: float) -> None:
    rec.step("home page", client, "GET", "/", marker="<main")
    _headers, page = rec.step("course page", client, "GET", f"/courses/{course}", marker="<main")
    lessons, quizzes = LESSON_RE.findall(page), QUIZ_RE.findall(page)
    if lessons:
        lesson = rng.choice(lessons)
        _headers, html = rec.step("lesson page", client, "GET", lesson, marker="<article")
        token = CSRF_RE.search(html)
        if token and f'action="{lesson}/done"' in html:
            rec.step("mark lesson done", client, "POST", f"{lesson}/done",
                     {"csrf_token": token.group(1)}, expect=(302, 303))
    time.sleep(rng.uniform(0, think))
    if quizzes and rng.random() < 0.3:
        _take_quiz(client, rng.choice(quizzes), rec, rng)
    if rng.random() < 0.3:
        query = quote(rng.choice(SEARCHES))
        rec.step("search", client, "GET", f"/search/?q={query}", marker="<main")


def _take_quiz(client: Client, quiz: str, rec: Recorder, rng: random.Random) -> None:
    _headers, html = rec.step("quiz page", client, "GET", quiz, marker="<main")
    if f'action="{quiz}/start"' not in html:
        return  # no attempt left, or one is open elsewhere: what a person would see too
    token = CSRF_RE.search(html).group(1)
    headers, _text = rec.step("quiz start", client, "POST", f"{quiz}/start", {"csrf_token": token},
                              expect=(302, 303))
    location = urlsplit(headers.get("Location") or "").path
    if "/attempts/" not in location:
        return  # refused with a message (attempts used up)
    _headers, page = rec.step("quiz attempt page", client, "GET", location, marker="<form")
    form = {"csrf_token": CSRF_RE.search(page).group(1), **_answers(page, rng)}
    headers, _text = rec.step("quiz submit", client, "POST", f"{location}/submit", form, expect=(302, 303))
    result = urlsplit(headers.get("Location") or "").path
    if result:
        rec.step("quiz result", client, "GET", result, marker="<main")


def _manager_round(client: Client, unit_id: int, sections: list[str], rec: Recorder, rng: random.Random,
                   think: float) -> None:
    """``sections``: the sub-units seen on the unit's report, kept from one round to the next."""
    _h, page = rec.step("report: own unit", client, "GET", f"/reports/units/{unit_id}", marker="<table")
    sections[:] = [s for s in UNIT_RE.findall(page) if s != str(unit_id)] or sections
    time.sleep(rng.uniform(0, think))
    section = rng.choice(sections) if sections else str(unit_id)
    rec.step("report: a section", client, "GET", f"/reports/units/{section}", marker="<table")
    rec.step("report: people behind", client, "GET", f"/reports/people?unit={section}&status=overdue",
             marker="<main")
    time.sleep(rng.uniform(0, think))
    if rng.random() < 0.3:
        rec.step("export: dashboard CSV", client, "GET", f"/reports/units/{unit_id}?export=csv",
                 marker="\ufeff")
    if rng.random() < 0.2:
        rec.step("export: overdue XLSX", client, "GET",
                 f"/reports/people?unit={section}&status=overdue&export=xlsx")


def _reporter_round(client: Client, rec: Recorder, rng: random.Random) -> None:
    rec.step("report: ministry dashboard", client, "GET", "/reports/", marker="<table")
    if rng.random() < 0.2:
        rec.step("export: ministry XLSX", client, "GET", "/reports/?export=xlsx")


def run_soak(server: Server, database_url: str, manifest: dict[str, Any], seconds: float, users: int = 24,
             managers: int = 4, think: float = 0.5, seed: int = 11) -> dict[str, Any]:
    """``users`` people (``managers`` of them unit managers, one the ministry reporter, the rest
    trainees) for ``seconds``; latencies, errors and the server's memory."""
    rng = random.Random(seed)
    trainees = max(1, users - managers - 1)
    course = manifest["exam_course"]
    emails = _trainees(database_url, course, trainees)
    password = manifest["password"]
    rec = Recorder()
    pgid = server.process.pid
    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    deadline = started + seconds
    stop = threading.Event()

    def sample_memory() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - started, _server_rss(pgid)))
            stop.wait(MEMORY_EVERY)

    manager = manifest["manager"]

    def person(email: str, one_round: Callable[..., None], *args: Any,
               rest: tuple[float, float] = (0.0, think)) -> threading.Thread:
        own = random.Random(rng.random())
        return threading.Thread(target=_person, args=(
            server.base, email, password, deadline, lambda client: one_round(client, *args, rec, own),
            lambda: own.uniform(*rest)))

    people = [person(email, partial(_trainee_round, think=think), course) for email in emails]
    people += [person(manager["email"], partial(_manager_round, think=think), manager["unit_id"], [])
               for _ in range(managers)]
    # The ministry looks less often.
    people.append(person(manifest["reporter"]["email"], _reporter_round, rest=(think, 3 * think)))
    memory = threading.Thread(target=sample_memory, daemon=True)
    memory.start()
    for person in people:
        person.start()
    for person in people:
        person.join(seconds + 300)
    stop.set()
    memory.join(5)
    samples.append((time.monotonic() - started, _server_rss(pgid)))
    elapsed = time.monotonic() - started
    warm = [rss for at, rss in samples if at >= WARM_SHARE * seconds] or [samples[-1][1]]
    steps = {
        kind: {
            "count": len(values),
            "errors": rec.errors.get(kind, 0),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
            "max": max(values or [0.0]),
            "example_error": rec.examples.get(kind, ""),
        }
        for kind, values in sorted(rec.latencies.items())
    }
    for kind, errors in rec.errors.items():  # kinds that only ever failed
        steps.setdefault(kind, {"count": 0, "errors": errors, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0,
                                "example_error": rec.examples.get(kind, "")})
    return {
        "seconds": elapsed,
        "users": users,
        "trainees": trainees,
        "managers": managers,
        "think": think,
        "steps": steps,
        "requests": sum(s["count"] + s["errors"] for s in steps.values()),
        "errors": sum(s["errors"] for s in steps.values()),
        "memory_warm": warm[0],
        "memory_end": samples[-1][1],
        "memory_peak": max(rss for _at, rss in samples),
        "memory_samples": len(samples),
    }


def _mb(n: int) -> str:
    return f"{n / 1_048_576:.0f} MB"


def soak_results(outcome: dict[str, Any], size: str, database: str, command: str = "") -> list[Result]:
    setting = (f"{outcome['users']} people ({outcome['trainees']} trainees, {outcome['managers']} managers, "
               f"1 reporter), think ≤ {outcome['think']:g} s, {outcome['seconds']:.0f} s")
    rows = []
    for kind, step in outcome["steps"].items():
        rows.append(Result(
            "soak", f"soak: {kind}", size, database,
            f"{step['count']:,} ok, {step['errors']} errors; p50 {fmt_ms(step['p50'])}, "
            f"p95 {fmt_ms(step['p95'])}, p99 {fmt_ms(step['p99'])}, max {fmt_ms(step['max'])}",
            setting, "—", "no errors", step["errors"] == 0, command,
            [f"first error: {step['example_error']}"] if step["example_error"] else [],
        ))
    growth = outcome["memory_end"] - outcome["memory_warm"]
    share = growth / outcome["memory_warm"] if outcome["memory_warm"] else 0.0
    rows.append(Result(
        "soak", "soak: server memory (gunicorn master + workers)", size, database,
        f"after warm-up {_mb(outcome['memory_warm'])}, end {_mb(outcome['memory_end'])}, "
        f"peak {_mb(outcome['memory_peak'])}; growth {growth / 1_048_576:+.0f} MB ({share:+.0%}) "
        f"over {outcome['requests']:,} requests",
        f"memory after warm-up; {setting}", f"{1 + share:.2f}", "growth < 10 % after warm-up", share < 0.10,
        command,
    ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--managers", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.5, help="at most this many seconds between steps")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", default=None, help="write the outcome here too")
    options = parser.parse_args()
    manifest = json.loads(Path(options.manifest).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="mooc-bench-soak-") as tmp, Server(
        "app", options.database_url, Path(tmp), options.workers or default_workers(), 4, "/healthz"
    ) as server:
        outcome = run_soak(server, options.database_url, manifest, options.seconds, options.users,
                           options.managers, options.think)
    if options.json:
        Path(options.json).write_text(json.dumps(outcome, indent=2, ensure_ascii=False), encoding="utf-8")
    print_results(soak_results(outcome, "", database_label(options.database_url)))


if __name__ == "__main__":
    main()
