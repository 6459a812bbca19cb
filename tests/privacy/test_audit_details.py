"""An audit event's details read as labelled lines ("Lý do: sai quá nhiều lần: tạm khóa"), in the
reader's language, on the audit log page and in the personal-data PDF; the CSV of the log and the
personal-data JSON keep the raw details. Every key the code writes has a label."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

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


# Reason codes ---------------------------------------------------------------------------------
# A sign-in refused by the directory (LDAP) or the ministry's sign-in service (OpenID Connect), a
# "forgot password" mail not sent, a report mail skipped: the event's "reason" is a code. The
# codes are read from the code: what the exceptions whose ``reason`` an ``audit.record`` writes
# (``except DirectoryRefused as refused: audit.record(..., reason=refused.reason)``) are raised
# with, what such a class says its ``reason`` is, what a function that records the ``reason``
# it is given is called with, and what ``audit.record`` writes itself.


def _roster_codes(found: dict[str, set[str]]) -> set[str]:
    return {f"roster_{code}" for code in found["NoMatch"]}


def _ad_codes(_found: dict[str, set[str]]) -> set[str]:
    from mooc.directory import ldap
    return set(ldap.AD_BIND_REASONS.values())


def _claim_codes(_found: dict[str, set[str]]) -> set[str]:
    from mooc.directory import oidc
    return set(oidc._CLAIM_REASONS.values())


def _why_not_codes(_found: dict[str, set[str]]) -> set[str]:
    """What mooc/reports/scheduled.py says a report mail was skipped for: the words it returns or
    sets as ``why_not`` (a filter that is gone writes a sentence of its own: BadFilter)."""
    tree = ast.parse((ROOT / "mooc/reports/scheduled.py").read_text(encoding="utf-8"))
    codes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            codes |= {e.value for e in node.value.elts[1:] if isinstance(e, ast.Constant) and e.value}
        targets = [getattr(t, "id", "") for t in node.targets] if isinstance(node, ast.Assign) else []
        if "why_not" in targets and isinstance(node.value, ast.Constant):
            codes.add(node.value.value)
    return codes


# A reason the AST cannot read, by (file, expression): the codes it holds, from the code that
# makes them (given the codes found so far, by class). A new one fails the test until it is
# listed here or in TYPED_REASONS.
COMPUTED_REASONS = {
    ("mooc/directory/ldap.py", "f'roster_{refused.reason}'"): _roster_codes,
    ("mooc/directory/ldap.py", "refused_bind_reason(person.result)"): _ad_codes,
    ("mooc/directory/oidc.py", "_CLAIM_REASONS.get(error.claim, 'claims')"): _claim_codes,
    ("mooc/reports/scheduled.py", "why_not[:500]"): _why_not_codes,
}
# Reasons a person typed (an exemption's, a new due date's, a revoked certificate's, a written
# request's): shown as typed.
TYPED_REASONS = {
    ("mooc/training/deadlines.py", "reason.strip()"),
    ("mooc/training/exemptions.py", "enrolment.exempt_reason"),
    ("mooc/training/certificates.py", "certificate.revoked_reason"),
    ("mooc/privacy/views.py", "form.reason.data.strip()"),
}


def _constants(node: ast.expr) -> set[str] | None:
    """The codes an expression is sure to be: a string, or either side of ``a if b else c``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _constants(node.body), _constants(node.orelse)
        return body | orelse if body is not None and orelse is not None else None
    return None


def _is_record(call: ast.AST) -> bool:
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "record"
            and isinstance(call.func.value, ast.Name) and call.func.value.id == "audit")


def _params(function: ast.FunctionDef) -> list[str]:
    return [a.arg for a in [*function.args.args, *function.args.kwonlyargs]]


def _reason_of(call: ast.Call, position: int) -> ast.expr | None:
    """The ``reason=`` argument of a call, else its positional argument at ``position``."""
    arg = next((k.value for k in call.keywords if k.arg == "reason"), None)
    if arg is None and 0 <= position < len(call.args):
        arg = call.args[position]
    return arg


def _recorded_from(tree: ast.Module) -> set[str]:
    """The classes whose ``reason`` an ``audit.record`` of this module writes: ``reason=x.reason``
    where ``x`` is caught (``except Refused as x``), or ``reason=module.Unavailable.reason``."""
    classes = set()
    for handler in [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler) and n.name]:
        caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for call in [n for n in ast.walk(handler) if _is_record(n)]:
            arg = _reason_of(call, -1)
            if isinstance(arg, ast.Attribute) and arg.attr == "reason" \
                    and getattr(arg.value, "id", "") == handler.name:
                classes |= {ast.unparse(t).rsplit(".", 1)[-1] for t in caught if t is not None}
    for call in [n for n in ast.walk(tree) if _is_record(n)]:
        arg = _reason_of(call, -1)
        if isinstance(arg, ast.Attribute) and arg.attr == "reason" and isinstance(arg.value, ast.Attribute):
            classes.add(arg.value.attr)
    return classes


def _class_reasons(node: ast.ClassDef) -> set[str] | None:
    """The ``reason = "..."`` a class sets (a set, maybe empty, if it takes its reason when
    raised: ``__init__(self, reason, ...)`` or a ``reason`` field), None if neither."""
    fixed, takes = set(), False
    for item in node.body:
        if (isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant)
                and [getattr(t, "id", "") for t in item.targets] == ["reason"]):
            fixed.add(item.value.value)
        takes = takes or (isinstance(item, ast.FunctionDef) and item.name == "__init__"
                          and "reason" in _params(item)) \
            or (isinstance(item, ast.AnnAssign) and getattr(item.target, "id", "") == "reason")
    return fixed if fixed or takes else None


Carriers = tuple[set[str], dict[tuple[str, str], int], dict[str, set[str]]]


def _carriers(trees: dict[str, ast.Module]) -> Carriers:
    """The exceptions whose ``reason`` the audit trail records; the functions that record the
    ``reason`` they are given, by (module, name), with its position; the codes those classes set
    as their ``reason`` (none for a class raised with it)."""
    exceptions = set().union(*(_recorded_from(tree) for tree in trees.values()))
    functions: dict[tuple[str, str], int] = {}
    fixed: dict[str, set[str]] = {}
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in exceptions:
                codes = _class_reasons(node)
                if codes is not None:
                    fixed[node.name] = codes
            elif isinstance(node, ast.FunctionDef) and "reason" in _params(node) and any(
                    _is_record(c) and getattr(_reason_of(c, -1), "id", "") == "reason"
                    for c in ast.walk(node)):
                positional = [a.arg for a in node.args.args]
                functions[(Path(name).stem, node.name)] = \
                    positional.index("reason") if "reason" in positional else -1
    return exceptions, functions, fixed


def _callee(call: ast.Call, module: str) -> tuple[str, str] | None:
    """(module, name) of a call by a bare name (this module's) or by ``module.name``."""
    if isinstance(call.func, ast.Name):
        return module, call.func.id
    if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        return call.func.value.id, call.func.attr
    return None


def _reason_given(call: ast.Call, module: str, carriers: Carriers) -> tuple[str, ast.expr | None]:
    """(the exception raised, "" for another call; the reason it is given) of a call that
    gives a reason code, else ("", None)."""
    exceptions, functions, fixed = carriers
    callee = _callee(call, module)
    if callee is not None and callee[1] in exceptions and not fixed.get(callee[1]):
        return callee[1], _reason_of(call, 0)
    if callee in functions:
        return "", _reason_of(call, functions[callee])
    if _is_record(call):
        arg = _reason_of(call, -1)
        passed_on = isinstance(arg, ast.Name) and arg.id == "reason" or \
            isinstance(arg, ast.Attribute) and arg.attr == "reason"
        return "", None if passed_on else arg  # a function's or an exception's: counted where given
    return "", None


def recorded_reasons() -> dict[str, str]:
    """Every reason code the platform can write into an event, with where (file:line)."""
    trees = {str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8"))
             for p in sorted((ROOT / "mooc").rglob("*.py"))}
    carriers = _carriers(trees)
    found: dict[str, set[str]] = {name: set(codes) for name, codes in carriers[2].items()}
    where = {code: f"class {name}" for name, codes in found.items() for code in codes}
    computed: list[tuple[str, tuple[str, str]]] = []
    for name, tree in trees.items():
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
            raised, arg = _reason_given(call, Path(name).stem, carriers)
            if arg is None:
                continue
            codes, text = _constants(arg), ast.unparse(arg)
            if codes is not None:
                found.setdefault(raised, set()).update(codes)
                where.update(dict.fromkeys(codes, f"{name}:{call.lineno}"))
            elif (name, text) in COMPUTED_REASONS:
                computed.append((f"{name}:{call.lineno}", (name, text)))
            else:
                assert (name, text) in TYPED_REASONS, \
                    f"{name}:{call.lineno}: say in COMPUTED_REASONS or TYPED_REASONS what {text} holds"
    for place, key in computed:
        where.update(dict.fromkeys(COMPUTED_REASONS[key](found), place))
    return where


def test_every_reason_code_the_platform_records_has_a_name(app):
    """The OpenID Connect and directory sign-in refusals showed their stored code ("nonce",
    "roster_left", "directory_account_locked") on the audit log page and in the personal-data
    PDF: every code the code can record has a name, in English and in Vietnamese."""
    from mooc.directory import oidc

    recorded = recorded_reasons()
    assert set(oidc.REASONS) | {"roster_left", "left", "directory_account_locked", "directory_unavailable",
                                "locked", "second_factor_locked", "rate_limited", "account disabled"} \
        <= set(recorded)
    missing = {code: place for code, place in recorded.items() if code not in audit_details.REASONS}
    assert not missing, f"give these reasons a name in mooc/privacy/audit_details.py REASONS: {missing}"
    names = audit_details.REASONS
    with app.test_request_context():
        with force_locale("en"):
            english = {code: str(name) for code, name in names.items()}
        with force_locale("vi"):
            untranslated = [code for code, name in names.items() if str(name) == english[code]]
            assert audit_details.shown("reason", "roster_left") == "danh sách cán bộ ghi người này đã nghỉ"
            assert audit_details.shown("reason", "nonce") == "token thuộc về một lượt đăng nhập khác"
            assert audit_details.shown("reason", "đang đi công tác") == "đang đi công tác"  # typed: as typed
    assert not untranslated, f"no Vietnamese for: {untranslated}"


def test_the_codes_a_reports_or_a_rules_event_holds_read_by_their_names(app):
    """A report event's filters, a report mail's period and an assignment rule's terms showed
    stored codes on the log page ("cannot_sign_in", "2026-W10", "changed-only", "all"): each
    value the code can store reads by the name the pages give it. The values are the code's:
    every list status and account filter (mooc/reports/queries.py), every renewal mode."""
    from mooc.reports import queries
    from mooc.reports.models import Frequency
    from mooc.reports.scheduled import period_of
    from mooc.training.models import RenewalMode

    stored = [("status", code) for code in queries.LIST_STATUSES] \
        + [("account", code) for code in queries.ACCOUNT_FILTERS] \
        + [("renewal", mode.value) for mode in RenewalMode] + [("units", "all")] \
        + [("period", period_of(frequency, date(2026, 3, 2))) for frequency in Frequency]
    with app.test_request_context():
        for lang in ("vi", "en"):
            with force_locale(lang):
                raw = [(key, code) for key, code in stored if audit_details.shown(key, code) == code]
                assert not raw, f"{lang}: these read as stored: {raw}"
        with force_locale("vi"):
            assert audit_details.lines({"period": "2026-W10", "filters": {"account": "cannot_sign_in"},
                                        "renewal": "changed-only"}) == [
                ("Kỳ", "tuần 10/2026"), ("Bộ lọc", "Tài khoản: Không đăng nhập được"),
                ("Học lại định kỳ", "chỉ các bài đã thay đổi")]
            assert audit_details.shown("period", "2026-03") == "03/2026"
