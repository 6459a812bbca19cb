"""A person who leaves the roster is held to no due date, for their programmes as for their
courses (``status.held_to_due_dates``): from the moment they leave (in the roster import's
transaction, or the nightly run on their leaving date) no reader shows their programme as
overdue or behind, a later nightly run changes nothing of it, and no course of a step opens for
them; if they come back, their due dates count again, for both. Before, the programme cycle of a
person who left read "Quá hạn" on their record (page, PDF, CSV) for good: nothing ever closed it,
and its status did not ask whether the person had left."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from mooc import clock
from mooc.auth.models import Role
from mooc.extensions import db
from mooc.roster import importer
from mooc.roster.models import Staff, StaffStatus
from mooc.training import history, program_paths
from mooc.training.program_paths import ProgramStatus
from tests.conftest import login
from tests.roster.helpers import HEADER, csv_bytes
from tests.training.test_certificate_details import pdf_text
from tests.training.test_programs import course_enrolments, program_id, require, the_cycle, world  # noqa: F401 (a fixture)

START = datetime(2026, 3, 2, 3, tzinfo=UTC)  # 10:00 in Hà Nội: the rule is made, the programme assigned
LEFT = "Đã nghỉ trước khi hoàn thành"
OVERDUE = "Quá hạn"


@dataclass
class Record:
    """What a reader of the person's training record reads: the programme's status on the page,
    in the CSV, the statuses of the CSV's course rows, and the text of the PDF."""

    page: str
    csv: str
    courses: list[str]
    pdf: str

    def overdue_anywhere(self) -> bool:
        return OVERDUE in (self.page, self.csv, *self.courses) or OVERDUE in self.pdf


def read_record(client, staff) -> Record:
    page = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    programmes = page[page.index('id="record-programs"'):]
    badge = re.search(r'<span class="badge badge-[a-z_]+">([^<]+)</span>', programmes)
    assert badge is not None
    body = client.get(f"/training/people/{staff.id}/record.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    heading = next(i for i, row in enumerate(rows) if "Mã chương trình" in row)
    status = rows[0].index("Trạng thái")
    courses = [row[status] for row in rows[1:heading - 1]]
    pdf = " ".join(pdf_text(client.get(f"/training/people/{staff.id}/record.pdf")).split())  # cells wrap
    return Record(badge.group(1), rows[heading + 1][5], courses, pdf)


def reporter(app, make_user):
    """The ministry's reader: every record, every report."""
    client = app.test_client()
    login(client, make_user(role=Role.REPORTER).email)
    return client


def roster_import(app, rows: list[list[str]], header: list[str] = HEADER, *, full: bool = False) -> None:
    """A roster import planned and applied in one transaction (as `mooc roster import`)."""
    with app.app_context():
        plan = importer.plan_import(importer.open_sheet(csv_bytes(rows, header=header)), full=full,
                                    checksum="c" * 64, filename="hr.csv")
        assert plan.ok, plan.issues
        importer.apply_plan(plan, source="test", confirmed=True)
        db.session.commit()


def nightly(app) -> None:
    result = app.test_cli_runner().invoke(args=["training", "assign", "--quiet"])
    assert result.exit_code == 0, result.output


def statuses_of_paths(app, staff) -> list[ProgramStatus | None]:
    """What the trainee's home and programme page say (``program_paths.paths_of``)."""
    with app.app_context(), app.test_request_context():
        return [path.status for path in program_paths.paths_of(staff.id)]


def programme_report_people(client, app) -> set[str]:
    """The names on the programme report's list of people (its CSV export)."""
    body = client.get(f"/reports/programs/{program_id(app)}?export=csv").get_data(as_text=True)
    rows = csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";")
    return {row[1] for row in rows if len(row) > 3 and row[0].isdigit()}


def assigned_and_overdue(made, make_staff, due_days: int = 10, days_later: int = 20):
    """The programme assigned on START, due in ``due_days``; now ``days_later`` days on. A
    colleague stays on the roster (a whole-roster file is never empty)."""
    app, _root, unit, staff, _user = made
    colleague = make_staff("Lê Văn Cường", unit=unit)
    clock.set_now(START)
    require(app, unit, due_days=due_days)
    clock.set_now(START + timedelta(days=days_later))
    return app, unit, staff, colleague


# --- every way a roster import makes a person leave -------------------------------------------------


def _leave_by_import(app, unit, staff, colleague, how: str) -> None:
    if how == "missing from the whole roster":
        roster_import(app, [[colleague.staff_code, colleague.full_name, "", unit.code, ""]], full=True)
    elif how == "status":
        roster_import(app, [[staff.staff_code, staff.full_name, "", unit.code, "", "Đã nghỉ"]],
                      [*HEADER, "Trạng thái"])
    else:  # a leaving date that has come
        today = clock.today().strftime("%d/%m/%Y")
        roster_import(app, [[staff.staff_code, staff.full_name, "", unit.code, "", today]],
                      [*HEADER, "Ngày nghỉ"])


@pytest.mark.parametrize("how", ["missing from the whole roster", "status", "leaving date"])
def test_a_person_an_import_marks_as_left_is_never_overdue_on_their_record_at_once_and_after_the_nightly_run(
        world, make_staff, make_user, how):  # noqa: F811
    app, unit, staff, colleague = assigned_and_overdue(world, make_staff)
    client = reporter(app, make_user)
    before = read_record(client, staff)
    assert (before.page, before.csv, before.courses) == (OVERDUE, OVERDUE, [OVERDUE])  # on the roster
    assert statuses_of_paths(app, staff) == [ProgramStatus.OVERDUE]

    _leave_by_import(app, unit, staff, colleague, how)
    with app.app_context():
        assert db.session.get(Staff, staff.id).status == StaffStatus.LEFT
    at_once = read_record(client, staff)
    assert (at_once.page, at_once.csv, at_once.courses) == (LEFT, LEFT, ["Chưa bắt đầu"])  # was Quá hạn
    assert LEFT in at_once.pdf and not at_once.overdue_anywhere()
    assert statuses_of_paths(app, staff) == [ProgramStatus.LEFT]
    assert staff.full_name not in programme_report_people(client, app)

    nightly(app)  # the nightly run has nothing left to do: every reader reads the same
    assert read_record(client, staff) == at_once
    assert statuses_of_paths(app, staff) == [ProgramStatus.LEFT]
    assert the_cycle(app, staff).closed_at is None  # their history stays, as their courses' does


# --- the nightly run on the leaving date ---------------------------------------------------------------


def test_a_person_who_leaves_on_their_leaving_date_is_no_longer_behind_on_their_record(
        world, make_staff, make_user):  # noqa: F811
    """Due in 60 days, 40 days gone with no step done: behind. The HR file gave a leaving date;
    the nightly run of that day marks them as left, and the programme is not behind any more."""
    app, unit, staff, _colleague = assigned_and_overdue(world, make_staff, due_days=60, days_later=39)
    leaving_on = (clock.today() + timedelta(days=1)).strftime("%d/%m/%Y")
    roster_import(app, [[staff.staff_code, staff.full_name, "", unit.code, "", leaving_on]],
                  [*HEADER, "Ngày nghỉ"])
    client = reporter(app, make_user)
    assert read_record(client, staff).page == "Chậm tiến độ"  # still on the roster: behind
    clock.set_now(START + timedelta(days=40))
    nightly(app)
    with app.app_context():
        assert db.session.get(Staff, staff.id).status == StaffStatus.LEFT
    record = read_record(reporter(app, make_user), staff)  # a day later: signed in again
    assert (record.page, record.csv) == (LEFT, LEFT)  # was Chậm tiến độ
    assert "Chậm tiến độ" not in record.pdf and not record.overdue_anywhere()
    assert statuses_of_paths(app, staff) == [ProgramStatus.LEFT]


# --- coming back ----------------------------------------------------------------------------------------


def test_a_person_who_comes_back_is_overdue_again_for_the_programme_as_for_its_course(
        world, make_staff, make_user):  # noqa: F811
    app, unit, staff, colleague = assigned_and_overdue(world, make_staff)
    client = reporter(app, make_user)
    _leave_by_import(app, unit, staff, colleague, "missing from the whole roster")
    gone = read_record(client, staff)
    assert (gone.page, gone.courses) == (LEFT, ["Chưa bắt đầu"])
    roster_import(app, [[staff.staff_code, staff.full_name, "", unit.code, "", "Đang công tác"]],
                  [*HEADER, "Trạng thái"])
    back = read_record(client, staff)
    assert (back.page, back.csv, back.courses) == (OVERDUE, OVERDUE, [OVERDUE])  # the same cycles
    assert statuses_of_paths(app, staff) == [ProgramStatus.OVERDUE]
    assert staff.full_name in programme_report_people(client, app)


# --- no course opens for a person who left -------------------------------------------------------------


def test_no_course_of_a_step_opens_for_a_person_who_left_until_they_come_back(world, make_staff):  # noqa: F811
    """A completion of step 1 imported as history after they left: the step counts (1 of 3), but
    step 2's course does not open for them, as no rule enrols a person who left; the nightly run
    does not open it either. When they come back, it opens. Before, it opened at once."""
    app, unit, staff, colleague = assigned_and_overdue(world, make_staff)
    _leave_by_import(app, unit, staff, colleague, "missing from the whole roster")
    with app.app_context():
        plan = history.plan_history(f"Mã cán bộ,Khóa học,Ngày hoàn thành\n{staff.staff_code},CB,01/03/2026\n"
                                    .encode(), clock.today())
        assert not plan.issues
        history.apply_history(plan)
        db.session.commit()
    assert the_cycle(app, staff).steps_done == 1
    assert "tiep-dan" not in course_enrolments(app, staff)  # was opened for a person who left
    nightly(app)
    assert "tiep-dan" not in course_enrolments(app, staff)
    roster_import(app, [[staff.staff_code, staff.full_name, "", unit.code, "", "Đang công tác"]],
                  [*HEADER, "Trạng thái"])
    assert course_enrolments(app, staff)["tiep-dan"] == ("program", True, "not_started")


# --- the rule ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("staff_status", list(StaffStatus))
@pytest.mark.parametrize(("completed", "days_gone", "done", "held"), [
    (True, 90, 0, ProgramStatus.COMPLETED),
    (False, 61, 2, ProgramStatus.OVERDUE),
    (False, 40, 1, ProgramStatus.BEHIND),
    (False, 10, 1, ProgramStatus.ON_TRACK),
    (False, 60, 2, ProgramStatus.BEHIND),  # due today is not overdue
])
def test_a_programme_cycle_of_a_person_who_left_is_left_before_completing_unless_completed(
        staff_status, completed, days_gone, done, held):
    """Due 60 days after assignment, 3 required steps. On leave is held to its due dates (as
    for courses); a person who left is not, and a completed cycle stays completed."""
    assigned = START.date()
    status = ProgramStatus.of_values(completed, assigned, assigned + timedelta(days=60), done, 3,
                                     assigned + timedelta(days=days_gone), staff_status=staff_status)
    left = staff_status == StaffStatus.LEFT and not completed
    assert status == (ProgramStatus.LEFT if left else held)
