"""A person the directory vouched for is matched to the roster, never created from it."""

from __future__ import annotations

import pytest

from mooc.directory.matching import NoMatch, match_person, named
from mooc.extensions import db
from mooc.roster.models import Staff, StaffStatus


@pytest.fixture
def person(app, make_staff, make_user):
    staff = make_staff("Trần Thị Mai", email="Mai.Tran@thanhtra.gov.vn", staff_code="00123")
    user = make_user(email="mai.tran@thanhtra.gov.vn", staff=staff)
    return staff, user


def _status(app, staff, status):
    with app.app_context():
        db.session.get(Staff, staff.id).status = status
        db.session.commit()


def test_matches_by_staff_code_or_email(app, person):
    staff, user = person
    with app.app_context():
        assert match_person(by="staff_code", staff_code=" 00123 ").id == user.id
        assert match_person(by="email", email="MAI.TRAN@thanhtra.gov.vn").id == user.id
        # the other claim is not looked at
        assert match_person(by="staff_code", staff_code="00123", email="x@y.vn").id == user.id


@pytest.mark.parametrize("by, claims", [
    ("staff_code", {"staff_code": "123"}),          # leading zeros matter
    ("staff_code", {"staff_code": ""}),
    ("staff_code", {"email": "mai.tran@thanhtra.gov.vn"}),
    ("email", {"email": "someone@else.vn"}),
    ("email", {"email": None}),
])
def test_unknown_people_are_refused(app, person, by, claims):
    with app.app_context(), pytest.raises(NoMatch) as refused:
        match_person(by=by, **claims)
    assert refused.value.reason == "unknown"


def test_left_refused_on_leave_admitted(app, person):
    staff, user = person
    _status(app, staff, StaffStatus.ON_LEAVE)
    with app.app_context():
        assert match_person(by="staff_code", staff_code="00123").id == user.id
    _status(app, staff, StaffStatus.LEFT)
    with app.app_context(), pytest.raises(NoMatch) as refused:
        match_person(by="staff_code", staff_code="00123")
    assert refused.value.reason == "left"
    assert "left" in refused.value.message()


def test_no_account_or_inactive_account(app, make_staff, make_user):
    lone = make_staff("Lê Văn Nam", staff_code="777")
    staff = make_staff("Phạm Thu Hà", staff_code="888")
    make_user(staff=staff, active=False)
    with app.app_context():
        with pytest.raises(NoMatch) as none:
            match_person(by="staff_code", staff_code=lone.staff_code)
        with pytest.raises(NoMatch) as inactive:
            match_person(by="staff_code", staff_code="888")
    assert (none.value.reason, inactive.value.reason) == ("no_account", "inactive")


def test_matching_by_something_else_is_a_programming_error(app):
    with app.app_context(), pytest.raises(ValueError):
        match_person(by="uid", staff_code="1")


def test_a_refusal_names_the_person_as_the_roster_was_searched_for_them():
    """What a refusal's audit event keeps as ``person`` is what the roster was searched by."""
    assert named(by="staff_code", staff_code=" 00123 ", email="x@y.vn") == "00123"
    assert named(by="email", staff_code="00123", email=" MAI.TRAN@thanhtra.gov.vn ") \
        == "mai.tran@thanhtra.gov.vn"
    assert named(by="email", email=None) == ""
