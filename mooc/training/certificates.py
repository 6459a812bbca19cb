"""Certificates after they are issued (``completion.py`` issues them): found by code, checked
by anyone (``/verify/<code>``), revoked by administrators."""

from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import User
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.roster import scope
from mooc.training.models import Certificate, ProgramCertificate

CODE_LENGTH = 20  # the longest code the public check looks up


class CertificateError(DomainError):
    """Why a certificate cannot be changed: ``revoked`` (already revoked)."""


class Validity(enum.StrEnum):
    """What the public check says of a certificate (the template words it)."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @classmethod
    def of(cls, certificate: Certificate | ProgramCertificate, today: date | None = None) -> Validity:
        if certificate.revoked_at is not None:
            return cls.REVOKED
        if certificate.expires_on is not None and certificate.expires_on < (today or clock.today()):
            return cls.EXPIRED
        return cls.VALID


def by_code(code: str) -> Certificate | None:
    return db.session.scalar(sa.select(Certificate).where(Certificate.code == code))


def verify(code: str) -> tuple[Certificate | ProgramCertificate | None, Validity | None]:
    """The public check of a code as typed (any case; at most ``CODE_LENGTH`` characters read):
    a course's certificate or a programme's (one space of codes: ``programs.new_code``)."""
    code = code.upper()[:CODE_LENGTH]
    certificate: Certificate | ProgramCertificate | None = by_code(code) or db.session.scalar(
        sa.select(ProgramCertificate).where(ProgramCertificate.code == code))
    return certificate, (Validity.of(certificate) if certificate is not None else None)


def revoke(certificate: Certificate, reason: str, *, actor: User | None = None) -> None:
    """Revoke the certificate (its verification page then says so); the reason stays internal.
    A scoped actor revokes the certificates of the people of their units only."""
    scope.require_staff(actor, certificate.enrolment.staff)
    if certificate.revoked_at is not None:
        raise CertificateError("revoked")
    certificate.revoked_at = clock.now()
    certificate.revoked_reason = reason.strip()
    audit.record("training.certificate_revoked", actor=actor, target=certificate.code,
                 reason=certificate.revoked_reason)
