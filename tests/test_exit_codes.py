"""One table of exit statuses for every `mooc` command (README, "Exit status"): 0 done, 1 refused
or errors in the input, 2 usage. The walk finds every command, so a new one must be added to
REFUSED (with an input it refuses) or to NO_INPUT (saying why it has none), and shell
completion (click's) knows them all."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import Flask, current_app
from flask.cli import ScriptInfo

from mooc import cli, create_app
from mooc.cli import _factory, main
from mooc.extensions import db
from tests.courses.tree import make_tree
from tests.roster.helpers import write_csv

# Flask-Migrate's commands (alembic's): --help and usage follow the table; alembic decides the rest.
FOREIGN = ("db",)
NO_INPUT = {
    ("training", "assign"): "takes no input; applies the rules in the database",
    ("reminders", "send"): "takes no input; exit 1 when a message could not be sent (tests/reminders)",
    ("search", "reindex"): "takes no input; rebuilds the index from the database",
    ("users", "rotate-two-factor"): "takes no input; re-encrypts the stored two-factor secrets",
    ("reports", "send"): "takes no input; exit 1 when a mail could not be sent (tests/reminders)",
    ("reports", "rebuild-summary"): "takes no input; makes the summary table again from the enrolments",
    ("xapi", "export"): "writes the statements the database holds to FILE; nothing to refuse",
    ("privacy", "purge"): "takes no input; applies the retention periods (tests/privacy)",
    ("error-pages",): "writes the app's error pages into FOLDER for nginx; nothing to refuse",
}


def _broken_tree(tmp: Path) -> str:
    root = make_tree(tmp / "broken")
    (root / "luat" / "course.md").write_text("---\ntitle: Thiếu mã\n---\n", encoding="utf-8")
    return str(root)


def _not_a_backup(tmp: Path) -> str:
    path = tmp / "not-a-backup.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE x (id INTEGER)")
    connection.close()
    return str(path)


# command -> (arguments after it, extra environment), given a temporary folder: refused, exit 1
REFUSED: dict[tuple[str, ...], Callable[[Path], tuple[list[str], dict[str, str]]]] = {
    ("demo",): lambda tmp: ([], {"MOOC_DEFAULT_LOCALE": "fr"}),
    ("serve",): lambda tmp: ([], {"MOOC_DEFAULT_LOCALE": "fr"}),
    ("doctor",): lambda tmp: ([], {"MOOC_ENV": "production", "MOOC_SECRET_KEY": ""}),
    ("backup",): lambda tmp: ([_not_a_backup(tmp)], {}),  # exists (or PostgreSQL): refused
    ("restore",): lambda tmp: ([_not_a_backup(tmp), "--yes"], {}),
    ("users", "create-admin"): lambda tmp: (
        ["--email", "a@example.vn", "--name", "A", "--password", "short"], {}),
    ("roster", "import"): lambda tmp: ([str(write_csv(tmp / "hr.csv", [["x", "", "", "NO-UNIT", ""]]))], {}),
    ("roster", "units"): lambda tmp: ([str(write_csv(tmp / "units.csv", [["a"]], header=["Tên"]))], {}),
    ("courses", "check"): lambda tmp: ([_broken_tree(tmp)], {}),
    ("courses", "sync"): lambda tmp: ([_broken_tree(tmp)], {}),
    ("courses", "new"): lambda tmp: (["Khóa Học", "--root", str(tmp)], {}),
    ("courses", "import-gift"): lambda tmp: (
        [str(write_csv(tmp / "q.gift", [])), "--out", str(tmp / "q.txt")], {}),
    ("xapi", "send"): lambda tmp: ([], {}),  # no MOOC_XAPI_URL: refused, says which setting
    ("training", "import-history"): lambda tmp: (
        [str(write_csv(tmp / "h.csv", [["999999", "KHONG-CO", "01/01/2024"]],
                       header=["Mã cán bộ", "Khóa học", "Ngày hoàn thành"]))], {}),
}


@pytest.fixture
def made_apps(monkeypatch) -> Iterator[list[Flask]]:
    """The apps the `mooc` commands make; their connections are closed after the test (a pooled
    PostgreSQL connection left to the garbage collector would warn in a later test)."""
    made: list[Flask] = []

    def recording(*args, **kwargs) -> Flask:
        made.append(create_app(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(cli, "create_app", recording)
    yield made
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def env(app, tmp_path, database_url, made_apps) -> dict[str, str | None]:
    """A real `mooc` run's variables, on the tests' database (the app fixture empties it after)."""
    values: dict[str, str | None] = {name: None for name in os.environ if name.startswith("MOOC_")}
    values.update({"MOOC_ENV": "testing", "MOOC_DATABASE_URL": database_url,
                   "MOOC_INSTANCE_DIR": str(tmp_path), "MOOC_SECRET_KEY": "k" * 40})
    return values


def every_command(env: dict[str, str | None]) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if v is not None})
    try:
        # Closing the context pops the app context FlaskGroup pushes when it loads the app.
        with click.Context(main, obj=ScriptInfo(create_app=_factory)) as context:

            def walk(group: click.Group, path: tuple[str, ...]) -> None:
                for name in group.list_commands(context):
                    command = group.get_command(context, name)
                    assert command is not None
                    if isinstance(command, click.Group):
                        walk(command, (*path, name))
                    else:
                        found.append((*path, name))

            walk(main, ())
        assert not current_app, "an app context was left pushed"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return found


def test_every_command_has_help_exits_2_on_bad_usage_and_1_on_refused_input(env, tmp_path):
    commands = every_command(env)
    assert len(commands) > 20 and ("doctor",) in commands
    ours = [command for command in commands if command[0] not in FOREIGN]
    assert set(ours) == set(REFUSED) | set(NO_INPUT), "add the command to REFUSED or NO_INPUT"
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert [c for c in ours if f"`mooc {' '.join(c)}" not in readme] == [], "add it to README's command table"
    runner = CliRunner()
    for command in commands:
        shown = runner.invoke(main, [*command, "--help"], prog_name="mooc", env=env)
        assert shown.exit_code == 0 and "Usage: mooc" in shown.output, (command, shown.output)
        usage = runner.invoke(main, [*command, "--no-such-option"], env=env)
        assert usage.exit_code == 2, (command, usage.output)
    for command, make in REFUSED.items():
        folder = tmp_path / "-".join(command)
        folder.mkdir()
        args, extra = make(folder)
        refused = runner.invoke(main, [*command, *args], env={**env, **extra})
        assert refused.exit_code == 1, (command, refused.output, refused.exception)
        assert refused.exception is None or isinstance(refused.exception, SystemExit), (
            command, refused.exception)  # a refusal, not a traceback


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion_knows_the_commands_and_options(env, shell):
    runner = CliRunner()
    script = runner.invoke(main, [], prog_name="mooc", env={**env, "_MOOC_COMPLETE": f"{shell}_source"})
    assert script.exit_code == 0 and "_mooc_completion" in script.output
    complete = {**env, "_MOOC_COMPLETE": f"{shell}_complete"}
    done = runner.invoke(main, [], prog_name="mooc",
                         env={**complete, "COMP_WORDS": "mooc doc", "COMP_CWORD": "1"})
    assert "doctor" in done.output
    options = runner.invoke(main, [], prog_name="mooc", env={
        **complete, "COMP_WORDS": "mooc roster import --f", "COMP_CWORD": "3"})
    assert "--format" in options.output and "--full" in options.output
