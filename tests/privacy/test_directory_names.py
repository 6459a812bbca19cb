"""``directory_names``: the directory user names tied to a person, kept as the sign-in events
are recorded (``audit.record``), filled from the audit trail by the migration that made the
table, read by ``mooc.privacy.names`` (the audit log, the export) and forgotten by the purge.
(Written at real sign-ins: tests/directory/test_ldap_signin.py and test_oidc.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import DirectoryName, User
from mooc.extensions import db
from mooc.privacy import export, names
from mooc.roster.models import Staff, StaffStatus

BEFORE = "c7d9e1f3a5b7"  # the revision before directory_names


def _ties() -> set[tuple[str, int | None, str | None]]:
    return {(row.name, row.user_id, row.person) for row in db.session.scalars(sa.select(DirectoryName))}


def test_each_tie_is_kept_once_as_the_event_is_recorded(world, sign_ins):
    """A user name typed at a directory sign-in is the account's; one typed when the roster
    refused the person the directory named is that person's (their staff code, or their address
    in lower case); a wrong password ties nothing; a second sign-in adds nothing."""
    with world.app.app_context():
        assert _ties() == {("ngoc.tt", world.user_id, None), ("hong.dt", None, "009020"),
                           ("khac.lv", world.other_user_id, None), ("lv.khac", None, "khac.lv@example.vn")}
        ngoc = db.session.get(User, world.user_id)
        audit.record("login.succeeded", actor=ngoc, target=ngoc.email, method="ldap", login="ngoc.tt")
        audit.record("login.second_factor_asked", actor=ngoc, target=ngoc.email, method="ldap",
                     login="Ngoc.TT ")
        audit.record("login.failed", target="ngoc.tt", reason="directory_wrong_password")
        db.session.commit()
        assert len(_ties()) == 4


def test_the_migration_ties_the_names_of_the_events_already_recorded(world, sign_ins):
    """Upgrading a database whose audit trail holds sign-ins ties the same names to the same
    people as recording them does, each once, at its first event; the log, the export and the
    purge then read the same names as before."""
    early, late = datetime(2025, 5, 1, 2, tzinfo=UTC), datetime(2026, 5, 1, 2, tzinfo=UTC)
    with world.app.app_context():
        khac = db.session.get(User, world.other_user_id)
        for at, login in ((late, "lv.khac"), (early, "LV.Khac")):  # the same user name, typed twice
            clock.set_now(at)
            audit.record("login.second_factor_asked", actor=khac, target=khac.email, method="ldap",
                         login=login)
            audit.record("login.failed", target=f" {login.upper()}", reason="roster_left",
                         person=" KHAC.LV@Example.vn")
        clock.set_now(None)
        db.session.commit()
        recorded = _ties()
        people = names.People.of(world.other_staff_id, [world.other_user_id])
        read = names.values(names.directory_logins(people))
        assert read == {"khac.lv", "lv.khac"}
        db.session.remove()
        downgrade(revision=BEFORE)
        assert "directory_names" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        db.session.remove()
        assert _ties() == recorded
        assert names.values(names.directory_logins(people)) == read
        first = {(row.user_id, row.person): row.first_at for row in db.session.scalars(
            sa.select(DirectoryName).where(DirectoryName.name == "lv.khac"))}
        assert first == {(world.other_user_id, None): early, (None, "khac.lv@example.vn"): early}


def test_the_purge_deletes_the_names_tied_to_the_person_and_no_others(world, sign_ins):
    """Ngọc left six years ago: after the purge no row ties a name to her (neither to her
    account nor to her staff code or addresses); Hồng's and Khác's stay."""
    with world.app.app_context():
        db.session.execute(sa.update(Staff).where(Staff.id == world.staff_id)
                           .values(status=StaffStatus.LEFT, left_on=date(2019, 6, 30)))
        audit.record("login.failed", target="ngoc.tran", reason="roster_left", person=world.code)
        audit.record("login.failed", target="ngoc.cu", reason="roster_left", person=world.former_email)
        db.session.commit()
        mine = export.gather(export.subject_of_staff(db.session.get(Staff, world.staff_id)))
        assert [row["user_name"] for row in mine["directory_names"]] == ["ngoc.tt", "ngoc.tran", "ngoc.cu"]
    result = world.app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert "Pseudonymised 1 people" in result.output, result.output
    with world.app.app_context():
        assert _ties() == {("hong.dt", None, "009020"), ("khac.lv", world.other_user_id, None),
                           ("lv.khac", None, "khac.lv@example.vn")}
