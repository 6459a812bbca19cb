"""A person's own data: complete (every table about people is exported: the metadata's foreign
keys are walked), theirs only, never a secret, and every export audited."""

from __future__ import annotations

import io
import json
import re

import sqlalchemy as sa
from pypdf import PdfReader

from mooc.auth.models import AuditEvent, AuthSession, Role, User
from mooc.auth.tokens import AccountToken
from mooc.extensions import db
from mooc.privacy import export
from mooc.roster.models import Staff
from tests.conftest import csrf_token, login
from tests.privacy.conftest import NAME, OTHER_NAME

PEOPLE = {"staff", "users"}


def personal_foreign_keys() -> set[str]:
    """Every foreign key to a person (staff, users) and, through ON DELETE CASCADE, to the rows
    a person owns (an enrolment's certificate), as "table.column"."""
    owners = set(PEOPLE)
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for table in db.metadata.tables.values():
            for key in table.foreign_keys:
                name = f"{table.name}.{key.parent.name}"
                if key.column.table.name in owners and name not in found:
                    found.add(name)
                    grew = True
                    if key.ondelete == "CASCADE":
                        owners.add(table.name)
    # A unit or position is not a person's: users.scope_unit_id etc. point elsewhere.
    return found


def test_every_table_about_people_is_in_the_export(app):
    with app.app_context():
        found = personal_foreign_keys()
    missing = found - set(export.COVERAGE)
    assert not missing, f"export these in mooc/privacy/export.py (COVERAGE and gather()): {sorted(missing)}"
    assert set(export.COVERAGE) - found == set(), "COVERAGE names a foreign key that no longer exists"
    assert set(export.COVERAGE.values()) <= set(export.SECTIONS)


def _own_export(world) -> tuple[dict, str]:
    client = world.app.test_client()
    assert login(client, world.email).status_code == 302
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    return json.loads(text), text


def test_the_export_holds_a_row_of_every_section(world):
    data, _text = _own_export(world)
    empty = [key for key in export.SECTIONS if not data.get(key)
             or (key == "acts" and not all(data["acts"].values()))]
    assert empty == []
    assert data["person"]["full_name"] == NAME
    assert {row["code"] for row in data["certificates"]} == {world.certificate, world.program_certificate}
    attempt = data["quiz_attempts"][0]
    assert attempt["answers"] == {"ky": ["b"]} and attempt["questions"][0]["key"] == "ky"
    assert "choices" not in json.dumps(attempt["questions"])  # no answer key
    assert {event["action"] for event in data["audit_events"]} >= {"login.succeeded", "training.due_extended"}


def test_no_secret_and_nobody_else(world):
    _data, text = _own_export(world)
    with world.app.app_context():
        secrets = [h for h in db.session.scalars(sa.select(User.password_hash)) if h]
        secrets += list(db.session.scalars(sa.select(AuthSession.token_hash)))
        secrets += list(db.session.scalars(sa.select(AccountToken.token_hash)))
    assert secrets and not [s for s in secrets if s in text]
    assert "token_hash" not in text and "password_hash" not in text
    assert OTHER_NAME not in text and "khac.lv@example.vn" not in text and "009002" not in text


def test_the_pdf_reads_in_vietnamese(world):
    client = world.app.test_client()
    login(client, world.email)
    response = client.get("/account/data.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert NAME in text and world.certificate in text and "Lần thử" not in text
    assert OTHER_NAME not in text


def test_own_export_is_audited(world):
    client = world.app.test_client()
    login(client, world.email)
    client.get("/account/data.pdf")
    with world.app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "privacy.exported"))
        assert event.actor_id == world.user_id and event.target == world.code
        assert event.details == {"format": "pdf"}


def test_an_account_without_a_roster_entry_exports_its_account(app, make_user):
    admin = make_user(email="quantri@example.vn", role=Role.ADMIN, name="Quản Trị")
    client = app.test_client()
    login(client, admin.email)
    data = client.get("/account/data.json").get_json()
    assert data["person"] == {} and data["accounts"][0]["email"] == "quantri@example.vn"


def test_an_administrator_exports_on_a_written_request(world, make_user):
    admin = make_user(email="quantri@example.vn", role=Role.ADMIN)
    client = world.app.test_client()
    login(client, admin.email)
    url = f"/privacy/people/{world.staff_id}/export"
    token = csrf_token(client, url)
    refused = client.post(url, data={"csrf_token": token, "reference": "", "reason": "", "format": "json"})
    assert refused.status_code == 200 and refused.mimetype == "text/html"
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action.like("privacy.%"))) == 0
    response = client.post(url, data={"csrf_token": token, "reference": "CV 12/TTr", "format": "json",
                                      "reason": "Người lao động yêu cầu bằng văn bản"})
    assert response.status_code == 200 and response.get_json()["person"]["staff_code"] == world.code
    with world.app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "privacy.exported_on_request"))
        assert event.actor_id == admin.id and event.target == world.code
        assert event.details["reference"] == "CV 12/TTr" and event.details["format"] == "json"


def test_an_administrators_export_on_a_written_request_is_a_pdf_by_default(world, make_user):
    """The form comes with PDF chosen; the file reads in Vietnamese, names the request and who
    printed it, and holds the person's data only."""
    admin = make_user(email="quantri@example.vn", role=Role.ADMIN, name="Quản Trị Viên")
    client = world.app.test_client()
    login(client, admin.email)
    url = f"/privacy/people/{world.staff_id}/export"
    page = client.get(url).get_data(as_text=True)
    chosen = [tag for tag in re.findall(r"<input[^>]*>", page) if 'name="format"' in tag and "checked" in tag]
    assert len(chosen) == 1 and 'value="pdf"' in chosen[0]
    token = csrf_token(client, url)
    for data in ({"format": "pdf"}, {}):  # as the form is sent, and with no format at all
        response = client.post(url, data={"csrf_token": token, "reference": "CV 15/TTr",
                                          "reason": "Người lao động yêu cầu bằng văn bản", **data})
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("inline;")
        assert "du-lieu-ca-nhan_009001.pdf" in response.headers["Content-Disposition"]
        text = "".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(response.data)).pages)
        assert NAME in text and world.certificate in text and world.program_certificate in text
        assert "Văn bản yêu cầu CV 15/TTr" in text and "In bởi Quản Trị Viên" in text
        assert OTHER_NAME not in text
    with world.app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "privacy.exported_on_request")).all()
        assert [(e.actor_id, e.target, e.details["format"], e.details["reference"]) for e in events] == [
            (admin.id, world.code, "pdf", "CV 15/TTr")] * 2


def test_only_administrators_export_others(world, make_user):
    manager = make_user(role=Role.MANAGER, scope_unit=None)
    client = world.app.test_client()
    login(client, world.email)  # a training officer, with the person in scope: still not allowed
    assert client.get(f"/privacy/people/{world.other_staff_id}/export").status_code == 403
    client = world.app.test_client()
    login(client, manager.email)
    assert client.get(f"/privacy/people/{world.staff_id}/export").status_code == 403


def test_events_under_an_address_the_person_had_before_are_theirs(world):
    """Her address was changed (by HR's import or an administrator): the sign-ins refused under
    the old one are about her and are in her export, as the retention purge already knew; an
    address someone else had is not followed."""
    with world.app.app_context():
        db.session.add_all([
            AuditEvent(action="account.email_changed", target=world.email,
                       details={"previous": "cu@example.vn"}),
            AuditEvent(action="account.email_changed", target="cu@example.vn",
                       details={"previous": "cu-hon@example.vn"}),
            AuditEvent(action="login.failed", target="cu@example.vn", details={"reason": "password"}),
            AuditEvent(action="login.failed", target="cu-hon@example.vn", details={"reason": "password"}),
            AuditEvent(action="account.email_changed", target="nguoi-khac@example.vn",
                       details={"previous": "khac-cu@example.vn"}),
            AuditEvent(action="login.failed", target="khac-cu@example.vn", details={"reason": "password"}),
        ])
        db.session.commit()
    data, _text = _own_export(world)
    failed = {event["target"] for event in data["audit_events"] if event["action"] == "login.failed"}
    assert {"cu@example.vn", "cu-hon@example.vn"} <= failed and "khac-cu@example.vn" not in failed


def test_the_sign_ins_the_directory_or_a_provider_recorded_under_another_name_are_theirs(world, sign_ins):
    """Hồng never signed in: the directory named her when the roster refused her right password
    (``hong.dt``), and the OpenID provider wrote her address in capitals. Both refusals are in
    her export (the administrator's, on her written request); Ngọc's holds her own directory
    user name and neither of Hồng's, Khác's or a user name only ever typed wrong."""
    with world.app.app_context():
        hong = db.session.get(Staff, sign_ins.hong_staff_id)
        events = export.gather(export.subject_of_staff(hong))["audit_events"]
    assert {event["target"] for event in events} == {"hong.dt", "Hong.DT@Example.vn"}
    data, _text = _own_export(world)
    failed = {event["target"] for event in data["audit_events"] if event["action"] == "login.failed"}
    assert "ngoc.tt" in failed
    assert not (sign_ins.ours - {"ngoc.tt"} | sign_ins.theirs | sign_ins.nobodys) & failed


def test_every_field_the_pdf_prints_has_a_vietnamese_label(world):
    """The PDF prints a label per field (export_pdf.LABELS) and fell back to the raw key (``name``,
    ``prefix`` of an API token): every field of every section, with a row in each, is named."""
    from mooc.privacy.export_pdf import LABELS

    data, _text = _own_export(world)
    printed: set[str] = set()
    for key in export.SECTIONS:
        value = data.get(key)
        if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            printed |= set(value)  # the parts' headings
            rows = [row for part in value.values() for row in part]
        else:
            rows = value if isinstance(value, list) else [value]
        printed |= {field for row in rows if isinstance(row, dict) for field in row}
    missing = sorted(printed - set(LABELS))
    assert missing == [], ", ".join(missing)


def _stored_codes() -> set[str]:
    """Every code the platform stores for a person to read by name: each enum column's values, and
    the codes written as text (an import's kind, a correction's field and resolution, an audit
    action)."""
    from mooc.auth.audit_actions import ACTIONS
    from mooc.privacy.corrections import FIELDS

    codes = {member.value for table in db.metadata.tables.values() for column in table.columns
             if getattr(column.type, "enum_class", None) for member in column.type.enum_class}
    return codes | {"staff", "units", "admin", "import"} | set(ACTIONS) | set(FIELDS)


def _sections(data: dict):
    """(section or part, row) for every row of the export."""
    for key in export.SECTIONS:
        value = data.get(key)
        if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            yield from ((part, row) for part, rows in value.items() for row in rows)
        else:
            yield from ((key, row) for row in (value if isinstance(value, list) else [value]))


def _in_progress_weekly(world) -> None:
    """The examples first seen raw: an enrolment in progress, a report mailed every week."""
    from mooc.reports.models import Frequency, ReportSubscription
    from mooc.training.models import Enrolment, EnrolmentState

    with world.app.app_context():
        db.session.execute(sa.update(Enrolment).where(Enrolment.staff_id == world.staff_id)
                           .values(state=EnrolmentState.IN_PROGRESS))
        db.session.execute(sa.update(ReportSubscription).where(ReportSubscription.user_id == world.user_id)
                           .values(frequency=Frequency.WEEKLY))
        db.session.commit()


def test_every_stored_code_the_pdf_prints_reads_by_the_interfaces_name_for_it(world):
    """The PDF printed stored codes raw (a report's frequency "weekly", an enrolment's state
    "in_progress", a role, a source, a reminder's kind...): in a full export, every field holding a
    code prints the name the pages give it, in Vietnamese and in English; the JSON keeps the codes."""
    from mooc.i18n import LANG_COOKIE
    from mooc.privacy.export_pdf import readable

    _in_progress_weekly(world)
    data, _text = _own_export(world)
    codes = _stored_codes()
    coded = [(section, field, value, row) for section, row in _sections(data) if isinstance(row, dict)
             for field, value in row.items() if isinstance(value, str) and value in codes]
    assert {(section, field) for section, field, _value, _row in coded} >= {
        ("enrolments", "state"), ("report_mail", "frequency"), ("accounts", "role"), ("enrolments", "source")}
    for lang in ("vi", "en"):
        with world.app.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}={lang}"}):
            raw = [f"{section}.{field} = {value}" for section, field, value, row in coded
                   if dict(readable(section, row))[_label(field)] in (value, "")]
            assert raw == [], "\n".join(raw)
            printed = {(s, f): dict(readable(s, row))[_label(f)] for s, f, _v, row in coded}
        if lang == "vi":
            assert printed["enrolments", "state"] == "Đang học"
            assert printed["report_mail", "frequency"] == "Hằng tuần"
            assert printed["accounts", "role"] == "Cán bộ phụ trách đào tạo"
        else:
            assert printed["enrolments", "state"] == "In progress"
            assert printed["report_mail", "frequency"] == "Every week"
            assert printed["accounts", "role"] == "Training officer"


def _label(field: str) -> str:
    from mooc.privacy.export_pdf import LABELS

    return str(LABELS.get(field) or field)


def test_the_pdf_prints_names_where_it_printed_codes_in_either_language(world):
    from mooc.i18n import LANG_COOKIE

    _in_progress_weekly(world)
    client = world.app.test_client()
    login(client, world.email)
    vietnamese = _pdf_text(client.get("/account/data.pdf").data)
    assert "Hằng tuần" in vietnamese and "Đang học" in vietnamese and "Ghi danh thủ công" in vietnamese
    words = set(re.findall(r"[a-z_]+", vietnamese))
    assert not {"weekly", "in_progress", "manual", "officer", "dashboard"} & words
    client.set_cookie(LANG_COOKIE, "en")
    english = _pdf_text(client.get("/account/data.pdf").data)
    assert "Every week" in english and "In progress" in english and "Training officer" in english
    assert "Frequency Every week" in english and "Tần suất" not in english  # the labels too
    assert json.loads(client.get("/account/data.json").data)["report_mail"][0]["frequency"] == "weekly"


def _pdf_text(body: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(body)).pages)


def test_every_code_of_every_labelled_enum_has_its_name():
    """A new member of one of these enums is named where the pages and the export name it."""
    from mooc.auth.labels import PURPOSE_LABELS, ROLE_LABELS
    from mooc.auth.tokens import TokenPurpose
    from mooc.privacy import corrections
    from mooc.privacy.models import CorrectionStatus
    from mooc.quizzes.attempts import STATUS_LABELS as ATTEMPT_LABELS
    from mooc.quizzes.models import AttemptStatus
    from mooc.reminders import messages
    from mooc.reminders.models import ReminderKind, ReminderStatus
    from mooc.reports.models import Frequency, ReportKind
    from mooc.reports.subscriptions import FREQUENCY_LABELS, REPORT_LABELS
    from mooc.roster.display import STATUS_LABELS
    from mooc.roster.models import StaffStatus
    from mooc.training.models import EnrolmentSource
    from mooc.training.records import SOURCE_LABELS

    for labels, enum_class in [(ROLE_LABELS, Role), (PURPOSE_LABELS, TokenPurpose),
                               (corrections.STATUS_LABELS, CorrectionStatus), (ATTEMPT_LABELS, AttemptStatus),
                               (messages.KIND_LABELS, ReminderKind), (messages.STATUS_LABELS, ReminderStatus),
                               (REPORT_LABELS, ReportKind), (FREQUENCY_LABELS, Frequency),
                               (STATUS_LABELS, StaffStatus), (SOURCE_LABELS, EnrolmentSource)]:
        assert set(labels) == set(enum_class), enum_class


def test_the_pdf_writes_numbers_as_the_language_does(world):
    """The PDF printed Python's numbers ("85.5", "1200") in either language: a score or a count
    reads 85,5 and 1.200 in Vietnamese, 85.5 and 1,200 in English; a record's number as stored."""
    from mooc.i18n import LANG_COOKIE
    from mooc.privacy.export_pdf import readable

    row = {"id": 12345, "score": 85.5, "max_score": 1.0, "extra": 1200, "number": 2, "percent": 85.5}
    printed, scores = {}, {}
    for lang in ("vi", "en"):
        with world.app.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}={lang}"}):
            printed[lang] = [value for _label, value in readable("quiz_attempts", row)]
            scores[lang] = readable("enrolments", {"score": 90.0})
    # A percentage as the pages write it (the attempt's "Result", an enrolment's best score).
    assert printed == {"vi": ["12345", "85,5", "1,0", "1.200", "2", "85,5%"],
                       "en": ["12345", "85.5", "1.0", "1,200", "2", "85.5%"]}
    assert scores == {"vi": [("Điểm", "90,0%")], "en": [("Score", "90.0%")]}
