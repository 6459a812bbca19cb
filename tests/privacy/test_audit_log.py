"""The audit log page: administrators read every event, managers and training officers those
about the people and units of their subtree; filters (action, person, dd/mm/yyyy range), pages,
CSV export (itself audited; each event in full, in local time; named after the page; handed to
nginx with MOOC_ACCEL_REDIRECT)."""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_babel import force_locale

from mooc.auth import audit_actions
from mooc.auth.models import AuditEvent, Role
from mooc.extensions import db
from mooc.params import parse_day
from mooc.privacy import audit_log
from mooc.roster.models import OrgUnit
from tests.conftest import ROOT, engine_events_of_get, login
from tests.privacy.conftest import NAME, unit_of


def _add_events(app, *events: tuple[str, str, datetime]) -> None:
    with app.app_context():
        for action, target, at in events:
            db.session.add(AuditEvent(action=action, target=target, at=at, details={}))
        db.session.commit()


def _csv(client, query: str = "") -> list[list[str]]:
    response = client.get(f"/admin/audit?export=csv{query}")
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _targets(client, query: str = "") -> list[str]:
    return [row[3] for row in _csv(client, query)[1:]]


def _page_targets(client, query: str = "") -> list[str]:
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True).replace("<wbr>", "")  # an address's line-break hints
    return re.findall(r'</code></td><td>([^<]*)</td>', page)


def _client(world, user):
    client = world.app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def test_an_administrator_reads_every_event_and_filters_them(world, make_user):
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    _add_events(world.app,
                ("unit.updated", "BBO", datetime(2026, 3, 1, 3, tzinfo=UTC)),
                ("roster.imported", "ds.csv", datetime(2026, 3, 10, 3, tzinfo=UTC)),
                # 23:30 on 31/03 in Hà Nội is 16:30 UTC: the 31st, local time
                ("unit.created", "NBO-9", datetime(2026, 3, 31, 16, 30, tzinfo=UTC)),
                ("unit.created", "NBO-10", datetime(2026, 3, 31, 17, 30, tzinfo=UTC)))  # 01/04 local
    client = _client(world, admin)
    everything = _targets(client)
    assert {"BBO", "ds.csv", "NBO-9", "009001", "ngoc.tt@example.vn", "khac.lv@example.vn"} <= set(everything)
    assert _targets(client, "&action=roster.imported") == ["ds.csv"]
    assert _targets(client, "&from=05/03/2026&to=31/03/2026") == ["NBO-9", "ds.csv"]
    assert _targets(client, "&from=01/04/2026&to=01/04/2026") == ["NBO-10"]
    about = _targets(client, "&person=009001")
    # by staff code: their code, their addresses (now and before), their directory user name
    assert set(about) == {"009001", "ngoc.tt@example.vn", "ngoc.cu@example.vn", "ngoc.tt"}
    assert _targets(client, "&person=NGOC.TT@example.vn") == about


def test_a_bad_filter_value_is_ignored_and_said(world, make_user):
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    client = _client(world, admin)
    page = client.get("/admin/audit?from=31/02/2026&to=" + "9" * 50 + "&action=nope&page=99999999999")
    assert page.status_code == 200
    text = page.get_data(as_text=True).replace("<wbr>", "")  # an address's line-break hints
    assert "không hợp lệ" in text and "ngoc.tt@example.vn" in text


def test_a_manager_reads_the_events_about_their_units_only(world, make_user):
    province = unit_of(world.app, world.province_id)
    other_unit = unit_of(world.app, world.other_unit_id)
    manager = make_user(role=Role.MANAGER, scope_unit=province, email="truongphong@example.vn")
    other_manager = make_user(role=Role.MANAGER, scope_unit=other_unit, email="khac@example.vn")
    _add_events(world.app, ("unit.updated", "NBO-3", datetime(2026, 3, 1, tzinfo=UTC)),
                ("unit.updated", "BBO", datetime(2026, 3, 1, tzinfo=UTC)))
    mine = _targets(_client(world, manager))
    assert set(mine) >= {"009001", "ngoc.tt@example.vn", "NBO-3"}
    assert not {"khac.lv@example.vn", "BBO", "009002"} & set(mine)
    theirs = _targets(_client(world, other_manager))
    assert set(theirs) >= {"khac.lv@example.vn", "BBO"}
    assert not {"009001", "ngoc.tt@example.vn", "NBO-3"} & set(theirs)
    # a person out of scope asked for by name: still nothing
    assert _targets(_client(world, other_manager), "&person=009001") == []


def test_trainees_and_reporters_do_not_read_it(world, make_user):
    for role in (Role.TRAINEE, Role.REPORTER):
        user = make_user(role=role)
        assert _client(world, user).get("/admin/audit").status_code == 403


def test_pages_and_the_export_is_audited(world, make_user):
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    _add_events(world.app, *[("unit.updated", f"X{n}", datetime(2026, 2, 1, tzinfo=UTC))
                             for n in range(audit_log.PER_PAGE + 5)])
    client = _client(world, admin)
    first = client.get("/admin/audit?action=unit.updated").get_data(as_text=True)
    second = client.get("/admin/audit?action=unit.updated&page=2").get_data(as_text=True)
    assert first.count(">unit.updated</code>") == audit_log.PER_PAGE
    assert second.count(">unit.updated</code>") == 5
    assert 'rel="next"' in first and "action=unit.updated" in first
    response = client.get("/admin/audit?export=csv&action=unit.updated")
    assert "filename*=UTF-8''nhat-ky-hoat-dong.csv" in response.headers["Content-Disposition"]
    with world.app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "privacy.audit_exported"))
        assert event.actor_id == admin.id and event.details == {"filters": {"action": "unit.updated"}}


def test_days_are_read_as_people_write_them_and_bounded():
    """Day first, as people write dates (a phone's number pad may have no "/": eight digits do),
    or ISO (older links); never month first, never outside 1900-2200."""
    assert parse_day("05/03/2026") == date(2026, 3, 5) == parse_day("2026-03-05")
    for text in ("5/3/2026", "05.03.2026", "5-3-2026", "05032026", " 05/03/2026 "):
        assert parse_day(text) == date(2026, 3, 5), text
    for text in ("31/02/2026", "01/01/9999", "5/3/26", "2026/03/05", "05/03-2026", "005/03/2026",
                 "0503202", "05/03/2026/", "13/13/2026", "０５/03/2026", "", None):
        assert parse_day(text) is None, text


def test_the_csv_holds_each_event_in_full(world, make_user):
    """Header in Vietnamese; the time in Hà Nội's; who did it (name and address), from where; the
    details as JSON with their letters; a value that starts like a formula made harmless."""
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    with world.app.app_context():
        db.session.add_all([
            AuditEvent(action="roster.imported", target="ds-nam-bo.csv", actor_id=world.user_id,
                       ip="10.0.0.9", at=datetime(2026, 3, 10, 3, 0, tzinfo=UTC),
                       details={"rows": 3, "đơn vị": "Nam Bộ"}),
            AuditEvent(action="unit.updated", target="=HYPERLINK(1)", at=datetime(2026, 3, 9, tzinfo=UTC),
                       details={}),
        ])
        db.session.commit()
    rows = _csv(_client(world, admin), "&from=09/03/2026&to=10/03/2026")
    assert rows == [
        ["Thời điểm", "Hành động", "Mã hành động", "Về", "Người thực hiện", "Người thực hiện (thư điện tử)",
         "Địa chỉ IP", "Chi tiết"],
        ["10/03/2026 10:00", "Nhập danh sách cán bộ", "roster.imported", "ds-nam-bo.csv", NAME,
         "ngoc.tt@example.vn", "10.0.0.9",
         '{"rows": 3, "đơn vị": "Nam Bộ"}'],
        ["09/03/2026 07:00", "Sửa đơn vị", "unit.updated", "'=HYPERLINK(1)", "", "", "", ""],
    ]


def test_a_section_managers_csv_holds_the_events_of_their_subtree_only(world, make_user, make_unit,
                                                                      make_staff):
    """The manager of Phòng Nghiệp vụ 3 (and its team below it): the events about its people and
    units, not those about the province above it, a sister section or its people."""
    province = unit_of(world.app, world.province_id)
    with world.app.app_context():
        section = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "NBO-3"))
        db.session.expunge(section)
    team = make_unit("Tổ 1", parent=section, code="NBO-3-1")
    sister = make_unit("Phòng Nghiệp vụ 4", parent=province, code="NBO-4")
    below = make_staff("Đặng Văn Dưới", unit=team, staff_code="009010")
    beside = make_staff("Hồ Thị Cạnh", unit=sister, staff_code="009011")
    _add_events(world.app, *[("training.due_extended", target, datetime(2026, 3, 1, tzinfo=UTC))
                             for target in ("NBO", "NBO-3", "NBO-3-1", "NBO-4", below.staff_code,
                                            beside.staff_code)])
    manager = make_user(role=Role.MANAGER, scope_unit=section, email="truong.phong3@example.vn")
    mine = _csv(_client(world, manager))
    assert {row[3] for row in mine[1:]} == {"NBO-3", "NBO-3-1", "009010", "009001", "ngoc.tt@example.vn",
                                            "ngoc.cu@example.vn", "ngoc.tt"}
    assert all(len(row) == 8 for row in mine)
    province_manager = make_user(role=Role.MANAGER, scope_unit=province, email="chanh.thanh.tra@example.vn")
    assert {"NBO", "NBO-4", "009011"} <= set(_targets(_client(world, province_manager)))


def test_with_accel_redirect_the_csv_is_spooled_whole_then_handed_to_nginx(world, make_app, make_user,
                                                                           tmp_path):
    app = make_app(ACCEL_REDIRECT=True, SPOOL_DIR=str(tmp_path / "spool"))
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    client = app.test_client()
    assert login(client, admin.email).status_code == 302
    answer = client.get("/admin/audit?export=csv")
    assert answer.status_code == 200 and answer.data == b""
    assert "filename*=UTF-8''nhat-ky-hoat-dong.csv" in answer.headers["Content-Disposition"]
    name = answer.headers["X-Accel-Redirect"].removeprefix("/_mooc/spool/")
    assert name.endswith(".csv") and len(name) > 30
    spooled = (tmp_path / "spool" / name).read_bytes().decode("utf-8")
    assert spooled.startswith("\ufeff") and "ngoc.tt@example.vn" in spooled
    assert [path.name for path in (tmp_path / "spool").iterdir()] == [name]  # no partial file left
    trainee = app.test_client()
    assert login(trainee, make_user().email).status_code == 302
    refused = trainee.get("/admin/audit?export=csv")
    assert refused.status_code == 403 and "X-Accel-Redirect" not in refused.headers


def _recorded_actions() -> dict[str, str]:
    """Every action the code records: the first argument of each ``audit.record(...)``, its
    string constants (an ``x if y else z`` too); a variable, by what its function assigns it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "mooc").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]:
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "record" and isinstance(call.func.value, ast.Name)
                        and call.func.value.id == "audit" and call.args):
                    continue
                first = call.args[0]
                sources = [first]
                if isinstance(first, ast.Name):
                    sources = [node.value for node in ast.walk(function) if isinstance(node, ast.Assign)
                               and any(isinstance(t, ast.Name) and t.id == first.id for t in node.targets)]
                for source in sources:
                    for constant in ast.walk(source):
                        if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                            found[constant.value] = f"{path.relative_to(ROOT)}:{call.lineno}"
    return found


def test_every_action_the_platform_records_has_a_name_people_read(world, make_user):
    """The activity log names each action in words (Vietnamese first), its code beside it; the
    page showed codes only ("reports.subscribed")."""
    recorded = _recorded_actions()
    assert {"login.succeeded", "user.admin_granted", "invitation.accepted", "training.enrolled"} \
        <= set(recorded)
    missing = {action: where for action, where in recorded.items() if action not in audit_actions.ACTIONS}
    assert not missing, f"give these actions a name in mooc/auth/audit_actions.py: {missing}"
    with world.app.test_request_context():
        with force_locale("en"):
            english = {action: str(name) for action, name in audit_actions.ACTIONS.items()}
        with force_locale("vi"):
            untranslated = [a for a, name in audit_actions.ACTIONS.items() if str(name) == english[a]]
    assert not untranslated, f"no Vietnamese for: {untranslated}"
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    page = _client(world, admin).get("/admin/audit").get_data(as_text=True)
    assert re.search(r"<td>Đăng nhập<br><code[^>]*>login\.succeeded</code></td>", page)
    assert '<option value="login.succeeded">Đăng nhập</option>' in page


def test_a_manager_reads_the_directory_sign_ins_of_their_people_and_no_others(world, sign_ins, make_user):
    """Sign-ins are recorded under what was typed: a directory user name (``hong.dt``, ``khac.lv``)
    or an address as the OpenID provider wrote it. The managers of each province read those of
    their own people (tied by the directory, signed in or not), on the page and in the CSV; never
    another province's, nor a user name only ever typed wrong (an administrator reads it)."""
    province = unit_of(world.app, world.province_id)
    other_unit = unit_of(world.app, world.other_unit_id)
    ours = make_user(role=Role.MANAGER, scope_unit=province, email="chanh.nambo@example.vn")
    theirs = make_user(role=Role.MANAGER, scope_unit=other_unit, email="chanh.bacbo@example.vn")
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    for manager, own, hidden in ((ours, sign_ins.ours, sign_ins.theirs),
                                 (theirs, sign_ins.theirs, sign_ins.ours)):
        client = _client(world, manager)
        for read in (_targets(client, "&action=login.failed"),  # the CSV
                     _page_targets(client, "action=login.failed")):
            assert own <= set(read), manager.email
            assert not (hidden | sign_ins.nobodys) & set(read), manager.email
    assert sign_ins.nobodys <= set(_targets(_client(world, admin), "&action=login.failed"))


def test_the_person_filter_finds_their_directory_sign_ins_by_staff_code_or_address(world, sign_ins,
                                                                                  make_user):
    """Filtered by a person's staff code or address (any case), the log holds the sign-ins under
    the user names the directory tied to them and under their address as a provider wrote it;
    nobody else's, and never past the reader's scope."""
    admin = _client(world, make_user(role=Role.ADMIN, email="quantri@example.vn"))
    for person in ("009020", "HONG.DT@example.vn"):
        assert set(_targets(admin, f"&person={person}")) == {"hong.dt", "Hong.DT@Example.vn"}, person
    khac = set(_targets(admin, "&person=009002&action=login.failed"))
    assert khac == {"khac.lv", "lv.khac"}
    assert set(_page_targets(admin, "person=khac.lv@example.vn&action=login.failed")) == khac
    other_unit = unit_of(world.app, world.other_unit_id)
    theirs = _client(world, make_user(role=Role.MANAGER, scope_unit=other_unit,
                                      email="chanh.bacbo@example.vn"))
    assert _targets(theirs, "&person=009020") == []


def _reading_the_log(world, client, query: str) -> tuple[list[str], str]:
    """The statements of GET /admin/audit?query that read the audit trail, and the page."""
    statements = engine_events_of_get(world.app, client, f"/admin/audit?{query}", "before_cursor_execute",
                                      lambda _connection, _cursor, statement, *_args: statement)
    page = client.get(f"/admin/audit?{query}").get_data(as_text=True)
    return [s for s in statements if "audit_events" in s], page


def test_the_page_reads_the_log_twice_whatever_the_filters(world, sign_ins, make_user):
    """One pass for the filter's choices and the count (grouped by action), one for the page's
    rows; the names of the unit tree, and of the person asked for, are read once before them
    (one statement each, which reads the log's address changes only), and the passes compare
    them with the indexed folded target: no event's target is folded as it is read. The choices
    are the actions of the reader's events; the count is what the filters match."""
    province = unit_of(world.app, world.province_id)
    client = _client(world, make_user(role=Role.MANAGER, scope_unit=province, email="chanh.nambo@example.vn"))
    hong = "person=009020&from=01/03/2026&to=31/03/2026"
    # (an action none of the reader's events has is dropped, as any unknown one)
    for query, found in (("", None), ("action=login.failed", 3), (hong, 2),
                         (f"{hong}&action=login.failed", 2), (f"{hong}&action=unit.merged", 2),
                         ("action=training.due_extended&person=009001", 1)):
        reading, page = _reading_the_log(world, client, query)
        passes = [statement for statement in reading if "AS audit_events_changed" not in statement]
        named = [statement for statement in reading if "AS audit_events_changed" in statement]
        assert len(passes) == 2, (query, passes)
        assert len(named) == 1 + ("person=" in query), (query, named)
        assert not [statement for statement in passes if "lower(" in statement], query
        assert all("audit_events.folded_target" in statement for statement in passes), query
        if found is not None:
            assert f"Số sự kiện tìm thấy: {found}<" in page, query
        choices = set(re.findall(r'<option value="([a-z_.]+)"', page))
        assert choices == {"login.failed", "login.succeeded", "training.due_extended",
                           "account.email_changed", "password.reset_requested"}, query
