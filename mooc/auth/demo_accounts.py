"""The demo's accounts and its published password, low enough for the sign-in page to list them.

The demo loader (mooc.demo) creates them; the sign-in page shows those that exist, outside
production only, so that a newcomer knows which accounts to try (those whose role may use the
demo's password: backends.may_use_local_password).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from mooc.auth import backends
from mooc.auth.models import Role, User
from mooc.config import settings
from mooc.extensions import db

DEMO_PASSWORD = "matkhau-demo"  # noqa: S105 (published on purpose: it is the demo)

ACCOUNTS = [  # e-mail, role, scope unit, what the README says about it
    ("quantri@example.vn", Role.ADMIN, None, "administrator"),
    ("baocao@example.vn", Role.REPORTER, None, "ministry reporter (reads every report)"),
    ("quanly.hanoi@example.vn", Role.MANAGER, "HN", "manager of Thanh tra Thành phố Hà Nội"),
    ("quanly.hcm@example.vn", Role.MANAGER, "HCM", "manager of Thanh tra Thành phố Hồ Chí Minh"),
    ("daotao.hanoi@example.vn", Role.OFFICER, "HN", "training officer of Thanh tra Thành phố Hà Nội"),
    ("hocvien@example.vn", Role.TRAINEE, None, "trainee (Nguyễn Văn An, Hà Nội)"),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: Role
    detail: str  # the unit a scoped account acts on, or the trainee's name


@dataclass(frozen=True)
class DemoList:
    """What the sign-in page says of the demo: the accounts its password lets in, and how many
    other demo accounts sign in with the ministry account only (their role keeps no password)."""

    shown: list[DemoAccount]
    elsewhere: int = 0

    def __bool__(self) -> bool:
        return bool(self.shown or self.elsewhere)


def on_sign_in_page() -> DemoList:
    """The demo accounts present in the database, in the demo's order; none in production, and
    none unless the administrator account of the demo exists (the database holds the demo)."""
    if settings().production:
        return DemoList([])
    emails = [email for email, *_ in ACCOUNTS]
    users = {user.email: user for user in db.session.scalars(
        sa.select(User).where(User.email.in_(emails), User.active.is_(True))
        .options(selectinload(User.scope_unit)))}
    if emails[0] not in users:
        return DemoList([])
    shown, elsewhere = [], 0
    for email, _role, _scope, _description in ACCOUNTS:
        user = users.get(email)
        if user is None:
            continue
        if not backends.may_use_local_password(user):
            elsewhere += 1  # its role signs in with the ministry account: the password is no use
            continue
        if user.scope_unit is not None:
            detail = user.scope_unit.name
        elif user.role == Role.TRAINEE:
            detail = user.display_name
        else:
            detail = ""
        shown.append(DemoAccount(email, user.role, detail))
    return DemoList(shown, elsewhere)
