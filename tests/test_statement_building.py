"""Statements are not rebuilt at a price per request (issue 20).

Building an alias of a mapped class (``sqlalchemy.orm.aliased(Model)``) costs about a
millisecond: the course page's standing built one per view and spent 1.4 ms of its 5.3 ms of
CPU there, against 0.1 ms for running the statement. ``mooc.database.alias(Model, role)``
makes each alias once per process; this module finds an alias of a mapped class made
anywhere else in mooc/ (an alias of a subquery, ``aliased(Model, subquery)``, depends on its
subquery and is left alone), and checks the shared alias is one object per role.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mooc.database import alias
from mooc.training.models import Enrolment
from tests.conftest import engine_events_of_get

PACKAGE = Path(__file__).resolve().parent.parent / "mooc"
ALLOWED = {PACKAGE / "database.py"}


def _aliases_of_a_class(tree: ast.AST) -> list[int]:
    """Lines of the ``aliased(X)`` / ``sa.orm.aliased(X)`` calls with one argument."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "aliased" and len(node.args) == 1:
                lines.append(node.lineno)
    return lines


def test_no_alias_of_a_mapped_class_is_built_outside_the_shared_one():
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}"
             for path in sorted(PACKAGE.rglob("*.py")) if path not in ALLOWED
             for line in _aliases_of_a_class(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == [], "use mooc.database.alias(Model, role): an alias built per call costs ~1 ms"


def test_the_finder_sees_both_spellings():
    source = ("def f():\n    a = aliased(Enrolment)\n    b = sa.orm.aliased(Lesson)\n"
              "    c = aliased(Enrolment, sub)\n")
    assert _aliases_of_a_class(ast.parse(source)) == [2, 3]


def test_one_alias_per_class_and_role():
    assert alias(Enrolment, "later") is alias(Enrolment, "later")
    assert alias(Enrolment, "later") is not alias(Enrolment, "earlier")
    assert str(alias(Enrolment, "later").id.expression.table.name) == "enrolments_later"


# --- the hot pages build no statement per request -----------------------------------------------

def _statements_run(app, client, path: str) -> list[object]:
    """The statement objects a GET of ``path`` executes (the objects, kept alive so no id is
    reused), through the ORM or a connection."""
    return engine_events_of_get(app, client, path, "before_execute",
                                lambda conn, clauseelement, *args: clauseelement)


@pytest.mark.parametrize("who, path", [
    ("trainee", "/courses/luat/lessons/co-ban/nguyen-tac"),
    ("trainee", "/courses/luat"),
    ("trainee", "/"),
    ("manager", "/reports/"),
])
def test_a_hot_page_builds_no_statement_per_request(hot_pages, who, path):
    """Building a statement and working out its cache key cost about twice running it (0.1 ms
    each): every statement these pages run is built once per process, so a second and a third
    request run the very same objects."""
    app, trainee, manager = hot_pages
    client = trainee if who == "trainee" else manager
    _statements_run(app, client, path)  # the first request builds what is built once
    second = _statements_run(app, client, path)
    third = _statements_run(app, client, path)
    assert second and len(third) == len(second)
    built_again = [str(statement).split("\n")[0][:120] for statement in third
                   if not any(statement is seen for seen in second)]
    assert built_again == []
