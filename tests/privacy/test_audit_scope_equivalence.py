"""The audit log's scope and person filter, and the export's events about a person, found through
the indexed folded target (``AuditEvent.folded_target``, ``names.Targets``), give what the rule
gave when it folded every event's target at read time: the same events, in the same order, for
every reader, every kind of event and every filter.

``_old_*`` below is that rule as ``mooc/privacy/names.py`` and ``audit_log.py`` wrote it before
(``lower(trim(target))`` compared with subqueries), kept here as the reference."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import AuditEvent, DirectoryName, Role, User
from mooc.database import alias
from mooc.extensions import db
from mooc.privacy import audit_log, export
from mooc.roster.models import OrgUnit, Staff
from tests.conftest import login
from tests.privacy.conftest import staff_of, unit_of

EMAIL_CHANGED = "account.email_changed"


# --- the rule as it was ---------------------------------------------------------------------------


def _folded(value):
    return sa.func.lower(sa.func.trim(value))


def _old_addresses(staff_ids, user_ids) -> sa.CTE:
    now = sa.union(
        sa.select(_folded(Staff.email).label("address"))
        .where(Staff.id.in_(staff_ids), Staff.email.is_not(None), Staff.email != ""),
        sa.select(_folded(User.email).label("address")).where(User.id.in_(user_ids)),
    ).subquery()
    known = sa.select(now.c.address).cte(recursive=True)
    changed = alias(AuditEvent, "changed")
    previous = _folded(changed.details["previous"].as_string())
    return known.union(sa.select(previous).where(
        changed.action == EMAIL_CHANGED, _folded(changed.target) == known.c.address, previous != ""))


def _old_named_in_target(staff_ids, user_ids):
    known = _old_addresses(staff_ids, user_ids)
    codes = sa.select(Staff.staff_code).where(Staff.id.in_(staff_ids))
    ties = (DirectoryName.user_id.in_(user_ids), DirectoryName.person.in_(codes),
            DirectoryName.person.in_(sa.select(known.c.address)))
    folded = sa.union(sa.select(known.c.address.label("name")),
                      *[sa.select(DirectoryName.name.label("name")).where(tie) for tie in ties]).subquery()
    return sa.or_(AuditEvent.target.in_(codes), _folded(AuditEvent.target).in_(sa.select(folded.c.name)))


def _old_about(staff_ids, user_ids):
    return sa.or_(_old_named_in_target(staff_ids, user_ids), AuditEvent.actor_id.in_(user_ids))


def _old_named(text: str) -> tuple[list[int], list[int]]:
    value, folded = text.strip(), text.strip().lower()
    staff_ids = set(db.session.scalars(sa.union(
        sa.select(Staff.id).where(sa.or_(Staff.staff_code == value, sa.func.lower(Staff.email) == folded)),
        sa.select(User.staff_id).where(sa.func.lower(User.email) == folded, User.staff_id.is_not(None)))))
    user_ids = set(db.session.scalars(sa.select(User.id).where(
        sa.or_(sa.func.lower(User.email) == folded, User.staff_id.in_(sorted(staff_ids))))))
    return sorted(staff_ids), sorted(user_ids)


def _old_conditions(filters: audit_log.AuditFilters, units: set[int] | None) -> list:
    found = []
    if units is not None:
        unit_ids = sorted(units)
        staff_ids = sa.select(Staff.id).where(Staff.unit_id.in_(unit_ids))
        user_ids = sa.select(User.id).where(User.staff_id.in_(staff_ids))
        found.append(sa.or_(_old_named_in_target(staff_ids, user_ids),
                            AuditEvent.target.in_(sa.select(OrgUnit.code).where(OrgUnit.id.in_(unit_ids))))
                     if units else sa.false())
    if filters.action:
        found.append(AuditEvent.action == filters.action)
    if filters.person.strip():
        value = filters.person.strip()
        found.append(sa.or_(_old_about(*_old_named(value)), _folded(AuditEvent.target) == value.lower()))
    if filters.day_from:
        found.append(AuditEvent.at >= audit_log._local_start(filters.day_from))
    if filters.day_to:
        found.append(AuditEvent.at < audit_log._local_start(filters.day_to + timedelta(days=1)))
    return found


def _old_rows(filters: audit_log.AuditFilters, units: set[int] | None) -> list[tuple[str, str]]:
    return [tuple(row) for row in db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.target).where(*_old_conditions(filters, units))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))]


# --- a log with every kind of event ------------------------------------------------------------------


TRICKY_TARGETS = [
    "nbo-3", "NBO-3 ", " NBO-3", "Nbo", "bbo",  # unit codes as written only: never folded
    " 009001", "009001 ", "009001\t",  # staff codes as written only
    "ĐX-01", "đx-01", " ĐX-01 ",  # a staff code with a capital Đ
    # addresses and user names: folded (spaces only trimmed)
    "  NGOC.TT@Example.VN  ", "NGOC.TT", "\tngoc.tt", "ngoc.tt\n",
    "NGOC.RAT.CU@EXAMPLE.VN", "ngoc.cu@example.vn ",  # addresses before, two changes back
    "ĐỖ.HỒNG@EXAMPLE.VN", "đỗ.hồng@example.vn",  # an address with letters SQLite does not fold
    "KHAC.LV", "lv.khac ", "Ai.Do", "khong.ai", "", " ",  # another province's, nobody's, nothing
    "audit_events", "ds-nam-bo.csv", "CN-KHAC-0001",
]


@pytest.fixture
def mixed_log(world, sign_ins, make_staff, make_user):
    """Beside the world's and the sign-ins' events: targets written every way (case, spaces,
    tabs, capitals SQLite does not fold), an address changed twice, a person with a non-ASCII
    staff code and address who signed in through the directory, each under several actions and
    days."""
    with world.app.app_context():
        section = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "NBO-3"))
        db.session.expunge(section)
    dx = make_staff("Đỗ Thị Hồng Xuân", unit=section, email="Đỗ.Hồng@example.vn", staff_code="ĐX-01")
    dx_user = make_user(email="đỗ.hồng@example.vn", staff=dx, name="Đỗ Thị Hồng Xuân")
    with world.app.app_context():
        clock.set_now(datetime(2026, 3, 5, 2, tzinfo=UTC))
        audit.record("account.email_changed", target="ngoc.cu@example.vn", previous=" NGOC.RAT.CU@example.vn",
                     user_id=world.user_id)
        audit.record("login.succeeded", actor=db.session.get(User, dx_user.id), target="đỗ.hồng@example.vn",
                     method="ldap", login="HỒNG.XUÂN")
        audit.record("login.failed", target="hồng.xuân", reason="directory_wrong_password")
        audit.record("login.failed", target="HỒNG.XUÂN ", reason="directory_wrong_password")
        for number, target in enumerate(TRICKY_TARGETS):
            clock.set_now(datetime(2026, 3, 1 + number % 20, number % 24, tzinfo=UTC))
            action = ("training.due_extended", "login.failed", "password.reset_requested")[number % 3]
            audit.record(action, target=target, days=number)
        clock.set_now(datetime(2026, 4, 1, tzinfo=UTC))
        audit.record("roster.imported", actor=db.session.get(User, dx_user.id), target="ds.xlsx")
        db.session.commit()
        clock.set_now(None)
    return dx


PEOPLE = ["009001", "NGOC.TT@example.vn", " ngoc.cu@example.vn ", "ngoc.rat.cu@example.vn", "ngoc.tt",
          "009020", "Hong.DT@Example.vn", "hong.dt", "009002", "KHAC.LV@example.vn", "lv.khac", "ai.do",
          "ĐX-01", "đx-01", "Đỗ.Hồng@example.vn", "hồng.xuân", "khong.ai", "NBO-3", "ds.xlsx"]


def _readers(world, make_user) -> dict[str, User]:
    province = unit_of(world.app, world.province_id)
    other = unit_of(world.app, world.other_unit_id)
    with world.app.app_context():
        section = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "NBO-3"))
        db.session.expunge(section)
    return {"admin": make_user(role=Role.ADMIN, email="quantri@example.vn"),
            "province": make_user(role=Role.MANAGER, scope_unit=province, email="chanh.nambo@example.vn"),
            "section": make_user(role=Role.OFFICER, scope_unit=section, email="canbo.nv3@example.vn"),
            "other": make_user(role=Role.MANAGER, scope_unit=other, email="chanh.bacbo@example.vn")}


def _csv_rows(client, query: str) -> list[tuple[str, str]]:
    response = client.get(f"/admin/audit?export=csv{query}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return [(row[2], _unescaped(row[3])) for row in rows[1:] if row[2] != "privacy.audit_exported"]


def _unescaped(value: str) -> str:
    """A value as stored, before the CSV made one that starts like a formula harmless."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r") else value


def test_every_reader_and_filter_reads_what_the_old_rule_read(world, mixed_log, make_user):
    """Through the app: the CSV (every row, in order) and the page's count, for an administrator,
    the managers of a province, of a section and of another province; unfiltered, by each action,
    by each person (a staff code, an address now or before in any case, a directory user name,
    a text nobody has), and by days."""
    readers = _readers(world, make_user)
    compared = 0
    for name, reader in readers.items():
        client = world.app.test_client()
        assert login(client, reader.email).status_code == 302
        with world.app.app_context():
            units = audit_log.units_of(db.session.get(User, reader.id))
            actions = sorted(set(db.session.scalars(sa.select(AuditEvent.action)))
                             - {"privacy.audit_exported"})
        queries = [audit_log.AuditFilters()]
        queries += [audit_log.AuditFilters(action=action) for action in actions]
        queries += [audit_log.AuditFilters(person=person) for person in PEOPLE]
        queries += [audit_log.AuditFilters(person="009001", action="login.failed"),
                    audit_log.AuditFilters(person="009020", day_from=date(2026, 3, 1),
                                           day_to=date(2026, 3, 31))]
        for filters in queries:
            query = "".join(f"&{key}={value}" for key, value in (
                ("action", filters.action), ("person", filters.person),
                ("from", filters.day_from and filters.day_from.strftime("%d/%m/%Y")),
                ("to", filters.day_to and filters.day_to.strftime("%d/%m/%Y"))) if value)
            with world.app.app_context():
                choices = {action for action, _target in _old_rows(audit_log.AuditFilters(), units)}
                # an action none of the reader's events has is dropped, and the page says so
                asked = filters if filters.action in choices | {None} else replace(filters, action=None)
                expected = _old_rows(asked, units)
            page = client.get(f"/admin/audit?{query}").get_data(as_text=True)
            assert f"Số sự kiện tìm thấy: {len(expected)}<" in page, (name, filters)
            rows = [row for row in expected if row[0] != "privacy.audit_exported"]
            assert _csv_rows(client, query) == rows, (name, filters)
            compared += 1
    assert compared > 100


def test_a_persons_export_holds_the_events_the_old_rule_found(world, mixed_log):
    """The export of a person's data (``names.about``) for each person of the log."""
    with world.app.app_context():
        for staff_id in (world.staff_id, world.other_staff_id, mixed_log.id):
            subject = export.subject_of_staff(db.session.get(Staff, staff_id))
            user_ids = subject.user_ids
            expected = [(row.action, row.target) for row in db.session.execute(
                sa.select(AuditEvent.action, AuditEvent.target).where(_old_about([staff_id], user_ids))
                .order_by(AuditEvent.at, AuditEvent.id))]
            found = [(row["action"], row["target"]) for row in export.audit_events(subject)]
            assert found == expected and expected, staff_of(world.app, staff_id).staff_code


def test_the_folded_target_follows_every_write_of_the_target(world):
    """Written by the database on insert and on update (the retention purge rewrites targets),
    as the log compared them: lower-case, spaces trimmed."""
    with world.app.app_context():
        event = audit.record("login.failed", target="  Mai.TRAN  ")
        db.session.flush()
        assert db.session.scalar(sa.select(AuditEvent.folded_target).where(AuditEvent.id == event.id)) \
            == db.session.scalar(sa.select(_folded(sa.literal("  Mai.TRAN  ")))) == "mai.tran"
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id).values(target=" AD-1 "))
        folded = db.session.scalar(sa.select(AuditEvent.folded_target).where(AuditEvent.id == event.id))
        assert folded == "ad-1"
        mismatched = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.folded_target != _folded(AuditEvent.target)))
        assert mismatched == 0
