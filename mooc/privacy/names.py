"""Which names in the audit trail are a person's: the one rule that the audit log's scope and
its person filter, the export of a person's data and the retention purge all follow.

``audit.record`` callers name what they act on in ``target``; an event names a person there by

- their **staff code** (exact: the training and roster actions, the privacy exports);
- an **e-mail address** of theirs, in any case: the roster's, their accounts', and every address
  those had before (``account.email_changed``: ``target`` the new one, ``details.previous`` the
  old one, followed back). Sign-in, password and account actions name the account's address;
  the sign-in and reset forms what was typed (lower-cased), an OpenID refusal the provider's claim;
- a **directory user name** the directory tied to them. The sign-in form records what was typed
  (``login.failed``'s target is ``mai.tran``, not an address); the name is theirs once the
  directory vouched for it: typed at a sign-in the directory let in (``details.login`` of their
  ``login.succeeded`` / ``login.second_factor_asked``), or typed with the right password when the
  roster refused them (``details.person`` of ``login.failed``, the staff code or address the
  directory named), whether or not they ever signed in. A user name only ever typed wrong
  cannot be tied to anyone and names nobody (a guess is no identity). ``audit.record`` keeps each
  such tie in ``directory_names`` as it records the event (``DirectoryName``: the account, or
  whom the directory named), so the rule reads that small table through its indexes, not the
  details of every sign-in; the migration that made the table filled it from the audit trail.

Their accounts' own acts (``actor_id``) are about them too: the export and the person filter
read them. The scope of a unit's managers reads targets only: a person of the unit who
administers others acts on people outside it.

Everything here is SQL over a set of people (``People``: a select of staff ids and one of
account ids), so a unit tree's thousands of people are one query in the audit log's scope, and
one person's names are the rows of the same query (the export, the purge).

The events that name them are found through an index, not by folding every event's target:
their names are read first, once (``targets_of``: one query, a unit tree's thousands of names
too), and the log compares the event's ``folded_target`` (the database's own
``lower(trim(target))``, kept on every write and indexed) with those constants (``Targets``).
Compared with a subquery instead, PostgreSQL expected the recursive addresses to be ten times
what they are and read the whole log (docs/performance.md, "The audit log at scale")."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from mooc.auth.models import AuditEvent, DirectoryName, User
from mooc.database import alias
from mooc.extensions import db
from mooc.roster.models import Staff
from mooc.text import clean, name_key

EMAIL_CHANGED = "account.email_changed"  # details.previous: the address before


@dataclass(frozen=True)
class People:
    """A set of people: their roster entries and their accounts (selects of ids, or lists)."""

    staff_ids: Any  # a select of Staff.id, or a list
    user_ids: Any  # a select of User.id, or a list

    @classmethod
    def of(cls, staff_id: int | None, user_ids: Iterable[int]) -> People:
        """One person: their roster entry (if any) and their accounts."""
        return cls([staff_id] if staff_id is not None else [], sorted(user_ids))

    @classmethod
    def of_units(cls, unit_ids: Iterable[int]) -> People:
        """Everyone on the roster of these units, and their accounts."""
        staff_ids = sa.select(Staff.id).where(Staff.unit_id.in_(sorted(unit_ids)))
        return cls(staff_ids, sa.select(User.id).where(User.staff_id.in_(staff_ids)))

    @classmethod
    def named(cls, text: str) -> People:
        """Whoever ``text`` names: the roster entry with that staff code or address and the
        accounts with that address, each with the other's (the person filter). Read first (two
        small queries), so the log's query works on known ids."""
        value = clean(text)
        folded = name_key(text)  # addresses are stored folded (text.name_key): plain equality
        staff_ids = set(db.session.scalars(sa.union(
            sa.select(Staff.id).where(sa.or_(Staff.staff_code == value, Staff.email == folded)),
            sa.select(User.staff_id).where(User.email == folded, User.staff_id.is_not(None)))))
        user_ids = set(db.session.scalars(sa.select(User.id).where(
            sa.or_(User.email == folded, User.staff_id.in_(sorted(staff_ids))))))
        return cls(sorted(staff_ids), sorted(user_ids))


def _folded(value: Any) -> Any:
    return sa.func.lower(sa.func.trim(value))


def staff_codes(people: People) -> sa.Select:
    return sa.select(Staff.staff_code).where(Staff.id.in_(people.staff_ids))


def addresses(people: People) -> sa.CTE:
    """Their addresses, lower-case: the roster's and the accounts' now, and every one those had
    before (one recursive query)."""
    now = sa.union(
        sa.select(_folded(Staff.email).label("address"))
        .where(Staff.id.in_(people.staff_ids), Staff.email.is_not(None), Staff.email != ""),
        sa.select(_folded(User.email).label("address")).where(User.id.in_(people.user_ids)),
    ).subquery()
    known = sa.select(now.c.address).cte(recursive=True)
    changed = alias(AuditEvent, "changed")
    previous = _folded(changed.details["previous"].as_string())
    return known.union(sa.select(previous).where(
        changed.action == EMAIL_CHANGED, changed.folded_target == known.c.address, previous != ""))


def addresses_of_each(staff_ids: Iterable[int]) -> dict[int, set[str]]:
    """``addresses`` of each of these people apart (the retention purge, a batch of leavers at
    once): the same recursive query, each address carried with whose it is."""
    ids = sorted(staff_ids)
    now = sa.union(
        sa.select(Staff.id.label("owner"), _folded(Staff.email).label("address"))
        .where(Staff.id.in_(ids), Staff.email.is_not(None), Staff.email != ""),
        sa.select(User.staff_id.label("owner"), _folded(User.email).label("address"))
        .where(User.staff_id.in_(ids)),
    ).subquery()
    known = sa.select(now.c.owner, now.c.address).cte(recursive=True)
    changed = alias(AuditEvent, "changed")
    previous = _folded(changed.details["previous"].as_string())
    known = known.union(sa.select(known.c.owner, previous).where(
        changed.action == EMAIL_CHANGED, changed.folded_target == known.c.address, previous != ""))
    found: dict[int, set[str]] = {staff_id: set() for staff_id in ids}
    for owner, address in db.session.execute(sa.select(known.c.owner, known.c.address)):
        if address:
            found[owner].add(address)
    return found


def ties_of_each(staff_ids: Iterable[int], addresses: dict[int, set[str]]) -> dict[int, dict[int, str]]:
    """The rows of ``directory_names`` tied to each of these people (``_ties``: to an account of
    theirs, their staff code, or an address of theirs, ``addresses_of_each``), row id -> name."""
    ids = sorted(staff_ids)
    owners: sa.CompoundSelect = sa.union(
        sa.select(User.staff_id.label("owner"), DirectoryName.id, DirectoryName.name)
        .join(User, User.id == DirectoryName.user_id).where(User.staff_id.in_(ids)),
        sa.select(Staff.id.label("owner"), DirectoryName.id, DirectoryName.name)
        .join(Staff, Staff.staff_code == DirectoryName.person).where(Staff.id.in_(ids)))
    found: dict[int, dict[int, str]] = {staff_id: {} for staff_id in ids}
    for owner, row_id, name in db.session.execute(owners):
        found[owner][row_id] = name
    by_address: dict[str, list[int]] = {}
    for owner, known in addresses.items():
        for address in known:
            by_address.setdefault(address, []).append(owner)
    rows = db.session.execute(sa.select(DirectoryName.person, DirectoryName.id, DirectoryName.name)
                              .where(in_values(DirectoryName.person, by_address)))
    for person, row_id, name in rows:
        for owner in by_address[person or ""]:
            found[owner][row_id] = name
    return found


def directory_logins(people: People) -> sa.CompoundSelect:
    """The directory user names the directory tied to them (see the module's docstring),
    lower-case."""
    return sa.union(*_logins(people, addresses(people)))


def _ties(people: People, known: sa.CTE) -> tuple[sa.ColumnElement[bool], ...]:
    """The rows of ``directory_names`` that are theirs (written with the sign-in events by
    ``audit.record``): tied to an account of theirs, or to whom a refusal named: their staff
    code, or an address of theirs now or before. Each is an index look-up, and a select of its
    own where a union reads them (no OR between two subqueries: PostgreSQL cannot hash a
    subquery it expects to be large, such as the addresses of a unit tree, under an OR, and
    would read it again for every row)."""
    return (DirectoryName.user_id.in_(people.user_ids),
            DirectoryName.person.in_(staff_codes(people)),
            DirectoryName.person.in_(sa.select(known.c.address)))


def _logins(people: People, known: sa.CTE) -> list[sa.Select]:
    return [sa.select(DirectoryName.name.label("name")).where(tie) for tie in _ties(people, known)]


def tied_names(people: People) -> sa.Select:
    """The user names tied to them, each once, with when it was first tied (the export of their
    data), first tied first."""
    first_at = sa.func.min(DirectoryName.first_at)
    return (sa.select(DirectoryName.name.label("user_name"), first_at.label("first_at"))
            .where(sa.or_(*_ties(people, addresses(people))))
            .group_by(DirectoryName.name).order_by(first_at, DirectoryName.name))


def forget(people: People) -> None:
    """Delete their rows of ``directory_names`` (the retention purge, before their addresses
    and staff code change)."""
    theirs = sa.or_(*_ties(people, addresses(people)))
    ids = list(db.session.scalars(sa.select(DirectoryName.id).where(theirs)))
    db.session.execute(sa.delete(DirectoryName).where(DirectoryName.id.in_(ids)))


@dataclass(frozen=True)
class Targets:
    """What names a set of people in events' targets, read once (``targets_of``), to be compared
    with the indexed ``AuditEvent.folded_target`` as constants:

    - ``codes``: targets that name them as written (staff codes; a unit tree's unit codes);
    - ``names``: folded targets that name them (addresses now and before, directory user names);
    - ``keys``: every folded target those can have (``names``, and each code folded by the
      database): what the index is asked for. The exact rule is checked on what it finds, so
      the events are those the rule (``lower(trim(target))`` in the names, or the target a
      code) always named."""

    codes: frozenset[str]
    names: frozenset[str]
    keys: frozenset[str]

    def naming(self, newest_first: bool = False) -> sa.ColumnElement[bool]:
        """The events whose target names one of them. ``newest_first``: for a page of them (``ORDER
        BY at DESC LIMIT``), where a dense scope is best read by walking the ``at`` index
        (``in_values``)."""
        exact = ([in_values(AuditEvent.folded_target, self.names)] if self.names else []) + (
            [in_values(AuditEvent.target, self.codes)] if self.codes else [])
        if not exact:
            return sa.false()
        return sa.and_(in_values(AuditEvent.folded_target, self.keys, constant=newest_first), sa.or_(*exact))


def targets_of(people: People, codes: sa.Select | None = None, also: Iterable[str] = ()) -> Targets:
    """The targets that name ``people`` (their staff codes, addresses and directory user names;
    ``codes``: a select of more codes, a unit tree's; ``also``: more folded names), in one query."""
    known = addresses(people)
    exact = [sa.select(Staff.staff_code.label("code")).where(Staff.id.in_(people.staff_ids))]
    if codes is not None:
        exact.append(codes)
    written = [sa.select(code.c[0].label("code"), _folded(code.c[0]).label("name"))
               for code in (select.subquery() for select in exact)]
    nothing = sa.cast(sa.null(), sa.String())
    folded = [sa.select(nothing.label("code"), known.c.address.label("name"))]
    folded += [sa.select(nothing.label("code"), DirectoryName.name.label("name")).where(tie)
               for tie in _ties(people, known)]
    found, named, keys = set(), set(also), set(also)
    for code, name in db.session.execute(sa.union(*written, *folded)):
        if name is None:  # a NULL matches nothing (the rule compares with IN)
            continue
        if code is not None:
            found.add(code)
        else:
            named.add(name)
        keys.add(name)
    return Targets(frozenset(found), frozenset(named), frozenset(keys))


def in_values(column: Any, values: Iterable[str], constant: bool = False) -> sa.ColumnElement[bool]:
    """``column IN values`` with the values as one parameter, however many (a ministry's names
    outnumber the parameters a statement may have); a JSON array read by ``json_each`` on SQLite.
    On PostgreSQL an array, read as rows (``unnest``): the planner drives a semi-join from them
    through the column's index, cheaply planned. ``constant``: compared with the array as a
    constant (``= ANY``), which the planner may read through the index (a few names) or check,
    hashed, on each row of another path (a page newest first through the ``at`` index, where the
    names are many): it weighs every value in planning, a few milliseconds a thousand values."""
    ordered = sorted(set(values))
    if not ordered:
        return sa.false()
    if db.session.get_bind().dialect.name == "postgresql":
        array = sa.bindparam(None, ordered, type_=postgresql.ARRAY(sa.String()))
        return column == sa.any_(array) if constant else column.in_(sa.select(sa.func.unnest(array)))
    each = sa.func.json_each(sa.bindparam(None, json.dumps(ordered), type_=sa.String())).table_valued("value")
    return column.in_(sa.select(each.c.value))


def named_in_target(people: People) -> sa.ColumnElement[bool]:
    """The events whose target names one of ``people``: a staff code, or an address or directory
    user name of theirs in any case (their names read first: ``targets_of``)."""
    return targets_of(people).naming()


def about(people: People) -> sa.ColumnElement[bool]:
    """The events about ``people``: naming them (``named_in_target``) or done by their accounts."""
    return sa.or_(named_in_target(people), AuditEvent.actor_id.in_(people.user_ids))


def values(statement: sa.Select | sa.CompoundSelect | sa.CTE) -> set[str]:
    """The rows of one of the selects above, as a set (one person's, for the export and the purge)."""
    query = sa.select(statement.c[0]) if isinstance(statement, sa.CTE) else statement
    return {value for value in db.session.scalars(query) if value}
