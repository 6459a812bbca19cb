"""The training domain's certificate and exemption logic, called directly (the views only
word its refusals: tests/test_refusals.py)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, Role, User
from mooc.extensions import db
from mooc.roster.models import Staff
from mooc.training import assign, certificates, exemptions, records
from mooc.training.certificates import Validity
from mooc.training.models import Certificate, EnrolmentSource, EnrolmentState

TODAY = date(2026, 6, 15)


def _certificate(o, staff: Staff, expires_on: date | None = None) -> Certificate:
    enrolment = assign.enrol(db.session.get(Staff, staff.id), o.course_id, EnrolmentSource.MANUAL)
    enrolment.state = EnrolmentState.COMPLETED
    certificate = Certificate(enrolment=enrolment, code=f"CN-{staff.id:06d}", holder_name=staff.full_name,
                              course_title="Luật Thanh tra 2025", expires_on=expires_on)
    db.session.add(certificate)
    db.session.flush()
    return certificate


def test_validity_revoked_then_expired_then_valid(org, person):
    app, o = org
    staff, _user = person(o.section_a)
    with app.app_context():
        certificate = _certificate(o, staff, expires_on=TODAY)
        assert Validity.of(certificate, TODAY) == Validity.VALID  # valid through its last day
        assert Validity.of(certificate, date(2026, 6, 16)) == Validity.EXPIRED
        certificate.revoked_at = clock.now()
        assert Validity.of(certificate, TODAY) == Validity.REVOKED  # revoked says so, expired or not
        assert Validity.of(certificate, date(2026, 6, 16)) == Validity.REVOKED


def test_the_public_check_reads_the_code_in_any_case(org, person):
    app, o = org
    staff, _user = person(o.section_a)
    with app.app_context():
        certificate = _certificate(o, staff)
        assert certificates.verify(certificate.code.lower()) == (certificate, Validity.VALID)
        assert certificates.verify("X" * 10_000) == (None, None)  # at most 20 characters are read
        assert certificates.verify("KHONG-CO") == (None, None)


def test_a_certificate_is_revoked_once(org, person):
    app, o = org
    staff, _user = person(o.section_a)
    with app.app_context():
        certificate = _certificate(o, staff)
        certificates.revoke(certificate, "  Cấp nhầm người ")
        first = certificate.revoked_at
        assert certificate.revoked_reason == "Cấp nhầm người"
        with pytest.raises(certificates.CertificateError) as refused:
            certificates.revoke(certificate, "Lần nữa")
        assert refused.value.code == "revoked"
        assert (certificate.revoked_at, certificate.revoked_reason) == (first, "Cấp nhầm người")
        actions = list(db.session.scalars(sa.select(AuditEvent.action)))
        assert actions.count("training.certificate_revoked") == 1


def test_a_completed_cycle_is_not_exempted(org, person, make_user):
    app, o = org
    staff, _user = person(o.section_a)
    admin = make_user(role=Role.ADMIN)
    with app.app_context():
        actor = db.session.get(User, admin.id)
        enrolment = assign.enrol(db.session.get(Staff, staff.id), o.course_id, EnrolmentSource.MANUAL)
        exemptions.exempt(enrolment, " Đã học tại Trường Cán bộ ", actor=actor)
        assert (enrolment.state, enrolment.exempt_reason, enrolment.exempted_by_id) == (
            EnrolmentState.EXEMPT, "Đã học tại Trường Cán bộ", admin.id)
        enrolment.state = EnrolmentState.COMPLETED
        with pytest.raises(exemptions.ExemptionError) as refused:
            exemptions.exempt(enrolment, "Muộn", actor=actor)
        assert refused.value.code == "completed" and enrolment.state == EnrolmentState.COMPLETED


def test_who_sees_a_record_and_who_may_enrol_on_it(org, person, make_user):
    app, o = org
    staff, user = person(o.section_a)
    other, other_user = person(o.other, name="Hoàng Văn Khác")
    admin = make_user(role=Role.ADMIN)
    with app.app_context():
        own = db.session.get(User, user.id)
        assert records.visible_staff(own, staff.id) is not None
        assert records.visible_staff(own, other.id) is None
        assert records.visible_staff(own, 10**9) is None
        assert not records.may_enrol_others(own, db.session.get(Staff, staff.id))
        boss = db.session.get(User, admin.id)
        assert records.visible_staff(boss, other.id) is not None
        assert records.may_enrol_others(boss, db.session.get(Staff, other.id))
