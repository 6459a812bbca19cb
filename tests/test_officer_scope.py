"""The training officer (cán bộ phụ trách đào tạo): imports the roster, manages units, rules,
exemptions and invitations for their unit's subtree, and nothing outside it.

Each write path is tried in scope (it works) and out of scope (refused, nothing written);
the domain functions refuse too when called directly (``mooc.roster.scope``).
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.extensions import db
from mooc.roster import importer, units
from mooc.roster.models import OrgUnit, RosterImport, Staff, StaffStatus
from mooc.roster.scope import ScopeError
from mooc.training import assign, certificates, exemptions
from mooc.training import rules as rule_changes
from mooc.training.models import AssignmentRule, Certificate, Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import csrf_token, login, save
from tests.roster.helpers import csv_bytes
from tests.training.conftest import org, person  # noqa: F401  (fixtures)
from tests.training.test_assign import make_rule

OFFICER_EMAIL = "daotao@example.vn"


@pytest.fixture
def world(org, person):  # noqa: F811
    """An officer of the Ninh Bình province (NB, with NB-1 and NB-2); Hà Nội (HN) is outside."""
    app, o = org
    officer_staff, officer = person(o.section_a, o.chief, "Cán Bộ Đào Tạo", email=OFFICER_EMAIL)
    with app.app_context():
        account = db.session.get(User, officer.id)
        account.role, account.scope_unit_id = Role.OFFICER, o.province.id
        db.session.commit()
    people = {
        "nb1": person(o.section_a, o.inspector, "Nguyễn Văn Một")[0],
        "nb2": person(o.section_b, o.inspector, "Trần Thị Hai")[0],
        "hn": person(o.other, o.inspector, "Lê Văn Ba")[0],
    }
    client = app.test_client()
    assert login(client, OFFICER_EMAIL).status_code == 302
    return app, o, client, officer, officer_staff, people


def _post(client, path: str, page: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def _officer(app, officer) -> User:
    return db.session.get(User, officer.id)


def _text(response) -> str:
    return response.get_data(as_text=True)


# --- the roster import ------------------------------------------------------------------------


def _upload(client, rows, full: bool = False):
    form = {"csrf_token": csrf_token(client, "/roster/import"),
            "file": (io.BytesIO(csv_bytes(rows)), "danh-sach.csv")}
    if full:
        form["full"] = "y"
    response = client.post("/roster/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, _text(response)[:500]
    return response.headers["Location"]


def _apply(client, preview_url: str, **extra):
    page = _text(client.get(preview_url))
    found = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page)
    fingerprint = found.group(1) if found else "0"  # a plan with errors offers no apply button
    mapping = dict(re.findall(r'name="(col_\d+)" value="(\w+)"', page))
    full = {"full": "1"} if "full=1" in preview_url else {}
    checksum = re.search(r"/roster/import/([0-9a-f]{64})", preview_url).group(1)
    return client.post(f"/roster/import/{checksum}", data={
        "csrf_token": csrf_token(client, preview_url), "fingerprint": fingerprint, "name": "danh-sach.csv",
        **mapping, **full, **extra})


def _statuses(app) -> dict[str, StaffStatus]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Staff.full_name, Staff.status)).all())


def test_a_full_import_by_an_officer_marks_as_left_only_the_people_of_their_units(world):
    app, o, client, _officer_user, officer_staff, people = world
    rows = [[officer_staff.staff_code, "Cán Bộ Đào Tạo", OFFICER_EMAIL, "NB-1", "Chánh Thanh tra"],
            [people["nb1"].staff_code, "Nguyễn Văn Một", "", "NB-1", "Thanh tra viên"],
            ["000900", "Phạm Văn Mới", "", "NB-2", "Thanh tra viên"]]
    preview_url = _upload(client, rows, full=True)
    page = _text(client.get(preview_url))
    assert "Bạn nhập danh sách cho Thanh tra tỉnh Ninh Bình" in page
    assert "cán bộ của đơn vị khác thì không" in page
    assert "Lê Văn Ba" not in page  # the Hà Nội person is not "missing" from a Ninh Bình file
    applied = _apply(client, preview_url, confirm="y")
    assert applied.status_code == 302, _text(applied)[:2000]
    statuses = _statuses(app)
    assert statuses["Trần Thị Hai"] == StaffStatus.LEFT       # NB-2, not in the file
    assert statuses["Lê Văn Ba"] == StaffStatus.ACTIVE        # Hà Nội: not touched
    assert statuses["Phạm Văn Mới"] == StaffStatus.ACTIVE
    # The officer sees their import in the list.
    assert "danh-sach.csv" in _text(client.get("/roster/imports"))


def test_an_officer_cannot_import_into_or_out_of_another_unit(world):
    app, o, client, _officer_user, _officer_staff, people = world
    rows = [[people["nb1"].staff_code, "Nguyễn Văn Một", "", "HN", "Thanh tra viên"],  # out to Hà Nội
            [people["hn"].staff_code, "Lê Văn Ba", "", "NB-1", "Thanh tra viên"],      # in from Hà Nội
            ["000901", "Đỗ Văn Ngoài", "", "HN", "Thanh tra viên"]]                    # new, in Hà Nội
    preview_url = _upload(client, rows)
    page = _text(client.get(preview_url))
    assert page.count("nằm ngoài các đơn vị bạn phụ trách") == 2
    assert f"Mã cán bộ {people['hn'].staff_code} thuộc về một người ngoài các đơn vị bạn phụ trách" in page
    with app.app_context():
        before = db.session.execute(sa.select(Staff.staff_code, Staff.unit_id)).all()
    assert _apply(client, preview_url).status_code == 200  # the plan again, with its errors
    with app.app_context():
        assert db.session.execute(sa.select(Staff.staff_code, Staff.unit_id)).all() == before
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RosterImport)) == 0


def test_an_officer_import_does_not_learn_who_outside_has_an_email(world):
    """An address kept by someone outside the officer's units is refused without naming
    them (no staff code); inside, the owner is named so the officer can sort it out."""
    app, o, client, _officer_user, _officer_staff, people = world
    with app.app_context():
        db.session.execute(sa.update(Staff).where(Staff.id == people["hn"].id).values(email="ba.le@hanoi.vn"))
        db.session.execute(sa.update(Staff).where(Staff.id == people["nb2"].id).values(email="hai@nb.vn"))
        db.session.commit()
    rows = [[people["nb1"].staff_code, "Nguyễn Văn Một", "ba.le@hanoi.vn", "NB-1", "Thanh tra viên"],
            ["000902", "Phạm Văn Mới", "hai@nb.vn", "NB-1", "Thanh tra viên"]]
    page = _text(client.get(_upload(client, rows)))
    assert "E-mail ba.le@hanoi.vn thuộc về một người ngoài các đơn vị bạn phụ trách" in page
    assert people["hn"].staff_code not in page
    assert f"(mã cán bộ {people['nb2'].staff_code})" in page


def test_an_officer_import_never_disables_an_administrator(world):
    app, o, client, _officer_user, officer_staff, people = world
    admin_staff = people["nb2"]
    with app.app_context():
        db.session.execute(sa.update(User).where(User.staff_id == admin_staff.id).values(role=Role.ADMIN))
        db.session.commit()
    rows = [[officer_staff.staff_code, "Cán Bộ Đào Tạo", OFFICER_EMAIL, "NB-1", "Chánh Thanh tra"],
            [people["nb1"].staff_code, "Nguyễn Văn Một", "", "NB-1", "Thanh tra viên"]]
    preview_url = _upload(client, rows, full=True)
    page = _text(client.get(preview_url))
    assert "một tài khoản có vai trò cao hơn vai trò của bạn" in page
    _apply(client, preview_url, confirm="y")
    assert _statuses(app)["Trần Thị Hai"] == StaffStatus.ACTIVE
    with app.app_context():
        assert db.session.scalar(sa.select(User.active).where(User.staff_id == admin_staff.id)) is True


def test_apply_plan_refuses_a_plan_made_for_the_whole_roster(world):
    app, o, _client, officer, officer_staff, people = world
    rows = [[people["hn"].staff_code, "Lê Văn Ba (đổi)", "", "HN", "Thanh tra viên"]]
    with app.test_request_context():
        plan = importer.plan_import(importer.read_rows(csv_bytes(rows)), actor=None)
        assert plan.ok and plan.scope is None
        with pytest.raises(ScopeError):
            importer.apply_plan(plan, _officer(app, officer))
        scoped = importer.plan_import(importer.read_rows(csv_bytes(rows)), actor=_officer(app, officer))
        assert not scoped.ok and scoped.scope is not None


def test_an_officer_sees_only_their_own_imports(world):
    app, _o, client, _officer_user, _officer_staff, _people = world
    record = save(app, RosterImport(checksum="1" * 64, filename="cua-quan-tri.csv"))
    assert "cua-quan-tri.csv" not in _text(client.get("/roster/imports"))
    assert client.get(f"/roster/imports/{record.id}").status_code == 404


# --- units ----------------------------------------------------------------------------------------


def test_an_officer_manages_the_units_of_their_scope_only(world):
    app, o, client, officer, _officer_staff, _people = world
    listing = _text(client.get("/roster/units"))
    assert "Phòng 1" in listing and "Thanh tra TP Hà Nội" not in listing
    new_form = _text(client.get("/roster/units/new"))
    assert "Thanh tra TP Hà Nội" not in new_form
    created = _post(client, "/roster/units/new", "/roster/units/new", code="NB-3", name="Phòng 3",
                    parent=str(o.province.id), kind="")
    assert created.status_code == 302
    root = _post(client, "/roster/units/new", "/roster/units/new", code="TOP", name="Cấp trên",
                 parent="0", kind="")
    assert "Chỉ quản trị viên mới có thể tạo đơn vị cấp cao nhất" in _text(root)
    assert client.get(f"/roster/units/{o.other.id}").status_code == 404
    assert _post(client, f"/roster/units/{o.other.id}", "/roster/units", code="HN", name="Đổi tên",
                 parent="0", kind="").status_code == 404
    # Their own unit can be renamed, not moved.
    renamed = _post(client, f"/roster/units/{o.province.id}", f"/roster/units/{o.province.id}",
                    code="NB", name="Thanh tra tỉnh Ninh Bình (mới)", parent="0", kind="province")
    assert renamed.status_code == 302, _text(renamed)[:1000]
    merged = _post(client, f"/roster/units/{o.section_b.id}/merge", f"/roster/units/{o.section_b.id}",
                   **{"merge-target": str(o.section_a.id), "merge-confirm": "y"})
    assert merged.status_code == 302
    with app.app_context():
        codes = {unit.code: unit for unit in db.session.scalars(sa.select(OrgUnit))}
        assert codes["NB-3"].parent_id == o.province.id and "TOP" not in codes
        assert codes["NB"].name == "Thanh tra tỉnh Ninh Bình (mới)" and codes["NB"].parent_id is None
        assert codes["HN"].name == "Thanh tra TP Hà Nội"
        assert codes["NB-2"].merged_into_id == o.section_a.id


def test_the_unit_functions_refuse_a_scoped_actor_outside_their_scope(world):
    app, o, _client, officer, _officer_staff, _people = world
    with app.app_context():
        actor = _officer(app, officer)
        province, other = db.session.get(OrgUnit, o.province.id), db.session.get(OrgUnit, o.other.id)
        section = db.session.get(OrgUnit, o.section_a.id)
        attempts = [
            lambda: units.create_unit(code="X", name="X", parent=None, actor=actor),
            lambda: units.create_unit(code="X", name="X", parent=other, actor=actor),
            lambda: units.update_unit(other, name="Y", parent=None, kind="", actor=actor),
            lambda: units.update_unit(province, name=province.name, parent=other, kind="", actor=actor),
            lambda: units.update_unit(section, name=section.name, parent=other, kind="", actor=actor),
            lambda: units.merge_unit(section, other, actor=actor),
            lambda: units.merge_unit(province, section, actor=actor),
        ]
        for attempt in attempts:
            with pytest.raises(ScopeError):
                attempt()
        assert db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "X")) is None


# --- rules ----------------------------------------------------------------------------------------


def test_an_officer_makes_rules_for_their_units_only(world):
    app, o, client, officer, _officer_staff, _people = world
    form_page = _text(client.get("/admin/rules/new"))
    assert f'<option disabled value="{o.other.id}">' in form_page  # shown, cannot be chosen
    rule = {"course": str(o.course_id), "due_kind": "days", "due_days": "30", "confirm": "1"}
    outside = _post(client, "/admin/rules/new", "/admin/rules/new", units=str(o.other.id), **rule)
    assert "nằm ngoài các đơn vị bạn phụ trách" in _text(outside)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AssignmentRule)) == 0
    inside = _post(client, "/admin/rules/new", "/admin/rules/new", units=str(o.section_a.id), **rule)
    assert inside.status_code == 302
    with app.app_context():
        theirs = db.session.scalar(sa.select(AssignmentRule))
        assert [unit.code for unit in theirs.units] == ["NB-1"]
        national = make_rule(o, [])
        hanoi = make_rule(o, [db.session.get(OrgUnit, o.other.id)])
        db.session.commit()
        national_id, hanoi_id, theirs_id = national.id, hanoi.id, theirs.id
        with pytest.raises(ScopeError):
            rule_changes.create_rule(assign.RuleDraft(o.course_id, [], [], 30, None, None),
                                     actor=_officer(app, officer))
        db.session.rollback()
    listing = _text(client.get("/admin/rules"))
    assert listing.count("chỉ xem: quy tắc này áp dụng cả cho đơn vị ngoài phạm vi của bạn") == 2
    for rule_id in (national_id, hanoi_id):
        assert _post(client, f"/admin/rules/{rule_id}/deactivate", "/admin/rules").status_code == 403
    switched_off = _post(client, f"/admin/rules/{theirs_id}/deactivate", "/admin/rules", confirm="1")
    assert switched_off.status_code == 302
    with app.app_context():
        active = dict(db.session.execute(sa.select(AssignmentRule.id, AssignmentRule.active)).all())
        assert active == {theirs_id: False, national_id: True, hanoi_id: True}


# --- people: exemptions, certificates, enrolment, invitations ---------------------------------------


def _enrolment(app, o, staff: Staff, *, completed: bool = False) -> tuple[int, str]:
    with app.app_context():
        enrolment = assign.enrol(db.session.get(Staff, staff.id), o.course_id, EnrolmentSource.MANUAL)
        code = ""
        if completed:
            enrolment.state, enrolment.completed_at = EnrolmentState.COMPLETED, clock.now()
            code = f"CN-{enrolment.id:06d}"
            db.session.add(Certificate(enrolment=enrolment, code=code, holder_name=staff.full_name,
                                       course_title="Luật Thanh tra 2025"))
        db.session.commit()
        return enrolment.id, code


def test_an_officer_exempts_and_revokes_in_scope_only(world):
    app, o, client, officer, _officer_staff, people = world
    inside, _ = _enrolment(app, o, people["nb2"])
    outside, _ = _enrolment(app, o, people["hn"])
    _done, code_inside = _enrolment(app, o, people["nb1"], completed=True)
    with app.app_context():  # a certificate for the Hà Nội person, on another course
        hn_done = assign.enrol(db.session.get(Staff, people["hn"].id), o.optional_id, EnrolmentSource.MANUAL)
        hn_done.state, hn_done.completed_at = EnrolmentState.COMPLETED, clock.now()
        db.session.add(Certificate(enrolment=hn_done, code="CN-HN", holder_name="Lê Văn Ba",
                                   course_title="Kỹ năng mềm"))
        db.session.commit()
    page = f"/training/people/{people['nb2'].id}"
    assert _post(client, f"/training/enrolments/{inside}/exempt", page, reason="Đã học").status_code == 302
    assert _post(client, f"/training/enrolments/{outside}/exempt", page, reason="Đã học").status_code == 404
    assert _post(client, f"/certificates/{code_inside}/revoke", page, reason="Cấp nhầm").status_code == 302
    assert _post(client, "/certificates/CN-HN/revoke", page, reason="Cấp nhầm").status_code == 404
    with app.app_context():
        assert db.session.get(Enrolment, inside).state == EnrolmentState.EXEMPT
        assert db.session.get(Enrolment, outside).state != EnrolmentState.EXEMPT
        revoked = dict(db.session.execute(sa.select(Certificate.code, Certificate.revoked_at)).all())
        assert revoked[code_inside] is not None and revoked["CN-HN"] is None
        actor = _officer(app, officer)
        with pytest.raises(ScopeError):
            exemptions.exempt(db.session.get(Enrolment, outside), "x", actor=actor)
        with pytest.raises(ScopeError):
            certificates.revoke(certificates.by_code("CN-HN"), "x", actor=actor)
        with pytest.raises(ScopeError):
            assign.enrol(db.session.get(Staff, people["hn"].id), o.course_id, EnrolmentSource.MANUAL,
                         actor=actor)


def test_an_officer_enrols_the_people_of_their_units_only(world):
    app, o, client, _officer_user, _officer_staff, people = world
    for key, expected in (("nb1", 302), ("hn", 404)):
        staff = people[key]
        response = _post(client, f"/training/people/{staff.id}/enrol", f"/training/people/{people['nb1'].id}",
                         course=str(o.course_id), due_on="2027-01-31")
        assert response.status_code == expected, key
    with app.app_context():
        enrolled = set(db.session.scalars(sa.select(Enrolment.staff_id)))
        assert enrolled == {people["nb1"].id}


def test_an_officer_invites_in_scope_but_never_an_administrator(world, make_staff):
    app, o, client, _officer_user, _officer_staff, people = world
    newcomer = make_staff("Hồ Thị Mới", unit=o.section_b, email="moi@example.vn")
    stranger = make_staff("Vũ Văn Xa", unit=o.other, email="xa@example.vn")
    sent = _post(client, f"/roster/staff/{newcomer.id}/invite", f"/roster/staff/{newcomer.id}")
    assert sent.status_code == 302
    assert client.post(f"/roster/staff/{stranger.id}/invite",
                       data={"csrf_token": csrf_token(client, "/roster/")}).status_code == 404
    with app.app_context():
        db.session.execute(sa.update(User).where(User.staff_id == people["nb1"].id).values(role=Role.ADMIN))
        db.session.commit()
    refused = client.get(_post(client, f"/roster/staff/{people['nb1'].id}/invite",
                               f"/roster/staff/{people['nb1'].id}").headers["Location"])
    assert "có vai trò cao hơn vai trò của bạn" in _text(refused)
    with app.app_context():
        linked = set(db.session.scalars(sa.select(User.email).where(User.staff_id.is_not(None))))
        assert "moi@example.vn" in linked and "xa@example.vn" not in linked


# --- granting the role ----------------------------------------------------------------------------


def test_an_administrator_grants_the_officer_role_with_a_unit(world, make_user):
    app, o, client, _officer_user, _officer_staff, people = world
    staff = people["nb2"]
    assert _post(client, f"/roster/staff/{staff.id}/role", f"/roster/staff/{staff.id}",
                 role="officer", scope=str(o.province.id)).status_code == 403
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    page = _text(admin.get(f"/roster/staff/{staff.id}"))
    assert "Cán bộ phụ trách đào tạo" in page
    missing = _post(admin, f"/roster/staff/{staff.id}/role", f"/roster/staff/{staff.id}", role="officer",
                    scope="0")
    told = _text(admin.get(missing.headers["Location"]))
    assert "cán bộ phụ trách đào tạo cần được gắn với một đơn vị" in told
    granted = _post(admin, f"/roster/staff/{staff.id}/role", f"/roster/staff/{staff.id}", role="officer",
                    scope=str(o.section_b.id))
    assert granted.status_code == 302
    with app.app_context():
        account = db.session.scalar(sa.select(User).where(User.staff_id == staff.id))
        assert (account.role, account.scope_unit_id) == (Role.OFFICER, o.section_b.id)
