"""An audit event's details read as labelled lines ("Lý do: sai quá nhiều lần: tạm khóa"), in the
reader's language, on the audit log page and in the personal-data PDF; the CSV of the log and the
personal-data JSON keep the raw details. Every key the code writes has a label."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from datetime import UTC, datetime

from flask_babel import force_locale
from pypdf import PdfReader

from mooc.auth.models import AuditEvent, Role
from mooc.courses.sync import SyncReport
from mooc.extensions import db
from mooc.i18n import LANG_COOKIE
from mooc.privacy import audit_details
from mooc.roster.importer import ImportPlan
from mooc.roster.units import UnitPlan
from tests.conftest import ROOT, login

# ``**expression`` of an ``audit.record(...)`` the AST cannot read, by (file, expression): the keys
# it writes, from the object that writes them. A new one fails the test until it is listed here.
EXPANDED = {
    ("mooc/courses/commands.py", "report.counts()"): set(SyncReport().counts()),
    ("mooc/roster/importer.py", "plan.counts"): set(ImportPlan().counts),
    ("mooc/roster/units.py", "plan.counts"): set(UnitPlan().counts),
}
# The dictionaries some details hold (a report's filters, a rule's terms), by the function that
# makes them: their keys are labelled too.
NESTED = {("mooc/reports/queries.py", "as_args"), ("mooc/training/rules.py", "_terms"),
          ("mooc/privacy/views.py", "_filter_args")}


def _dict_keys(node: ast.AST) -> set[str]:
    return {key.value for d in ast.walk(node) if isinstance(d, ast.Dict)
            for key in d.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)}


def _spread_keys(function: ast.AST, spread: ast.expr, where: str) -> set[str]:
    """The keys ``**spread`` writes: a dict (or ``a if b else c`` of dicts) written there, a
    variable by what its function puts in it, else ``EXPANDED``."""
    if isinstance(spread, (ast.Dict, ast.IfExp)):
        return _dict_keys(spread)
    if isinstance(spread, ast.Name):
        keys = set()
        for node in ast.walk(function):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    if isinstance(target, ast.Name) and target.id == spread.id:
                        keys |= _dict_keys(node.value)
                    elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                          and target.value.id == spread.id and isinstance(target.slice, ast.Constant)):
                        keys.add(target.slice.value)
        assert keys, f"{where}: say in EXPANDED which keys **{spread.id} writes"
        return keys
    expression = (where.split(":")[0], ast.unparse(spread))
    assert expression in EXPANDED, f"{where}: say in EXPANDED which keys **{expression[1]} writes"
    return EXPANDED[expression]


def recorded_keys() -> dict[str, str]:
    """Every key the code writes into an event's details, with where (file:line)."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "mooc").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            if (name, function.name) in NESTED:
                found.update(dict.fromkeys(_dict_keys(function), f"{name}:{function.lineno}"))
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "record" and isinstance(call.func.value, ast.Name)
                        and call.func.value.id == "audit"):
                    continue
                where = f"{name}:{call.lineno}"
                for keyword in call.keywords:
                    if keyword.arg is None:
                        found.update(dict.fromkeys(_spread_keys(function, keyword.value, where), where))
                    elif keyword.arg not in ("actor", "target"):
                        found[keyword.arg] = where
    return found


def test_every_key_the_platform_writes_into_an_event_has_a_label(app):
    """A new key without a label fails here (it would read as a code on the log page)."""
    recorded = recorded_keys()
    assert {"reason", "staff_code", "lock_lifted", "login", "person", "renamed", "deactivated", "rendered",
            "due_from", "renew_months", "from"} <= set(recorded)
    missing = {key: where for key, where in recorded.items() if key not in audit_details.KEYS}
    assert not missing, f"give these keys a label in mooc/privacy/audit_details.py KEYS: {missing}"
    with app.test_request_context():
        with force_locale("en"):
            english = {key: str(name) for key, name in audit_details.KEYS.items()}
        with force_locale("vi"):
            untranslated = [key for key, name in audit_details.KEYS.items() if str(name) == english[key]]
    assert not untranslated, f"no Vietnamese for: {untranslated}"


DETAILS = {"reason": "locked", "method": "ldap", "login": "hong.dt", "role": "officer", "previous": "trainee",
           "skipped": {"no_email": 1200, "staff_left": 2}, "old": "2026-03-31", "new": "2026-12-06",
           "renamed": ["Phòng 1", "Phòng Nghiệp vụ 1"], "lock_lifted": True, "sent": 57000,
           "mystery_key": "<b>kept</b>", "user_id": 12345}


def _add_event(app) -> None:
    with app.app_context():
        db.session.add(AuditEvent(action="role.granted", target="hong.dt@example.vn", details=DETAILS,
                                  at=datetime(2026, 12, 6, 3, 0, tzinfo=UTC)))
        db.session.commit()


def _cell(page: str) -> str:
    (cell,) = re.findall(r'<td class="meta audit-details">(.*?)</td>', page, re.DOTALL)
    return cell


def test_the_log_page_reads_details_as_labelled_lines_in_either_language(app, make_user):
    """The page showed the raw JSON ({"method": "ldap", "reason": "locked", ...})."""
    _add_event(app)
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    client = app.test_client()
    assert login(client, admin.email).status_code == 302
    assert _cell(client.get("/admin/audit?action=role.granted").get_data(as_text=True)).split("<br>") == [
        "Lý do: sai quá nhiều lần: tạm khóa", "Đăng nhập bằng: thư mục của Bộ (LDAP)",
        "Tên đăng nhập đã gõ: hong.dt", "Vai trò: Cán bộ phụ trách đào tạo", "Trước: Học viên",
        "Bỏ qua: chưa có địa chỉ e-mail: 1.200; đã nghỉ: 2", "Trước: 31/03/2026", "Sau: 06/12/2026",
        "Đổi tên: Phòng 1 → Phòng Nghiệp vụ 1", "Đã gỡ khóa đăng nhập: có", "Đã gửi: 57.000",
        "mystery_key: &lt;b&gt;kept&lt;/b&gt;", "Số tài khoản: 12345"]
    client.set_cookie(LANG_COOKIE, "en")
    english = _cell(client.get("/admin/audit?action=role.granted").get_data(as_text=True)).split("<br>")
    assert english[:2] == ["Reason: too many failed tries: locked for a while",
                           "Signed in with: ministry directory (LDAP)"]
    assert "Sent: 57,000" in english and "Skipped: no e-mail address: 1,200; left: 2" in english
    # The CSV keeps the raw details, codes and ISO dates, for machines and for searching.
    body = client.get("/admin/audit?export=csv&action=role.granted").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert json.loads(rows[1][-1]) == DETAILS


def test_the_personal_data_pdf_reads_details_as_labelled_lines(world):
    """The PDF's audit part printed the JSON; the JSON export keeps it."""
    with world.app.app_context():
        db.session.add(AuditEvent(action="login.failed", target=world.email,
                                  details={"reason": "locked", "method": "ldap", "sent": 57000}))
        db.session.commit()
    client = world.app.test_client()
    login(client, world.email)
    text = " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(io.BytesIO(client.get("/account/data.pdf").data)).pages)
    assert "Lý do: sai quá nhiều lần: tạm khóa Đăng nhập bằng: thư mục của Bộ (LDAP) Đã gửi: 57.000" in text
    assert '"reason"' not in text
    exported = json.loads(client.get("/account/data.json").data)["audit_events"]
    assert {"reason": "locked", "method": "ldap", "sent": 57000} in [e["details"] for e in exported]
