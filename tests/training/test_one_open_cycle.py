"""A person has at most one open cycle of a course (not finished, not closed), and the database
keeps it so (the partial unique index ``uq_enrolments_open``, migration e4c9a2d7f1b6).

Before, nothing refused a second one: a history import superseded a person's open cycle with a
completion (``latest`` false, still open), and the renewal of that completion opened another
open cycle next to it. The migration closes such superseded, unfinished cycles (they already
read "no longer required"), at the moment the next cycle was created, and deletes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from mooc import clock, versions
from mooc.extensions import db
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState
from tests.training.test_cycle_sources import START, Office, ids
from tests.training.test_programs import world  # noqa: F401 (a fixture)

BEFORE = "f3c5a7e9b1d4"


@pytest.fixture
def office(world, make_user):  # noqa: F811 (the fixture imported above)
    clock.set_now(START)
    return Office(world, make_user)


def _cycle(staff_id: int, course_id: int, number: int, state: EnrolmentState, *, latest: bool,
           created: datetime) -> Enrolment:
    done = created if state == EnrolmentState.COMPLETED else None
    return Enrolment(staff_id=staff_id, course_id=course_id, cycle=number, latest=latest,
                     source=EnrolmentSource.RULE, assigned_on=created.date(), due_on=created.date(),
                     state=state, completed_at=done, created_at=created, updated_at=created)


def test_the_database_refuses_a_second_open_cycle(office):
    app, staff = office.app, office.staff
    course_id = ids(app)["giam-sat"]
    with app.app_context():
        db.session.add_all([
            _cycle(staff.id, course_id, 1, EnrolmentState.IN_PROGRESS, latest=False, created=START),
            _cycle(staff.id, course_id, 2, EnrolmentState.NOT_STARTED, latest=True, created=START)])
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
        # a closed one, a completed one and an open one live side by side
        first = _cycle(staff.id, course_id, 1, EnrolmentState.NOT_STARTED, latest=False, created=START)
        first.closed_at = START
        db.session.add_all([
            first, _cycle(staff.id, course_id, 2, EnrolmentState.COMPLETED, latest=False, created=START),
            _cycle(staff.id, course_id, 3, EnrolmentState.NOT_STARTED, latest=True, created=START)])
        db.session.commit()


def test_the_migration_closes_the_superseded_open_cycles_an_import_left(office, monkeypatch):
    """As the earlier import left them: the rule's cycle superseded open by an imported
    completion, the renewal of that completion open too. The upgrade closes the superseded one
    (when the import created the next cycle), keeps every row, and the record reads the same."""
    app, staff = office.app, office.staff
    course_id = ids(app)["giam-sat"]
    imported, renewed = START + timedelta(days=40), START + timedelta(days=300)
    with app.app_context(), monkeypatch.context() as patched:
        downgrade(revision=BEFORE)
        # the schema before data_versions: the reports' counts have no version to raise yet
        patched.setattr(versions, "raise_version", lambda _session, _name: None)
        db.session.add_all([
            _cycle(staff.id, course_id, 1, EnrolmentState.NOT_STARTED, latest=False, created=START),
            _cycle(staff.id, course_id, 2, EnrolmentState.COMPLETED, latest=False, created=imported),
            _cycle(staff.id, course_id, 3, EnrolmentState.NOT_STARTED, latest=True, created=renewed)])
        db.session.commit()
        db.session.remove()
    csv_path = f"/training/people/{staff.id}/record.csv"
    record_before = office.client.get(csv_path).get_data(as_text=True)
    assert "Không còn bắt buộc" in record_before
    with app.app_context():
        upgrade()
        db.session.remove()
        rows = db.session.scalars(sa.select(Enrolment).where(Enrolment.staff_id == staff.id)
                                  .order_by(Enrolment.cycle)).all()
        assert [(e.cycle, e.state, e.closed_at) for e in rows] == [
            (1, EnrolmentState.NOT_STARTED, imported), (2, EnrolmentState.COMPLETED, None),
            (3, EnrolmentState.NOT_STARTED, None)]
        with pytest.raises(sa.exc.IntegrityError):  # and the index holds from now on
            db.session.execute(sa.update(Enrolment).where(Enrolment.id == rows[0].id).values(closed_at=None))
        db.session.rollback()
    assert office.client.get(csv_path).get_data(as_text=True) == record_before
