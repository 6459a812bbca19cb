"""The reports' summary table (``report_people``, mooc/reports/summary.py) equals the live
aggregate of the enrolments after every kind of change, on the day and on other days.

Each test checks the summary against the live aggregate (``queries.obligations_by_unit``,
what the dashboard read before the summary existed) before and after one change, made the
way the platform makes it (a request, a command, a domain function, each in its own
transaction), and checks that the change changed the numbers: a summary that was not kept
would still show the old ones. With the maintenance hook disconnected (``_collect`` and the
``events.touched`` receiver) every test here fails but the clock's, the re-sync's (neither
changes a row) and the rebuild's (which repairs a table made wrong on purpose).
"""

from __future__ import annotations

import ast
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.reports import queries, summary
from mooc.reports.models import ReportPerson
from mooc.roster import leavers, units
from mooc.roster.models import OrgUnit, Position, Staff
from mooc.training import assign, deadlines, exemptions, rules
from mooc.training.history import apply_history, plan_history
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentState
from tests.conftest import login
from tests.courses.tree import lesson
from tests.training.conftest import org, person  # noqa: F401  (fixtures)
from tests.training.test_completion import read_and_pass, take_quiz
from tests.training.test_home_fresh import _import, _mark_done

ROOT = Path(__file__).resolve().parents[2]


def _per_unit(rows) -> dict[int, tuple[int, ...]]:
    return {unit_id: tuple(int(n or 0) for n in numbers) for unit_id, *numbers in rows}


def baseline(app) -> dict:
    """The summary made again (``rebuild``), then :func:`check`: what a test changes next is
    all that the summary's upkeep has to follow, so a test fails on the change it makes."""
    with app.app_context():
        summary.rebuild()
        db.session.commit()
    return check(app)


def check(app) -> dict:
    """Assert that the summary equals the live aggregate (per unit, every position and each,
    today and on days around it) and that its rows are those a rebuild would write; return
    today's numbers (per unit, with and without each position) so a test can see they moved."""
    assert tuple(queries.STATUSES) == summary.STATUS_ORDER
    with app.app_context():
        today = clock.today()
        positions = [None, *db.session.scalars(sa.select(Position.id))]
        seen = {}
        days = (today, today + timedelta(days=40), today - timedelta(days=400), today + timedelta(days=400))
        for day in days:
            for position in positions:
                live = _per_unit(db.session.execute(queries.obligations_by_unit(
                    queries.Filters(position_id=position), day, None)))
                kept = _per_unit(summary.per_unit(day, None, position))
                assert kept == live, (day, position)
                if day == today:
                    seen[position] = live
        some = set(list(seen[None])[:1])
        assert _per_unit(summary.per_unit(today, some, None)) == {u: seen[None][u] for u in some}
        result = summary.rebuild()
        assert (result.added, result.removed, result.changed) == (0, 0, 0), result
        db.session.rollback()
    return seen


@pytest.fixture
def world(org, person, make_user):  # noqa: F811
    """A province (two sections) and another province, people in each, a rule requiring the
    course in the province (due in 30 days, renewed every 12 months), applied."""
    app, o = org
    people = {
        "an": person(o.section_a, o.inspector, name="Nguyễn Văn An", email="an@example.vn"),
        "binh": person(o.section_a, o.chief, name="Trần Thị Bình", email="binh@example.vn"),
        "cuong": person(o.section_b, o.inspector, name="Lê Văn Cường", email="cuong@example.vn"),
        "dung": person(o.other, o.inspector, name="Phạm Thị Dung", email="dung@example.vn"),
    }
    rule_id = _required(app, o.course_id, o.province.id, due_days=30, renew_months=12)
    admin = make_user(role=Role.ADMIN, email="admin@example.vn")
    return app, o, people, rule_id, admin


def _required(app, course_id: int, unit_id: int, **terms) -> int:
    """A rule requiring the course in the unit's subtree, applied; its id."""
    with app.app_context():
        rule = AssignmentRule(course_id=course_id, **terms)
        rule.units = [db.session.get(OrgUnit, unit_id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
        return rule.id


def _enrolment(staff_id: int, course_id: int) -> Enrolment:
    return db.session.scalar(sa.select(Enrolment).where(
        Enrolment.staff_id == staff_id, Enrolment.course_id == course_id, Enrolment.latest.is_(True)))


def _signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


# --- training ------------------------------------------------------------------------------------


def test_a_rule_enrolling_people(org, person):  # noqa: F811
    app, o = org
    person(o.section_a, o.inspector, name="Nguyễn Văn An")
    person(o.other, name="Phạm Thị Dung")
    before = baseline(app)
    with app.app_context():
        rules.create_rule(assign.RuleDraft(o.course_id, [o.province.id], due_days=30))
        db.session.commit()
    assert check(app) != before


def test_a_rule_switched_off_closes_its_enrolments(world):
    app, _o, _people, rule_id, _admin = world
    before = baseline(app)
    with app.app_context():
        rules.deactivate_rule(db.session.get_one(AssignmentRule, rule_id))
        db.session.commit()
    assert check(app) != before


def test_a_rule_given_a_later_due_date(world):
    app, o, _people, rule_id, _admin = world
    clock.set_now(clock.now() + timedelta(days=35))  # everyone is overdue
    before = baseline(app)
    with app.app_context():
        rule = db.session.get_one(AssignmentRule, rule_id)
        draft = assign.RuleDraft.of(rule)
        draft.due_days = 60
        rules.update_rule(rule, draft)
        db.session.commit()
    assert check(app) != before


def test_a_lesson_done(world):
    app, _o, people, _rule, _admin = world
    client = _signed_in(app, people["an"][1])
    before = baseline(app)
    _mark_done(client, "co-ban/mot")
    assert check(app) != before


def test_a_quiz_failed_then_passed_and_the_course_completed(world):
    app, _o, people, _rule, _admin = world
    client = _signed_in(app, people["binh"][1])
    before = baseline(app)
    take_quiz(client, app, right=False)  # started: in progress
    failed = check(app)
    assert failed != before
    read_and_pass(client, app)  # both lessons and the quiz passed: completed
    assert check(app) != failed
    with app.app_context():
        assert _enrolment(people["binh"][0].id, _o.course_id).state == EnrolmentState.COMPLETED


def test_a_quiz_passed_completes_the_course(world):
    app, o, people, _rule, _admin = world
    client = _signed_in(app, people["an"][1])
    for key in ("co-ban/mot", "co-ban/hai"):
        _mark_done(client, key)
    before = baseline(app)
    take_quiz(client, app, right=True)
    assert check(app) != before
    with app.app_context():
        assert _enrolment(people["an"][0].id, o.course_id).state == EnrolmentState.COMPLETED


def test_a_renewal_cycle_opening(world):
    app, o, people, _rule, _admin = world
    staff_id = people["cuong"][0].id
    with app.app_context():
        enrolment = _enrolment(staff_id, o.course_id)
        enrolment.state = EnrolmentState.COMPLETED
        enrolment.completed_at = clock.now() - timedelta(days=350)
        enrolment.expires_on = clock.today() + timedelta(days=15)
        db.session.commit()
    before = baseline(app)
    with app.app_context():
        report = assign.apply_rules()  # the certificate expires within 30 days: cycle 2 opens
        db.session.commit()
        assert report.renewed == 1
    assert check(app) != before


def test_an_exemption_granted_and_withdrawn(world):
    app, o, people, _rule, admin = world
    staff_id = people["dung"][0].id
    _required(app, o.course_id, o.other.id, due_days=10)
    before = baseline(app)
    with app.app_context():
        exemptions.exempt(_enrolment(staff_id, o.course_id), "Đã học ở nơi khác",
                          actor=db.session.get_one(User, admin.id))
        db.session.commit()
    exempt = check(app)
    assert exempt != before
    with app.app_context():  # withdrawn (no page does it yet): any ORM write of the state
        enrolment = _enrolment(staff_id, o.course_id)
        enrolment.state, enrolment.exempt_reason = EnrolmentState.NOT_STARTED, None
        db.session.commit()
    assert check(app) == before


def test_a_deadline_passing_and_extended(world):
    """Nothing is written when a due date passes: the summary stores due dates, never a
    status, so it agrees with the live count on every day the clock shows."""
    app, o, people, _rule, admin = world
    before = baseline(app)
    clock.set_now(clock.now() + timedelta(days=31))
    overdue = check(app)
    assert overdue != before
    with app.app_context():
        deadlines.extend(_enrolment(people["an"][0].id, o.course_id), clock.today() + timedelta(days=10),
                         "Ốm", actor=db.session.get_one(User, admin.id))
        db.session.commit()
    assert check(app) != overdue


def test_a_manual_enrolment(world):
    app, o, people, _rule, admin = world
    before = baseline(app)
    with app.app_context():
        staff = db.session.get_one(Staff, people["dung"][0].id)
        assign.enrol(staff, o.course_id, assign.EnrolmentSource.MANUAL,
                     due_on=clock.today() - timedelta(days=1), actor=db.session.get_one(User, admin.id))
        db.session.commit()
    assert check(app) != before


def test_a_history_import(world, tmp_path):
    app, _o, people, _rule, _admin = world
    before = baseline(app)
    source = tmp_path / "lich-su.csv"
    source.write_text(f"Mã cán bộ;Khóa học;Ngày hoàn thành\n{people['an'][0].staff_code};LTT;15/01/2026\n",
                      encoding="utf-8")
    with app.app_context():
        plan = plan_history(source, clock.today())
        assert apply_history(plan) == 1
        db.session.commit()
    assert check(app) != before


def test_a_course_re_synced_without_a_lesson(world):
    """A re-sync that archives a lesson changes no enrolment (completion is not re-decided):
    the summary still agrees (this test cannot tell a hook that is missing: nothing to keep)."""
    app, o, people, _rule, _admin = world
    client = _signed_in(app, people["an"][1])
    _mark_done(client, "co-ban/mot")
    before = baseline(app)
    (o.root / "luat/01-co-ban/02-hai.md").unlink()
    with app.app_context():
        sync_tree(o.root)
        db.session.commit()
    assert check(app) == before


def test_a_new_edition_of_a_course_people_completed(world):
    """A re-sync that changes a lesson's words makes the completed edition no longer current:
    the people who completed it are no longer "current with the latest editions" (the
    summary's ``behind``, recomputed in the sync's transaction)."""
    app, o, people, _rule, _admin = world
    client = _signed_in(app, people["an"][1])
    read_and_pass(client, app)
    before = baseline(app)
    (o.root / "luat/01-co-ban/01-mot.md").write_text(
        lesson("Bài một", "## A\n\nMột, nay đã sửa."), encoding="utf-8")
    with app.app_context():
        sync_tree(o.root)
        db.session.commit()
    after = check(app)
    current = -2  # people current with the latest editions (the last: with the legal basis)
    assert before[None][o.section_a.id][current] == 1 and after[None][o.section_a.id][current] == 0


# --- the roster --------------------------------------------------------------------------------


def _row(staff: Staff, unit_code: str) -> list[str]:
    return [staff.staff_code, staff.full_name, staff.email or "", unit_code, ""]


def test_a_roster_import_adding_a_person(world):
    app, _o, _people, _rule, _admin = world
    before = baseline(app)
    _import(app, [["900001", "Võ Thị Mai", "mai@example.vn", "NB-2", ""]])
    assert check(app) != before


def test_a_roster_import_moving_a_person_between_units_of_one_rule(world):
    """Still covered by the same rule: the enrolment does not change, only the person's unit
    (a bulk UPDATE of staff: the importer names the people it wrote)."""
    app, _o, people, _rule, _admin = world
    before = baseline(app)
    _import(app, [_row(people["an"][0], "NB-2")])
    assert check(app) != before


def test_a_roster_import_without_a_person_who_left(world):
    app, _o, people, _rule, _admin = world
    before = baseline(app)
    _import(app, [_row(people[name][0], code) for name, code in
                  (("an", "NB-1"), ("binh", "NB-1"), ("dung", "HN"))], full=True)  # Cường left
    assert check(app) != before


def test_a_unit_merged(world):
    app, o, _people, _rule, _admin = world
    before = baseline(app)
    with app.app_context():
        units.merge_unit(db.session.get_one(OrgUnit, o.section_a.id),
                         db.session.get_one(OrgUnit, o.section_b.id))
        db.session.commit()
    assert check(app) != before


def test_people_leaving_on_their_date(world):
    app, _o, people, _rule, _admin = world
    with app.app_context():
        db.session.get_one(Staff, people["binh"][0].id).left_on = clock.today()
        db.session.commit()
    before = baseline(app)
    with app.app_context():
        assert leavers.leave_when_due() == 1
        db.session.commit()
    assert check(app) != before


# --- transactions, the command, the page ---------------------------------------------------------


def test_a_report_read_in_the_transaction_that_wrote_counts_the_write(world):
    app, o, people, rule_id, _admin = world
    with app.app_context():
        reporter = User(email="r@example.vn", display_name="R", role=Role.REPORTER)
        before = queries.rollup(reporter, None, queries.Filters(), clock.today()).total.counts
        rules.deactivate_rule(db.session.get_one(AssignmentRule, rule_id))
        after = queries.rollup(reporter, None, queries.Filters(), clock.today()).total.counts
        assert after != before
        db.session.rollback()


def test_a_rule_preview_rolled_back_leaves_the_summary_right(world):
    """The preview of a rule's deactivation rehearses it in a savepoint and rolls it back."""
    app, _o, _people, rule_id, _admin = world
    before = baseline(app)
    with app.app_context():
        preview = rules.preview_deactivation(db.session.get_one(AssignmentRule, rule_id))
        assert preview.report.closed
        db.session.commit()
    assert check(app) == before


def test_rebuild_summary_repairs_a_wrong_table_and_is_idempotent(world):
    app, o, people, _rule, _admin = world
    right = baseline(app)
    with app.app_context():
        table = ReportPerson.__table__
        db.session.execute(sa.delete(table).where(table.c.staff_id == people["an"][0].id))
        db.session.execute(sa.update(table).where(table.c.staff_id == people["binh"][0].id)
                           .values(open_due=date(2000, 1, 1)))
        db.session.execute(sa.insert(table).values(
            staff_id=people["dung"][0].id, unit_id=o.other.id, position_id=None, open_due=None,
            not_started=0, in_progress=0, completed=3, exempt=0))
        db.session.commit()
    with pytest.raises(AssertionError):
        check(app)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["reports", "rebuild-summary"])
    assert first.exit_code == 0, first.output
    assert "3 people owe training; the summary had 1 missing, 1 extra and 1 wrong row(s)" in first.output
    again = runner.invoke(args=["reports", "rebuild-summary"])
    assert "3 people owe training; the summary had 0 missing, 0 extra and 0 wrong row(s)" in again.output
    assert check(app) == right


def test_the_dashboard_reads_the_summary_and_shows_the_live_numbers(world, make_user, monkeypatch):
    app, o, people, _rule, _admin = world
    clock.set_now(clock.now() + timedelta(days=31))
    baseline(app)
    read_and_pass(_signed_in(app, people["an"][1]), app)
    reporter = make_user(role=Role.REPORTER)
    manager = make_user(role=Role.MANAGER, scope_unit=o.province)
    pages = {}
    for live in (False, True):
        if live:
            monkeypatch.setattr(queries, "summarised", lambda _filters: False)
        for user in (reporter, manager):
            client = _signed_in(app, user)
            for path in ("/reports/", f"/reports/?unit={o.province.id}",
                         f"/reports/?position={o.inspector.id}"):
                response = client.get(path)
                assert response.status_code == 200
                pages[(live, user.email, path)] = re.sub(r'name="csrf_token" value="[^"]*"', "",
                                                        response.get_data(as_text=True))
    for (live, email, path), page in pages.items():
        if not live:
            assert page == pages[(True, email, path)], (email, path)


# --- the writers --------------------------------------------------------------------------------

# the entities and tables the summary sums, and the accounts (the counts kept per version: who can sign in)
WATCHED = {"Staff", "Enrolment", "User", "staff", "enrolments", "users"}
BULK = {"update", "insert", "delete", "insert_many", "write_changed", "update_rows", "write_rows"}
AFTER_SESSION = {"insert_many", "write_changed", "update_rows", "write_rows"}  # (session, model, ...)
MODULES = {"sa", "sqlalchemy", "postgresql", "sqlite"}
RAW = re.compile(r"\b(UPDATE|INSERT\s+INTO|DELETE\s+FROM|COPY)\s+(staff|enrolments|users)\b", re.IGNORECASE)


def _bulk_targets(call: ast.Call) -> set[str]:
    """The names a bulk statement writes (sa.update(Staff), sa.insert(table), insert_many(s, staff))."""
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in MODULES:
        name = func.attr  # sa.update(...), postgresql.insert(...)
    elif isinstance(func, ast.Name):
        name = func.id  # insert(...) imported by name, insert_many(...)
    else:
        return set()  # (a set's .update(), a dict's ...)
    if name not in BULK:
        return set()
    args = call.args[1:2] if name in AFTER_SESSION else call.args[:1]
    found = set()
    for arg in args:
        for node in ast.walk(arg):
            if isinstance(node, ast.Name):
                found.add(node.id)
            elif isinstance(node, ast.Attribute):
                found.add(node.attr)
    return found


def test_every_bulk_writer_of_staff_or_enrolments_names_the_people_it_touched():
    """A bulk statement (``sa.update``/``sa.insert``/``sa.delete``, ``insert_many``, and the
    set-based writes of loaded rows, ``write_changed``/``update_rows``) on staff or enrolments
    bypasses the ORM's flush, so the summary's hook cannot see it: its function must call
    ``events.touched(...)``, or say why the summary does not care (``# summary: neutral``)."""
    missing, found = [], []
    for path in sorted((ROOT / "mooc").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            calls = [node for node in ast.walk(func) if isinstance(node, ast.Call)]
            raw = any(isinstance(node, ast.Constant) and isinstance(node.value, str)
                      and RAW.search(node.value) for node in ast.walk(func))
            if not raw and not any(_bulk_targets(call) & WATCHED for call in calls):
                continue
            where = f"{path.relative_to(ROOT)}:{func.name}"
            found.append(where)
            body = ast.get_source_segment(source, func) or ""
            if "events.touched(" not in body and "# summary: neutral" not in body:
                missing.append(where)
    assert not missing, f"bulk writes of staff/enrolments that do not call events.touched(): {missing}"
    # the writers known today (a new one is found, not forgotten)
    assert {"mooc/training/models.py:supersede_earlier_of", "mooc/training/assign.py:write_enrolments",
            "mooc/roster/importer.py:_write_staff",
            "mooc/roster/importer.py:_insert_added", "mooc/roster/leavers.py:leave_when_due",
            "mooc/roster/units.py:merge_unit", "mooc/demo.py:load_staff",
            "mooc/privacy/cohort.py:pseudonymise"} <= set(found), found
