"""People whose leaving date has come: the roster keeps a future leaving date (an HR file may
say someone leaves on 31/12), and on that day the person leaves.

``leave_when_due(today)`` marks them as left from their own leaving date: their history
closes on that day and the rules hear of it (``moves.record_moves``), and their accounts are
disabled with their sessions ended, as a roster import does for people who leave. The nightly
``mooc training assign`` runs it first, so no one keeps a required course, or an account,
after the day they left.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import sqlalchemy as sa

from mooc import clock, events
from mooc.database import chunks
from mooc.extensions import db
from mooc.roster import moves
from mooc.roster.importer import deactivate_accounts
from mooc.roster.models import Staff, StaffStatus


def leave_when_due(today: date | None = None) -> int:
    """Mark as left everyone whose leaving date is today or past; returns how many (flush only)."""
    today = today or clock.today()
    due = db.session.execute(
        sa.select(Staff.id, Staff.unit_id, Staff.position_id, Staff.status, Staff.joined_on, Staff.left_on)
        .where(Staff.left_on.is_not(None), Staff.left_on <= today, Staff.status != StaffStatus.LEFT)
    ).all()
    if not due:
        return 0
    ids = [row.id for row in due]
    for chunk in chunks(ids):
        db.session.execute(sa.update(Staff).where(Staff.id.in_(chunk))
                           .values(status=StaffStatus.LEFT, updated_at=clock.now()),
                           execution_options={"synchronize_session": False})
    events.touched(ids)
    by_day: dict[date, list[moves.Move]] = defaultdict(list)
    for row in due:
        before = moves.Placement(row.unit_id, row.position_id, row.status)
        after = moves.Placement(row.unit_id, row.position_id, StaffStatus.LEFT)
        by_day[row.left_on].append(moves.Move(row.id, after, before, row.joined_on))
    for day in sorted(by_day):
        moves.record_moves(by_day[day], day)
    deactivate_accounts(ids)
    db.session.expire_all()
    return len(ids)
