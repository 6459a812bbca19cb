"""From progress to completion, certificates and their public check, records and access."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from pypdf import PdfReader

from mooc import clock
from mooc.auth.models import Role
from mooc.courses.models import Course
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.training import assign
from mooc.training.models import AssignmentRule, Certificate, Enrolment, EnrolmentState
from tests.conftest import count_queries, csrf_token, login
from tests.courses.tree import write
from tests.training.conftest import make_course

QUIZ_URL = "/courses/luat/quizzes/co-ban/kiem-tra"


def require(app, o, renew_months=None):
    from mooc.roster.models import OrgUnit

    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30, renew_months=renew_months)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()


def published_before(app, moment: datetime) -> None:
    """The fixture syncs the course at the real time; a test whose clock is set earlier dates
    the lessons' last change before it (a lesson re-marked done after it changed counts anew)."""
    from mooc.courses.models import Lesson

    with app.app_context():
        db.session.execute(sa.update(Lesson).values(updated_at=moment - timedelta(days=1)))
        db.session.commit()


def enrolment_of(app, staff_id: int, course_id: int) -> Enrolment:
    with app.app_context():
        row = db.session.scalar(
            sa.select(Enrolment)
            .where(Enrolment.staff_id == staff_id, Enrolment.course_id == course_id)
            .order_by(Enrolment.cycle.desc())
        )
        db.session.expunge_all()
        return row


def read_and_pass(client, app, right: bool = True):
    for key in ("co-ban/mot", "co-ban/hai"):
        page = f"/courses/luat/lessons/{key}"
        client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})
    take_quiz(client, app, right)


def take_quiz(client, app, right: bool = True):
    """Start the course's quiz and submit it, answered right or wrong."""
    start = client.post(f"{QUIZ_URL}/start", data={"csrf_token": csrf_token(client, QUIZ_URL)})
    attempt_url = start.headers["Location"]
    with app.app_context():
        from mooc.courses.models import Quiz

        quiz = db.session.scalar(sa.select(Quiz))
        choices = {c["text_md"]: c["key"] for c in quiz.questions[0]["choices"]}
    answer = choices["Thủ trưởng cơ quan thanh tra" if right else "Thanh tra viên"]
    client.post(f"{attempt_url}/submit", data={"csrf_token": csrf_token(client, attempt_url), "q-ky": answer})


def test_completing_lessons_and_quiz_completes_the_course_with_its_version(org, person):
    app, o = org
    staff, user = person(o.section_a, name="Phạm Thu Hà")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    page = "/courses/luat/lessons/co-ban/mot"
    client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.IN_PROGRESS
    read_and_pass(client, app, right=False)
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.IN_PROGRESS  # quiz failed
    read_and_pass(client, app, right=True)
    enrolment = enrolment_of(app, staff.id, o.course_id)
    assert enrolment.state == EnrolmentState.COMPLETED and enrolment.completed_at is not None
    with app.app_context():
        course = db.session.get(Course, o.course_id)
        assert enrolment.completed_version == course.content_hash
        certificate = db.session.scalar(
            sa.select(Certificate).where(Certificate.enrolment_id == enrolment.id)
        )
        assert certificate.holder_name == "Phạm Thu Hà" and certificate.course_title == "Luật Thanh tra 2025"
    # Editing the course afterwards never un-completes anyone.
    write(o.root, "luat/01-co-ban/03-ba.md", "---\ntitle: Bài ba\nminutes: 3\n---\n\n## A\n\nBa.\n")
    with app.app_context():
        sync_tree(o.root)
        db.session.commit()
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.COMPLETED


def test_completion_criteria_from_course_md(org, person, tmp_path):
    app, o = org
    make_course(o.root, extra="completion:\n  lessons: 1\n  quizzes: none\n")
    with app.app_context():
        sync_tree(o.root)
        db.session.commit()
    staff, user = person(o.section_a)
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    page = "/courses/luat/lessons/co-ban/hai"
    client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.COMPLETED


def test_unknown_quiz_in_completion_is_a_check_error(org):
    _app, o = org
    make_course(o.root, extra="completion:\n  quizzes: [co-ban/khong-co]\n")
    from mooc.courses.check import check_tree

    assert [p.code for p in check_tree(o.root).errors] == ["bad-completion"]


def test_a_renewal_cycle_needs_the_quiz_passed_again(org, person):
    app, o = org
    staff, user = person(o.section_a)
    require(app, o, renew_months=12)
    client = app.test_client()
    login(client, user.email)
    start = datetime(2026, 3, 2, 3, tzinfo=UTC)
    published_before(app, start)
    clock.set_now(start)
    read_and_pass(client, app)
    first = enrolment_of(app, staff.id, o.course_id)
    assert first.state == EnrolmentState.COMPLETED and first.expires_on == date(2027, 3, 2)
    clock.set_now(datetime(2027, 2, 20, 3, tzinfo=UTC))
    with app.app_context():
        assert assign.apply_rules().renewed == 1
        db.session.commit()
    login(client, user.email)
    page = "/courses/luat/lessons/co-ban/mot"
    client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})  # already done: no change
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.NOT_STARTED
    read_and_pass(client, app)
    second = enrolment_of(app, staff.id, o.course_id)
    assert (second.cycle, second.state) == (2, EnrolmentState.COMPLETED)
    assert second.expires_on == date(2028, 2, 20)


def test_trainee_home_orders_required_by_due_date_and_warns(org, person):
    app, o = org
    staff, user = person(o.section_a)
    require(app, o)
    with app.app_context():
        from mooc.roster.models import Staff

        assign.enrol(db.session.get(Staff, staff.id), o.optional_id, assign.EnrolmentSource.SELF)
        db.session.commit()
    client = app.test_client()
    login(client, user.email)
    page = client.get("/").get_data(as_text=True)
    assert "Khóa học bắt buộc" in page and "Luật Thanh tra 2025" in page
    assert "còn 30 ngày" in page and "Chưa bắt đầu" in page
    assert page.index("Luật Thanh tra 2025") < page.index("Kỹ năng mềm")
    clock.set_now(clock.now() + timedelta(days=40))
    login(client, user.email)
    page = client.get("/").get_data(as_text=True)
    assert "Quá hạn" in page and "quá hạn 10 ngày" in page
    assert "Khóa học “Luật Thanh tra 2025” đã quá hạn từ ngày" in page  # the warning at the top


def test_certificate_pdf_and_public_verification(org, person):
    app, o = org
    staff, user = person(o.section_a, name="Đặng Quốc Bảo", email="bao@example.vn")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    read_and_pass(client, app)
    with app.app_context():
        code = db.session.scalar(sa.select(Certificate.code))
    pdf = client.get(f"/certificates/{code}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Đặng Quốc Bảo" in text and "Luật Thanh tra 2025" in text and "CHỨNG NHẬN" in text
    assert code in text and f"/verify/{code}" in text
    anonymous = app.test_client()
    check = anonymous.get(f"/verify/{code}").get_data(as_text=True)
    assert "hợp lệ" in check and "Đặng Quốc Bảo" in check and "Luật Thanh tra 2025" in check
    for private in ("bao@example.vn", staff.staff_code, "Phòng 1", "Ninh Bình"):
        assert private not in check
    assert anonymous.get("/verify/AAAA-BBBB-CCCC").status_code == 404
    with app.app_context():
        certificate = db.session.scalar(sa.select(Certificate))
        certificate.revoked_at = clock.now()
        db.session.commit()
    assert "đã bị thu hồi" in anonymous.get(f"/verify/{code}").get_data(as_text=True)


def test_nobody_reads_another_persons_certificate_or_record(org, person, make_user):
    app, o = org
    staff, user = person(o.section_a)
    other_staff, other = person(o.section_b, name="Người Khác")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    read_and_pass(client, app)
    with app.app_context():
        code = db.session.scalar(sa.select(Certificate.code))
    intruder = app.test_client()
    login(intruder, other.email)
    assert intruder.get(f"/certificates/{code}.pdf").status_code == 404
    assert intruder.get(f"/training/people/{staff.id}").status_code == 404
    assert intruder.get(f"/training/people/{staff.id}/record.csv").status_code == 404
    outside = make_user(role=Role.MANAGER, scope_unit=o.other)
    manager_b = app.test_client()
    login(manager_b, outside.email)
    assert manager_b.get(f"/certificates/{code}.pdf").status_code == 404
    assert manager_b.get(f"/training/people/{staff.id}").status_code == 404
    inside = make_user(role=Role.MANAGER, scope_unit=o.province)
    manager_a = app.test_client()
    login(manager_a, inside.email)
    assert manager_a.get(f"/certificates/{code}.pdf").status_code == 200
    record = manager_a.get(f"/training/people/{staff.id}")
    assert record.status_code == 200 and "Luật Thanh tra 2025" in record.get_data(as_text=True)
    assert other_staff.id


def test_record_csv_is_excel_friendly_and_neutralises_formulas(org, person):
    app, o = org
    staff, user = person(o.section_a, name='=HYPERLINK("x")')
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    response = client.get(f"/training/people/{staff.id}/record.csv")
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff") and "Luật Thanh tra 2025" in body
    assert "'=HYPERLINK" in body and ",=HYPERLINK" not in body


def test_exemption_needs_an_admin_and_a_reason(org, person, make_user):
    app, o = org
    staff, user = person(o.section_a)
    require(app, o)
    enrolment = enrolment_of(app, staff.id, o.course_id)
    trainee = app.test_client()
    login(trainee, user.email)
    token = csrf_token(trainee, "/")
    assert (
        trainee.post(
            f"/training/enrolments/{enrolment.id}/exempt", data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 403
    )
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    token = csrf_token(admin, f"/training/people/{staff.id}")
    admin.post(f"/training/enrolments/{enrolment.id}/exempt", data={"csrf_token": token, "reason": ""})
    assert enrolment_of(app, staff.id, o.course_id).state == EnrolmentState.NOT_STARTED
    admin.post(
        f"/training/enrolments/{enrolment.id}/exempt",
        data={"csrf_token": token, "reason": "Đã học tại Trường Cán bộ Thanh tra"},
    )
    exempted = enrolment_of(app, staff.id, o.course_id)
    assert exempted.state == EnrolmentState.EXEMPT and exempted.exempt_reason.startswith("Đã học")


def test_rule_form_previews_before_saving(org, person, make_user):
    app, o = org
    person(o.section_a, name="Vũ Thị Hòa")
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    token = csrf_token(admin, "/admin/rules/new")
    form = {
        "csrf_token": token,
        "course": o.course_id,
        "units": [o.province.id],
        "due_kind": "days",
        "due_days": 60,
    }
    preview = admin.post("/admin/rules/new", data=form).get_data(as_text=True)
    assert "1 người thuộc phạm vi; 1 người sẽ được giao ngay" in preview and "Vũ Thị Hòa" in preview
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AssignmentRule)) == 0
    saved = admin.post("/admin/rules/new", data=form | {"confirm": "1"})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 1
    assert "Luật Thanh tra 2025" in admin.get("/admin/rules").get_data(as_text=True)


def test_history_import(org, person, tmp_path):
    app, o = org
    staff, _ = person(o.section_a)
    source = tmp_path / "lich-su.csv"
    source.write_text(
        f"Mã cán bộ;Khóa học;Ngày hoàn thành;Nguồn\n{staff.staff_code};LTT;15/01/2025;Lớp tập trung\n"
        f"999999;LTT;15/01/2025;x\n{staff.staff_code};KHONG;32/01/2025;x\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["training", "import-history", str(source), "--format", "json"])
    assert result.exit_code == 1
    import json

    errors = json.loads(result.output)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "Mã cán bộ"),
        (4, "Khóa học"),
        (4, "Ngày hoàn thành"),
    ]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
    source.write_text(
        f"Mã cán bộ;Khóa học;Ngày hoàn thành\n{staff.staff_code};LTT;15/01/2025\n", encoding="utf-8"
    )
    assert "1 to add" in runner.invoke(args=["training", "import-history", str(source), "--dry-run"]).output
    assert runner.invoke(args=["training", "import-history", str(source)]).exit_code == 0
    assert (
        "0 to add, 1 already recorded"
        in runner.invoke(args=["training", "import-history", str(source)]).output
    )
    enrolment = enrolment_of(app, staff.id, o.course_id)
    assert enrolment.state == EnrolmentState.COMPLETED and enrolment.source == "import"


def test_record_pdf_and_revoking_a_certificate(org, person, make_user):
    app, o = org
    staff, user = person(o.section_a, name="Lý Thị Mai")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    read_and_pass(client, app)
    pdf = client.get(f"/training/people/{staff.id}/record.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "HỒ SƠ ĐÀO TẠO" in text and "Lý Thị Mai" in text and "Luật Thanh tra 2025" in text
    with app.app_context():
        code = db.session.scalar(sa.select(Certificate.code))
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    token = csrf_token(admin, f"/training/people/{staff.id}")
    admin.post(f"/certificates/{code}/revoke", data={"csrf_token": token, "reason": ""})
    assert "hợp lệ" in app.test_client().get(f"/verify/{code}").get_data(as_text=True)
    admin.post(f"/certificates/{code}/revoke", data={"csrf_token": token, "reason": "Cấp nhầm người"})
    page = app.test_client().get(f"/verify/{code}").get_data(as_text=True)
    assert "đã bị thu hồi" in page and "Cấp nhầm người" not in page  # the reason stays internal


def test_the_home_page_query_count_does_not_grow_with_the_courses(org, person):
    """Progress of every course on the trainee's home page comes from a few queries, not four
    per course (counted once the process knows the courses' outlines: the first request that
    shows a course version reads its outline, mooc.training.outlines)."""
    from mooc.roster.models import Staff

    app, o = org
    staff, user = person(o.section_a)
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    client.get("/")
    one_course = count_queries(app, client, "/")
    with app.app_context():
        assign.enrol(db.session.get(Staff, staff.id), o.optional_id, assign.EnrolmentSource.SELF)
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Luật Thanh tra 2025" in page and "Kỹ năng mềm" in page
    assert count_queries(app, client, "/") == one_course
