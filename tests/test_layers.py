"""The layers of docs/architecture.md that `lint-imports` cannot see.

import-linter (the contracts in pyproject.toml, run by .ci/run) checks which module imports
which, wherever the import statement is. These tests check what it does not: every import
of the package happens at the top of its file, so reading a module's first lines tells
everything it depends on, and a cycle fails at import time instead of hiding in a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

from mooc.courses import identity
from mooc.quizzes.models import QuizAttempt

PACKAGE = Path(__file__).resolve().parent.parent / "mooc"
# create_app() is the composition root above every layer: it imports the domains' models,
# commands, signal receivers and blueprints when an app is made.
COMPOSITION_ROOT = PACKAGE / "__init__.py"


def _imports_in_functions(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["." * node.level + (node.module or "")]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name == "mooc" or name.startswith(("mooc.", ".")):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {name} "
                                 f"(in {function.name}())")
    return found


def test_every_import_of_the_package_is_at_the_top_of_its_file():
    found = sorted({
        line
        for path in PACKAGE.rglob("*.py") if path != COMPOSITION_ROOT
        for line in _imports_in_functions(path)
    })
    assert found == [], "move these imports to the top of their file (docs/architecture.md, Layers)"


def test_the_scan_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\n\ndef f():\n    from mooc.quizzes import models\n    import json\n")
    assert [line.split(": ", 1)[1] for line in _imports_in_functions(module, tmp_path)] == [
        "mooc.quizzes (in f())"
    ]


def test_courses_name_the_quiz_attempts_table_as_the_quizzes_define_it():
    """courses/identity.py counts quiz attempts by table name (quizzes sit above courses)."""
    table = QuizAttempt.__table__
    assert identity.QUIZ_ATTEMPTS.name == table.name
    assert {column.name for column in identity.QUIZ_ATTEMPTS.columns} <= set(table.columns.keys())
