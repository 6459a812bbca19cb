"""The dashboard's counts are kept per version the database owns (mooc/reports/counts.py): whatever
changes what they count, on one worker (a second app on the same database, with its own cache,
as another gunicorn worker has), shows on the next request of every other one, and equals the
page counted afresh. No time is asserted; each check is the next request.

Each test makes one kind of change the way the platform makes it (a request, a command, a
domain function) on worker A; worker B's pages (a manager's own unit, a drill-down, a position
filter, the ministry's) must then equal the same pages counted with B's kept counts dropped,
and must differ from what B showed before (the change is one the page shows)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mooc import clock, versions
from mooc.auth import passwords
from mooc.auth.models import LoginThrottle, Role, User
from mooc.caching import KeptCache
from mooc.extensions import db
from mooc.reports import queries
from mooc.reports.counts import counts_cache
from mooc.roster import leavers, units
from mooc.roster.models import OrgUnit, Staff
from mooc.training import assign, rules
from mooc.training.models import AssignmentRule
from tests.conftest import TEST_PASSWORD, login
from tests.reports.test_summary import _required, _row
from tests.training.conftest import org, person  # noqa: F401  (fixtures)
from tests.training.test_completion import read_and_pass
from tests.training.test_home_fresh import _import, _mark_done

EMAILS = {"manager": "quanly@example.vn", "reporter": "baocao@example.vn"}


@pytest.fixture
def workers(org, person, make_user, make_app):  # noqa: F811
    """Worker A (the org's app: the changes) and worker B (a second app on the same database: the
    province's manager and a ministry reporter signed in); people in both provinces, a rule
    requiring the course in the province, applied."""
    app_a, o = org
    app_b = make_app(COURSES_DIR=str(o.root))
    people = {
        "an": person(o.section_a, o.inspector, name="Nguyễn Văn An", email="an@example.vn"),
        "binh": person(o.section_a, o.chief, name="Trần Thị Bình", email="binh@example.vn"),
        "cuong": person(o.section_b, o.inspector, name="Lê Văn Cường", email="cuong@example.vn"),
        "dung": person(o.other, o.inspector, name="Phạm Thị Dung", email="dung@example.vn"),
    }
    rule_id = _required(app_a, o.course_id, o.province.id, due_days=30, renew_months=12)
    with app_a.app_context():  # the row the migration makes (the tests' tables are made without it)
        versions.raise_version(db.session, versions.REPORT_COUNTS)
        db.session.commit()
    make_user(role=Role.MANAGER, email=EMAILS["manager"], scope_unit=o.province)
    make_user(role=Role.REPORTER, email=EMAILS["reporter"])
    clients = {"manager": app_b.test_client(), "reporter": app_b.test_client()}
    for who, client in clients.items():
        login(client, EMAILS[who])
    paths = [("manager", "/reports/"), ("manager", f"/reports/units/{o.province.id}"),
             ("manager", f"/reports/?position={o.inspector.id}"), ("reporter", "/reports/")]
    return app_a, app_b, o, people, rule_id, clients, paths


def _pages(clients, paths) -> dict:
    pages = {}
    for who, path in paths:
        response = clients[who].get(path)
        if response.status_code == 302:  # the session ended (days passed): signed in again
            login(clients[who], EMAILS[who])
            response = clients[who].get(path)
        assert response.status_code == 200, (who, path)
        pages[who, path] = response.get_data(as_text=True)
    return pages


def _checked(app_b, clients, paths) -> dict:
    """B's pages, twice kept (the second from B's cache), equal to the pages counted afresh."""
    seen = _pages(clients, paths)
    with app_b.app_context():
        kept = dict(counts_cache().entries)
        assert kept  # the counts were kept
    assert _pages(clients, paths) == seen
    with app_b.app_context():
        assert counts_cache().entries == kept  # nothing changed: counted once, then read from the cache
        counts_cache().entries.clear()
        app_b.extensions.get("mooc.reports.kept_holes", KeptCache()).entries.clear()  # rendered again too
    assert _pages(clients, paths) == seen, "a kept count is stale"
    return seen


def _changed(workers, change) -> None:
    app_a, app_b, o, people, rule_id, clients, paths = workers
    before = _checked(app_b, clients, paths)
    change(app_a, o, people, rule_id)
    after = _pages(clients, paths)  # the next request of B, its cache as it was
    assert after != before, "the change is not one the pages show"
    assert _checked(app_b, clients, paths) == after


def _signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _rule_for_the_other_province(app, o, _people, _rule_id):
    with app.app_context():
        rules.create_rule(assign.RuleDraft(o.course_id, [o.other.id], due_days=30))
        db.session.commit()


def _rule_switched_off(app, _o, _people, rule_id):
    with app.app_context():
        rules.deactivate_rule(db.session.get_one(AssignmentRule, rule_id))
        db.session.commit()


def _lesson_done(app, _o, people, _rule_id):
    _mark_done(_signed_in(app, people["an"][1]), "co-ban/mot")


def _course_completed(app, _o, people, _rule_id):
    read_and_pass(_signed_in(app, people["binh"][1]), app)


def _import_adds_a_person(app, _o, _people, _rule_id):
    _import(app, [["900001", "Võ Thị Mai", "mai@example.vn", "NB-2", ""]])


def _import_moves_a_person(app, _o, people, _rule_id):
    with app.app_context():
        staff = db.session.merge(people["an"][0])
        row = _row(staff, "NB-2")
    _import(app, [row])


def _import_leaves_a_person_out(app, _o, people, _rule_id):
    with app.app_context():
        rows = [_row(db.session.merge(people[name][0]), code)
                for name, code in (("an", "NB-1"), ("binh", "NB-1"), ("dung", "HN"))]
    _import(app, rows, full=True)  # Cường left: his account disabled (a bulk UPDATE of users)


def _unit_merged(app, o, _people, _rule_id):
    with app.app_context():
        units.merge_unit(db.session.get_one(OrgUnit, o.section_a.id),
                         db.session.get_one(OrgUnit, o.section_b.id))
        db.session.commit()


def _person_leaving_on_the_day(app, _o, people, _rule_id):
    with app.app_context():
        staff = db.session.get_one(Staff, people["binh"][0].id)
        staff.left_on = clock.today()
        db.session.commit()
    with app.app_context():
        assert leavers.leave_when_due() == 1
        db.session.commit()


def _account_disabled(app, _o, people, _rule_id):
    with app.app_context():
        db.session.get_one(User, people["cuong"][1].id).active = False
        db.session.commit()


def _account_without_a_password(app, _o, people, _rule_id):
    with app.app_context():
        db.session.get_one(User, people["an"][1].id).password_hash = None  # invited: no way in yet
        db.session.commit()


def _days_passing(_app, _o, _people, _rule_id):
    clock.set_now(clock.now() + timedelta(days=35))  # nothing written: everyone is overdue


CHANGES = [_rule_for_the_other_province, _rule_switched_off, _lesson_done, _course_completed,
           _import_adds_a_person, _import_moves_a_person, _import_leaves_a_person_out, _unit_merged,
           _person_leaving_on_the_day, _account_disabled, _account_without_a_password, _days_passing]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_a_change_on_one_worker_shows_on_the_others_next_report(workers, change):
    _changed(workers, change)


def test_a_lock_counts_while_it_lasts_and_is_never_kept(workers):
    """A lock on an account's passwords: "cannot sign in" while it holds, and not once it ends,
    with nothing written (a lock ends with time)."""
    app_a, app_b, o, people, _rule_id, clients, paths = workers
    before = _checked(app_b, clients, paths)
    with app_a.app_context():
        user = db.session.get_one(User, people["an"][1].id)
        db.session.add(LoginThrottle(email=passwords.lock_key(user), failures=10,
                                     locked_until=clock.now() + timedelta(minutes=15)))
        db.session.commit()
    locked = _checked(app_b, clients, paths)
    assert locked != before
    clock.set_now(clock.now() + timedelta(minutes=16))
    assert _checked(app_b, clients, paths) == before
    with app_a.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginThrottle)) == 1


def test_the_kept_counts_are_the_live_aggregates(workers, monkeypatch):
    """Every page the kept counts answer (own unit, drill-downs, a position, whose parent has
    nobody of it, sorted, the ministry's) is the page the live aggregates of the enrolments and
    the roster make (``queries.headcount_by_unit``, ``obligations_by_unit``), on the day and later."""
    app_a, app_b, o, people, _rule_id, clients, paths = workers
    _course_completed(app_a, o, people, _rule_id)
    _account_disabled(app_a, o, people, _rule_id)
    paths = [*paths, ("manager", f"/reports/units/{o.province.id}?position={o.chief.id}"),
             ("manager", f"/reports/units/{o.section_a.id}?position={o.chief.id}"),
             ("manager", "/reports/?sort=cannot_sign_in"), ("reporter", f"/reports/?position={o.chief.id}")]
    for days in (0, 35):
        clock.set_now(clock.now() + timedelta(days=days))
        kept = _checked(app_b, clients, paths)
        with monkeypatch.context() as patched:
            patched.setattr(queries, "summarised", lambda _filters: False)
            assert _pages(clients, paths) == kept


@pytest.mark.slow
def test_two_server_processes_show_a_new_person_at_the_next_request(
        app, database_url, make_unit, make_user, make_staff, tmp_path):
    """Two gunicorn servers (what `mooc serve` runs), each warmed with the counts kept; a person
    added to the roster elsewhere is counted by both at their next request."""
    from tests.courses.test_cache_freshness import two_servers

    province = make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    section = make_unit("Phòng 1", parent=province, code="NB-1")
    make_staff(full_name="Nguyễn Văn An", unit=section)
    manager = make_user(role=Role.MANAGER, email="quanly@example.vn", scope_unit=province,
                        password=TEST_PASSWORD, two_factor=False)  # the servers ask no code (bench)
    with app.app_context():  # the row the migration makes
        versions.raise_version(db.session, versions.REPORT_COUNTS)
        db.session.commit()
    path = f"/reports/units/{province.id}"
    with two_servers(database_url, tmp_path) as (servers, client_of):
        one = client_of(servers[0]).login(manager.email, TEST_PASSWORD)
        two = client_of(servers[1], one.cookies)

        def headcount(client) -> int:
            status, _headers, body = client.request("GET", path)
            assert status == 200, status
            found = re.search(r">Phòng 1</a>.*?</th>\s*<td>(\d+)</td>", body.decode(), re.DOTALL)
            assert found is not None
            return int(found.group(1))

        for client in (one, two, one, two):  # both warm: the counts kept
            assert headcount(client) == 1
        make_staff(full_name="Trần Thị Bình", unit=section)
        for client in (one, two):
            assert headcount(client) == 2


def test_a_lesson_that_changes_no_count_keeps_the_counts(workers):
    """A lesson done by someone already under way moves their latest activity (read live each
    request) and nothing the counts count: the counts' version stays and the kept counts answer,
    while a move to another unit (set through the relationship) still counts at once."""
    app_a, app_b, o, people, rule_id, clients, paths = workers
    _lesson_done(app_a, o, people, rule_id)  # An is under way now: a change the counts show
    kept = _checked(app_b, clients, paths)
    with app_a.app_context():
        version = versions.read_version(db.session, versions.REPORT_COUNTS)
    _mark_done(_signed_in(app_a, people["an"][1]), "co-ban/hai")  # still under way: the quiz is left
    with app_a.app_context():
        assert versions.read_version(db.session, versions.REPORT_COUNTS) == version
    with app_b.app_context():
        entries = dict(counts_cache().entries)
    assert _pages(clients, paths) == kept
    with app_b.app_context():
        assert counts_cache().entries == entries  # answered from what was kept
    with app_a.app_context():
        staff = db.session.get_one(Staff, people["cuong"][0].id)
        staff.unit = db.session.get_one(OrgUnit, o.section_a.id)
        db.session.commit()
        assert versions.read_version(db.session, versions.REPORT_COUNTS) != version
    moved = _pages(clients, paths)
    assert moved != kept and _checked(app_b, clients, paths) == moved


def test_a_unit_moved_in_is_counted_with_its_activity_at_the_next_request(workers, make_app):
    """A unit moved under the manager's province on worker A is a row of B's next page (the tree
    of the version read in the dashboard's first statement) with its activity (no "no activity"
    badge) and counts, as on a worker that kept nothing. (Kept as the guard of any early read of
    the glance: with the glance read for the units B's last tree counted, it fails.)"""
    app_a, app_b, o, people, _rule_id, clients, _paths = workers
    with app_a.app_context():
        staff = db.session.merge(people["dung"][0])
        staff.last_training_at = clock.now() - timedelta(days=1)
        db.session.commit()
    paths = [("manager", "/reports/"), ("manager", f"/reports/units/{o.province.id}"),
             ("manager", f"/reports/units/{o.province.id}?position={o.inspector.id}")]
    before = _pages(clients, paths)
    with app_a.app_context():
        db.session.get_one(OrgUnit, o.other.id).parent_id = o.province.id
        db.session.commit()
    after = _pages(clients, paths)
    assert after != before
    fresh = make_app(COURSES_DIR=str(o.root)).test_client()
    login(fresh, EMAILS["manager"])
    def masked(pages: dict) -> dict:  # (another session: another CSRF token)
        return {key: re.sub(r'name="csrf_token" value="[^"]+"', "", page) for key, page in pages.items()}

    assert masked(_pages({"manager": fresh}, paths)) == masked(after)
    assert f'href="/reports/units/{o.other.id}"' in after["manager", f"/reports/units/{o.province.id}"]
