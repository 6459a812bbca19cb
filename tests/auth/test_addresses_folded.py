"""Upgrading folds the addresses stored before (migration f3c5a7e9b1d4): sign-in and the roster
compare folded addresses by plain equality now, so an address kept with capitals or in NFD by
an earlier version must not lock its person out; two that would become one stop the upgrade
with nothing changed."""

from __future__ import annotations

import unicodedata

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from mooc.auth.models import User
from mooc.extensions import db
from mooc.roster.models import Staff
from tests.conftest import login

BEFORE = "e8a2c4f6b0d3"
NFD_CAPITALS = unicodedata.normalize("NFD", "ĐÀO.AN@Example.VN")


def _raw(statement: str, **values) -> None:
    db.session.execute(sa.text(statement), values)
    db.session.commit()


def test_addresses_kept_with_capitals_or_in_nfd_are_folded_and_sign_in(app, make_user, make_staff):
    staff = make_staff(full_name="Đào An", email="dao.an@example.vn")
    user = make_user(staff=staff, email="dao.an@example.vn")
    other = make_user(email="binh@example.vn")
    with app.app_context():
        downgrade(revision=BEFORE)
        _raw("UPDATE users SET email = :email WHERE id = :id", email=NFD_CAPITALS, id=user.id)
        _raw("UPDATE staff SET email = :email WHERE id = :id", email="Dao.An@EXAMPLE.vn", id=staff.id)
        upgrade()
        db.session.remove()
        assert db.session.get(User, user.id).email == "đào.an@example.vn"
        assert db.session.get(Staff, staff.id).email == "dao.an@example.vn"
        assert db.session.get(User, other.id).email == "binh@example.vn"
    client = app.test_client()
    assert login(client, "ĐÀO.AN@example.vn").status_code == 302
    assert client.get("/").status_code == 200


def test_two_addresses_that_would_become_one_stop_the_upgrade_with_nothing_changed(app, make_user, capfd):
    first, second = make_user(email="an@example.vn"), make_user(email="an2@example.vn")
    upper = make_user(email="binh@example.vn")
    with app.app_context():
        downgrade(revision=BEFORE)
        _raw("UPDATE users SET email = 'AN@Example.vn' WHERE id = :id", id=second.id)
        _raw("UPDATE users SET email = 'Binh@Example.vn' WHERE id = :id", id=upper.id)
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits 1, as `mooc db upgrade`
            upgrade()
        said = capfd.readouterr().err  # alembic's logging writes to stderr
        assert "would become one address" in said
        assert f"an@example.vn: users.id {first.id}, {second.id}" in said
        db.session.rollback()
        db.session.remove()
        emails = dict(db.session.execute(sa.select(User.id, User.email)).all())
        assert emails[second.id] == "AN@Example.vn" and emails[upper.id] == "Binh@Example.vn"
        _raw("UPDATE users SET email = 'an.nguyen2@example.vn' WHERE id = :id", id=second.id)
        upgrade()
        db.session.remove()
        assert db.session.get(User, upper.id).email == "binh@example.vn"
