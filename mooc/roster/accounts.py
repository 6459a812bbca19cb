"""Accounts for people on the roster: invitations by e-mail, and roles granted by admins.

An invitation creates (or finds) the person's account, with no password yet, and mails a
one-time link to choose one; or, when the account's role signs in with the ministry account
(backends.may_use_local_password), no link but how to sign in. Nobody grants a role above their
own, and only administrators grant roles at all.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import InstrumentedAttribute

from mooc import clock, mail
from mooc.auth import audit, backends, recovery, sessions, tokens
from mooc.auth.access import grantable_roles
from mooc.auth.models import Permission, Role, User
from mooc.auth.tokens import AccountToken, TokenPurpose
from mooc.config import public_url, settings
from mooc.database import alias, chunks
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.i18n import gettext as _
from mooc.roster import account_status, scope
from mooc.roster.account_status import AccountStatus
from mooc.roster.models import OrgUnit, Staff, StaffHistory, StaffStatus


class AccountError(DomainError):
    """Why an invitation or a grant cannot be done; ``code`` is stable, views translate it."""


def account_of(staff: Staff) -> User | None:
    return db.session.execute(sa.select(User).where(User.staff_id == staff.id)).scalar_one_or_none()


def invite(staff: Staff, actor: User) -> User:
    """Create or find the account of ``staff`` and e-mail an invitation link (valid 7 days).
    A training officer invites the people of their units, never an account above their role."""
    if not actor.can(Permission.MANAGE_ROSTER):
        raise AccountError("not_allowed")
    scope.require_staff(actor, staff)
    scope.require_account(actor, account_of(staff))
    # Every check before the first change: a refused invitation writes nothing.
    user, reason = _invitable(staff)
    if reason is not None:
        raise AccountError(reason)
    return _send_invitation(staff, user, actor)


def offers_invitation(staff: Staff, user: User | None) -> bool:
    """Whether the person's roster page offers to (re)send an invitation: to someone on the roster
    with an e-mail address and no account, or whose active account has no password yet that its
    role may keep (with a directory it can sign in all the same, and may still choose one)."""
    if staff.status == StaffStatus.LEFT or not staff.email:
        return False
    return user is None or (user.active and user.password_hash is None
                            and backends.may_use_local_password(user))


def _invitable(staff: Staff) -> tuple[User | None, str | None]:
    """(the account to invite, or None to create one; why ``staff`` cannot be invited, or None)."""
    if staff.status == StaffStatus.LEFT:
        return None, "staff_left"
    if not staff.email:
        return None, "no_email"
    user = account_of(staff)
    if user is None:
        user = db.session.execute(sa.select(User).where(User.email == staff.email)).scalar_one_or_none()
        if user is not None and user.staff_id is not None:
            return None, "email_in_use"
    if user is not None and not user.active:
        return None, "account_disabled"
    return user, None


def _send_invitation(staff: Staff, user: User | None, actor: User) -> User:
    """Create the account if needed, issue the link, mail it (MailError if it cannot go), audit."""
    assert staff.email is not None  # checked by _invitable
    if user is None:
        user = User(email=staff.email, display_name=staff.full_name, role=Role.TRAINEE, active=True)
        db.session.add(user)
    if user.staff_id is None:
        user.staff_id = staff.id
        db.session.flush()
    sign_in_page = f"{public_url()}/login"
    with force_locale(settings().default_locale):
        subject = _("Your account on the inspection training platform")
        if backends.may_use_local_password(user):
            raw = tokens.issue(user, TokenPurpose.INVITE, created_by=actor)
            text = _("Hello %(name)s,\n\n"
                     "An account has been opened for you on the training platform of the inspection "
                     "sector, where you will find your required courses, quizzes and certificates.\n\n"
                     "To choose your password, open this link within 7 days (it works once):\n\n%(link)s\n\n"
                     "Then sign in with this e-mail address: %(email)s",
                     name=staff.full_name, link=recovery.link(TokenPurpose.INVITE, raw), email=user.email)
            if how := backends.how_to_sign_in_with_the_ministry_account():
                # A directory lets them in already: the password is a second way, not the only one.
                text += "\n\n" + _("You can also sign in now with your ministry account, without choosing "
                                    "a password here. %(how)s", how=how)
            way = "link"
        else:
            # The role signs in with the ministry account: a link to choose a password would set
            # one that never lets them in. The account can sign in now; the mail says how.
            text = _("Hello %(name)s,\n\n"
                     "An account has been opened for you on the training platform of the inspection "
                     "sector, where you will find your required courses, quizzes and certificates.\n\n"
                     "%(how)s\n\nThe sign-in page: %(link)s",
                     name=staff.full_name, how="\n\n".join(backends.where_to_sign_in()), link=sign_in_page)
            way = "ministry_account"
    mail.send(mail.address(staff.full_name, user.email), subject, text)
    audit.record("invitation.sent", actor=actor, target=user.email, staff_code=staff.staff_code, way=way)
    return user


# --- many at once --------------------------------------------------------------------------

BULK_LIMIT = 300  # invitations per request: each is one mail sent while the request waits

SKIP_REASONS = ("no_email", "has_account", "already_invited", "account_disabled", "email_in_use",
                "staff_left", "protected")


@dataclass
class InvitePlan:
    """Who of a list would get an invitation now, and why each other person would not."""

    to_invite: list[tuple[Staff, User | None]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    later: int = 0  # invitable, beyond the limit: for the next run
    limit: int = BULK_LIMIT

    @property
    def count(self) -> int:
        return len(self.to_invite)


@dataclass
class InviteReport:
    """What ``invite_many`` did: invited, skipped (by reason), and not sent because the mail
    server failed part-way (those people were left as they were)."""

    invited: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    later: int = 0
    not_sent: int = 0


def plan_invitations(staff_list: Sequence[Staff], limit: int = BULK_LIMIT) -> InvitePlan:
    """Sort ``staff_list`` into people to invite now (no account, or an invitation whose link
    is no longer live) and people skipped, with the reason (the same checks as ``invite``,
    made for the whole list in a few queries). Reads only."""
    plan = InvitePlan(limit=limit)
    statuses = account_status.of_many(staff.id for staff in staff_list)
    invited = [staff.id for staff in staff_list if statuses.get(staff.id) == AccountStatus.INVITED]
    live = _live_invitations(invited)
    accounts = _users(User.staff_id, invited)
    by_email = _users(User.email, [staff.email for staff in staff_list
                                   if staff.email and statuses.get(staff.id) == AccountStatus.NONE])
    for staff in staff_list:
        status = statuses.get(staff.id, AccountStatus.NONE)
        user, reason = _bulk_check(staff, status, live, accounts, by_email)
        if reason is not None:
            plan.skipped[reason] += 1
        elif plan.count >= limit:
            plan.later += 1
        else:
            plan.to_invite.append((staff, user))
    return plan


def _bulk_check(staff: Staff, status: AccountStatus, live: set[int], accounts: dict,
                by_email: dict) -> tuple[User | None, str | None]:
    if staff.status == StaffStatus.LEFT:
        return None, "staff_left"
    if status in (AccountStatus.ACTIVE, AccountStatus.PASSWORD_PAUSED, AccountStatus.LOCKED,
                  AccountStatus.CODE_LOCKED):
        return None, "has_account"
    if status == AccountStatus.DISABLED:
        return None, "account_disabled"
    if status == AccountStatus.INVITED:
        return (None, "already_invited") if staff.id in live else (accounts[staff.id], None)
    if not staff.email:
        return None, "no_email"
    user = by_email.get(staff.email)
    if user is not None and user.staff_id is not None:
        return None, "email_in_use"
    if user is not None and not user.active:
        return None, "account_disabled"
    return user, None


def _users(column: InstrumentedAttribute, values: list) -> dict:
    found = {}
    for chunk in chunks(values):
        for user in db.session.execute(sa.select(User).where(column.in_(chunk))).scalars():
            found[getattr(user, column.key)] = user
    return found


def _live_invitations(staff_ids: list[int]) -> set[int]:
    """Of these people, those whose invitation link still works (unused, not expired)."""
    found: set[int] = set()
    now = clock.now()
    for chunk in chunks(staff_ids):
        found.update(staff_id for staff_id in db.session.execute(
            sa.select(User.staff_id).join(AccountToken, AccountToken.user_id == User.id)
            .where(User.staff_id.in_(chunk), AccountToken.purpose == TokenPurpose.INVITE,
                   AccountToken.used_at.is_(None), AccountToken.expires_at > now)).scalars()
                     if staff_id is not None)
    return found


def invite_many(staff_list: Sequence[Staff], actor: User, *, origin: str = "roster",
                limit: int = BULK_LIMIT) -> InviteReport:
    """Invite everyone of ``staff_list`` who can be invited now (see ``plan_invitations``).

    All or nothing for the checks: an actor without the permission, or anyone outside the
    actor's units, refuses the whole list before anything is written. Then one person at a
    time (a savepoint each): the account and link are kept only if the mail went out. If the
    mail server fails, sending stops there: the people before keep their working invitation,
    the rest are left as they were (``not_sent``). If no mail at all could go out, MailError
    is raised, as by ``invite``: the caller refuses, and nothing is written."""
    if not actor.can(Permission.MANAGE_ROSTER):
        raise AccountError("not_allowed")
    visible = scope.visible_units(actor)
    if visible is not None and any(staff.unit_id not in visible for staff in staff_list):
        raise AccountError("out_of_scope")
    plan = plan_invitations(staff_list, limit)
    for pair in [pair for pair in plan.to_invite if scope.protected(actor, pair[1])]:
        plan.to_invite.remove(pair)  # an account above the officer's role: its owner's business
        plan.skipped["protected"] += 1
    if not plan.count:
        raise AccountError("nobody_to_invite")
    report = InviteReport(skipped=plan.skipped, later=plan.later)
    for index, (staff, user) in enumerate(plan.to_invite):
        savepoint = db.session.begin_nested()
        try:
            _send_invitation(staff, user, actor)
        except mail.MailError:
            savepoint.rollback()
            if report.invited == 0:
                raise
            report.not_sent = plan.count - index
            break
        savepoint.commit()
        report.invited += 1
    audit.record("invitation.bulk", actor=actor, target=origin[:200], invited=report.invited,
                 skipped=dict(report.skipped), later=report.later, not_sent=report.not_sent)
    db.session.flush()
    return report


def added_by_import(import_id: int, actor: User) -> list[Staff]:
    """The people an import put on the roster (their first history row is the import's), of
    the actor's units, in roster order."""
    earlier = alias(StaffHistory, "earlier")
    first = (sa.select(StaffHistory.staff_id)
             .where(StaffHistory.import_id == import_id,
                    ~sa.exists().where(earlier.staff_id == StaffHistory.staff_id,
                                       earlier.id < StaffHistory.id)))
    query = sa.select(Staff).where(Staff.id.in_(first)).order_by(Staff.sort_key, Staff.staff_code)
    visible = scope.visible_units(actor)
    if visible is not None:
        query = query.where(Staff.unit_id.in_(visible or {-1}))
    return list(db.session.execute(query).scalars())


class LocalPassword(enum.StrEnum):
    """What a role change did to the password the account keeps on the platform."""

    UNCHANGED = "unchanged"
    TAKEN_AWAY = "taken_away"  # the new role signs in with the ministry account only
    GIVEN_BACK = "given_back"  # the new role may use one again; the account has none (yet)


def grant_role(actor: User, user: User, role: Role, scope_unit: OrgUnit | None) -> LocalPassword:
    """Give ``user`` a role (a scoped role, manager or training officer, needs a unit). Admins
    only, never above their own role, and an administrator cannot demote themselves (someone
    must stay in charge).

    A change that crosses MOOC_LOCAL_PASSWORD_ROLES (backends.may_use_local_password) deletes
    the password the account keeps on the platform and spends its invitation and reset links,
    either way: taken away, it could never let them in again; given back, an old password (from
    before the role lost it, maybe long ago) must not come back to life, least of all with more
    rights. The person signs in with the ministry account meanwhile, and an invitation lets
    them choose a new password where the role may use one."""
    if not actor.can(Permission.MANAGE_ACCOUNTS) or role not in grantable_roles(actor.role):
        raise AccountError("not_allowed")
    if user.id == actor.id and role != actor.role:
        raise AccountError("self_demotion")
    if role.scoped and scope_unit is None:
        raise AccountError("manager_needs_unit")
    before = (user.role, user.scope_unit_id)
    had_local = backends.may_use_local_password(user)
    user.role = role
    user.scope_unit_id = scope_unit.id if role.scoped and scope_unit else None
    local = LocalPassword.UNCHANGED
    if had_local != backends.may_use_local_password(user):
        local = LocalPassword.GIVEN_BACK if not had_local else LocalPassword.TAKEN_AWAY
        user.password_hash = None
        tokens.spend_all(user)
    if before != (user.role, user.scope_unit_id):
        # Fewer rights take effect now: end the person's sessions so no page keeps old access.
        sessions.revoke_all(user)
        audit.record("role.granted", actor=actor, target=user.email, role=role.value,
                     previous=before[0].value, scope=scope_unit.code if scope_unit else None,
                     **({} if local is LocalPassword.UNCHANGED else {"local_password": local.value}))
    db.session.flush()
    return local
