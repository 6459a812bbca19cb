"""Completions imported next to a person's open cycle of the course (docs/architecture.md,
"History imported next to an open cycle"): one made on or after the day the open cycle began
completes that cycle (its expiry follows the rule, no certificate: the platform did not see it);
one made before it is an earlier round, kept as a completed cycle before it, and the open cycle
stays open as it was (a first cycle, with no completion before it, is met by a completion made
before it began); one older than the latest completion never becomes the latest. The dry run
says what each row will do, with its row number, on the page and in the command.

Before, every imported completion was a new cycle after the person's latest: a renewal under
way, a rule's first cycle, was superseded by it ("no longer required") next to the new one,
and an older completion became the latest, its expiry in place of the newer one's.

Every step goes through the pages an administrator uses, the trainee's reading or the nightly command.
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
from tests.conftest import csrf_token
from tests.training.test_cycle_sources import START, Office, ids, nightly
from tests.training.test_programs import finish, world  # noqa: F401 (a fixture)
from tests.training.test_renewal_follows_rule import FINGERPRINT, later

ROW = re.compile(r"<tr><td>(\d+)</td>(?:<td>[^<]*</td>){4}<td>([^<]*)</td></tr>")


@pytest.fixture
def desk(world, make_user):  # noqa: F811 (the fixture imported above)
    clock.set_now(START)
    return Office(world, make_user)


def preview_and_apply(desk, rows: list[tuple[str, str]]) -> dict[int, str]:
    """Upload a completions file (staff code, course code, day per row): row number -> what the
    dry run says it will do; then apply it."""
    client = desk.client
    body = "Mã cán bộ;Khóa học;Ngày hoàn thành\n" + "".join(f"{desk.staff.staff_code};{course};{day}\n"
                                                           for course, day in rows)
    uploaded = client.post("/admin/history/import", data={
        "csrf_token": csrf_token(client, "/admin/history/import"),
        "file": (io.BytesIO(body.encode()), "lich-su.csv")}, content_type="multipart/form-data")
    preview = uploaded.headers["Location"]
    page = client.get(preview).get_data(as_text=True)
    said = {int(row): what for row, what in ROW.findall(page)}
    fingerprint = FINGERPRINT.search(page)
    assert fingerprint
    done = client.post(preview.split("?")[0], data={"csrf_token": csrf_token(client, preview),
                                                    "fingerprint": fingerprint.group(1)})
    assert done.status_code == 302
    return said


def cycles(app, staff, key: str) -> list[tuple[int, str, bool, str, date | None, date | None, bool]]:
    """(number, state, latest, source, completed day, expiry, has a certificate) of each cycle."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Enrolment, Certificate.id)
            .outerjoin(Certificate, Certificate.enrolment_id == Enrolment.id)
            .where(Enrolment.staff_id == staff.id, Enrolment.course_id == ids(app)[key])
            .order_by(Enrolment.cycle)).all()
        return [(e.cycle, e.state.value, e.latest, e.source.value,
                 clock.day_of(e.completed_at) if e.completed_at else None, e.expires_on,
                 certificate is not None)
                for e, certificate in rows]


def open_cycles(app, staff, key: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.staff_id == staff.id, Enrolment.course_id == ids(app)[key],
            Enrolment.closed_at.is_(None), Enrolment.state.in_(("not_started", "in_progress")))) or 0


def test_a_completion_after_the_rules_cycle_began_completes_it(desk):
    app, staff = desk.app, desk.staff
    desk.rule(ids(app)["giam-sat"], due_days=30, renew_months=12)  # cycle 1 opens on 02/03/2026
    later(desk, datetime(2026, 3, 20, 3, tzinfo=UTC))
    said = preview_and_apply(desk, [("GS", "10/03/2026")])
    assert said == {2: "hoàn thành lượt học đang mở (bắt đầu ngày 02/03/2026)"}
    # the rule's own cycle, completed: no second cycle, its expiry from the rule, no certificate
    assert cycles(app, staff, "giam-sat") == [(1, "completed", True, "rule", date(2026, 3, 10),
                                               date(2027, 3, 10), False)]
    nightly(app)
    assert cycles(app, staff, "giam-sat")[-1][0] == 1 and open_cycles(app, staff, "giam-sat") == 0


def test_a_completion_before_a_first_cycle_began_meets_it(desk):
    """No completion before the rule's first cycle: one made before it began meets it (as it
    would have had it been imported before the rule came), and the page says so."""
    app, staff = desk.app, desk.staff
    desk.rule(ids(app)["giam-sat"], due_days=30)  # cycle 1 opens on 02/03/2026
    said = preview_and_apply(desk, [("GS", "15/01/2026")])
    assert said == {2: "hoàn thành lượt học đầu tiên đang mở (giao ngày 02/03/2026): đã học trước đó nên vẫn "
                       "đạt yêu cầu"}
    assert cycles(app, staff, "giam-sat") == [(1, "completed", True, "rule", date(2026, 1, 15), None, False)]
    assert open_cycles(app, staff, "giam-sat") == 0


def test_an_older_completion_is_an_earlier_round_and_the_renewal_stays_open(desk):
    app, staff, user = desk.app, desk.staff, desk.user
    desk.rule(ids(app)["giam-sat"], due_days=30, renew_months=12)
    finish(app, user, "giam-sat")  # 02/03/2026: expires 02/03/2027
    later(desk, datetime(2027, 2, 10, 3, tzinfo=UTC))
    nightly(app)  # the renewal opens, due when the completion expires
    assert cycles(app, staff, "giam-sat")[-1] == (2, "not_started", True, "rule", None, None, False)
    said = preview_and_apply(desk, [("GS", "20/01/2027")])
    assert said == {2: "lưu là lần học trước: lượt học đang mở bắt đầu ngày 10/02/2027 và vẫn mở"}
    assert cycles(app, staff, "giam-sat") == [
        (1, "completed", False, "rule", date(2026, 3, 2), date(2027, 3, 2), True),
        (2, "completed", False, "import", date(2027, 1, 20), None, False),  # history, before it
        (3, "not_started", True, "rule", None, None, False)]  # the renewal, open as it was
    assert open_cycles(app, staff, "giam-sat") == 1
    with app.app_context():
        renewal = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == staff.id,
                                                              Enrolment.latest.is_(True),
                                                              Enrolment.course_id == ids(app)["giam-sat"]))
        assert renewal.due_on == date(2027, 3, 2) and renewal.closed_at is None
    # a completion after the renewal began, in a file with an older one: each row says its own
    later(desk, datetime(2027, 2, 20, 3, tzinfo=UTC))
    said = preview_and_apply(desk, [("GS", "15/01/2027"), ("GS", "12/02/2027")])
    assert said == {2: "lưu là lần học trước: lượt học đang mở bắt đầu ngày 10/02/2027 và vẫn mở",
                    3: "hoàn thành lượt học đang mở (bắt đầu ngày 10/02/2027)"}
    assert [(c[0], c[1], c[2], c[4], c[5]) for c in cycles(app, staff, "giam-sat")] == [
        (1, "completed", False, date(2026, 3, 2), date(2027, 3, 2)),
        (2, "completed", False, date(2027, 1, 20), None),
        (3, "completed", False, date(2027, 1, 15), None),
        (4, "completed", True, date(2027, 2, 12), date(2028, 2, 12))]  # the renewal, done
    assert open_cycles(app, staff, "giam-sat") == 0
    nightly(app)
    assert open_cycles(app, staff, "giam-sat") == 0


def test_an_older_completion_never_becomes_the_latest(desk):
    app, staff, user = desk.app, desk.staff, desk.user
    finish(app, user, "giam-sat")  # joined and completed on the platform on 02/03/2026
    later(desk, datetime(2026, 3, 25, 3, tzinfo=UTC))
    said = preview_and_apply(desk, [("GS", "15/01/2025"), ("GS", "20/03/2026")])
    assert said == {2: "lưu là lần học trước: lần hoàn thành ngày 02/03/2026 vẫn là lần mới nhất",
                    3: "thêm một lần hoàn thành mới"}
    assert [(c[0], c[2], c[3], c[4]) for c in cycles(app, staff, "giam-sat")] == [
        (1, False, "import", date(2025, 1, 15)), (2, False, "self", date(2026, 3, 2)),
        (3, True, "import", date(2026, 3, 20))]


def test_the_commands_dry_run_says_each_row(desk, tmp_path):
    app, staff = desk.app, desk.staff
    desk.rule(ids(app)["giam-sat"], due_days=30)
    source = tmp_path / "lich-su.csv"
    source.write_text(f"Mã cán bộ;Khóa học;Ngày hoàn thành\n{staff.staff_code};GS;10/03/2026\n"
                      f"{staff.staff_code};VB;01/03/2026\n", encoding="utf-8")
    clock.set_now(datetime(2026, 3, 20, 3, tzinfo=UTC))
    result = app.test_cli_runner().invoke(args=["training", "import-history", str(source), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "row 2: hoàn thành lượt học đang mở (bắt đầu ngày 02/03/2026)" in result.output
    assert "row 3: thêm một lần hoàn thành mới" in result.output
    assert open_cycles(app, staff, "giam-sat") == 1  # a dry run
