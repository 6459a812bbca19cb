"""Roster changes (a new hire, a transfer, a change of position or status) re-apply the rules
for the people concerned, in the same transaction as the change."""

from __future__ import annotations

from mooc import events
from mooc.training.assign import apply_rules

MANY = 500  # past this many people, applying every rule to everyone is one set-based pass anyway


def _on_roster_changed(_sender: object, *, staff_ids: set[int] | None = None) -> None:
    if staff_ids is not None and not staff_ids:
        return
    apply_rules(staff_ids=None if staff_ids is None or len(staff_ids) > MANY else set(staff_ids))


def connect() -> None:
    events.roster_changed.connect(_on_roster_changed)
