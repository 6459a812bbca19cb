"""Every message an author can get from `mooc courses check`, `sync` and `import-gift` reads
Vietnamese first, then English: "Vietnamese / English" (mooc.formats.problem.bilingual).

The problem codes are collected from the source (each call that reports a problem names its
code just before its message), and each code has a case in message_cases.py that triggers it: a
new code without a case fails ``test_every_problem_code_the_check_can_emit_has_a_case``. Every
problem a case produces, not only the one it is for, must read Vietnamese first. The source scan adds what
triggering misses: every message of every problem call is built by ``bilingual()``, and every
``bilingual()`` has Vietnamese in its first half. The summary lines (`check`'s count, `sync`'s
report, `import-gift`'s result) are checked through the commands themselves.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.courses.models import Lesson
from mooc.courses.progress import mark_done
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from tests.bilingual import VIETNAMESE_LETTER, english, reads_vietnamese_first, vietnamese, vietnamese_words
from tests.courses.message_cases import CASES, LESSON
from tests.courses.tree import SVG, lesson, make_tree, write

ROOT = Path(__file__).resolve().parents[2]
# Where problems are made: the formats and the course check (sync.py adds the archive warnings).
SOURCES = sorted((ROOT / "mooc/formats").glob("*.py")) + [
    ROOT / "mooc/courses" / name
    for name in ("format.py", "check.py", "media.py", "identity.py", "sync.py", "unrendered.py")
]
REPORTERS = {"error", "warning", "warn", "report", "check", "Problem", "CaptionProblem"}


# --- the codes, from the source ---------------------------------------------------------------


def _constants(node: ast.AST | None) -> set[str]:
    """The string constants an expression can be: 'x', 'a' if c else 'b'."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _constants(node.body) | _constants(node.orelse)
    return set()


def _bound(name: str, scope: ast.AST, module: ast.Module) -> set[str]:
    """The string constants ``name`` can hold in ``scope``: an assignment (``CODE = "x"``,
    ``WARNING, CODE = "warning", "x"``), a ``for`` over tuples of constants (``for attribute, code
    in (("key", "duplicate-id"), ...)``), in the function or at the top of the module."""
    found: set[str] = set()
    for node in [*ast.walk(scope), *module.body]:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    found |= _constants(node.value)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    found |= {c for t, v in zip(target.elts, node.value.elts, strict=False)
                              if isinstance(t, ast.Name) and t.id == name for c in _constants(v)}
        elif isinstance(node, ast.For) and isinstance(node.target, ast.Tuple) and isinstance(
                node.iter, ast.Tuple):
            names = [t.id if isinstance(t, ast.Name) else "" for t in node.target.elts]
            if name in names:
                found |= {c for row in node.iter.elts if isinstance(row, ast.Tuple)
                          for c in _constants(row.elts[names.index(name)])}
    return found


def problem_calls() -> list[tuple[Path, ast.Call, ast.AST, ast.Module]]:
    """Every call that reports a problem: (file, call, enclosing function, module). Its code is
    the argument before the last, its message the last."""
    calls = []
    for path in SOURCES:
        module = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(module):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and len(node.args) >= 2:
                    # (report.warning if ahead else report.error)(...) reports too
                    func = node.func.body if isinstance(node.func, ast.IfExp) else node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in REPORTERS and _code_of(node, function, module):
                        calls.append((path, node, function, module))
    return calls


def _code_of(call: ast.Call, function: ast.AST, module: ast.Module) -> set[str]:
    code = call.args[-2]
    found = _bound(code.id, function, module) if isinstance(code, ast.Name) else _constants(code)
    return {c for c in found if c and c.replace("-", "").isalpha() and c == c.lower()}


def problem_codes() -> set[str]:
    return {
        code for _path, call, function, module in problem_calls() for code in _code_of(call, function, module)
    }


@pytest.mark.parametrize(
    ("code", "fn"),
    [pytest.param(code, fn, id=f"{code}: {label}" if label else code) for code, label, fn in CASES],
)
def test_every_problem_reads_vietnamese_first(tmp_path, code, fn):
    root = make_tree(tmp_path / "courses")
    problems = fn(root)
    assert code in {p.code for p in problems}, [(p.code, p.message) for p in problems]
    wrong = [(p.code, why, p.message) for p in problems if (why := reads_vietnamese_first(p.message))]
    assert wrong == []


def test_every_problem_code_the_check_can_emit_has_a_case():
    codes = problem_codes()
    assert len(codes) > 100  # the scan finds them (120 when this was written)
    covered = {code for code, _label, _fn in CASES} | {"progress-archived"}  # below: it needs the database
    assert sorted(codes - covered) == []
    assert sorted(covered - codes) == []  # a case for a code no longer emitted


def test_progress_a_sync_would_archive_is_warned_vietnamese_first(app, tmp_path, make_user):
    root = make_tree(tmp_path / "courses")
    user = make_user()
    with app.app_context():
        sync_tree(root)
        db.session.commit()
        row = db.session.scalar(sa.select(Lesson).where(Lesson.key == "co-ban/nguyen-tac"))
        mark_done(user.id, row.id, course_id=row.course_id)
        db.session.commit()
    (root / LESSON).rename(root / "luat/02-nang-cao/05-nguyen-tac.md")  # moved: a new identity
    (root / "luat").rename(root / "luat-2026")
    write(root, "luat-2026/01-co-ban/03-bai.md", lesson("Bài", "## A\n\nB."))
    output = app.test_cli_runner().invoke(args=["courses", "check", str(root)]).output
    warned = [line for line in output.splitlines() if line.endswith("[progress-archived]")]
    assert warned and all(not reads_vietnamese_first(line.split(": warning: ", 1)[1]) for line in warned)


# --- the source: every message is built Vietnamese first -------------------------------------

# Messages passed on, built by bilingual() elsewhere (each bilingual() call is checked below, and
# the cases above trigger them): a file's decoding, the YAML explainer, a caption checker's
# problem, the quiz settings' table, the front matter messages every format shares (source.py),
# and the few message functions of format.py, check.py, quiz.py and identity.py.
PASSED_ON = {
    "decoded.message",
    "message",
    "problem",
    "problem.message",
    "_stray(q.key or q.title)",
    "FRONT_MATTER_MISSING if text.strip() else EMPTY_FILE",
    "FRONT_MATTER_MISSING",
    "FRONT_MATTER_UNCLOSED",
    "NOT_KEY_VALUE",
    "unreadable(error)",
    "too_large(len(raw), MAX_TEXT_BYTES)",
    "too_large(len(raw), MAX_BYTES)",
    "unknown_key(key, allowed)",
    "_local_path(target)",
    "_item_message(kind, key, people, heir)",
    "_course_message(course.key, people, heir is not None)",
}


def _built_bilingual(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "bilingual":
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # bilingual(...) + ": a shared tail"
        return _built_bilingual(node.left)
    if isinstance(node, ast.IfExp):
        return _built_bilingual(node.body) and _built_bilingual(node.orelse)
    return False


def test_every_problem_message_in_the_source_is_built_vietnamese_first():
    calls = problem_calls()
    assert len(calls) > 150
    wrong = [
        f"{path.name}:{call.lineno}: {ast.unparse(call.args[-1])[:80]}"
        for path, call, _f, _m in calls
        if not _built_bilingual(call.args[-1]) and ast.unparse(call.args[-1]) not in PASSED_ON
    ]
    assert wrong == []


def _literal(node: ast.AST) -> str:
    """The text an argument writes itself (an f-string's constant parts; names left out)."""
    return "".join(
        part.value
        for part in ast.walk(node)
        if isinstance(part, ast.Constant) and isinstance(part.value, str)
    )


def test_every_bilingual_message_has_vietnamese_then_english():
    found = 0
    for path in [*SOURCES, ROOT / "mooc/courses/commands.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "bilingual"
                and len(node.args) == 2
            ):
                found += 1
                vi, en = (_literal(arg) for arg in node.args)
                where = f"{path.name}:{node.lineno}"
                if isinstance(node.args[0], ast.Constant | ast.JoinedStr) and re.search("[a-z]", vi):  # words
                    assert VIETNAMESE_LETTER.search(vi), f"{where}: no Vietnamese in {vi!r}"
                if isinstance(node.args[1], ast.Constant | ast.JoinedStr):
                    assert len(vietnamese_words(en)) <= 3, f"{where}: Vietnamese in {en!r}"
    assert found > 200


# --- what the commands print around the problems ------------------------------------------------


def test_check_and_sync_print_their_summaries_vietnamese_first(app, tmp_path):
    root = make_tree(tmp_path / "courses")
    runner = app.test_cli_runner()
    checked_output = runner.invoke(args=["courses", "check", str(root)]).output.splitlines()
    assert checked_output == [
        "1 khóa học, 2 chương, 3 bài học, 0 bài kiểm tra, 0 chương trình: 0 lỗi, 0 cảnh báo. / "
        "1 course(s), 2 module(s), 3 lesson(s), 0 quiz(zes), 0 programme(s): 0 error(s), 0 warning(s)."
    ]
    dry = runner.invoke(args=["courses", "sync", "--dry-run", str(root)]).output.splitlines()
    assert dry[0] == "Chạy thử: chưa ghi gì vào cơ sở dữ liệu. / Dry run: nothing was written."
    synced = runner.invoke(args=["courses", "sync", str(root)]).output.splitlines()
    assert vietnamese(synced[0]).startswith("Đã đồng bộ 1 khóa học") and "6 thêm mới" in synced[0]
    assert english(synced[0]).startswith("Synced 1 course(s)") and "6 added" in synced[0]
    assert "  thêm bài học / added lesson: luat/co-ban/khai-niem" in synced
    assert "  thêm chương / added module: luat/co-ban" in synced
    again = runner.invoke(args=["courses", "sync", str(root)]).output.splitlines()
    assert not reads_vietnamese_first(again[0]) and "không có thay đổi" in again[0]
    (root / "luat/02-nang-cao/01-quy-trinh.md").rename(root / "luat/02-nang-cao/01-cac-buoc.md")
    write(root, "luat/01-co-ban/images/thua.svg", SVG)
    moved = runner.invoke(args=["courses", "sync", str(root)]).output.splitlines()
    assert "  lưu trữ bài học / archived lesson: luat/nang-cao/quy-trinh" in moved
    assert "1 cảnh báo / 1 warning(s):" in moved
    write(root, LESSON, "không có phần đầu")
    refused = runner.invoke(args=["courses", "sync", str(root)])
    assert refused.exit_code == 1
    assert refused.output.splitlines()[-1] == (
        "Chưa đồng bộ: có 1 lỗi. Sửa các lỗi rồi chạy lại (`mooc courses check` liệt kê chúng). / "
        "Not synced: 1 error(s). Fix them and run again (`mooc courses check` lists them)."
    )


def test_import_gift_prints_vietnamese_first(app, tmp_path):
    source = tmp_path / "ngan-hang.gift"
    source.write_text(
        "::ghep::Ghép {=a -> 1 =b -> 2}\n\n::tl::[html]<p>Đúng <b>không</b>?</p>{T}\n", encoding="utf-8"
    )
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["courses", "import-gift", str(source), "--out", str(tmp_path / "09-kt.quiz.md")]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    note = next(line for line in lines if ": note: " in line)
    assert note.startswith(f"{source}:3: note: “tl”: ") and not reads_vietnamese_first(
        note.split("“tl”: ")[1]
    )
    skipped = next(line for line in lines if ": not converted: " in line)
    assert (
        skipped == f"{source}:1: not converted: “ghep”: chưa hỗ trợ câu hỏi ghép đôi / matching question: "
        "not supported"
    )
    assert lines[-1] == (
        f"Đã ghi {tmp_path / '09-kt.quiz.md'}: chuyển được 1 câu hỏi, 1 câu không chuyển được. / "
        f"Wrote {tmp_path / '09-kt.quiz.md'}: 1 question(s) converted, 1 not converted."
    )
    for args, said in (
        (["--out", str(tmp_path / "kt.txt")], "--out phải là tên một tệp .quiz.md"),
        (["--out", str(tmp_path / "kiem-tra.quiz.md")], "--out kiem-tra.quiz.md: với tên này"),
        (["--out", str(tmp_path / "09-kt.quiz.md")], "đã có: thêm --overwrite để ghi đè"),
    ):
        refused = runner.invoke(args=["courses", "import-gift", str(source), *args])
        assert refused.exit_code != 0 and said in refused.output
        assert not reads_vietnamese_first(refused.output.split("Error: ", 1)[1].strip())


def test_the_other_command_messages_read_vietnamese_first(app, tmp_path):
    root = make_tree(tmp_path / "courses")
    runner = app.test_cli_runner()
    outside = tmp_path / "ghi-chu.md"
    outside.write_text("x", encoding="utf-8")
    for args in (
        ["courses", "check", str(outside)],
        ["courses", "check", str(root), "--as-of", "31/02/2027"],
        ["courses", "new", "Khóa Mới", "--root", str(root)],
        ["courses", "new", "luat", "--root", str(root)],
    ):
        result = runner.invoke(args=args)
        said = result.output.split("Error: ", 1)[1].strip()
        said = said.split(": ", 1)[1] if said.startswith("Invalid value") else said
        assert result.exit_code != 0 and not reads_vietnamese_first(said), result.output
