"""The benchmark dataset: a ministry-sized roster and its training, in any configured database.

    python bench/generate.py --staff 100000 --courses 8                   # SQLite, instance/
    python bench/generate.py --staff 100000 --courses 8 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mooc_bench

The database is EMPTIED first (every table dropped), then migrated to the head. Then:

- courses: the real ones in courses/, plus copies of them (new key, code and title) up to
  --courses, all loaded by the real ``sync_tree``;
- units in a two-level tree: Thanh tra Chính phủ and its departments, the 34 provinces
  (2025 map) and their sections; the 8 positions of the sector;
- people with Vietnamese names (family names at their real frequencies, gendered middle and
  given names), staff codes, e-mails, statuses (active, on leave, a few who left), with
  ``search_text`` and ``sort_key`` from mooc.roster.keys and a history row each;
- an account per person (trainee), a manager per province, a ministry reporter, an admin;
- assignment rules (every unit, the provinces, some positions, renewals), and enrolments
  drawn from them in every state, with due dates around today (so some are overdue),
  renewal cycles, exemptions, closed ones, certificates;
- lesson progress, and quiz attempts (a snapshot of the synced quiz's questions, answers and
  the grader's results) for a share (--attempt-share) of the enrolments under way or done.

Rows are written in bulk (sqlite3 ``executemany``; PostgreSQL ``COPY``), with ids chosen here,
never one ORM object at a time. The same seed gives the same roster; enrolment dates follow the
clock, so a few draws (renewals) differ between runs. The benchmark accounts are written to
--manifest (JSON) for the other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_PASSWORD, ROOT, database_label, drop_everything, make_app
from mooc.demo_roster import (
    BIG,
    CENTRAL_SECTIONS,
    CITIES,
    POSITIONS,
    PROVINCE_SECTIONS,
    PROVINCES,
    Names,
    email_local,
)

FAST_HASH = "pbkdf2:sha256:1000"  # the harness signs in hundreds of accounts; production uses scrypt

# Rules: course (index into the live course list, real courses first), unit scope, positions
# (codes; empty: all), due days (None: a fixed date), renew months, share assigned long ago.
RULES = [
    ("nghiep-vu-thanh-tra", "all", [], 90, 12),
    ("tiep-cong-dan", "provinces", ["TTV", "TTVC", "CV", "PTP"], 60, None),
    ("giam-sat-so", "all", ["TTV", "TTVC", "TTVCC", "TP", "PTP"], 120, 24),
    ("van-ban-thanh-tra", "all", [], None, None),
]


# --- bulk writing ------------------------------------------------------------------------------------


class BulkWriter:
    """Rows in bulk: sqlite3 executemany, or PostgreSQL COPY. Values are plain Python values;
    dicts and lists are JSON, datetimes must be timezone-aware (stored as UTC)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self.raw = connection.connection.driver_connection
        self.counts: dict[str, int] = defaultdict(int)

    def _sqlite_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        count = 0
        if self.dialect == "postgresql":
            cursor = self.raw.cursor()
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for v in row]
                    )
                    count += 1
            cursor.close()
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (our names)
            cursor = self.raw.cursor()
            batch: list[list[Any]] = []
            for row in rows:
                batch.append([self._sqlite_value(v) for v in row])
                if len(batch) >= 20000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
            cursor.close()
        self.counts[table] += count
        return count

    def reset_sequences(self, tables: Iterable[str]) -> None:
        if self.dialect != "postgresql":
            return
        cursor = self.raw.cursor()
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (our names)
                f"COALESCE((SELECT max(id) FROM {table}), 1))"
            )
        cursor.close()


# --- courses -------------------------------------------------------------------------------------------


def course_tree(target: Path, courses: int) -> Path:
    """The real courses, plus copies (new folder, code and title) until there are ``courses``."""
    source = ROOT / "courses"
    real = sorted(p for p in source.iterdir() if (p / "course.md").is_file())
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
    for n in range(max(0, courses - len(real))):
        original = real[n % len(real)]
        copy = target / f"{original.name}-{n + 2:02d}"
        shutil.copytree(original, copy)
        text = (copy / "course.md").read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(text[:10]):
            if line.startswith("title:"):
                text[i] = line.rstrip().rstrip('"') + f' (lớp {n + 2})"'
            elif line.startswith("code:"):
                text[i] = line.rstrip().rstrip('"') + f'-{n + 2:02d}"'
        (copy / "course.md").write_text("\n".join(text), encoding="utf-8")
    return target


# --- the dataset ---------------------------------------------------------------------------------------


@dataclass
class CourseInfo:
    id: int
    key: str
    title: str
    content_hash: str
    lessons: list[tuple[int, str]]  # (id, key) in reading order
    quizzes: list[dict[str, Any]]  # id, key, settings, variants [(questions json, right, wrong)]


@dataclass
class Dataset:
    staff: int
    courses: int
    counts: dict[str, int] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _load_courses(rng: random.Random) -> list[CourseInfo]:
    import sqlalchemy as sa

    from mooc.courses.models import Course, Lesson, Module, Quiz
    from mooc.extensions import db
    from mooc.quizzes.grading import draw_snapshots, grade_attempt

    infos = []
    for course in db.session.scalars(sa.select(Course).where(Course.archived.is_(False)).order_by(Course.id)):
        lessons = db.session.execute(
            sa.select(Lesson.id, Lesson.key)
            .join(Module, Module.id == Lesson.module_id)
            .where(Lesson.course_id == course.id, Lesson.archived.is_(False))
            .order_by(Module.position, Lesson.position)
        ).all()
        quizzes = []
        for quiz in db.session.scalars(
            sa.select(Quiz).where(Quiz.course_id == course.id, Quiz.archived.is_(False)).order_by(Quiz.id)
        ):
            variants = []
            for _ in range(3):
                questions = draw_snapshots(quiz.questions, quiz.settings, rng)
                right = _answers(questions, correct=True)
                wrong = _answers(questions, correct=False)
                pass_percent = int(quiz.settings.get("pass_percent", 80))
                graded = [grade_attempt(questions, answers, pass_percent) for answers in (right, wrong)]
                variants.append(
                    (questions, [(answers, g) for answers, g in zip((right, wrong), graded, strict=True)])
                )
            quizzes.append(
                {
                    "id": quiz.id,
                    "key": quiz.key,
                    "settings": dict(quiz.settings),
                    "hash": quiz.source_hash,
                    "variants": variants,
                }
            )
        infos.append(
            CourseInfo(
                course.id,
                course.key,
                course.title,
                course.content_hash,
                [(row.id, row.key) for row in lessons],
                quizzes,
            )
        )
    return infos


def _answers(questions: list[dict[str, Any]], correct: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for q in questions:
        keys = [c["key"] for c in q["choices"] if bool(c["correct"]) == correct]
        if q["type"] == "multiple":
            answers[q["key"]] = sorted(keys)
        elif q["type"] in ("single", "true_false"):
            if keys:
                answers[q["key"]] = keys[0]
        elif correct and q.get("answers"):
            answers[q["key"]] = q["answers"][0]
        elif correct and q.get("numeric"):
            numeric = q["numeric"][0]
            answers[q["key"]] = numeric.get("value") or numeric.get("low")
        else:
            answers[q["key"]] = "không nhớ"
    return answers


def _results(graded: Any) -> dict[str, Any]:
    return {
        key: {"score": r.score, "max": r.max_score, "correct": r.correct}
        for key, r in graded.per_question.items()
    }


def _code(n: int) -> str:
    """Certificate code n: 12 symbols of the real alphabet, unique per n."""
    from mooc.training.completion import CODE_ALPHABET

    symbols = []
    value = n * 7919 + 104729  # spread, deterministic, still unique
    for _ in range(12):
        value, rest = divmod(value, len(CODE_ALPHABET))
        symbols.append(CODE_ALPHABET[rest])
    raw = "".join(symbols)
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def generate(
    url: str,
    staff_count: int,
    course_count: int,
    *,
    seed: int = 2026,
    attempt_share: float = 0.1,
    today: date | None = None,
    log: Any = print,
) -> Dataset:
    """Empty the database at ``url``, migrate it and fill it (see the module docstring)."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from mooc import clock
    from mooc.courses.sync import sync_tree
    from mooc.extensions import db
    from mooc.reports import summary
    from mooc.roster import keys
    from mooc.training import activity
    from mooc.training.assign import add_months

    started = time.perf_counter()
    rng = random.Random(seed)
    today = today or clock.today()
    now = datetime.now(UTC)
    dataset = Dataset(staff_count, course_count)
    with tempfile.TemporaryDirectory(prefix="mooc-bench-gen-") as tmp:
        folder = Path(tmp)
        tree = course_tree(folder / "courses", course_count)
        app = make_app(url, folder, COURSES_DIR=str(tree))
        with app.app_context():
            drop_everything(db.engine)
            upgrade()
            report = sync_tree(tree)
            db.session.commit()
            log(f"  courses synced: {report.courses} courses ({time.perf_counter() - started:.1f} s)")
            courses = _load_courses(rng)
            by_key = {c.key: c for c in courses}
            db.session.rollback()  # its reads hold SQLite's write lock (BEGIN IMMEDIATE)
            with db.engine.begin() as connection:
                writer = BulkWriter(connection)
                if writer.dialect == "postgresql":
                    connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
                    # The app's statement timeout (30 s) is for requests, not for COPY of millions of rows.
                    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
                manifest = _fill(
                    writer,
                    rng,
                    courses,
                    by_key,
                    staff_count,
                    attempt_share,
                    today,
                    now,
                    keys,
                    add_months,
                    generate_password_hash,
                    log,
                    started,
                )
                writer.reset_sequences(
                    [
                        "org_units",
                        "positions",
                        "staff",
                        "staff_history",
                        "users",
                        "assignment_rules",
                        "enrolments",
                        "certificates",
                        "lesson_progress",
                        "quiz_attempts",
                    ]
                )
                activity.recompute(connection)  # each person's latest training, from the rows written
                summary.refill(connection)  # the reports' summary table, from the rows written
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                if connection.dialect.name == "postgresql":
                    # VACUUM too: otherwise autovacuum works through the fresh tables (1 GB at 100,000
                    # staff) while the benchmarks measure, and a steady database has none of that to do.
                    connection.exec_driver_sql("SET statement_timeout = 0")
                    connection.exec_driver_sql("VACUUM ANALYZE")
                else:
                    connection.exec_driver_sql("ANALYZE")
            dataset.counts = dict(writer.counts)
            db.session.remove()
            db.engine.dispose()
    dataset.manifest = manifest
    dataset.seconds = time.perf_counter() - started
    return dataset


def _fill(
    writer: BulkWriter,
    rng: random.Random,
    courses: list[CourseInfo],
    by_key: dict[str, CourseInfo],
    staff_count: int,
    attempt_share: float,
    today: date,
    now: datetime,
    keys: Any,
    add_months: Any,
    hash_password: Any,
    log: Any,
    started: float,
) -> dict[str, Any]:
    created = now - timedelta(days=800)
    # Units: two levels.
    units: list[tuple[int, str, str, str, int | None]] = []  # id, code, name, kind, parent
    units.append((1, "TTCP", "Thanh tra Chính phủ", "central", None))
    for n, name in enumerate(CENTRAL_SECTIONS, start=1):
        units.append((len(units) + 1, f"TTCP-{n:02d}", name, "section", 1))
    provinces: list[tuple[int, str, float]] = []  # id, name, weight
    sections_of: dict[int, list[int]] = {1: [u[0] for u in units if u[4] == 1]}
    for p, province in enumerate(PROVINCES, start=1):
        pid = len(units) + 1
        full = f"Thanh tra Thành phố {province}" if province in CITIES else f"Thanh tra tỉnh {province}"
        units.append((pid, f"T{p:02d}", full, "province", None))
        provinces.append((pid, full, BIG.get(province, rng.uniform(0.6, 1.2))))
        count = rng.randint(6, len(PROVINCE_SECTIONS))
        sections_of[pid] = []
        for s, name in enumerate(PROVINCE_SECTIONS[:count], start=1):
            units.append((len(units) + 1, f"T{p:02d}-P{s:02d}", name, "section", pid))
            sections_of[pid].append(len(units))
    writer.insert(
        "org_units",
        ["id", "code", "name", "kind", "parent_id", "active", "created_at"],
        ((u[0], u[1], u[2], u[3], u[4], True, created) for u in units),
    )
    writer.insert(
        "positions",
        ["id", "code", "title", "rank", "created_at"],
        ((i, code, title, rank, created) for i, (code, title, rank, _share) in enumerate(POSITIONS, 1)),
    )
    position_ids = {code: i for i, (code, _t, _r, _s) in enumerate(POSITIONS, 1)}
    position_weights = [share for _c, _t, _r, share in POSITIONS]

    # People: 4% central, the rest by province weight; leaders sit in the province unit itself.
    roots = [(1, 0.04 * sum(w for _i, _n, w in provinces) / 0.96)] + [(pid, w) for pid, _n, w in provinces]
    root_ids, root_weights = [r[0] for r in roots], [r[1] for r in roots]
    names = Names(rng)
    staff_rows, history_rows, user_rows = [], [], []
    people: list[tuple[int, int, int, str, int]] = []  # staff id, root unit, position id, status, user id
    password = hash_password(BENCH_PASSWORD, method=FAST_HASH)
    seen_emails: set[str] = set()
    for sid in range(1, staff_count + 1):
        root = rng.choices(root_ids, root_weights)[0]
        position = rng.choices(range(1, len(POSITIONS) + 1), position_weights)[0]
        leader = position <= 2
        unit = root if leader or not sections_of.get(root) else rng.choice(sections_of[root])
        family, middle, given = names.draw()
        full = f"{family} {middle} {given}"
        email = f"{email_local(family, middle, given)}{sid}@thanhtra.gov.vn"
        seen_emails.add(email)
        code = f"{sid:07d}"
        roll = rng.random()
        status = "left" if roll < 0.02 else "on_leave" if roll < 0.05 else "active"
        joined = today - timedelta(days=rng.randint(200, 12000))
        left_on = today - timedelta(days=rng.randint(1, 180)) if status == "left" else None
        staff_rows.append(
            (
                sid,
                code,
                full,
                family,
                middle,
                given,
                email,
                unit,
                position,
                status,
                joined,
                left_on,
                keys.search_text(full, code, email),
                keys.sort_key(full),
                created,
                created,
            )
        )
        history_rows.append(
            (sid, sid, joined, left_on, unit, position, "active" if status == "left" else status)
        )
        user_rows.append(
            (sid, email, full, password, "trainee", None, sid, status != "left", created, created)
        )
        people.append((sid, root, position, status, sid))
    writer.insert(
        "staff",
        [
            "id",
            "staff_code",
            "full_name",
            "family_name",
            "middle_name",
            "given_name",
            "email",
            "unit_id",
            "position_id",
            "status",
            "joined_on",
            "left_on",
            "search_text",
            "sort_key",
            "created_at",
            "updated_at",
        ],
        staff_rows,
    )
    writer.insert(
        "staff_history",
        ["id", "staff_id", "valid_from", "valid_to", "unit_id", "position_id", "status"],
        history_rows,
    )
    # Accounts: every person a trainee; a manager per province; a reporter; an administrator.
    managers = {}
    next_user = staff_count + 1
    extra_users = []
    for pid, name, _w in provinces:
        email = f"quanly.t{pid}@thanhtra.gov.vn"
        extra_users.append(
            (next_user, email, f"Quản lý {name}", password, "manager", pid, None, True, created, created)
        )
        managers[pid] = (next_user, email)
        next_user += 1
    reporter = (next_user, "baocao@thanhtra.gov.vn")
    extra_users.append(
        (next_user, reporter[1], "Báo cáo Bộ", password, "reporter", None, None, True, created, created)
    )
    admin = (next_user + 1, "quantri@thanhtra.gov.vn")
    extra_users.append(
        (next_user + 1, admin[1], "Quản trị", password, "admin", None, None, True, created, created)
    )
    writer.insert(
        "users",
        [
            "id",
            "email",
            "display_name",
            "password_hash",
            "role",
            "scope_unit_id",
            "staff_id",
            "active",
            "created_at",
            "password_changed_at",
        ],
        [*user_rows, *extra_users],
    )
    log(f"  roster: {len(units)} units, {staff_count:,} people ({time.perf_counter() - started:.1f} s)")

    # Rules: the real courses' rules, then each extra course for a few provinces.
    rules = []  # id, course, root ids, position ids, due_days, due_on, renew
    for key, scope, codes, due_days, renew in RULES:
        if key in by_key:
            roots_in = root_ids if scope == "all" else [pid for pid, _n, _w in provinces]
            rules.append(
                (
                    len(rules) + 1,
                    by_key[key],
                    roots_in,
                    [position_ids[c] for c in codes],
                    due_days,
                    None if due_days else today + timedelta(days=30),
                    renew,
                )
            )
    real = {key for key, *_rest in RULES}
    for course in courses:
        if course.key not in real:
            chosen = rng.sample([pid for pid, _n, _w in provinces], 8)
            rules.append((len(rules) + 1, course, chosen, [], rng.choice([60, 90, 180]), None, None))
    writer.insert(
        "assignment_rules",
        ["id", "course_id", "due_days", "due_on", "renew_months", "active", "note", "created_at"],
        ((r[0], r[1].id, r[4], r[5], r[6], True, "Quy tắc sinh cho benchmark", created) for r in rules),
    )
    writer.insert("assignment_rule_units", ["rule_id", "unit_id"], ((r[0], u) for r in rules for u in r[2]))
    writer.insert(
        "assignment_rule_positions", ["rule_id", "position_id"], ((r[0], p) for r in rules for p in r[3])
    )

    # Enrolments from the rules, in every state; progress and attempts to match.
    enrolments, certificates, progress, attempts = [], [], [], []
    states: dict[str, int] = defaultdict(int)
    eid = 0
    attempt_id = 0
    trainee_sample: dict[str, int] = {}
    for sid, root, position, status, uid in people:
        for rid, course, rule_roots, rule_positions, due_days, due_on_fixed, renew in rules:
            if root not in rule_roots or (rule_positions and position not in rule_positions):
                continue
            age = rng.randint(0, 420)  # days since assigned
            assigned = today - timedelta(days=age)
            due = assigned + timedelta(days=due_days) if due_days else due_on_fixed
            window = (due - assigned).days if due else 90
            roll = rng.random()
            # The older the assignment, the likelier it is done; a few are exempt or moved out.
            done_chance = 0.08 + 0.5 * min(1.0, age / (max(window, 1) + 90))
            closed_at = None
            if roll < 0.02:
                state = "exempt"
            elif roll < 0.02 + done_chance:
                state = "completed"
            elif rng.random() < 0.45:
                state = "in_progress"
            else:
                state = "not_started"
            if state in ("not_started", "in_progress") and rng.random() < 0.04:
                closed_at = now - timedelta(days=rng.randint(1, 60))
            started_at = completed_at = expires = None
            lessons_done = 0
            if state == "completed":
                span = max(1, min(age, window + 30))
                completed_at = (
                    now
                    - timedelta(days=age)
                    + timedelta(days=rng.randint(1, span), minutes=rng.randint(0, 1440))
                )
                completed_at = min(completed_at, now - timedelta(minutes=rng.randint(5, 600)))
                started_at = completed_at - timedelta(days=rng.randint(0, 20), minutes=rng.randint(10, 300))
                expires = add_months(completed_at.date(), renew) if renew else None
                lessons_done = len(course.lessons)
            elif state == "in_progress":
                started_at = now - timedelta(days=rng.randint(0, max(0, age)), minutes=rng.randint(0, 1440))
                lessons_done = rng.randint(1, max(1, len(course.lessons) - 1))
            eid += 1
            enrolments.append(
                (
                    eid,
                    sid,
                    course.id,
                    1,
                    True,
                    "rule",
                    rid,
                    state,
                    assigned,
                    due,
                    started_at,
                    completed_at,
                    expires,
                    course.content_hash if completed_at else None,
                    None,
                    None,
                    "Đã học lớp tập trung" if state == "exempt" else None,
                    closed_at,
                    created,
                    "",
                    True,
                )
            )
            states[state] += 1
            if state == "completed":
                certificates.append(
                    (eid, eid, _code(eid), completed_at, expires, staff_rows[sid - 1][2], course.title)
                )
                if expires is not None and expires <= today + timedelta(days=30):
                    # Renewal cycle opened 30 days before expiry: usually under way, sometimes late.
                    eid += 1
                    renew_state = rng.choice(
                        ["not_started", "not_started", "in_progress", "in_progress", "completed"]
                    )
                    r_started = (
                        now - timedelta(days=rng.randint(0, 25)) if renew_state != "not_started" else None
                    )
                    r_completed = (
                        now - timedelta(days=rng.randint(0, 5), minutes=rng.randint(1, 600))
                        if renew_state == "completed"
                        else None
                    )
                    r_expires = add_months(r_completed.date(), renew) if r_completed else None
                    enrolments[-1] = (*enrolments[-1][:-1], False)  # no longer the latest cycle
                    enrolments.append(
                        (
                            eid,
                            sid,
                            course.id,
                            2,
                            True,
                            "rule",
                            rid,
                            renew_state,
                            expires - timedelta(days=30),
                            expires,
                            r_started,
                            r_completed,
                            r_expires,
                            course.content_hash if r_completed else None,
                            None,
                            None,
                            None,
                            None,
                            created,
                            "",
                            True,
                        )
                    )
                    states[f"renewal {renew_state}"] += 1
                    if r_completed:
                        certificates.append(
                            (
                                eid,
                                eid,
                                _code(eid),
                                r_completed,
                                r_expires,
                                staff_rows[sid - 1][2],
                                course.title,
                            )
                        )
            if lessons_done:
                moment = started_at or now
                for lesson_id, _key in course.lessons[:lessons_done]:
                    moment = moment + timedelta(minutes=rng.randint(5, 400))
                    progress.append((uid, lesson_id, min(moment, now)))
                if status == "active":
                    trainee_sample.setdefault((course.key, state), uid)
            if course.quizzes and state in ("completed", "in_progress") and rng.random() < attempt_share:
                shown = course.quizzes if state == "completed" else course.quizzes[:1]
                for quiz in shown:
                    questions, outcomes = rng.choice(quiz["variants"])
                    plan = [1] if state == "completed" else [0]
                    if state == "completed" and rng.random() < 0.25:
                        plan = [0, 1]
                    base = completed_at or now
                    for number, passed in enumerate(plan, start=1):
                        answers, graded = outcomes[0] if passed else outcomes[1]
                        attempt_id += 1
                        begun = base - timedelta(days=len(plan) - number, minutes=rng.randint(20, 90))
                        attempts.append(
                            (
                                attempt_id,
                                uid,
                                quiz["id"],
                                number,
                                "submitted",
                                begun,
                                None,
                                begun + timedelta(minutes=rng.randint(5, 19)),
                                quiz["hash"],
                                quiz["settings"],
                                questions,
                                answers,
                                graded.score,
                                graded.max_score,
                                graded.percent,
                                graded.passed,
                                _results(graded),
                            )
                        )
    writer.insert(
        "enrolments",
        [
            "id",
            "staff_id",
            "course_id",
            "cycle",
            "required",
            "source",
            "rule_id",
            "state",
            "assigned_on",
            "due_on",
            "started_at",
            "completed_at",
            "expires_on",
            "completed_version",
            "completed_commit",
            "score",
            "exempt_reason",
            "closed_at",
            "created_at",
            "note",
            "latest",
            "updated_at",
        ],
        # updated_at (the read API's updated_since): the completion, else the enrolment itself
        ((*row, row[11] or row[18]) for row in enrolments),
    )
    writer.insert(
        "certificates",
        ["id", "enrolment_id", "code", "issued_at", "expires_on", "holder_name", "course_title",
         "updated_at"],
        ((*row, row[3]) for row in certificates),
    )
    log(
        f"  {len(enrolments):,} enrolments, {len(certificates):,} certificates "
        f"({time.perf_counter() - started:.1f} s)"
    )
    writer.insert(
        "lesson_progress",
        ["id", "user_id", "lesson_id", "completed_at"],
        ((n, *row) for n, row in enumerate(progress, start=1)),
    )
    writer.insert(
        "quiz_attempts",
        [
            "id",
            "user_id",
            "quiz_id",
            "number",
            "status",
            "started_at",
            "deadline_at",
            "submitted_at",
            "quiz_hash",
            "settings",
            "questions",
            "answers",
            "score",
            "max_score",
            "percent",
            "passed",
            "results",
        ],
        attempts,
    )
    log(
        f"  {len(progress):,} lessons done, {len(attempts):,} quiz attempts "
        f"({time.perf_counter() - started:.1f} s)"
    )

    # The benchmark accounts: a trainee under way (lesson page, home), a province manager, the reporter.
    trainee_course = by_key.get("nghiep-vu-thanh-tra") or next(c for c in courses if c.lessons)
    trainee_uid = (
        trainee_sample.get((trainee_course.key, "in_progress"))
        or trainee_sample.get((trainee_course.key, "completed"))
        or 1
    )
    busiest = max(provinces, key=lambda p: p[2])
    return {
        "password": BENCH_PASSWORD,
        "trainee": {"email": user_rows[trainee_uid - 1][1], "user_id": trainee_uid},
        "lesson_path": f"/courses/{trainee_course.key}/lessons/{trainee_course.lessons[1][1]}",
        "manager": {"email": managers[busiest[0]][1], "unit_id": busiest[0], "unit": busiest[1]},
        "reporter": {"email": reporter[1]},
        "admin": {"email": admin[1]},
        "province_id": busiest[0],
        "exam_course": trainee_course.key,
        "exam_quiz": trainee_course.quizzes[0]["key"] if trainee_course.quizzes else None,
        "lookup_code": f"{staff_count // 2:07d}",
        "states": dict(states),
        "exam_users": [row[1] for row in user_rows if row[7]][-400:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--courses", type=int, default=8)
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: SQLite in instance/bench.sqlite3 (EMPTIED first, like any URL)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--attempt-share",
        type=float,
        default=0.1,
        help="share of enrolments under way or done that have quiz attempts",
    )
    parser.add_argument("--manifest", default=None, help="write the benchmark accounts here (JSON)")
    options = parser.parse_args()
    url = options.database_url
    if url is None:
        folder = ROOT / "instance"
        folder.mkdir(exist_ok=True)
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
    print(f"Generating {options.staff:,} staff, {options.courses} courses into {database_label(url)}")
    dataset = generate(
        url, options.staff, options.courses, seed=options.seed, attempt_share=options.attempt_share
    )
    for table, count in dataset.counts.items():
        print(f"  {table:28} {count:>10,}")
    print(f"  enrolment states: {dataset.manifest['states']}")
    print(f"done in {dataset.seconds:.1f} s")
    if options.manifest:
        Path(options.manifest).write_text(
            json.dumps(dataset.manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
