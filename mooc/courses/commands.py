"""`mooc courses`: check and sync the Markdown courses."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from mooc import clock
from mooc.auth import audit
from mooc.config import settings
from mooc.courses.check import check_tree, course_folder
from mooc.courses.format import (
    COURSE_DIR_RE,
    NAME_RULE,
    NAME_RULE_VI,
    NUMBERED_RE,
    Reporter,
    course_dir_name,
    suggest_name,
)
from mooc.courses.identity import archive_warnings
from mooc.courses.sync import SyncRefused, sync_tree
from mooc.courses.unrendered import check_quiz_parts
from mooc.extensions import db
from mooc.formats.gift import GiftResult, convert_gift_file
from mooc.formats.problem import bilingual
from mooc.formats.quiz import parse_quiz_markdown
from mooc.formats.source import NotTextError
from mooc.progress import for_command, quiet_option


@click.group()
def courses() -> None:
    """Check and load the Markdown courses."""


def _root(path: str | None) -> Path:
    """The folder to check or sync: PATH (a courses folder, a course folder, or a file in a
    course: then its course), default the configured courses folder."""
    if not path:
        return settings().courses_dir
    given = Path(path)
    if given.is_file():
        folder = course_folder(given)
        if folder is None:
            raise click.ClickException(bilingual(
                f"{path} không nằm trong thư mục khóa học nào (không có course.md ở các thư mục bên trên)",
                f"{path} is not inside a course folder (no course.md above it)"))
        return folder
    return given


def _print_problems(problems, stream=None, output: str = "text") -> None:
    for problem in problems:
        click.echo(problem.github() if output == "github" else problem.format(), file=stream)


def _identity_warnings(result) -> tuple[list, str | None]:
    """Progress that the next sync would archive (needs the database; says so when it cannot)."""
    try:
        return archive_warnings(result), None
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        return [], bilingual("không đọc được cơ sở dữ liệu nên chưa kiểm tra việc đổi định danh",
                             "the database could not be read: changes of identity not checked") + (
            f" ({reason[:120]})")


def _as_of(value: str | None) -> date | None:
    if not value:
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    raise click.BadParameter(bilingual(f"'{value}' không phải một ngày (dd/mm/yyyy hoặc yyyy-mm-dd)",
                                       f"'{value}' is not a date (dd/mm/yyyy or yyyy-mm-dd)"),
                             param_hint="--as-of")


@courses.command("check")
@click.argument("path", required=False, type=click.Path(exists=True))
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="json prints one object, for CI; github prints GitHub Actions annotations.",
)
@click.option("--as-of", "as_of", metavar="DATE",
              help="Check the lessons' legal basis on this day (dd/mm/yyyy or yyyy-mm-dd; default "
                   "today): a document superseded by then is a warning on a day ahead, an error on a "
                   "day that has come.")
@with_appcontext
def check_command(path: str | None, output: str, as_of: str | None) -> None:
    """Check every course file under PATH (default: the courses folder; a file: the course
    that holds it) and print each problem as path:line: severity: message [code]. When the
    database can be read, also warn about progress that the next sync would archive.
    Exit status 1 if there is any error; warnings alone pass."""
    day = _as_of(as_of)
    result = check_tree(_root(path), as_of=day)
    extra, note = _identity_warnings(result)
    result.problems = sorted(result.problems + extra, key=lambda p: (p.path, p.line, p.severity))
    summary = result.summary()
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "ok": not result.errors,
                    "summary": summary,
                    "problems": [p.as_dict() for p in result.problems],
                    "notes": [note] if note else [],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_problems(result.problems, output=output)
        if note:
            click.echo(f"note: {note}", err=True)
        click.echo(summary_line(summary))
    if result.errors:
        sys.exit(1)


def summary_line(summary: dict[str, int]) -> str:
    """The last line of `mooc courses check`: what was read and what was found."""
    return bilingual(
        f"{summary['courses']} khóa học, {summary['modules']} chương, {summary['lessons']} "
        f"bài học, {summary['quizzes']} bài kiểm tra, {summary['programs']} "
        f"chương trình: {summary['errors']} lỗi, {summary['warnings']} cảnh báo.",
        f"{summary['courses']} course(s), {summary['modules']} module(s), {summary['lessons']} "
        f"lesson(s), {summary['quizzes']} quiz(zes), {summary['programs']} "
        f"programme(s): {summary['errors']} error(s), {summary['warnings']} warning(s).")


@courses.command("sync")
@click.argument("path", required=False, type=click.Path(exists=True))
@click.option("--dry-run", is_flag=True, help="Say what would change, and warn, without writing.")
@quiet_option
@with_appcontext
def sync_command(path: str | None, dry_run: bool, quiet: bool) -> None:
    """Load the courses under PATH (default: the courses folder) into the database, in one
    transaction. Refuses a tree with errors (the last good version stays live). Files that
    disappeared are archived, never deleted: progress on them is kept. Warnings (and
    progress that this sync archives) are printed after the summary."""
    root = _root(path)
    try:
        with for_command(quiet) as progress:
            report = sync_tree(root, progress=progress)
        if dry_run:
            db.session.rollback()
        else:
            audit.record("courses.synced", target=str(root), commit=report.commit, **report.counts())
            db.session.commit()
    except SyncRefused as refused:
        db.session.rollback()
        _print_problems(refused.problems, sys.stderr)
        count = len(refused.problems)
        click.echo(bilingual(
            f"Chưa đồng bộ: có {count} lỗi. Sửa các lỗi rồi chạy lại (`mooc courses check` liệt kê chúng).",
            f"Not synced: {count} error(s). Fix them and run again (`mooc courses check` lists them)."),
            err=True)
        sys.exit(1)
    except Exception:
        db.session.rollback()
        raise
    if dry_run:
        click.echo(bilingual("Chạy thử: chưa ghi gì vào cơ sở dữ liệu.", "Dry run: nothing was written."))
    for line in report.lines():
        click.echo(line)
    if report.warnings:
        count = len(report.warnings)
        click.echo(bilingual(f"{count} cảnh báo", f"{count} warning(s)") + ":")
        _print_problems(report.warnings)


SKELETON = {
    "course.md": """---
title: "{title}"
code: "{code}"
edition: {year}
summary: "Một hoặc hai câu giới thiệu khóa học, hiện trong danh mục."
hours: 1
language: vi
---

## Khóa học này dành cho ai

Giới thiệu khóa học, hiện trên trang khóa học. Bắt đầu với
[bài đầu tiên](01-gioi-thieu/01-bat-dau.md).
""",
    "01-gioi-thieu/module.md": """---
title: "Giới thiệu"
---

Lời giới thiệu của chương (không bắt buộc), hiện phía trên danh sách bài.
""",
    "01-gioi-thieu/01-bat-dau.md": """---
title: "Bắt đầu"
minutes: 5
---

Đoạn mở đầu của bài. Tiêu đề bài lấy từ phần đầu tệp: các mục bắt đầu bằng `##`.

## Mục thứ nhất

!!! note "Lưu ý"
    Nội dung hộp lưu ý, thụt vào bốn dấu cách.

![Sơ đồ minh họa](images/so-do.svg)
""",
    "01-gioi-thieu/images/so-do.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40"><rect width="120" height="40" '
        'fill="#eef3fb"/><text x="10" y="25" font-size="14">Sơ đồ</text></svg>\n'
    ),
    "01-gioi-thieu/09-kiem-tra.quiz.md": """---
title: "Kiểm tra chương 1"
pass_percent: 80
attempts: 3
review: after_pass
---

## Tiêu đề bài học lấy từ đâu? {{#tieu-de}}

- [ ] Từ dòng `#` đầu tiên của bài
- [x] Từ `title:` trong phần đầu tệp

> Tiêu đề nằm trong phần đầu tệp (front matter); các mục trong bài bắt đầu bằng `##`.
""",
}


@courses.command("new")
@click.argument("slug")
@click.option("--root", "root_dir", type=click.Path(file_okay=False),
              help="The courses folder (default: the configured one).")
@click.option("--title", help="The course's title (default: the folder name).")
@with_appcontext
def new_command(slug: str, root_dir: str | None, title: str | None) -> None:
    """Write the skeleton of a new course, SLUG (its folder name and id): course.md, one
    module with a lesson, a picture and a quiz. It passes `mooc courses check`; edit it."""
    if not COURSE_DIR_RE.match(slug):
        raise click.ClickException(bilingual(
            f"'{slug}': tên thư mục khóa học chỉ dùng chữ thường a-z, "
            f"chữ số và dấu gạch nối; thử '{course_dir_name(slug)}'",
            f"'{slug}': course folder names use lowercase letters "
            f"a-z, digits and hyphens; try '{course_dir_name(slug)}'"))
    root = Path(root_dir) if root_dir else _root(None)
    folder = root / slug
    if folder.exists():
        raise click.ClickException(bilingual(f"{folder} đã có: chọn tên khác",
                                             f"{folder} exists: choose another name"))
    values = {"title": (title or slug).replace('"', "'"), "code": slug.upper(), "year": clock.now().year}
    for relative, text in SKELETON.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.format(**values) if relative.endswith(".md") else text, encoding="utf-8")
    click.echo(bilingual(
        f"Đã tạo {folder}: {len(SKELETON)} tệp. Kiểm tra bằng `mooc courses check {folder}`.",
        f"Wrote {folder}: {len(SKELETON)} files. Check it with `mooc courses check {folder}`."))


@courses.command("import-gift")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "dest", required=True, type=click.Path(dir_okay=False),
              help="The quiz file to write, e.g. courses/x/01-y/09-kiem-tra.quiz.md")
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
def import_gift(source: str, dest: str, overwrite: bool) -> None:
    """Convert a Moodle GIFT question bank (SOURCE) into a quiz file in our Markdown syntax.
    Says which questions could not be converted and why (matching, essay, missing word...).
    Check the result with `mooc courses check` before committing it."""
    if not dest.endswith(".quiz.md"):
        raise click.ClickException(bilingual("--out phải là tên một tệp .quiz.md",
                                             "--out must name a .quiz.md file"))
    name = Path(dest).name
    if not NUMBERED_RE.match(name[: -len(".quiz.md")]):
        use = suggest_name(name, ".quiz.md", 9)
        raise click.ClickException(bilingual(
            f"--out {name}: với tên này, bài kiểm tra sẽ bị bỏ ra ngoài khóa học; tên "
            f"bài kiểm tra gồm {NAME_RULE_VI}, kết thúc bằng .quiz.md. Dùng '{use}'",
            f"--out {name}: a quiz file would be left out of the course with this "
            f"name; quiz names are {NAME_RULE}, ending in .quiz.md. Use '{use}'"))
    try:
        result = convert_gift_file(Path(source), Path(dest), overwrite=overwrite)
    except FileExistsError:
        raise click.ClickException(bilingual(f"{dest} đã có: thêm --overwrite để ghi đè",
                                             f"{dest} exists: use --overwrite to replace it")) from None
    except NotTextError as error:
        again = bilingual("xuất lại từ Moodle với mã hóa UTF-8", "export it from Moodle as UTF-8")
        raise click.ClickException(f"{error} ({again})") from None
    for note in result.notes:
        click.echo(f"{source}:{note.line}: note: {_titled(note.title, note.message)}")
    _shown_as_written(source, dest, result)
    for skipped in result.skipped:
        click.echo(f"{source}:{skipped.line}: not converted: {_titled(skipped.title, skipped.reason)}",
                   err=True)
    if not result.converted:
        click.echo(bilingual("Không chuyển được câu hỏi nào: không ghi tệp.",
                             "Nothing converted: no file written."),
                   err=True)
        sys.exit(1)
    converted, skipped_count = result.converted, len(result.skipped)
    click.echo(bilingual(
        f"Đã ghi {dest}: chuyển được {converted} câu hỏi, {skipped_count} câu không chuyển được.",
        f"Wrote {dest}: {converted} question(s) converted, {skipped_count} not converted."))


def _shown_as_written(source: str, dest: str, result: GiftResult) -> None:
    """What the converted questions' Markdown would show as written or lose (the check a quiz
    file gets, mooc/courses/unrendered.py), at the GIFT line of each question and the line of
    the written file. GIFT's escapes (\\~ \\= \\# \\{ \\} \\:) are read by then: never told."""
    where = {question.key: question for question in result.questions}
    _quiz, _problems, parts = parse_quiz_markdown(result.markdown, dest)
    for part in parts:
        found = Reporter(Path(dest).parent)
        check_quiz_parts(Path(dest), [part], found)
        question = where.get(part.question)
        for problem in found.problems:
            line, title = (question.line, question.title) if question else (1, None)
            click.echo(f"{source}:{line}: {problem.severity}: {_titled(title, problem.message)} "
                       f"(→ {dest}:{problem.line}) [{problem.code}]")


def _titled(title: str | None, message: str) -> str:
    """A GIFT question's note or reason, after the question's title (or its first words)."""
    return f"“{title}”: {message}" if title else message
