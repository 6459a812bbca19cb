"""Whose a course cycle is when several sources want it (docs/architecture.md, "Sources of a
cycle"). A person has one open cycle of a course, shared by every source that wants it; its
``source`` names the strongest holder (a manager, then a rule, then a programme, then the
trainee who joined it), ``rule_id`` the rule that requires it whatever the source (its expiry
and renewal follow that rule), ``program_id`` the programme only while the cycle is the
programme's. When a holder goes, the cycle passes to the next one that still holds it, on that
one's terms; it closes only when none is left.

Before, a rule that reopened a course a programme had opened and closed left it the
programme's: the reminders named the programme, its old due date stayed, switching the rule off
left it open for good, and switching the programme off again closed what the rule required.
A rule switched off closed a course the person's programme still held (a programme's step or
choice), a programme switched off closed a course another programme held, a manager's
enrolment never took the expiry or renewal of the rule that also required it, and a course the
trainee had joined stayed optional (uncounted, never reminded) once a rule required it.

Every step goes through the pages an administrator, a manager or the trainee uses, or the
nightly command.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from mooc import clock, config
from mooc.auth.models import Role
from mooc.courses.models import Course
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.formatting import format_date
from mooc.reminders import schedule
from mooc.training.models import AssignmentRule, Enrolment
from tests.conftest import csrf_token, login
from tests.courses.tree import write
from tests.reports.test_summary import check
from tests.training.programs_tree import course
from tests.training.test_programs import finish, program_id, world  # noqa: F401 (a fixture)

START = datetime(2026, 3, 2, 3, tzinfo=UTC)  # 10:00 in Hà Nội
PROGRAMME = "Bồi dưỡng thanh tra viên mới"
BASICS = "Nghiệp vụ cơ bản"  # co-ban: step 1 of the programme (open at once)


@dataclass(frozen=True)
class Cycle:
    """The person's latest cycle of a course, as the tests compare it."""

    source: str
    rule_id: int | None
    program_id: int | None
    required: bool
    open: bool
    due_on: date | None
    number: int = 1


def cycle(app, staff, key: str) -> Cycle:
    with app.app_context():
        e = db.session.scalar(sa.select(Enrolment).join(Course, Course.id == Enrolment.course_id).where(
            Course.key == key, Enrolment.staff_id == staff.id, Enrolment.latest.is_(True)))
        return Cycle(e.source.value, e.rule_id, e.program_id, e.required, e.closed_at is None, e.due_on,
                     e.cycle)


def in_days(days: int) -> date:
    return clock.today() + timedelta(days=days)


class Office:
    """An administrator at the rules' pages and a person's record."""

    def __init__(self, place, make_user) -> None:
        self.app, self.root, self.unit, self.staff, self.user = place
        self.client = self.app.test_client()
        admin = make_user(email="qt@example.vn", role=Role.ADMIN)
        login(self.client, admin.email)

    def rule(self, target: str | int, due_days: int, renew_months: int | None = None) -> int:
        """A rule over the unit, for a course (its id) or a programme ("p<id>"), saved after its
        preview; returns its id."""
        path = "/admin/rules/new"
        data = {"csrf_token": csrf_token(self.client, path), "course": str(target), "scope": "units",
                "units": str(self.unit.id), "due_kind": "days", "due_days": str(due_days),
                "renewal": "full", "confirm": "1"}
        if renew_months:
            data["renew_months"] = str(renew_months)
        assert self.client.post(path, data=data).status_code == 302
        with self.app.app_context():
            return db.session.scalar(sa.select(sa.func.max(AssignmentRule.id)))

    def programme(self, due_days: int = 60) -> int:
        return self.rule(f"p{program_id(self.app)}", due_days)

    def off(self, rule_id: int) -> str:
        """Switch the rule off: its preview's text, then confirmed."""
        path = f"/admin/rules/{rule_id}/deactivate"
        token = csrf_token(self.client, "/admin/rules")
        preview = self.client.post(path, data={"csrf_token": token}).get_data(as_text=True)
        assert self.client.post(path, data={"csrf_token": token, "confirm": "1"}).status_code == 302
        return " ".join(preview.split())

    def enrol(self, staff, course_id: int, due_on: date) -> None:
        path = f"/training/people/{staff.id}"
        data = {"csrf_token": csrf_token(self.client, path), "course": str(course_id),
                "due_on": due_on.isoformat()}
        assert self.client.post(f"{path}/enrol", data=data).status_code == 302

    def record(self, staff) -> dict[str, tuple[str, str]]:
        """Course title -> (status, due date) of its latest cycle, as the record's CSV reads."""
        body = self.client.get(f"/training/people/{staff.id}/record.csv").get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
        header = rows[0]
        title, status, due = (header.index(name) for name in ("Khóa học", "Trạng thái", "Hạn"))
        found: dict[str, tuple[str, str]] = {}
        for row in rows[1:]:
            if not any(row):
                break  # the programmes' table follows
            found.setdefault(row[title], (row[status], row[due]))  # newest cycle first
        return found


def ids(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Course.key, Course.id)).all())


def reminded(app, email: str) -> dict[str, str | None]:
    """Course title -> the programme its reminder says it is part of, in today's mail to ``email``."""
    with app.app_context(), app.test_request_context():
        plan = schedule.plan(clock.today(), schedule.Schedule.of(config.settings()))
        message = next((m for m in plan.trainees if m.email == email), None)
        return {} if message is None else {i.course_title: i.program_title for i in message.items}


def nightly(app) -> None:
    result = app.test_cli_runner().invoke(args=["training", "assign"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def office(world, make_user):  # noqa: F811 (the fixture imported above)
    """The programmes' courses, a province with Trần Thị Bình (with an account) and an
    administrator signed in, at 10:00 on 2 March 2026 in Hà Nội."""
    clock.set_now(START)
    return Office(world, make_user)


def test_a_programme_and_a_rule_share_the_cycle_whichever_comes_first_and_goes_first(office):
    app, staff, user = office.app, office.staff, office.user
    courses, programme = ids(app), program_id(app)
    first = office.programme(due_days=60)
    assert cycle(app, staff, "co-ban") == Cycle("program", None, programme, True, True, in_days(60))
    office.off(first)
    assert not cycle(app, staff, "co-ban").open

    # A rule reopens the course the programme closed: the rule's, on the rule's terms.
    rule = office.rule(courses["co-ban"], due_days=30)
    assert cycle(app, staff, "co-ban") == Cycle("rule", rule, None, True, True, in_days(30))
    assert reminded(app, user.email) == {BASICS: None}
    assert office.record(staff)[BASICS] == ("Chưa bắt đầu", format_date(in_days(30)))
    # The programme again: it holds the course too, the rule keeps it ...
    second = office.programme(due_days=60)
    assert cycle(app, staff, "co-ban") == Cycle("rule", rule, None, True, True, in_days(30))
    # ... so switching the programme off closes nothing the rule requires ...
    office.off(second)
    assert cycle(app, staff, "co-ban") == Cycle("rule", rule, None, True, True, in_days(30))
    # ... and switching the rule off closes it: nothing requires it any more.
    assert "1 lượt giao đang mở sẽ không còn bắt buộc" in office.off(rule)
    assert not cycle(app, staff, "co-ban").open
    assert office.record(staff)[BASICS][0] == "Không còn bắt buộc"

    # The programme reopens it, then a rule takes it over (the earlier due date) ...
    third = office.programme(due_days=60)
    assert cycle(app, staff, "co-ban") == Cycle("program", None, programme, True, True, in_days(60))
    assert reminded(app, user.email) == {BASICS: PROGRAMME}
    rule = office.rule(courses["co-ban"], due_days=30)
    assert cycle(app, staff, "co-ban") == Cycle("rule", rule, None, True, True, in_days(30))
    assert reminded(app, user.email) == {BASICS: None}
    # ... switched off, the rule gives it back to the programme, on the programme's terms.
    preview = office.off(rule)
    assert "0 lượt giao đang mở sẽ không còn bắt buộc" in preview
    assert "1 lượt giao đang mở của quy tắc này vẫn bắt buộc" in preview
    assert cycle(app, staff, "co-ban") == Cycle("program", None, programme, True, True, in_days(60))
    assert reminded(app, user.email) == {BASICS: PROGRAMME}
    nightly(app)  # and the night changes nothing of it
    assert cycle(app, staff, "co-ban") == Cycle("program", None, programme, True, True, in_days(60))
    office.off(third)
    assert not cycle(app, staff, "co-ban").open


def test_a_rule_first_then_the_programme_gives_the_course_to_the_programme_when_switched_off(office):
    """The programme's step holds a course a rule opened: the rule keeps it; switched off, the
    rule gives it to the programme (its due date) rather than closing it, but one in a step still
    locked closes (the programme opens it when the step opens). The other way round, the
    programme switched off first leaves the rule's course as it is."""
    app, staff, user = office.app, office.staff, office.user
    courses, programme = ids(app), program_id(app)
    basics = office.rule(courses["co-ban"], due_days=30)
    reception = office.rule(courses["tiep-dan"], due_days=30)  # step 2: locked until step 1 is done
    first = office.programme(due_days=60)
    assert cycle(app, staff, "co-ban") == Cycle("rule", basics, None, True, True, in_days(30))
    preview = office.off(basics)
    assert "0 lượt giao đang mở sẽ không còn bắt buộc" in preview
    assert cycle(app, staff, "co-ban") == Cycle("program", None, programme, True, True, in_days(60))
    assert reminded(app, user.email)[BASICS] == PROGRAMME
    assert "1 lượt giao đang mở sẽ không còn bắt buộc" in office.off(reception)
    assert not cycle(app, staff, "tiep-dan").open
    finish(app, user, "co-ban")  # step 2 opens: the programme reopens it, on its terms
    assert cycle(app, staff, "tiep-dan") == Cycle("program", None, programme, True, True, in_days(60))
    office.off(first)
    assert not cycle(app, staff, "tiep-dan").open

    # The other order: the rule again, the programme again, the programme off first.
    reception = office.rule(courses["tiep-dan"], due_days=30)
    assert cycle(app, staff, "tiep-dan") == Cycle("rule", reception, None, True, True, in_days(30))
    second = office.programme(due_days=60)
    office.off(second)
    assert cycle(app, staff, "tiep-dan") == Cycle("rule", reception, None, True, True, in_days(30))
    office.off(reception)
    assert not cycle(app, staff, "tiep-dan").open


def test_a_choice_a_rule_took_over_is_an_option_of_the_programme_again_when_the_rule_goes(office):
    """Step 3 of the programme is one of two courses (options, not required by themselves). A
    rule requires one of them: required, the rule's; switched off, an option of the programme
    again, due with it, and still open (it closes when the step is done by the other one)."""
    app, staff, user = office.app, office.staff, office.user
    courses, programme = ids(app), program_id(app)
    office.programme(due_days=60)
    history = app.instance_path + "/history.csv"
    with open(history, "w", encoding="utf-8") as handle:
        handle.write(f"Mã cán bộ;Khóa học;Ngày hoàn thành\n{staff.staff_code};CB;01/02/2026\n"
                     f"{staff.staff_code};TD;01/02/2026\n")
    result = app.test_cli_runner().invoke(args=["training", "import-history", history])
    assert result.exit_code == 0, result.output
    option = Cycle("program", None, programme, False, True, in_days(60))
    assert cycle(app, staff, "van-ban") == option
    rule = office.rule(courses["van-ban"], due_days=30)
    assert cycle(app, staff, "van-ban") == Cycle("rule", rule, None, True, True, in_days(30))
    office.off(rule)
    assert cycle(app, staff, "van-ban") == option
    assert office.record(staff)["Văn bản"][0] == "Chưa bắt đầu"
    finish(app, user, "giam-sat")  # the step done by the other option: the untaken one closes
    assert not cycle(app, staff, "van-ban").open


def test_a_manager_who_enrols_the_person_in_a_course_a_programme_closed_makes_it_theirs(office):
    """Reopened by a manager's enrolment, the cycle is the manager's alone: not named as the
    programme's in reminders, and the programme following it again and stopping again leave it."""
    app, staff, user = office.app, office.staff, office.user
    courses = ids(app)
    first = office.programme(due_days=60)
    office.off(first)
    office.enrol(staff, courses["co-ban"], in_days(90))
    assert cycle(app, staff, "co-ban") == Cycle("manual", None, None, True, True, in_days(90))
    assert reminded(app, user.email) == {BASICS: None}
    second = office.programme(due_days=60)
    office.off(second)
    assert cycle(app, staff, "co-ban") == Cycle("manual", None, None, True, True, in_days(90))


def test_a_managers_enrolment_takes_the_expiry_and_renewal_of_a_rule_that_also_requires_it(office):
    """A manager's enrolment stays the manager's (and their due date) when a rule covers the
    person too, but the rule is noted on it: the completion expires and is renewed as the
    rule says. Switched off, the rule leaves it open, the manager's."""
    app, staff, user = office.app, office.staff, office.user
    courses = ids(app)
    office.enrol(staff, courses["giam-sat"], in_days(90))
    rule = office.rule(courses["giam-sat"], due_days=30, renew_months=12)
    assert cycle(app, staff, "giam-sat") == Cycle("manual", rule, None, True, True, in_days(90))
    preview = office.off(rule)
    assert "0 lượt giao đang mở sẽ không còn bắt buộc" in preview
    assert "1 lượt giao đang mở của quy tắc này vẫn bắt buộc" in preview
    assert cycle(app, staff, "giam-sat") == Cycle("manual", None, None, True, True, in_days(90))
    rule = office.rule(courses["giam-sat"], due_days=30, renew_months=12)
    finish(app, user, "giam-sat")
    with app.app_context():
        done = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == staff.id,
                                                            Enrolment.course_id == courses["giam-sat"]))
        assert done.expires_on == date(2027, 3, 2)  # a year after its completion, as the rule renews
    clock.set_now(datetime(2027, 2, 10, 3, tzinfo=UTC))  # within 30 days of the expiry
    nightly(app)
    assert cycle(app, staff, "giam-sat") == Cycle("rule", rule, None, True, True, date(2027, 3, 2), 2)


def test_a_course_the_trainee_joined_is_required_once_a_rule_covers_them(office):
    """Joined by the trainee (optional), then required by a rule: the rule's, required, due by
    the rule, reminded. The trainee's joining is not a requirement: the rule switched off closes
    it, and joining again reopens it as the trainee's own, optional."""
    app, staff, user = office.app, office.staff, office.user
    courses = ids(app)
    trainee = app.test_client()
    login(trainee, user.email)

    def join() -> None:
        token = csrf_token(trainee, "/courses/co-ban")
        assert trainee.post("/courses/co-ban/join", data={"csrf_token": token}).status_code == 302

    join()
    assert cycle(app, staff, "co-ban") == Cycle("self", None, None, False, True, None)
    assert reminded(app, user.email) == {}
    rule = office.rule(courses["co-ban"], due_days=30)
    assert cycle(app, staff, "co-ban") == Cycle("rule", rule, None, True, True, in_days(30))
    assert reminded(app, user.email) == {BASICS: None}
    assert "tự chọn" not in office.client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert "1 lượt giao đang mở sẽ không còn bắt buộc" in office.off(rule)
    assert not cycle(app, staff, "co-ban").open
    join()
    assert cycle(app, staff, "co-ban") == Cycle("self", None, None, False, True, None)


OTHER = """---
title: "Tiếp công dân cơ sở"
code: "CT-TD"
summary: "Một chương trình khác có chung khóa cơ bản."
---

Giới thiệu.

## Các bước

1. co-ban
2. giam-sat
"""


def test_two_programmes_holding_one_course_pass_it_to_each_other(office):
    """Two programmes of the person start with the same course: one cycle, the first
    programme's; that programme switched off, the other one takes it (its due date) rather than
    it closing; the second switched off too, it closes."""
    app, root, staff = office.app, office.root, office.staff
    write(root, "_chuong-trinh/khac.md", OTHER)
    with app.app_context():
        sync_tree(root)
        db.session.commit()
    mine, other = program_id(app), program_id(app, "khac")
    first = office.programme(due_days=60)
    second = office.rule(f"p{other}", due_days=40)
    assert cycle(app, staff, "co-ban") == Cycle("program", None, mine, True, True, in_days(60))
    assert "0 lượt giao đang mở sẽ không còn bắt buộc" not in office.off(first)  # its programme cycle
    assert cycle(app, staff, "co-ban") == Cycle("program", None, other, True, True, in_days(40))
    office.off(second)
    assert not cycle(app, staff, "co-ban").open


OPTIONAL_SECOND = """---
title: "Kỹ năng và giám sát"
code: "CT-GS"
summary: "Một chương trình khác, giám sát số là bước tự chọn."
---

Giới thiệu.

## Các bước

1. ky-nang
2. giam-sat (tự chọn)
"""


def test_an_option_one_programme_lets_go_stays_open_for_another_that_offers_it(office):
    """Step 3 of the first programme offers giam-sat (an option); the second programme offers it
    too (an optional step). The first programme's step is then done by another course (its file
    edited: a course the person completed elsewhere counts): its untaken options close, but
    giam-sat passes to the second programme, still an option, due with it."""
    app, root, staff = office.app, office.root, office.staff
    course(root, "phap-luat", "Pháp luật chung", "PL")
    course(root, "ky-nang", "Kỹ năng mềm", "KN")
    write(root, "_chuong-trinh/giam-sat.md", OPTIONAL_SECOND)
    with app.app_context():
        sync_tree(root)
        db.session.commit()
    mine, other = program_id(app), program_id(app, "giam-sat")
    office.programme(due_days=60)
    history = app.instance_path + "/history.csv"
    with open(history, "w", encoding="utf-8") as handle:
        handle.write("Mã cán bộ;Khóa học;Ngày hoàn thành\n" + "".join(
            f"{staff.staff_code};{code};01/02/2026\n" for code in ("CB", "TD", "PL")))
    result = app.test_cli_runner().invoke(args=["training", "import-history", history])
    assert result.exit_code == 0, result.output
    office.rule(f"p{other}", due_days=40)  # its step 2 offers the option the first one opened
    assert cycle(app, staff, "giam-sat") == Cycle("program", None, mine, False, True, in_days(60))
    program = root / "_chuong-trinh" / "moi.md"
    text = program.read_text(encoding="utf-8")
    program.write_text(text.replace("van-ban, giam-sat", "van-ban, giam-sat, phap-luat"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["courses", "sync", str(root)])
    assert result.exit_code == 0, result.output
    assert not cycle(app, staff, "van-ban").open
    assert cycle(app, staff, "giam-sat") == Cycle("program", None, other, False, True, in_days(40))


BEFORE = "d2f4a6c8e0b1"  # the revision before the cycles' sources were put right


def test_the_migration_puts_right_the_cycles_an_earlier_version_left_wrongly_sourced(office):
    """Cycles as the earlier code left them: a rule's reopened programme cycle still the
    programme's (and optional: it was an option), a rule's cycle, a joined one and a manager's
    with the programme's id, a joined one with a rule's id. After the upgrade each names only
    its own holder; the next night makes the rule's cycle required, and the reports' summary
    still equals the live counts throughout."""
    app, staff = office.app, office.staff
    courses, programme = ids(app), program_id(app)
    rule = office.rule(courses["co-ban"], due_days=30)
    with app.app_context():
        db.session.add_all(Enrolment(staff_id=staff.id, course_id=courses[key], source=source, rule_id=rule,
                                     program_id=programme, required=source != "self", state=state,
                                     assigned_on=clock.today(), due_on=in_days(60))
                           for key, source, state in (("tiep-dan", "rule", "completed"),
                                                      ("van-ban", "self", "in_progress"),
                                                      ("giam-sat", "manual", "not_started")))
        db.session.execute(sa.update(Enrolment).where(Enrolment.course_id == courses["co-ban"]).values(
            source="program", program_id=programme, required=False))
        db.session.commit()
        db.session.remove()
        downgrade(revision=BEFORE)
        upgrade()
        db.session.remove()
    check(app)
    assert cycle(app, staff, "co-ban") == Cycle("rule", rule, None, False, True, in_days(30))
    assert cycle(app, staff, "tiep-dan") == Cycle("rule", rule, None, True, True, in_days(60))
    assert cycle(app, staff, "van-ban") == Cycle("self", None, None, False, True, in_days(60))
    assert cycle(app, staff, "giam-sat") == Cycle("manual", rule, None, True, True, in_days(60))
    nightly(app)
    assert cycle(app, staff, "co-ban") == Cycle("rule", rule, None, True, True, in_days(30))
    check(app)
