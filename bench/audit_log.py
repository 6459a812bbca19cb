"""The audit log at scale: a province manager's log page and its queries, over a ministry's
sign-ins.

    python bench/generate.py --staff 30000 --courses 2 --database-url URL --manifest /tmp/m.json
    python bench/audit_log.py --database-url URL --manifest /tmp/m.json --events 200000 [--repeat 5]

Replaces the audit trail of a bench/generate.py dataset with ``--events`` events drawn with a
fixed seed (the same events on every run), as a ministry that signs in through its directory
leaves them: sign-ins under the directory user name (``login``), logouts, wrong passwords under a
person's user name or one nobody has, roster refusals naming the person (``person``), codes
asked of managers, training acts on staff codes, password links, address changes
(``--email-changes``, a share of the events: 0.005 by default), unit and import acts; spread
over two years. Where the code keeps the directory user names in ``directory_names``, the
table is filled by its migration (downgraded and upgraded again: the data migration's time at
that size is printed).

Then, in-process, signed in as the manager of the busiest province (manifest ``manager``) and
as the administrator: the page's queries as the view runs them (``audit_log.overview()`` and
``page_of()``; before them, ``actions()`` and ``page_of()``'s count and rows), the page
(``GET /admin/audit``, templates and all), filtered by action and by person, and the manager's
CSV (the administrator's, every event, is not this benchmark's); next
to ``SELECT count(*) FROM audit_events`` (one pass over the table: the reference). Medians of
``--repeat`` runs after a warm-up, under the app's statement timeout
(``MOOC_DB_STATEMENT_TIMEOUT_MS``, 30 s): a statement cancelled by it is said.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import database_label, make_app, signed_in_client
from bench.generate import BulkWriter

BEFORE_NAMES = "c7d9e1f3a5b7"  # the revision before directory_names

# (weight, kind): the mix of events a ministry that signs in through its directory records.
MIX = [
    (35, "ldap_sign_in"), (5, "password_sign_in"), (20, "logout"), (8, "wrong_password"),
    (2, "nobodys_name"), (1, "roster_refused"), (1, "code_asked"), (15, "training"),
    (2, "reset_requested"), (11, "unit_or_import"),
]  # plus "email_changed": --email-changes of every 100 (0.5 by default), taken from unit_or_import


def _median(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    value = function()  # warm: compiling queries and templates, the database's caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def _people(connection: Any) -> list[tuple[int, str, str, int | None, int]]:
    """(staff id, staff code, e-mail, their account's id, unit id) of everyone on the roster."""
    import sqlalchemy as sa

    rows = connection.execute(sa.text(
        "SELECT s.id, s.staff_code, s.email, u.id, s.unit_id FROM staff AS s "
        "LEFT JOIN users AS u ON u.staff_id = s.id ORDER BY s.id"))
    return [tuple(row) for row in rows]


def _events(people: list[tuple[int, str, str, int | None, int]], units: list[str], count: int,
            seed: int, now: datetime, email_changes: float) -> Iterator[tuple[Any, ...]]:
    """(at, actor_id, action, target, ip, details) of ``count`` events (see the docstring)."""
    rng = random.Random(seed)
    mix = [(w, k) for w, k in MIX if k != "unit_or_import"]
    mix += [(100 * email_changes, "email_changed"), (11 - 100 * email_changes, "unit_or_import")]
    weights, kinds = [w for w, _k in mix], [k for _w, k in mix]
    for n in range(count):
        _sid, code, email, user_id, _unit = rng.choice(people)
        login = email.split("@")[0]  # the directory user name: the uid, here the address's local part
        at = now - timedelta(seconds=rng.randint(0, 730 * 86400))
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        kind = rng.choices(kinds, weights)[0]
        if kind == "ldap_sign_in":
            yield at, user_id, "login.succeeded", email, ip, {"method": "ldap", "second_factor": "none",
                                                              "login": login}
        elif kind == "password_sign_in":
            yield at, user_id, "login.succeeded", email, ip, {"method": "password", "second_factor": "none"}
        elif kind == "logout":
            yield at, user_id, "logout", email, ip, {}
        elif kind == "wrong_password":
            yield at, None, "login.failed", login, ip, {"reason": "directory_wrong_password"}
        elif kind == "nobodys_name":
            yield at, None, "login.failed", f"khong.ai.{n % 5000}", ip, {"reason": "directory_unknown_user"}
        elif kind == "roster_refused":
            yield at, None, "login.failed", login, ip, {"reason": "roster_left", "person": code}
        elif kind == "code_asked":
            yield at, user_id, "login.second_factor_asked", email, ip, {"method": "ldap", "login": login}
        elif kind == "training":
            action = rng.choice(["training.enrolled", "training.due_extended", "quiz.attempt_granted"])
            yield at, None, action, code, ip, {"days": 7}
        elif kind == "reset_requested":
            yield at, None, "password.reset_requested", email, ip, {}
        elif kind == "email_changed":
            yield at, None, "account.email_changed", email, ip, {
                "previous": f"cu.{email}", "user_id": user_id, "reason": "roster import"}
        else:
            action, target = rng.choice([("unit.updated", rng.choice(units)),
                                         ("roster.imported", f"ds-{n}.xlsx"),
                                         ("report.exported", rng.choice(units))])
            yield at, None, action, target, ip, {}


def fill(app: Any, count: int, seed: int, email_changes: float, log: Callable[[str], None]) -> None:
    """Replace the audit trail with ``count`` events; fill directory_names where the code has it."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from mooc.extensions import db

    now = datetime.now(UTC)
    with app.app_context():
        engine = db.engine
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            if sa.inspect(connection).has_table("directory_names"):
                connection.execute(sa.text("DELETE FROM directory_names"))
            connection.execute(sa.text("DELETE FROM audit_events"))
            people = _people(connection)
            units = list(connection.scalars(sa.text("SELECT code FROM org_units ORDER BY id")))
            started = time.perf_counter()
            BulkWriter(connection).insert(
                "audit_events", ["at", "actor_id", "action", "target", "ip", "details"],
                _events(people, units, count, seed, now, email_changes))
            log(f"  {count:,} events written in {time.perf_counter() - started:.1f} s "
                f"({len(people):,} people)")
        if "directory_names" in db.metadata.tables:
            downgrade(revision=BEFORE_NAMES)
            started = time.perf_counter()
            upgrade()
            with engine.connect() as connection:
                kept = connection.scalar(sa.text("SELECT count(*) FROM directory_names"))
            log(f"  directory_names filled by its migration: {kept:,} rows in "
                f"{time.perf_counter() - started:.2f} s (and every migration after it: "
                f"{', '.join(_after(BEFORE_NAMES))})")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET statement_timeout = 0")
                connection.exec_driver_sql("VACUUM ANALYZE")
                connection.exec_driver_sql("RESET statement_timeout")  # the app's, for what is measured
            else:
                connection.exec_driver_sql("ANALYZE")
        db.session.remove()


def _after(revision: str) -> list[str]:
    """The revisions an upgrade from ``revision`` runs (the folded target's column is one)."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    return [step.revision for step in reversed(list(script.iterate_revisions("heads", revision)))]


def _timed(function: Callable[[], Any], repeat: int) -> tuple[str, Any]:
    """The median as text, or why there is none (a statement cancelled by the app's timeout)."""
    import sqlalchemy as sa

    from mooc.extensions import db

    try:
        seconds, value = _median(function, repeat)
    except sa.exc.OperationalError as error:
        db.session.rollback()
        return f"cancelled ({type(error.orig).__name__})", None
    return f"{seconds * 1000:.0f} ms", value


def _page_queries(filters: Any, units: Any) -> tuple[Any, Any]:
    """The page's queries as its view runs them (before overview(): the choices, then page_of()'s
    count and rows)."""
    from mooc.privacy import audit_log

    if hasattr(audit_log, "reading"):  # the names read once, then two passes
        found = audit_log.overview(audit_log.reading(filters, units))
        return found.actions, audit_log.page_of(found.reading, total=found.total)
    if hasattr(audit_log, "overview"):
        found = audit_log.overview(filters, units)
        return found.actions, audit_log.page_of(found.filters, units, total=found.total)
    return audit_log.actions(units), audit_log.page_of(filters, units)


def measure(app: Any, manifest: dict[str, Any], repeat: int, log: Callable[[str], None]) -> None:
    import sqlalchemy as sa

    from mooc.auth.models import User
    from mooc.extensions import db
    from mooc.privacy import audit_log

    with app.app_context():
        manager = db.session.scalar(sa.select(User).where(User.email == manifest["manager"]["email"]))
        units = audit_log.units_of(manager)
        code = db.session.scalar(sa.text(
            "SELECT staff_code FROM staff WHERE unit_id IN (SELECT id FROM org_units WHERE id = :p "
            "OR parent_id = :p) ORDER BY id LIMIT 1"), {"p": manifest["manager"]["unit_id"]})
        reference, total = _timed(lambda: db.session.scalar(sa.text("SELECT count(*) FROM audit_events")),
                                  repeat)
        log(f"  reference: one pass over the {total:,} events (count): {reference}")
        for label, filters in (("", audit_log.AuditFilters()),
                               (f", person {code}", audit_log.AuditFilters(person=code))):
            took, found = _timed(lambda filters=filters: _page_queries(filters, units), repeat)
            said = f" ({found[1].total:,} events, {len(found[0])} actions)" if found else ""
            log(f"  manager of {manifest['manager']['unit']} ({len(units or ()):,} units){label}: "
                f"the page's queries {took}{said}")
        db.session.remove()
    manager_pages = ("", "?action=login.failed", f"?person={code}", "?export=csv")
    pages = (("manager", manifest["manager"]["email"], manager_pages),
             ("administrator", manifest["admin"]["email"], ("", f"?person={code}")))
    for who, email, queries in pages:
        client = signed_in_client(app, email, manifest["password"])
        for query in queries:
            def fetch(query: str = query, client: Any = client) -> int:
                response = client.get(f"/admin/audit{query}")
                assert response.status_code == 200, (query, response.status_code)
                return len(response.data)

            try:
                took, size = _timed(fetch, repeat)
            except AssertionError as error:
                took, size = f"refused ({error})", None
            log(f"  {who}: GET /admin/audit{query}: {took}" + (f" ({size:,} bytes)" if size else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a dataset of bench/generate.py")
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--email-changes", type=float, default=0.005, help="share of address changes")
    parser.add_argument("--keep-events", action="store_true", help="measure the events already there")
    args = parser.parse_args()
    manifest = json.loads(Path(args.manifest).read_text(encoding="utf-8"))
    print(f"Audit log, {database_label(args.database_url)}, {args.events:,} events "
          f"({args.email_changes:.1%} address changes)")
    with tempfile.TemporaryDirectory(prefix="mooc-bench-audit-") as folder:
        app = make_app(args.database_url, Path(folder))
        if not args.keep_events:
            fill(app, args.events, args.seed, args.email_changes, print)
        measure(app, manifest, args.repeat, print)


if __name__ == "__main__":
    main()
