"""No statement carries an IN (...) list that grows with the roster (issue: 100,000 staff).

PostgreSQL's driver refuses a statement with more than 65,535 bound parameters, and
SQLAlchemy sends ``column.in_(ids)`` as one parameter per id. A bulk path that names every
person concerned in one list (the nightly programmes' ``advance()`` did) works on a test
roster and fails at the ministry's. Here the shared chunk size (``mooc.database.CHUNK``) is
lowered so that a roster of a few hundred people already exceeds it, every scheduled command
and bulk path runs on that roster, and a listener on the engine measures every statement's
bound parameters: none may carry more than the chunk plus a few fixed ones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine.interfaces import ExecuteStyle

from mooc import clock, database
from mooc.auth.models import Role, User
from mooc.courses.models import Course
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.reports.models import Frequency, ReportKind, ReportSubscription
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from mooc.training import refreshers, rules
from mooc.training.assign import RuleDraft
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentState, Program, ProgramEnrolment
from mooc.xapi import outbox
from tests.conftest import login
from tests.roster.helpers import write_csv
from tests.training.programs_tree import make_programs_tree

PEOPLE = 600  # on the roster: 6 chunks
CHUNK = 100  # ids per IN (...) list during the test (production: 900)
FIXED = 30  # parameters a statement may carry besides its IN list (dates, states, a few ids)
MOVED = 300  # people a second import moves: named to the rules (under hooks.MANY), not "everyone"
ACCOUNTS = 80  # people with an account (reminders, xAPI)
LEAVERS = 3  # people who left long ago (privacy purge)
TODAY = date(2026, 3, 2)  # a Monday: weekly reports and digests go out
HEADER = ["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Chức vụ", "Trạng thái", "Ngày nghỉ"]


@dataclass
class Watch:
    """The bound parameters of every statement the engine sends, by step and statement."""

    step: str = "setup"
    # (step, statement with its IN lists folded) -> the most parameters it carried
    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    batches: int = 0  # multi-row INSERT batches SQLAlchemy cut itself (insertmanyvalues)

    def __call__(self, conn, cursor, statement: str, parameters: Any, context: Any,
                 executemany: bool) -> None:
        if context is not None and context.execute_style is ExecuteStyle.INSERTMANYVALUES:
            # One INSERT ... VALUES (...), (...) of many rows: SQLAlchemy sizes these batches
            # itself, under the dialect's own ceiling (not an IN list of ours).
            assert _size(parameters) <= conn.dialect.insertmanyvalues_max_parameters, statement[:200]
            self.batches += 1
            return
        sizes = [_size(p) for p in parameters] if executemany else [_size(parameters)]
        key = (self.step, _fold(statement))
        self.seen[key] = max(self.seen.get(key, 0), *sizes, 0)

    def over(self, limit: int) -> list[str]:
        return [f"{step}: {size} parameters: {statement}"
                for (step, statement), size in sorted(self.seen.items()) if size > limit]


IN_LIST = re.compile(r"\((?:\s*(?:\?|%\(\w+\)s|\$\d+|:\w+)\s*,)+\s*(?:\?|%\(\w+\)s|\$\d+|:\w+)\s*\)")


def _fold(statement: str) -> str:
    """The statement on one line, each list of placeholders as (...), cut to 240 characters."""
    return IN_LIST.sub("(...)", " ".join(statement.split()))[:240]


def _size(parameters: Any) -> int:
    return len(parameters) if parameters is not None else 0


@pytest.fixture
def watched(make_app, tmp_path, monkeypatch) -> Iterator[tuple[Flask, Path, Watch]]:
    """An app on the programmes' courses (synced), the chunk lowered, the engine watched."""
    root = make_programs_tree(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(root), ALLOW_FILE_MAIL=True, MAIL_BACKEND="file",
                   XAPI_URL="https://lrs.example.vn/xAPI", PRIVACY_RETENTION_DAYS=365)
    monkeypatch.setattr(database, "CHUNK", CHUNK)
    monkeypatch.setattr(outbox, "post", lambda store, batch: None)  # the store takes everything
    clock.set_now(datetime(2026, 3, 2, 0, 30, tzinfo=UTC))  # 07:30 in Hà Nội, Monday 02/03/2026
    with app.app_context():
        sync_tree(root)
        db.session.commit()
        engine = db.engine
    watch = Watch()
    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        yield app, root, watch
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)


def _cli(app: Flask, watch: Watch, *args: str) -> str:
    watch.step = " ".join(args[:2])
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def _roster_rows(start: int, count: int, position: str = "Thanh tra viên") -> list[list[str]]:
    units = ["NB-1", "NB-2", "NB-3"]
    return [[f"{n:06d}", f"Người Thứ {n}", f"nguoi{n}@thanhtra.gov.vn", units[n % 3], position, "", ""]
            for n in range(start, start + count)]


def _setup(app: Flask, root: Path) -> None:
    """Units, a programme rule and a course rule over the province (before anyone is on the roster)."""
    with app.app_context():
        province = OrgUnit(code="NB", name="Thanh tra tỉnh Ninh Bình", kind="province")
        db.session.add(province)
        db.session.flush()
        for n in (1, 2, 3):
            db.session.add(OrgUnit(code=f"NB-{n}", name=f"Phòng {n}", kind="section", parent_id=province.id))
        program_id = db.session.scalar(sa.select(Program.id))
        course_id = db.session.scalar(sa.select(Course.id).where(Course.key == "van-ban"))
        db.session.flush()
        rules.create_rule(RuleDraft(None, [province.id], due_days=30, renew_months=12, program_id=program_id))
        rules.create_rule(RuleDraft(course_id, [province.id], due_days=14, renew_months=12))
        db.session.commit()


def add_trainee_accounts(count: int) -> None:
    """Trainee accounts for the first ``count`` people of the roster (in an app context)."""
    staff = db.session.execute(sa.select(Staff.id, Staff.email, Staff.full_name)
                               .order_by(Staff.id).limit(count)).all()
    db.session.execute(sa.insert(User), [
        {"email": email, "display_name": name, "password_hash": "x", "role": Role.TRAINEE,
         "staff_id": staff_id, "active": True} for staff_id, email, name in staff])


def _accounts(app: Flask) -> None:
    """Accounts for the first people (reminders go to them), and a reporter who subscribes."""
    with app.app_context():
        add_trainee_accounts(ACCOUNTS)
        reporter = User(email="baocao@thanhtra.gov.vn", display_name="Báo Cáo", role=Role.REPORTER,
                        password_hash="x")
        db.session.add(reporter)
        db.session.flush()
        for kind in ReportKind:
            db.session.add(ReportSubscription(user_id=reporter.id, kind=kind, frequency=Frequency.WEEKLY,
                                              xlsx=True, pdf=kind == ReportKind.DASHBOARD))
        db.session.commit()


def _everyone(app: Flask) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Staff.id).where(Staff.status != StaffStatus.LEFT)))


def test_no_statement_of_a_bulk_path_carries_an_in_list_of_everyone(watched, tmp_path, make_user):
    app, root, watch = watched
    _setup(app, root)
    # The roster arrives by import (the rules enrol everyone, in the same transaction).
    roster = write_csv(tmp_path / "roster.csv", _roster_rows(1, PEOPLE), header=HEADER)
    _cli(app, watch, "roster", "import", str(roster))
    _accounts(app)

    _cli(app, watch, "training", "assign")  # the nightly run: every programme cycle advanced
    people = _everyone(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgramEnrolment)) == PEOPLE

    # Everyone completed step 1 elsewhere: the import advances all of them (named, not "everyone").
    history = tmp_path / "history.csv"
    history.write_text("Mã cán bộ;Khóa học;Ngày hoàn thành\n" + "".join(
        f"{n:06d};CB;15/01/2026\n" for n in range(1, PEOPLE + 1)), encoding="utf-8")
    _cli(app, watch, "training", "import-history", str(history))
    with app.app_context():
        done = db.session.scalars(sa.select(ProgramEnrolment.steps_done)).all()
        assert sorted(set(done)) == [1] and len(done) == PEOPLE  # no chunk of people forgotten
        step_two = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).join(Course).where(
            Course.key == "tiep-dan"))
        assert step_two == PEOPLE

    # A second import: MOVED people change position (the rules re-apply to them by name), a few
    # left years ago (the purge's leavers).
    moved = _roster_rows(1, MOVED, position="Thanh tra viên chính")
    for row in moved[:LEAVERS]:
        row[5], row[6] = "Đã nghỉ", "01/01/2020"
    _cli(app, watch, "roster", "import", str(write_csv(tmp_path / "moves.csv", moved, header=HEADER)))

    _cli(app, watch, "training", "assign")
    _cli(app, watch, "reminders", "send")
    _cli(app, watch, "reports", "send")
    _cli(app, watch, "xapi", "send")
    _cli(app, watch, "privacy", "purge")
    _cli(app, watch, "reports", "rebuild-summary")
    _cli(app, watch, "search", "reindex")
    program = root / "_chuong-trinh" / "moi.md"
    program.write_text(program.read_text(encoding="utf-8").replace("Lộ trình thử.", "Lộ trình mới."),
                       encoding="utf-8")
    _cli(app, watch, "courses", "sync", str(root))  # a programme changed: its cycles advance

    # Report exports, as a reporter downloads them.
    watch.step = "exports"
    reporter = make_user(role=Role.REPORTER)
    client = app.test_client()
    login(client, reporter.email)
    for path in ("/reports/people?export=csv", "/reports/people?status=overdue&export=xlsx",
                 f"/reports/compliance?unit=all&date={TODAY.isoformat()}&export=csv"):
        assert client.get(path).status_code == 200, path

    # The officers' bulk actions on everyone: a refresher for every completion, a rule's preview,
    # a rule switched off (every open programme cycle closes).
    with app.app_context():
        watch.step = "refreshers.open_refreshers"
        course_id = db.session.scalar(sa.select(Course.id).where(Course.key == "co-ban"))
        opened = refreshers.open_refreshers(course_id, people, TODAY + timedelta(days=30))
        assert opened.opened == len(people) - LEAVERS
        db.session.rollback()
        program_rule = db.session.scalar(
            sa.select(AssignmentRule).where(AssignmentRule.program_id.is_not(None)))
        watch.step = "rules.preview_deactivation"
        preview = rules.preview_deactivation(program_rule)
        assert preview.open_before == PEOPLE  # (the leavers keep theirs, for their history)
        watch.step = "rules.deactivate_rule"
        report = rules.deactivate_rule(program_rule)
        assert report.closed == PEOPLE - LEAVERS
        db.session.commit()
        closed = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.closed_at.is_not(None), Enrolment.state == EnrolmentState.NOT_STARTED))
        assert closed >= PEOPLE - LEAVERS  # the courses its steps opened close with the cycles

    assert watch.batches  # (the listener saw the ORM's batched inserts too)
    too_many = watch.over(CHUNK + FIXED)
    assert not too_many, "\n".join(too_many)


def test_chunks_cut_in_order_and_never_past_the_ceiling(monkeypatch):
    monkeypatch.setattr(database, "CHUNK", 3)
    assert list(database.chunks(range(8))) == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert list(database.chunks([5, 4], size=10)) == [[5, 4]]  # a size above the ceiling is cut to it
    assert list(database.chunks(range(5), size=2)) == [[0, 1], [2, 3], [4]]
    assert list(database.chunks([])) == []
