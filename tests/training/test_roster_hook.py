"""The roster drives the rules: an import that hires or moves people enrols them, in the same
transaction as the import."""

from __future__ import annotations

import sqlalchemy as sa

from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff
from mooc.training import assign
from mooc.training.models import AssignmentRule, Enrolment
from tests.roster.helpers import write_csv


def test_an_import_enrols_new_hires_and_transfers(org, person, tmp_path):
    app, o = org
    mover, _ = person(o.other, name="Người Chuyển Về")
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    source = write_csv(
        tmp_path / "ds.csv",
        [
            ["900001", "Hoàng Văn Mới", "moi@example.vn", "NB-1", "Thanh tra viên"],
            [mover.staff_code, "Người Chuyển Về", "", "NB-2", ""],
        ],
    )
    result = app.test_cli_runner().invoke(args=["roster", "import", str(source)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        enrolled = set(
            db.session.scalars(
                sa.select(Staff.staff_code)
                .join(Enrolment, Enrolment.staff_id == Staff.id)
                .where(Enrolment.course_id == o.course_id)
            )
        )
    assert enrolled == {"900001", mover.staff_code}
