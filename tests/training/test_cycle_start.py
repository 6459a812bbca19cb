"""A renewal cycle begins at local midnight of the day it was opened, not at UTC midnight.

A cycle opened on 29/11 (Vietnam) at 00:15, i.e. 28/11 17:15 UTC, counted only what was done
from 29/11 07:00 local: a course finished that night, after the cycle opened, was not counted
for it, and tests/training/test_programs.py failed every evening UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from mooc import clock
from mooc.training import completion, steps


@pytest.mark.parametrize("cycle_start", [completion.cycle_start, steps.cycle_start])
def test_a_cycle_begins_at_local_midnight(cycle_start) -> None:
    opened = SimpleNamespace(cycle=2, assigned_on=date(2028, 11, 29))
    begins = cycle_start(opened)
    assert begins == datetime(2028, 11, 28, 17, 0, tzinfo=UTC)  # 00:00 in Asia/Ho_Chi_Minh
    finished_that_night = datetime(2028, 11, 28, 17, 30, tzinfo=UTC)  # 00:30 local on the 29th
    assert finished_that_night >= begins
    assert finished_that_night.astimezone(clock.LOCAL_TZ).date() == opened.assigned_on
    assert cycle_start(SimpleNamespace(cycle=1, assigned_on=date(2028, 11, 29))) is None
