"""The bulk paths write set-based: their statements do not grow with the people (issue: 100,000 staff).

Switching a programme rule off for the whole ministry used to send one UPDATE per programme
cycle (``programs.close_program_courses``), and the ORM one more per cycle (its ``closed_at``):
100,000 people, 200,000 statements. Here every scheduled command and bulk path runs on two
rosters, ``SMALL`` and ``LARGE`` people, through the CLI or the real route (the refreshers,
which only a superseded legal document's page opens, through their domain function), with the
chunk of ids per statement (``mooc.database.CHUNK``) lowered so that both sizes span several
chunks. A listener counts the statements each step sends; a step may grow by a few statements
per chunk of people (``PER_CHUNK``: one IN list per chunk, as ``tests/test_bulk_limits.py``
requires), never by one per person.

What a statement is, counted: every execution; an executemany of an UPDATE, a DELETE or a
SELECT counts once per row it carries (the server runs each as its own statement, and that is
what the ORM's flush of N changed objects sends); new rows count once per INSERT, however
SQLAlchemy cuts it (an executemany, COPY, or the batches of one flush: on PostgreSQL a
thousand rows a statement, on SQLite one, as its RETURNING does not keep the rows' order).

Then the results. Along the way, assertions check what each step did (who is enrolled, closed,
renewed, certified) and that the summary table equals the live aggregate
(``tests/reports/test_summary.check``). The last test writes out, row by row, what switching a
programme rule and a course rule off must change (and that nothing else changes), and checks
that the objects the session had loaded then hold what was written, after a preview rolled back
as after the switch-off itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from mooc import clock, database
from mooc.auth.models import Role, User
from mooc.courses.models import Course
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from mooc.training import programs, refreshers, rules
from mooc.training.assign import RuleDraft
from mooc.training.models import (
    AssignmentRule,
    Enrolment,
    EnrolmentSource,
    EnrolmentState,
    Program,
    ProgramCertificate,
    ProgramEnrolment,
)
from mooc.xapi import outbox
from tests.conftest import csrf_token, empty_tables, login
from tests.reports.test_summary import check
from tests.roster.helpers import write_csv
from tests.test_bulk_limits import add_trainee_accounts
from tests.training.programs_tree import make_programs_tree

SMALL, LARGE = 150, 450  # people on the roster, the two runs (under hooks.MANY: named to the rules)
CHUNK = 50  # ids per IN (...) list during the test (production: 900)
PER_CHUNK = 25  # statements a step may add per chunk of people more (LARGE - SMALL: 6 chunks)
ACCOUNTS = 40  # people with an account (reminders): messages go one by one, by design
# Per person by design: none (the privacy purge was, until session 14: it takes a batch of
# leavers at a time now, privacy/cohort.py).
PER_PERSON: set[str] = set()
HEADER = ["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Chức vụ", "Trạng thái", "Ngày nghỉ"]
START = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 07:30 in Hà Nội, Monday 02/03/2026
A_YEAR_ON = datetime(2027, 2, 15, 0, 30, tzinfo=UTC)  # renewals open (30 days before a year's expiry)


@dataclass
class Count:
    """The statements the engine runs, by step (see the module's text for what counts)."""

    step: str = "setup"
    seen: Counter[str] = field(default_factory=Counter)
    shapes: dict[str, Counter[str]] = field(default_factory=dict)
    last: str = ""

    def __call__(self, conn, cursor, statement: str, parameters: Any, context: Any,
                 executemany: bool) -> None:
        inserting = statement.lstrip()[:6].upper() == "INSERT"
        rows = len(parameters) if executemany and parameters and not inserting else 1
        if inserting and statement == self.last:
            rows = 0  # the same INSERT again, at once: one flush's batches (one per row on SQLite)
        self.last = statement
        self.seen[self.step] += rows
        self.shapes.setdefault(self.step, Counter())[" ".join(statement.split())[:160]] += rows


@pytest.fixture
def bulk_app(make_app, tmp_path, monkeypatch) -> Iterator[tuple[Flask, Path]]:
    """An app on the programmes' courses, the chunk lowered, mail to files, the xAPI store away."""
    root = make_programs_tree(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(root), ALLOW_FILE_MAIL=True, MAIL_BACKEND="file",
                   XAPI_URL="https://lrs.example.vn/xAPI", PRIVACY_RETENTION_DAYS=365)
    monkeypatch.setattr(database, "CHUNK", CHUNK)
    monkeypatch.setattr(outbox, "post", lambda store, batch: None)
    yield app, root


def _people(start: int, count: int, position: str = "Thanh tra viên", status: str = "",
            left_on: str = "") -> list[list[str]]:
    units = ["NB-1", "NB-2", "NB-3"]
    return [[f"{n:06d}", f"Người Thứ {n}", f"nguoi{n}@thanhtra.gov.vn", units[n % 3], position, status,
             left_on] for n in range(start, start + count)]


def _world(app: Flask, root: Path) -> dict[str, int]:
    """The courses synced; units; a programme rule over the province (renewed yearly), a course
    rule (van-ban) over the province and another for its first section (two rules, one course)."""
    make_programs_tree(root)  # as written first (a run changes the programme's text)
    with app.app_context():
        sync_tree(root)
        province = OrgUnit(code="NB", name="Thanh tra tỉnh Ninh Bình", kind="province")
        db.session.add(province)
        db.session.flush()
        sections = [OrgUnit(code=f"NB-{n}", name=f"Phòng {n}", kind="section", parent_id=province.id)
                    for n in (1, 2, 3)]
        db.session.add_all(sections)
        db.session.flush()
        program_id = db.session.scalar(sa.select(Program.id))
        courses = dict(db.session.execute(sa.select(Course.key, Course.id)).all())
        program_rule, _ = rules.create_rule(RuleDraft(None, [province.id], due_days=30, renew_months=12,
                                                      program_id=program_id))
        course_rule, _ = rules.create_rule(RuleDraft(courses["van-ban"], [province.id], due_days=14,
                                                     renew_months=12))
        rules.create_rule(RuleDraft(courses["van-ban"], [sections[0].id], due_days=60))
        db.session.commit()
        return {"program_rule": program_rule.id, "course_rule": course_rule.id, "province": province.id,
                **courses}


def _accounts(app: Flask) -> None:
    with app.app_context():
        add_trainee_accounts(ACCOUNTS)
        db.session.commit()


def _history(path: Path, n: int, *courses: str) -> Path:
    path.write_text("Mã cán bộ;Khóa học;Ngày hoàn thành\n" + "".join(
        f"{k:06d};{course};15/01/2026\n" for course in courses for k in range(1, n + 1)), encoding="utf-8")
    return path


class Run:
    """One roster size through every bulk path, step by step."""

    def __init__(self, app: Flask, root: Path, tmp: Path, n: int, make_user) -> None:
        self.app, self.root, self.tmp, self.n = app, root, tmp, n
        self.count = Count()
        self.make_user = make_user
        self.client: FlaskClient | None = None
        self.admin: User | None = None

    def cli(self, step: str, *args: str) -> str:
        self.count.step = step
        result = self.app.test_cli_runner().invoke(args=list(args))
        self.count.step = "checks"
        assert result.exit_code == 0, (step, result.output, result.exception)
        return result.output

    def sign_in(self) -> None:
        """An administrator signs in (again: a session a year old has lapsed)."""
        if self.admin is None:
            self.admin = self.make_user(role=Role.ADMIN)
        self.client = self.app.test_client()
        login(self.client, self.admin.email)

    def post(self, step: str, path: str, **data: str) -> str:
        assert self.client is not None
        token = csrf_token(self.client, "/admin/rules")
        self.count.step = step
        response = self.client.post(path, data={"csrf_token": token, **data})
        self.count.step = "checks"
        assert response.status_code in (200, 302), (step, response.status_code)
        return response.get_data(as_text=True)

    def scalar(self, statement: Any) -> Any:
        with self.app.app_context():
            return db.session.scalar(statement)


def _open_cycles(run: Run) -> int:
    return run.scalar(sa.select(sa.func.count()).select_from(ProgramEnrolment).where(
        ProgramEnrolment.closed_at.is_(None), ProgramEnrolment.completed_at.is_(None),
        ProgramEnrolment.latest.is_(True)))


def _enrolments(run: Run, key: str, *conditions: Any) -> int:
    return run.scalar(sa.select(sa.func.count()).select_from(Enrolment).join(Course).where(
        Course.key == key, *conditions))


def _roster_and_programme(run: Run, world: dict[str, int]) -> None:
    n, tmp = run.n, run.tmp
    roster = write_csv(tmp / "roster.csv", _people(1, n), header=HEADER)
    run.cli("roster import", "roster", "import", str(roster))
    assert _open_cycles(run) == n and _enrolments(run, "co-ban") == n  # step 1 open for everyone
    _accounts(run.app)
    run.cli("training assign", "training", "assign")
    _later_due_dates(run, world)
    # Everyone did step 1 elsewhere: step 2 opens for all of them (named, a chunk at a time).
    run.cli("import-history: step 1", "training", "import-history", str(_history(tmp / "h1.csv", n, "CB")))
    assert _enrolments(run, "tiep-dan", Enrolment.state == EnrolmentState.NOT_STARTED) == n
    program = run.root / "_chuong-trinh" / "moi.md"  # the programme's text changes: its cycles advance
    program.write_text(program.read_text(encoding="utf-8").replace("Lộ trình thử.", f"Lộ trình {n}."),
                       encoding="utf-8")
    run.cli("courses sync: a programme changed", "courses", "sync", str(run.root))
    # Step 2 elsewhere too: step 3 (1 of van-ban, giam-sat) opens: the rule's van-ban stays, giam-sat opens.
    run.cli("import-history: step 2", "training", "import-history", str(_history(tmp / "h2.csv", n, "TD")))
    assert _enrolments(run, "giam-sat", Enrolment.source == EnrolmentSource.PROGRAM,
                       Enrolment.closed_at.is_(None)) == n
    # Van-ban elsewhere: step 3 done, the untaken option closes, every cycle completes, certified.
    run.cli("import-history: programme done", "training", "import-history",
            str(_history(tmp / "h3.csv", n, "VB")))
    assert _enrolments(run, "giam-sat", Enrolment.closed_at.is_(None)) == 0
    assert run.scalar(sa.select(sa.func.count(sa.distinct(ProgramCertificate.code)))) == n
    assert run.scalar(sa.select(sa.func.count()).select_from(ProgramEnrolment).where(
        ProgramEnrolment.completed_at.is_not(None), ProgramEnrolment.steps_done == 3)) == n
    check(run.app)


def _moves_and_renewals(run: Run, world: dict[str, int]) -> None:
    n, tmp = run.n, run.tmp
    # Half move to another position; a tenth left years ago (the purge's); a tenth leave tomorrow.
    moved = _people(1, n // 2, position="Thanh tra viên chính")
    for row in moved[: n // 10]:
        row[5], row[6] = "Đã nghỉ", "01/01/2020"
    for row in moved[n // 10: n // 5]:
        row[6] = "03/03/2026"
    run.cli("roster import: moves", "roster", "import", str(write_csv(tmp / "m.csv", moved, header=HEADER)))
    assert run.scalar(sa.select(sa.func.count()).select_from(Staff).where(
        Staff.status == StaffStatus.LEFT)) == n // 10
    with run.app.app_context():  # van-ban's latest completions expire in a year (certificates)
        db.session.execute(sa.update(Enrolment).where(
            Enrolment.course_id == world["van-ban"], Enrolment.latest.is_(True),
            Enrolment.state == EnrolmentState.COMPLETED).values(expires_on=date(2027, 3, 1)))
        db.session.commit()
    clock.set_now(A_YEAR_ON)
    present = n - n // 5
    run.cli("training assign: leavers and renewals", "training", "assign")
    assert _enrolments(run, "van-ban", Enrolment.cycle > 1, Enrolment.latest.is_(True),
                       Enrolment.state == EnrolmentState.NOT_STARTED) == present
    assert run.scalar(sa.select(sa.func.count()).select_from(ProgramEnrolment).where(
        ProgramEnrolment.cycle == 2)) == present
    # the renewal cycle's step 1 opens again: a new cycle of co-ban, the completed one superseded
    assert _enrolments(run, "co-ban", Enrolment.latest.is_(True), Enrolment.source == EnrolmentSource.PROGRAM,
                       Enrolment.state == EnrolmentState.NOT_STARTED) == present
    check(run.app)


def _commands(run: Run) -> None:
    run.cli("xapi send", "xapi", "send")
    run.cli("reminders send", "reminders", "send")
    run.cli("reports send", "reports", "send")
    run.cli("privacy purge", "privacy", "purge")
    assert run.scalar(sa.select(sa.func.count()).select_from(Staff).where(
        Staff.staff_code.like("AD-%"))) == run.n // 10
    run.cli("reports rebuild-summary", "reports", "rebuild-summary")


def _refreshers(run: Run, world: dict[str, int]) -> None:
    with run.app.app_context():
        people = set(db.session.scalars(sa.select(Staff.id).where(Staff.status != StaffStatus.LEFT)))
        run.count.step = "refreshers (opened and rolled back)"
        report = refreshers.open_refreshers(world["tiep-dan"], people, clock.today() + timedelta(days=30))
        run.count.step = "checks"
        assert report.opened == len(people)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.course_id == world["tiep-dan"], Enrolment.latest.is_(True),
            Enrolment.state == EnrolmentState.NOT_STARTED)) == len(people)
        db.session.rollback()


def _terms(world: dict[str, int]) -> dict[str, str]:
    return {"scope": "units", "units": str(world["province"]), "due_kind": "days", "renew_months": "12",
            "renewal": "full"}


def _later_due_dates(run: Run, world: dict[str, int]) -> None:
    """Later due dates, previewed then confirmed through the rule's page: the open cycles (and
    the courses their steps opened) and the rule's open enrolments follow."""
    run.sign_in()
    terms, program_rule, course_rule = _terms(world), world["program_rule"], world["course_rule"]
    run.post("programme rule: later due, preview", f"/admin/rules/{program_rule}/edit", **terms,
             due_days="45")
    run.post("programme rule: later due", f"/admin/rules/{program_rule}/edit", **terms, due_days="45",
             confirm="1")
    later = clock.today() + timedelta(days=45)
    assert run.scalar(sa.select(sa.func.count()).select_from(ProgramEnrolment).where(
        ProgramEnrolment.due_on == later)) == run.n
    assert _enrolments(run, "co-ban", Enrolment.due_on == later) == run.n
    run.post("course rule: later due, preview", f"/admin/rules/{course_rule}/edit", **terms, due_days="21")
    run.post("course rule: later due", f"/admin/rules/{course_rule}/edit", **terms, due_days="21",
             confirm="1")
    assert _enrolments(run, "van-ban", Enrolment.due_on == clock.today() + timedelta(days=21),
                       Enrolment.rule_id == course_rule) == run.n  # (the first rule covering a person enrols)
    check(run.app)


def _rules(run: Run, world: dict[str, int]) -> None:
    run.sign_in()
    terms, program_rule, course_rule = _terms(world), world["program_rule"], world["course_rule"]
    present = run.scalar(sa.select(sa.func.count()).select_from(Staff).where(
        Staff.status != StaffStatus.LEFT))
    # Switched off, previewed then confirmed: the programme's open cycles close with their courses.
    run.post("programme rule: switch-off preview", f"/admin/rules/{program_rule}/deactivate")
    run.post("programme rule: switch-off", f"/admin/rules/{program_rule}/deactivate", confirm="1")
    assert _open_cycles(run) == 0
    assert _enrolments(run, "co-ban", Enrolment.latest.is_(True), Enrolment.closed_at.is_(None),
                       Enrolment.state == EnrolmentState.NOT_STARTED) == 0
    # The province's course rule off: the first section's rule adopts its people, the rest close.
    run.post("course rule: switch-off preview", f"/admin/rules/{course_rule}/deactivate")
    run.post("course rule: switch-off", f"/admin/rules/{course_rule}/deactivate", confirm="1")
    with run.app.app_context():
        kept = db.session.execute(sa.select(Enrolment.rule_id, sa.func.count()).where(
            Enrolment.course_id == world["van-ban"], Enrolment.latest.is_(True),
            Enrolment.closed_at.is_(None), Enrolment.state == EnrolmentState.NOT_STARTED)
            .group_by(Enrolment.rule_id)).all()
    assert len(kept) == 1 and kept[0][0] != course_rule and 0 < kept[0][1] < present
    # Giam-sat done elsewhere years ago by those who stay, each on another day (no rule then) ...
    stay = range(run.n // 5 + 1, run.n + 1)
    spread = run.tmp / "giam-sat.csv"
    spread.write_text("Mã cán bộ;Khóa học;Ngày hoàn thành\n" + "".join(
        f"{k:06d};GS;{date(2023, 1, 1) + timedelta(days=k):%d/%m/%Y}\n" for k in stay), encoding="utf-8")
    run.cli("import-history: giam-sat years ago", "training", "import-history", str(spread))
    # ... then a new rule for giam-sat over the province renewing yearly, previewed then created
    # through its page (every present person): each completion gets its own expiry (a statement per
    # chunk, not per date) and, expired, its renewal; the others are enrolled.
    run.post("course rule: created, preview", "/admin/rules/new", course=str(world["giam-sat"]), **terms,
             due_days="30")
    run.post("course rule: created", "/admin/rules/new", course=str(world["giam-sat"]), **terms,
             due_days="30", confirm="1")
    assert _enrolments(run, "giam-sat", Enrolment.latest.is_(True), Enrolment.closed_at.is_(None)) == present
    assert _enrolments(run, "giam-sat", Enrolment.state == EnrolmentState.COMPLETED,
                       Enrolment.expires_on.is_not(None)) == len(stay)
    assert _enrolments(run, "giam-sat", Enrolment.latest.is_(True), Enrolment.cycle > 1,
                       Enrolment.state == EnrolmentState.NOT_STARTED) == len(stay)
    # The first section merged into the second: its own rule covers nobody now, its van-ban closes.
    with run.app.app_context():
        first, second = (db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == code))
                         for code in ("NB-1", "NB-2"))
    run.post("unit merge, preview", f"/roster/units/{first}/merge", **{"merge-target": str(second)})
    run.post("unit merge", f"/roster/units/{first}/merge",
             **{"merge-target": str(second), "merge-confirm": "y"})
    assert _enrolments(run, "van-ban", Enrolment.latest.is_(True), Enrolment.closed_at.is_(None),
                       Enrolment.state == EnrolmentState.NOT_STARTED) == 0
    check(run.app)


def _run(app: Flask, root: Path, tmp: Path, n: int, make_user) -> Count:
    clock.set_now(START)
    world = _world(app, root)
    run = Run(app, root, tmp, n, make_user)
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", run.count)
    try:
        _roster_and_programme(run, world)
        _moves_and_renewals(run, world)
        _commands(run)
        _refreshers(run, world)
        _rules(run, world)
    finally:
        sa.event.remove(engine, "before_cursor_execute", run.count)
    return run.count


def test_no_bulk_path_sends_a_statement_per_person(bulk_app, tmp_path, make_user):
    app, root = bulk_app
    runs: dict[int, Count] = {}
    for n in (SMALL, LARGE):
        folder = tmp_path / f"run{n}"
        folder.mkdir()
        runs[n] = _run(app, root, folder, n, make_user)
        with app.app_context():
            db.session.remove()
            empty_tables()
    small, large = runs[SMALL], runs[LARGE]
    allowed = PER_CHUNK * (LARGE - SMALL) // CHUNK
    steps = [step for step in large.seen if step not in ("setup", "checks")]
    assert len(steps) >= 25, steps
    grew = []
    for step in sorted(set(steps) - PER_PERSON):
        if large.seen[step] - small.seen[step] > allowed:
            shapes = large.shapes[step]
            worst = sorted(shapes, key=lambda s: shapes[s] - small.shapes.get(step, Counter())[s])[-3:]
            grew.append(f"{step}: {small.seen[step]} -> {large.seen[step]} statements; growing most: "
                        + " | ".join(f"{small.shapes.get(step, Counter())[s]} -> {shapes[s]}: {s}"
                                     for s in reversed(worst)))
    assert not grew, f"grew by more than {allowed} from {SMALL} to {LARGE} people:\n" + "\n".join(grew)


# --- what a switch-off writes, and what the session holds after it -----------------------------------


def _rows(model: Any) -> dict[int, dict[str, Any]]:
    """Every row of the model's table as this transaction sees it (not through the session)."""
    table = model.__table__
    return {row.id: dict(row._mapping) for row in db.session.connection().execute(sa.select(table))}


def _stale(*models: Any) -> list[str]:
    """The loaded attributes of objects of ``models`` in the session that differ from their rows."""
    found = []
    for model in models:
        rows = _rows(model)
        for obj in list(db.session.identity_map.values()):
            if not isinstance(obj, model):
                continue
            state = sa.inspect(obj)
            row = rows.get(state.identity[0], {})
            found += [f"{model.__name__} {state.identity[0]} {attr.key}: {state.dict[attr.key]!r}, "
                      f"stored {row.get(attr.columns[0].name)!r}"
                      for attr in state.mapper.column_attrs
                      if attr.key in state.dict and state.dict[attr.key] != row.get(attr.columns[0].name)]
    return found


Rows = dict[int, dict[str, Any]]


def _changes(before: Rows, after: Rows) -> Rows:
    """Row id -> the columns that changed (their new values), ``updated_at`` aside."""
    assert before.keys() == after.keys()
    return {key: changed for key in before if (changed := {
        name: value for name, value in after[key].items()
        if name != "updated_at" and before[key][name] != value})}


def _settled_world(app: Flask, root: Path, tmp: Path) -> dict[str, Any]:
    """40 people; a second programme rule over the second section; some of step 1 under way,
    some done, two people left (after enrolling: their cycles stay open, for their history)."""
    world: dict[str, Any] = _world(app, root)
    result = app.test_cli_runner().invoke(args=[
        "roster", "import", str(write_csv(tmp / "roster.csv", _people(1, 40), header=HEADER))])
    assert result.exit_code == 0, result.output
    with app.app_context():
        units = dict(db.session.execute(sa.select(OrgUnit.code, OrgUnit.id)).all())
        program_id = db.session.scalar(sa.select(Program.id))
        second, _ = rules.create_rule(RuleDraft(None, [units["NB-2"]], due_days=30, program_id=program_id))
        first_rule = db.session.scalar(sa.select(AssignmentRule.id).where(
            AssignmentRule.course_id == world["van-ban"], AssignmentRule.id != world["course_rule"]))
        people = db.session.scalars(sa.select(Staff).order_by(Staff.id)).all()
        for staff in people[:2]:
            staff.status = StaffStatus.LEFT
        co_ban = {e.staff_id: e for e in db.session.scalars(sa.select(Enrolment).where(
            Enrolment.course_id == world["co-ban"]))}
        for staff in people[2:12]:
            co_ban[staff.id].state, co_ban[staff.id].started_at = EnrolmentState.IN_PROGRESS, clock.now()
        for staff in people[12:16]:
            co_ban[staff.id].state, co_ban[staff.id].completed_at = EnrolmentState.COMPLETED, clock.now()
        db.session.commit()
        programs.advance()  # settled: what the switch-off's own advance would do is done
        db.session.commit()
        world.update(second=second.id, first_section_rule=first_rule, units=units,
                     left={staff.id for staff in people[:2]},
                     unit_of={staff.id: staff.unit_id for staff in people})
    return world


def _expected(world: dict[str, Any], cycles: dict[int, dict[str, Any]],
              courses: dict[int, dict[str, Any]], now: datetime) -> tuple[dict, dict]:
    """What switching off the programme rule, then the province's course rule, writes (the
    rules' semantics, written out): open cycles of the rule close, but a leaver's and those the
    second rule covers (adopted); the courses of the closed cycles not finished close; the
    course rule's open enrolments close, but a leaver's and the first section's (adopted)."""
    left, unit_of, units = world["left"], world["unit_of"], world["units"]
    open_states = (EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS)
    cycle_changes: dict[int, dict[str, Any]] = {}
    closed_people = set()
    for key, row in cycles.items():
        if row["rule_id"] != world["program_rule"] or row["closed_at"] or row["completed_at"]:
            continue
        if row["staff_id"] in left:
            continue
        if unit_of[row["staff_id"]] == units["NB-2"]:
            cycle_changes[key] = {"rule_id": world["second"]}
        else:
            cycle_changes[key] = {"closed_at": now}
            closed_people.add(row["staff_id"])
    course_changes: dict[int, dict[str, Any]] = {}
    for key, row in courses.items():
        if row["closed_at"] is not None or row["state"] not in open_states:
            continue
        if row["source"] == EnrolmentSource.PROGRAM and row["staff_id"] in closed_people:
            course_changes[key] = {"closed_at": now}
        elif row["rule_id"] == world["course_rule"] and row["staff_id"] not in left:
            first_section = unit_of[row["staff_id"]] == units["NB-1"]
            course_changes[key] = ({"rule_id": world["first_section_rule"]} if first_section
                                   else {"closed_at": now})
    return cycle_changes, course_changes


def test_switching_rules_off_writes_what_it_did_and_leaves_no_stale_row_in_the_session(bulk_app, tmp_path,
                                                                                        monkeypatch):
    app, root = bulk_app
    monkeypatch.setattr(database, "CHUNK", 7)  # 40 people: six chunks
    clock.set_now(START)
    world = _settled_world(app, root, tmp_path)
    clock.set_now(START + timedelta(days=3))
    with app.app_context():
        loaded = [*db.session.scalars(sa.select(Enrolment)), *db.session.scalars(sa.select(ProgramEnrolment))]
        assert len(loaded) > 80
        cycles, courses = _rows(ProgramEnrolment), _rows(Enrolment)
        program_rule = db.session.get_one(AssignmentRule, world["program_rule"])
        course_rule = db.session.get_one(AssignmentRule, world["course_rule"])
        preview = rules.preview_deactivation(program_rule)  # in a savepoint, rolled back
        assert preview.report.closed > 0
        assert (_rows(ProgramEnrolment), _rows(Enrolment)) == (cycles, courses)
        assert not _stale(Enrolment, ProgramEnrolment)  # what the preview wrote is forgotten
        rules.deactivate_rule(program_rule)
        rules.deactivate_rule(course_rule)
        db.session.flush()
        assert not _stale(Enrolment, ProgramEnrolment)  # the loaded rows say what was written
        expected = _expected(world, cycles, courses, clock.now())
        assert all(expected) and any("rule_id" in change for change in expected[0].values())
        assert _changes(cycles, _rows(ProgramEnrolment)) == expected[0]
        assert _changes(courses, _rows(Enrolment)) == expected[1]
        db.session.commit()
    check(app)  # the summary equals the live aggregate
