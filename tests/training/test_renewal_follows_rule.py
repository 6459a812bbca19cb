"""A completion's validity follows the renewing rule that covers the person, whenever that rule
came to cover it (docs/architecture.md, "Sources of a cycle"): its expiry is the day it was
completed plus the period of the strictest renewing rule that covers the person now (the
shortest), its certificate's too, and one due by then is renewed at once.

Before, the expiry was written once, at completion, from the rule that held the cycle then: a
completion imported, joined, made under a manager or under a rule that did not renew yet never
expired when a renewing rule came to cover it (valid forever, never renewed); a period
shortened or lengthened left every completion on the old one; and with two rules the first one
by id decided, not the strictest.

Every step goes through the pages an administrator or the trainee uses, or the nightly command.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.extensions import db
from mooc.training.models import Certificate, Enrolment
from tests.conftest import csrf_token, login
from tests.training.test_cycle_sources import START, Cycle, Office, cycle, ids, in_days, nightly
from tests.training.test_programs import finish, world  # noqa: F401 (a fixture)


@pytest.fixture
def desk(world, make_user):  # noqa: F811 (the fixture imported above)
    """The programmes' courses, a province with Trần Thị Bình (with an account) and an
    administrator signed in at the rules' pages, at 10:00 on 2 March 2026 in Hà Nội."""
    clock.set_now(START)
    return Office(world, make_user)


FINGERPRINT = re.compile(r'name="fingerprint" value="([^"]+)"')


def completions(app, staff, key: str) -> list[tuple[int, date | None, date | None]]:
    """(cycle, expiry, its certificate's expiry) of the person's completed cycles of a course."""
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            sa.select(Enrolment.cycle, Enrolment.expires_on, Certificate.expires_on)
            .outerjoin(Certificate, Certificate.enrolment_id == Enrolment.id)
            .where(Enrolment.staff_id == staff.id, Enrolment.course_id == ids(app)[key],
                   Enrolment.completed_at.is_not(None)).order_by(Enrolment.cycle))]


def counts(page: str) -> dict[str, int]:
    """The renewal counts a rule's preview shows, by their Vietnamese labels."""
    labels = {"given": "Lần hoàn thành được gán ngày hết hạn", "changed": "Lần hoàn thành đổi ngày hết hạn",
              "renewed": "Lượt học lại mở ngay"}
    found = {}
    for name, label in labels.items():
        match = re.search(re.escape(label) + r"[^<]*: <strong>([\d.]+)</strong>", page)
        assert match, f"no count for {label!r}"
        found[name] = int(match.group(1).replace(".", ""))
    return found


def new_rule_preview(desk, course_id: int, renew_months: int) -> dict[str, int]:
    path = "/admin/rules/new"
    data = {"csrf_token": csrf_token(desk.client, path), "course": str(course_id), "scope": "units",
            "units": str(desk.unit.id), "due_kind": "days", "due_days": "30", "renewal": "full",
            "renew_months": str(renew_months)}
    return counts(desk.client.post(path, data=data).get_data(as_text=True))


def edit_rule(desk, rule_id: int, renew_months: int | None, confirm: bool = False) -> str:
    path = f"/admin/rules/{rule_id}/edit"
    data = {"csrf_token": csrf_token(desk.client, path), "scope": "units", "units": str(desk.unit.id),
            "due_kind": "days", "due_days": "30", "renewal": "full",
            "renew_months": str(renew_months or "")}
    if confirm:
        data["confirm"] = "1"
    response = desk.client.post(path, data=data)
    assert response.status_code == (302 if confirm else 200)
    return response.get_data(as_text=True)


def later(desk, when: datetime) -> None:
    """The clock moves on; the administrator signs in again (the session has lapsed)."""
    clock.set_now(when)
    login(desk.client, "qt@example.vn")


def import_history(desk, staff, course_code: str, day: str) -> None:
    client = desk.client
    token = csrf_token(client, "/admin/history/import")
    uploaded = client.post("/admin/history/import", data={
        "csrf_token": token, "file": (io.BytesIO(
            f"Mã cán bộ;Khóa học;Ngày hoàn thành\n{staff.staff_code};{course_code};{day}\n".encode()),
            "lich-su.csv")}, content_type="multipart/form-data")
    preview = uploaded.headers["Location"]
    fingerprint = FINGERPRINT.search(client.get(preview).get_data(as_text=True))
    assert fingerprint
    done = client.post(preview.split("?")[0], data={"csrf_token": csrf_token(client, preview),
                                                    "fingerprint": fingerprint.group(1)})
    assert done.status_code == 302


def verify_page(desk, staff, key: str) -> str:
    with desk.app.app_context():
        code = db.session.scalar(sa.select(Certificate.code).join(Enrolment).where(
            Enrolment.staff_id == staff.id, Enrolment.course_id == ids(desk.app)[key])
            .order_by(Enrolment.cycle.desc()).limit(1))
    return " ".join(desk.client.get(f"/verify/{code}").get_data(as_text=True).split())


def test_history_imported_then_a_renewing_rule_is_due_for_renewal(desk):
    """Completed three years ago, before any rule; a rule "renew every 24 months" comes: the
    completion expired a year ago, so a renewal cycle opens now, due by the rule's terms."""
    app, staff = desk.app, desk.staff
    import_history(desk, staff, "VB", "15/01/2023")
    assert completions(app, staff, "van-ban") == [(1, None, None)]
    course_id = ids(app)["van-ban"]
    assert new_rule_preview(desk, course_id, 24) == {"given": 1, "changed": 0, "renewed": 1}
    assert completions(app, staff, "van-ban") == [(1, None, None)]  # the preview kept nothing
    rule = desk.rule(course_id, due_days=30, renew_months=24)
    assert completions(app, staff, "van-ban") == [(1, date(2025, 1, 15), None)]  # no certificate imported
    assert cycle(app, staff, "van-ban") == Cycle("rule", rule, None, True, True, in_days(30), 2)
    nightly(app)  # and the night opens nothing more
    assert cycle(app, staff, "van-ban") == Cycle("rule", rule, None, True, True, in_days(30), 2)


def test_history_imported_under_a_renewing_rule_expires_at_once(desk):
    """The rule first, then the history: the completion (made before the rule's first cycle
    began) completes that open cycle, and the import gives it the rule's expiry."""
    app, staff = desk.app, desk.staff
    desk.rule(ids(app)["van-ban"], due_days=30, renew_months=12)
    import_history(desk, staff, "VB", "20/02/2026")
    assert completions(app, staff, "van-ban") == [(1, date(2027, 2, 20), None)]


def test_a_rule_edited_to_renew_gives_completions_an_expiry_and_renews_those_due(desk):
    app, staff, user = desk.app, desk.staff, desk.user
    rule = desk.rule(ids(app)["giam-sat"], due_days=30)
    finish(app, user, "giam-sat")  # 2 March 2026
    assert completions(app, staff, "giam-sat") == [(1, None, None)]
    later(desk, datetime(2027, 2, 20, 3, tzinfo=UTC))
    assert counts(edit_rule(desk, rule, 12)) == {"given": 1, "changed": 0, "renewed": 1}
    edit_rule(desk, rule, 12, confirm=True)
    assert completions(app, staff, "giam-sat") == [(1, date(2027, 3, 2), date(2027, 3, 2))]
    assert "02/03/2027" in verify_page(desk, staff, "giam-sat")
    assert cycle(app, staff, "giam-sat") == Cycle("rule", rule, None, True, True, date(2027, 3, 2), 2)


def test_a_managers_and_a_joined_completion_expire_once_a_renewing_rule_covers_them(desk, make_staff,
                                                                                    make_user):
    app, staff, user = desk.app, desk.staff, desk.user
    other = make_staff("Lê Văn Cường", unit=desk.unit)
    other_user = make_user(email="cuong@example.vn", staff=other)
    desk.enrol(staff, ids(app)["giam-sat"], in_days(60))  # a manager's
    finish(app, user, "giam-sat")
    trainee = app.test_client()
    login(trainee, other_user.email)
    finish(app, other_user, "giam-sat")  # joined by the trainee
    assert completions(app, staff, "giam-sat") == [(1, None, None)]
    assert completions(app, other, "giam-sat") == [(1, None, None)]
    later(desk, datetime(2026, 9, 1, 3, tzinfo=UTC))
    rule = desk.rule(ids(app)["giam-sat"], due_days=30, renew_months=12)
    for person in (staff, other):
        assert completions(app, person, "giam-sat") == [(1, date(2027, 3, 2), date(2027, 3, 2))]
    clock.set_now(datetime(2027, 2, 10, 3, tzinfo=UTC))  # within 30 days of the expiry
    nightly(app)
    for person in (staff, other):
        assert cycle(app, person, "giam-sat") == Cycle("rule", rule, None, True, True, date(2027, 3, 2), 2)


def test_a_period_shortened_or_lengthened_moves_the_expiry_and_the_certificate(desk):
    """The record and the certificate (/verify, the PDF) always say the same: the day completed
    plus the period of the rule now."""
    app, staff, user = desk.app, desk.staff, desk.user
    rule = desk.rule(ids(app)["giam-sat"], due_days=30, renew_months=24)
    finish(app, user, "giam-sat")  # 2 March 2026
    assert completions(app, staff, "giam-sat") == [(1, date(2028, 3, 2), date(2028, 3, 2))]
    assert counts(edit_rule(desk, rule, 36)) == {"given": 0, "changed": 1, "renewed": 0}
    edit_rule(desk, rule, 36, confirm=True)
    assert completions(app, staff, "giam-sat") == [(1, date(2029, 3, 2), date(2029, 3, 2))]
    assert "02/03/2029" in verify_page(desk, staff, "giam-sat")
    edit_rule(desk, rule, 12, confirm=True)
    assert completions(app, staff, "giam-sat") == [(1, date(2027, 3, 2), date(2027, 3, 2))]
    assert "02/03/2027" in verify_page(desk, staff, "giam-sat")
    edit_rule(desk, rule, None, confirm=True)  # no renewal any more: the last expiry stands
    assert completions(app, staff, "giam-sat") == [(1, date(2027, 3, 2), date(2027, 3, 2))]


def test_two_renewing_rules_the_strictest_period_applies(desk):
    app, staff, user = desk.app, desk.staff, desk.user
    course_id = ids(app)["giam-sat"]
    desk.rule(course_id, due_days=30, renew_months=24)  # the first by id holds the cycle
    strict = desk.rule(course_id, due_days=30, renew_months=12)
    finish(app, user, "giam-sat")  # 2 March 2026
    assert completions(app, staff, "giam-sat") == [(1, date(2027, 3, 2), date(2027, 3, 2))]
    clock.set_now(datetime(2027, 2, 10, 3, tzinfo=UTC))
    nightly(app)  # the strict rule renews, on its terms
    assert cycle(app, staff, "giam-sat") == Cycle("rule", strict, None, True, True, date(2027, 3, 2), 2)


def test_switching_the_strict_rule_off_gives_back_the_other_period(desk):
    app, staff, user = desk.app, desk.staff, desk.user
    course_id = ids(app)["giam-sat"]
    strict = desk.rule(course_id, due_days=30, renew_months=12)  # the first by id: it holds the cycle
    desk.rule(course_id, due_days=30, renew_months=24)
    finish(app, user, "giam-sat")  # 2 March 2026
    assert completions(app, staff, "giam-sat") == [(1, date(2027, 3, 2), date(2027, 3, 2))]
    assert "1 lần hoàn thành chuyển sang chu kỳ của quy tắc học lại khác" in desk.off(strict)
    assert completions(app, staff, "giam-sat") == [(1, date(2028, 3, 2), date(2028, 3, 2))]
