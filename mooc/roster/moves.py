"""Moving people: the one way a change of unit, position or status is recorded.

Every path that moves people (the roster import, a unit merge) calls ``record_moves``: their
open history row closes and a new one opens from the day of the move (people who predate
history get their earlier state recorded first), and the training rules hear of it
(``roster_changed``) in the same transaction, so a person moved into a unit a rule covers
is enrolled at once, not at the next nightly ``mooc training assign``. A unit moved to
another parent moves nobody's row, but changes which rules cover its people:
``units_moved`` tells the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from mooc import events
from mooc.database import chunks, insert_many
from mooc.extensions import db
from mooc.roster.models import Staff, StaffHistory, StaffStatus

BATCH = 5000  # history rows built per batch: memory stays flat


@dataclass(frozen=True)
class Placement:
    """Where a person is: the three things a history row keeps."""

    unit_id: int
    position_id: int | None
    status: StaffStatus


@dataclass(frozen=True)
class Move:
    staff_id: int
    after: Placement
    before: Placement | None = None  # None: a new person, with no earlier state
    joined_on: date | None = None  # where the earlier state starts, for people without history


def record_moves(moves: Sequence[Move], day: date, import_id: int | None = None) -> None:
    """Write the history of these moves (from ``day``) and tell the training rules."""
    if not moves:
        return
    history = StaffHistory.__table__
    known = [move.staff_id for move in moves if move.before is not None]
    with_history: set[int] = set()
    for chunk in chunks(known):
        with_history.update(db.session.execute(
            sa.select(history.c.staff_id).where(history.c.staff_id.in_(chunk),
                                                history.c.valid_to.is_(None))).scalars())
        db.session.execute(sa.update(history)
                           .where(history.c.staff_id.in_(chunk), history.c.valid_to.is_(None))
                           .values(valid_to=day))
    for start in range(0, len(moves), BATCH):
        rows = []
        for move in moves[start:start + BATCH]:
            if move.before is not None and move.staff_id not in with_history:
                rows.append(_row(move.staff_id, move.before, move.joined_on or date(1900, 1, 1), day, None))
            rows.append(_row(move.staff_id, move.after, day, None, import_id))
        insert_many(db.session, history, rows)
    db.session.flush()
    events.roster_changed.send(None, staff_ids={move.staff_id for move in moves})


def units_moved(unit_ids: set[int]) -> None:
    """Units now hang elsewhere in the tree: the rules are applied again to their people."""
    if not unit_ids:
        return
    people: set[int] = set()
    for chunk in chunks(sorted(unit_ids)):
        people.update(db.session.execute(sa.select(Staff.id).where(
            Staff.unit_id.in_(chunk), Staff.status != StaffStatus.LEFT)).scalars())
    db.session.flush()
    if people:
        events.roster_changed.send(None, staff_ids=people)


def _row(staff_id: int, place: Placement, valid_from: date, valid_to: date | None,
         import_id: int | None) -> dict:
    return {"staff_id": staff_id, "valid_from": valid_from, "valid_to": valid_to, "unit_id": place.unit_id,
            "position_id": place.position_id, "status": place.status, "import_id": import_id}
