"""Demo data: a small synthetic roster and one account per role. Loading twice changes nothing.

Every name here is invented. Units are data like any other: this is one possible tree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from mooc import clock, events
from mooc.auth import backends
from mooc.auth.demo_accounts import ACCOUNTS, DEMO_PASSWORD
from mooc.auth.models import User
from mooc.auth.passwords import set_password
from mooc.config import settings
from mooc.courses.models import Course, Lesson
from mooc.courses.progress import mark_done
from mooc.courses.sync import SyncRefused, sync_tree
from mooc.database import Base
from mooc.demo_roster import POSITIONS as ROSTER_POSITIONS
from mooc.demo_roster import PROVINCE_SECTIONS, Names, email_local
from mooc.extensions import db
from mooc.roster import account_status, keys
from mooc.roster.account_status import Way
from mooc.roster.models import OrgUnit, Position, Staff, StaffHistory, StaffStatus
from mooc.text import split_full_name
from mooc.training import assign, completion, programs
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentSource, EnrolmentState, Program

M = TypeVar("M", bound=Base)

UNITS = [  # code, name, parent code, kind
    ("TTCP", "Thanh tra Chính phủ", None, "central"),
    ("TTCP-TCB", "Trường Cán bộ Thanh tra", "TTCP", "section"),
    ("HN", "Thanh tra Thành phố Hà Nội", None, "province"),
    ("HN-P1", "Phòng Nghiệp vụ 1", "HN", "section"),
    ("HN-P2", "Phòng Nghiệp vụ 2", "HN", "section"),
    ("HCM", "Thanh tra Thành phố Hồ Chí Minh", None, "province"),
    ("HCM-P1", "Phòng Nghiệp vụ 1", "HCM", "section"),
    ("NB", "Thanh tra tỉnh Ninh Bình", None, "province"),
]

POSITIONS = [(code, title, rank) for code, title, rank, _share in ROSTER_POSITIONS]

STAFF = [  # staff code, full name, e-mail, unit, position
    ("000101", "Trần Thị Bích Ngọc", "quantri@example.vn", "TTCP-TCB", "CV"),
    ("000102", "Lê Hoàng Đức", "baocao@example.vn", "TTCP", "TTVC"),
    ("000201", "Phạm Thu Hà", "quanly.hanoi@example.vn", "HN", "PCTT"),
    ("000202", "Nguyễn Văn An", "hocvien@example.vn", "HN-P1", "TTV"),
    ("000203", "Vũ Thị Hòa", "hoa.vt@example.vn", "HN-P1", "TTVC"),
    ("000204", "Đặng Quốc Bảo", "bao.dq@example.vn", "HN-P2", "TTV"),
    ("000205", "Bùi Thanh Hương", "huong.bt@example.vn", "HN-P2", "TP"),
    ("000210", "Vũ Thị Thu Trang", "daotao.hanoi@example.vn", "HN", "CV"),
    ("000301", "Hoàng Minh Tuấn", "quanly.hcm@example.vn", "HCM", "CTT"),
    ("000302", "Đỗ Văn Hùng", "hung.dv@example.vn", "HCM-P1", "TTV"),
    ("000303", "Ngô Thị Lan", "lan.nt@example.vn", "HCM-P1", "CV"),
    ("000401", "Dương Minh Khoa", "khoa.dm@example.vn", "NB", "TTVC"),
    ("000402", "Lý Thị Mai", "mai.lt@example.vn", "NB", "TTV"),
]



@dataclass
class DemoReport:
    created: dict[str, int] = field(default_factory=dict)
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # e-mail, who, how it signs in
    courses: list[str] = field(default_factory=list)  # what the course sync said


def _get_or_create(model: type[M], key: str, value: str, report: DemoReport, **values: object) -> M:
    found = db.session.execute(sa.select(model).where(getattr(model, key) == value)).scalar_one_or_none()
    if found is None:
        found = model(**{key: value}, **values)
        db.session.add(found)
        report.created[model.__tablename__] = report.created.get(model.__tablename__, 0) + 1
    return found


def load_demo() -> DemoReport:
    """Create what is missing of the demo data (never overwrites what people changed)."""
    report = DemoReport()
    units: dict[str, OrgUnit] = {}
    for code, name, parent, kind in UNITS:
        units[code] = _get_or_create(OrgUnit, "code", code, report, name=name, kind=kind,
                                     parent=units[parent] if parent else None)
    positions = {code: _get_or_create(Position, "code", code, report, title=title, rank=rank)
                 for code, title, rank in POSITIONS}
    db.session.flush()
    staff_by_email: dict[str, Staff] = {}
    for staff_code, full_name, email, unit, position in STAFF:
        family, middle, given = split_full_name(full_name)
        staff_by_email[email] = _get_or_create(
            Staff, "staff_code", staff_code, report, full_name=full_name, family_name=family,
            middle_name=middle, given_name=given, email=email, unit=units[unit],
            position=positions[position], status=StaffStatus.ACTIVE)
    db.session.flush()
    method = settings().password_method
    for email, role, scope, description in ACCOUNTS:
        staff = staff_by_email[email]
        user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
        if user is None:
            user = User(email=email, display_name=staff.full_name, role=role, staff_id=staff.id,
                        scope_unit=units[scope] if scope else None)
            set_password(user, DEMO_PASSWORD, method)
            db.session.add(user)
            report.created["users"] = report.created.get("users", 0) + 1
        report.accounts.append((email, description, ""))
    db.session.flush()
    report.accounts = [(email, description, how_it_signs_in(email, staff_by_email[email]))
                       for email, description, _how in report.accounts]
    load_courses(report)
    load_training(report, units, positions)
    return report


# course key, unit codes, position codes (empty: all), due days, renew months
DEMO_RULES = [
    ("nghiep-vu-thanh-tra", ["TTCP", "HN", "HCM", "NB"], [], 90, 12),
    ("giam-sat-so", ["HN", "HCM"], ["TTV", "TTVC", "TTVCC"], 30, None),
    ("tiep-cong-dan", ["HN", "NB"], [], 60, None),
]


def load_training(report: DemoReport, units: dict[str, OrgUnit], positions: dict[str, Position]) -> None:
    """Rules, and the demo trainee's courses in every state: a completed cycle and its renewal in
    progress, an overdue course, an exemption, a course not started. Runs once."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(AssignmentRule)):
        return
    courses = {c.key: c for c in db.session.scalars(sa.select(Course).where(Course.archived.is_(False)))}
    today = clock.today()
    _demo_rules(courses, units, positions, today)
    _demo_trainee(courses, today)
    _demo_colleagues(courses)
    _demo_program(units, today)
    db.session.flush()
    report.created["enrolments"] = db.session.execute(
        sa.select(sa.func.count()).select_from(Enrolment)).scalar_one()


def _demo_rules(courses: dict[str, Course], units: dict[str, OrgUnit], positions: dict[str, Position],
                today: date) -> None:
    """The demo's assignment rules, applied as of some weeks ago."""
    for key, unit_codes, position_codes, due_days, renew in DEMO_RULES:
        if key not in courses:
            continue
        rule = AssignmentRule(course_id=courses[key].id, due_days=due_days, renew_months=renew,
                              note="Quy tắc mẫu của bản demo")
        rule.units = [units[code] for code in unit_codes]
        rule.positions = [positions[code] for code in position_codes]
        db.session.add(rule)
        db.session.flush()
        # Assigned a while ago, so that deadlines fall in the past for some.
        assign.apply_rules(today=today - timedelta(days=45 if key == "giam-sat-so" else 20),
                           course_ids={courses[key].id})


# the shipped programme, its units (the demo trainee's Hà Nội among them), due days
DEMO_PROGRAM = ("thanh-tra-vien-moi", ["HN", "NB"], 120)


def _demo_program(units: dict[str, OrgUnit], today: date) -> None:
    """The new inspectors' programme for two provinces, assigned a month ago: what people
    completed already counts (the demo trainee is at its last step)."""
    key, unit_codes, due_days = DEMO_PROGRAM
    program = db.session.scalar(sa.select(Program).where(Program.key == key, Program.archived.is_(False)))
    if program is None:
        return
    rule = AssignmentRule(program_id=program.id, due_days=due_days, note="Quy tắc mẫu của bản demo")
    rule.units = [units[code] for code in unit_codes if code in units]
    db.session.add(rule)
    db.session.flush()
    programs.apply_program_rules(today=today - timedelta(days=30), program_ids={program.id})


def _demo_trainee(courses: dict[str, Course], today: date) -> None:
    """The demo trainee's courses in every state."""
    trainee = db.session.execute(sa.select(User).where(User.email == "hocvien@example.vn")).scalar_one()
    staff_id = trainee.staff_id

    def enrolment(key: str) -> Enrolment | None:
        return db.session.scalar(sa.select(Enrolment).where(
            Enrolment.staff_id == staff_id, Enrolment.course_id == courses[key].id)
            .order_by(Enrolment.cycle.desc())) if key in courses else None

    # Completed last year; its renewal has opened and is under way.
    first = enrolment("nghiep-vu-thanh-tra")
    if first is not None:
        first.assigned_on = today - timedelta(days=400)
        first.due_on = first.assigned_on + timedelta(days=90)
        completion.complete(first, courses["nghiep-vu-thanh-tra"], None,
                            clock.now() - timedelta(days=350))
        assign.apply_rules(today=today)
        lessons = db.session.scalars(sa.select(Lesson.id).where(
            Lesson.course_id == courses["nghiep-vu-thanh-tra"].id, Lesson.archived.is_(False))
            .order_by(Lesson.module_id, Lesson.position).limit(2)).all()
        for lesson_id in lessons:
            mark_done(trainee.id, lesson_id, courses["nghiep-vu-thanh-tra"].id)
    # "giam-sat-so" stays overdue (assigned 45 days ago, due in 30 days): nothing to do.
    exempt = enrolment("tiep-cong-dan")
    if exempt is not None:
        exempt.state = EnrolmentState.EXEMPT
        exempt.exempt_reason = "Đã hoàn thành lớp tập huấn trực tiếp năm 2025"
    if "van-ban-thanh-tra" in courses:
        staff = db.session.get_one(Staff, staff_id)
        assign.enrol(staff, courses["van-ban-thanh-tra"].id, EnrolmentSource.MANUAL,
                     due_on=today + timedelta(days=25))


def _demo_colleagues(courses: dict[str, Course]) -> None:
    # A few colleagues finished, some are under way: the reports have something to show.
    finished = {"000102": 40, "000203": 12, "000302": 75, "000401": 3}
    for code, days_ago in finished.items():
        staff = db.session.execute(sa.select(Staff).where(Staff.staff_code == code)).scalar_one_or_none()
        done = db.session.scalar(sa.select(Enrolment).where(
            Enrolment.staff_id == staff.id, Enrolment.course_id == courses["nghiep-vu-thanh-tra"].id)
        ) if staff is not None else None
        if done is not None and done.state != EnrolmentState.COMPLETED:
            when = clock.now() - timedelta(days=days_ago)
            done.assigned_on = min(done.assigned_on, when.date() - timedelta(days=10))
            completion.complete(done, courses["nghiep-vu-thanh-tra"], None, when)
    for code in ("000205", "000303"):
        staff = db.session.execute(sa.select(Staff).where(Staff.staff_code == code)).scalar_one_or_none()
        rows = (list(db.session.scalars(sa.select(Enrolment).where(Enrolment.staff_id == staff.id)))
                if staff else [])
        for row in rows:
            row.state, row.started_at = EnrolmentState.IN_PROGRESS, clock.now() - timedelta(days=5)


def load_courses(report: DemoReport) -> None:
    """Sync the real courses from the courses folder (refused with file:line if they have errors)."""
    try:
        sync = sync_tree(settings().courses_dir)
    except SyncRefused as refused:
        report.courses = ["Courses not loaded, the files have errors:"]
        report.courses += [f"  {problem.format()}" for problem in refused.problems[:20]]
        return
    report.courses = sync.lines()[:1]


WITH_DEMO_PASSWORD = f"with the password {DEMO_PASSWORD}"


def how_it_signs_in(email: str, staff: Staff) -> str:
    """How the demo account ``email`` signs in on this app, for ``mooc demo``'s list (in English,
    as all it prints): the demo's password only where it lets the account in (the role may keep a
    local password, and nobody changed it); otherwise the ministry account, and where
    (account_status.ways_of, the rule every list of who can sign in follows)."""
    user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one()
    if not user.active:
        return "cannot sign in: the account is disabled"
    ways = account_status.ways_of(user, staff)
    ministry = f"with the ministry account: {_ministry_way()}"
    by_ministry = bool(ways & {Way.DIRECTORY, Way.PROVIDER})
    if Way.PASSWORD in ways:
        if check_password_hash(user.password_hash or "", DEMO_PASSWORD):
            return WITH_DEMO_PASSWORD
        mine = "with its own password (changed since the demo was loaded)"
        return f"{mine}, or {ministry}" if by_ministry else mine
    if by_ministry:
        kept = backends.may_use_local_password(user)
        return ministry + ("" if kept else " (its role keeps no password here)")
    return "cannot sign in: no password is set here, and no directory finds it"


def _ministry_way() -> str:
    """Where the sign-in page takes the ministry account (the directory's password on the form,
    the OpenID provider's button, or both)."""
    directory = "its user name and password in the directory, on the sign-in form"
    provider = settings().oidc
    if provider is None:
        return directory
    button = f"the “Sign in with {provider.label}” button"
    return f"{directory}, or {button}" if backends.directory() is not None else button


def describe(report: DemoReport, url: str) -> str:
    lines = [
        "",
        *report.courses,
        "Demo ready: " + (", ".join(f"{n} {t}" for t, n in report.created.items()) + " created"
                          if report.created else "nothing new to load"),
    ]
    width = max(len(email) for email, *_ in report.accounts)
    if all(how == WITH_DEMO_PASSWORD for *_, how in report.accounts):
        lines.append(f"Open {url} and sign in with any of these (password: {DEMO_PASSWORD}):")
        lines += [f"  {email.ljust(width)}  {description}" for email, description, _how in report.accounts]
    else:  # a directory, a changed password: each account under how it signs in
        lines.append(f"Open {url} and sign in as one of these:")
        ways = dict.fromkeys(how for *_, how in report.accounts)
        for way in ways:
            lines.append(f"  {way}:")
            lines += [f"    {email.ljust(width)}  {description}"
                      for email, description, how in report.accounts if how == way]
    lines.append("Stop with Ctrl+C.")
    return "\n".join(lines)


GENERATED_CODE = "9{:06d}"  # staff codes of the generated people (`mooc demo --staff N`)


def load_staff(count: int, report: DemoReport, seed: int = 2026) -> None:
    """About ``count`` generated people in sections under the demo provinces, enrolled by the demo's
    rules, some done and some under way. Adds only the people missing up to ``count``: a second
    run with the same count adds nobody. Call after ``load_demo``."""
    generated = Staff.staff_code.like("9______")
    have = db.session.scalar(sa.select(sa.func.count()).select_from(Staff).where(generated)) or 0
    if have >= count:
        return
    rng = random.Random(seed)  # noqa: S311 (invented people, not secrets)
    sections = _generated_sections(report)
    roots = list(sections)
    positions = db.session.execute(sa.select(Position.code, Position.id)).all()
    share = {code: share for code, _title, _rank, share in ROSTER_POSITIONS}
    position_ids, shares = [p[1] for p in positions], [share.get(p[0], 1) for p in positions]
    names = Names(rng)
    today = clock.today()
    rows = []
    for n in range(1, count + 1):
        family, middle, given = names.draw()
        root = rng.choice(roots)
        position_id = rng.choices(position_ids, shares)[0]
        unit_id = rng.choice(sections[root])
        joined = today - timedelta(days=rng.randint(200, 12000))
        if n <= have:
            continue  # drawn all the same, so that the same count gives the same people
        full, code = f"{family} {middle} {given}", GENERATED_CODE.format(n)
        email = f"{email_local(family, middle, given)}{n}@example.vn"
        rows.append({"staff_code": code, "full_name": full, "family_name": family, "middle_name": middle,
                     "given_name": given, "email": email, "unit_id": unit_id, "position_id": position_id,
                     "status": StaffStatus.ACTIVE, "joined_on": joined,
                     "search_text": keys.search_text(full, code, email), "sort_key": keys.sort_key(full)})
    db.session.execute(sa.insert(Staff), rows)
    added = sa.and_(generated, Staff.staff_code > GENERATED_CODE.format(have))
    new = db.session.execute(sa.select(Staff.id, Staff.unit_id, Staff.position_id, Staff.joined_on)
                             .where(added)).all()
    events.touched(row[0] for row in new)
    db.session.execute(sa.insert(StaffHistory), [
        {"staff_id": sid, "valid_from": joined, "unit_id": unit, "position_id": position,
         "status": StaffStatus.ACTIVE} for sid, unit, position, joined in new])
    report.created["generated staff"] = len(new)
    assign.apply_rules(today=today - timedelta(days=40), staff_ids={row[0] for row in new})
    _generated_progress(rng, sa.select(Staff.id).where(added))  # (--staff 100000: no list of ids)


def _generated_sections(report: DemoReport) -> dict[int, list[int]]:
    """The demo provinces and, under each, the sections of an inspectorate (created if missing):
    province id -> the ids of the units its people sit in (the province itself for its leaders)."""
    sections: dict[int, list[int]] = {}
    for code, _name, _parent, kind in UNITS:
        if kind != "province":
            continue
        province = db.session.execute(sa.select(OrgUnit).where(OrgUnit.code == code)).scalar_one()
        units = [_get_or_create(OrgUnit, "code", f"{code}-S{n:02d}", report, name=name, kind="section",
                                parent=province)
                 for n, name in enumerate(PROVINCE_SECTIONS, start=1)]
        db.session.flush()
        sections[province.id] = [province.id] + [unit.id for unit in units]
    return sections


def _generated_progress(rng: random.Random, staff_ids: sa.Select) -> None:
    """Some of the generated people's enrolments completed (weeks ago), some under way."""
    courses = {c.id: c for c in db.session.scalars(sa.select(Course))}
    now = clock.now()
    enrolments = db.session.scalars(sa.select(Enrolment).where(
        Enrolment.staff_id.in_(staff_ids), Enrolment.state == EnrolmentState.NOT_STARTED)
        .order_by(Enrolment.id))
    for enrolment in enrolments:
        roll = rng.random()
        if roll < 0.4:
            completion.complete(enrolment, courses[enrolment.course_id], None,
                                now - timedelta(days=rng.randint(1, 35), minutes=rng.randint(0, 1440)))
        elif roll < 0.65:
            enrolment.state = EnrolmentState.IN_PROGRESS
            enrolment.started_at = now - timedelta(days=rng.randint(0, 30))
    db.session.flush()
