"""Scope: which units an account may act on, and the one check every write makes.

A scoped role (unit manager, training officer: ``Role.scoped``) holds its permissions over
its unit's subtree only; other roles are unscoped (administrators, reporters) or see nobody
(trainees). Views hide what is out of scope (a 404, filtered lists); the domain functions
that write (imports, units, rules, exemptions, certificates, invitations) ask
``require_units`` / ``require_staff`` themselves, so no other path (a form field, a
command, a future view) can write outside the scope.

The tree walk lives here (``units`` re-exports it) so that ``units`` can check scope too.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from mooc.auth.models import Role, User
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.i18n import lazy_gettext as _l
from mooc.roster.models import OrgUnit, Staff

MESSAGES = {
    "out_of_scope": _l("This is outside the units you are in charge of."),
    "root_unit": _l("Only an administrator can create a top-level unit or move or merge the unit "
                    "you are in charge of."),
    "all_units": _l("Only an administrator can make a rule for every unit: choose units."),
    "protected_account": _l("This person's account has a role above yours: ask an administrator."),
}


class ScopeError(DomainError):
    """An action on units or people outside the actor's scope: ``out_of_scope``;
    ``root_unit`` (a scoped role creating a top-level unit or moving its own scope unit);
    ``all_units`` (a rule for every unit, by a scoped role); ``protected_account`` (an account
    whose role is above the actor's)."""

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


# --- the tree walk -----------------------------------------------------------------------------


def children_map() -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for unit_id, parent_id in db.session.execute(sa.select(OrgUnit.id, OrgUnit.parent_id)):
        children.setdefault(parent_id, []).append(unit_id)
    return children


def subtrees(unit_ids: Iterable[int], children: dict[int | None, list[int]] | None = None) -> set[int]:
    """The units and every unit under them (the tree is small: one query, walked in memory)."""
    children = children if children is not None else children_map()
    found: set[int] = set()
    stack = list(unit_ids)
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


def subtree_ids(unit_id: int, children: dict[int | None, list[int]] | None = None) -> set[int]:
    """The unit and every unit under it."""
    return subtrees([unit_id], children)


# --- scope ---------------------------------------------------------------------------------------


def visible_units(user: User, children: dict[int | None, list[int]] | None = None) -> set[int] | None:
    """Unit ids ``user`` may see, or None for all. A scoped role (manager, training officer)
    sees its unit's subtree only, and nobody without a unit; trainees see nobody.
    ``children``: the tree (``children_map()``) when the caller has read it already."""
    if not user.role.scoped and user.role != Role.TRAINEE:
        return None
    if user.role.scoped and user.scope_unit_id is not None:
        return subtree_ids(user.scope_unit_id, children)
    return set()


def unit_reader(unit_id: int | None, *, email: str, name: str) -> User:
    """Who reads as a unit's subtree (None: every unit) without an account of their own: a
    report mailed to an address, a service account's API token. Never saved; visible_units()
    gives it the subtree as it gives a manager's, or everything as a reporter's."""
    role = Role.MANAGER if unit_id is not None else Role.REPORTER
    return User(role=role, scope_unit_id=unit_id, active=True, email=email, display_name=name)


def in_scope(actor: User | None, unit_id: int | None) -> bool:
    """Whether ``actor`` may act on ``unit_id``. ``actor`` None is the platform itself
    (a command run by the operator): everything is in scope."""
    if actor is None:
        return True
    scope = visible_units(actor)
    return scope is None or (unit_id is not None and unit_id in scope)


def require_units(actor: User | None, unit_ids: Iterable[int | None]) -> None:
    """Refuse (``ScopeError``) unless every unit is in ``actor``'s scope."""
    if actor is None:
        return
    scope = visible_units(actor)
    if scope is not None and any(unit_id is None or unit_id not in scope for unit_id in unit_ids):
        raise ScopeError("out_of_scope")


def require_staff(actor: User | None, staff: Staff) -> None:
    """Refuse (``ScopeError``) unless the person is in ``actor``'s scope."""
    require_units(actor, [staff.unit_id])


def unscoped(actor: User | None) -> bool:
    """Whether ``actor`` acts on every unit (the platform, administrators, reporters)."""
    return actor is None or visible_units(actor) is None


def is_scope_root(actor: User | None, unit_id: int) -> bool:
    """Whether ``unit_id`` is ``actor``'s own scope unit (a scoped actor never moves or merges
    it: that would change the units of everyone above)."""
    return actor is not None and not unscoped(actor) and actor.scope_unit_id == unit_id


def protected(actor: User | None, account: User | None) -> bool:
    """Whether ``account`` is out of ``actor``'s reach: a scoped role never changes an account
    whose role is above its own (an officer cannot disable, invite or re-address an
    administrator, even one who sits in the officer's units)."""
    if actor is None or account is None or unscoped(actor):
        return False
    return account.role.rank > actor.role.rank


def require_account(actor: User | None, account: User | None) -> None:
    if protected(actor, account):
        raise ScopeError("protected_account")
