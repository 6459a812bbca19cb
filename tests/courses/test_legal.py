"""The legal basis of lessons: `mooc courses check` reports each kind of problem at its
path:line (a deliberately superseded document among them), the sync stores the registry and
each lesson's basis in its one transaction, and the lesson page shows the basis, its standing
and a notice when it is superseded, fresh after a re-sync and at no extra statement."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.courses.check import check_tree
from mooc.courses.models import Course, LegalDocument, Lesson, LessonLegalBasis
from mooc.courses.sync import SyncRefused, sync_tree
from mooc.extensions import db
from tests.conftest import count_queries, login
from tests.courses.tree import LAW_2022, LAW_2025, legal_entry, lesson, make_tree, write

# A test registry: 11/2022/QH15 is superseded (deliberately) from 01/07/2025; 30/2026/NĐ-CP (a
# test document) comes into force on 01/03/2027; 12/2026/TT-TTCP (another) is superseded from
# 01/01/2027 by 30/2026/NĐ-CP.
REGISTRY = (
    "documents:\n" + LAW_2025 + LAW_2022
    + legal_entry("30/2026/NĐ-CP", "Nghị định", "Nghị định thử", "Chính phủ", "01/12/2026", "01/03/2027")
    + legal_entry("12/2026/TT-TTCP", "Thông tư", "Thông tư thử", "Thanh tra Chính phủ", "02/01/2026",
                  "01/02/2026", superseded="by: 30/2026/NĐ-CP, from: 01/01/2027")
    + "unverified:\n  - 216/2025/NĐ-CP\n"
)
LESSON_PATH = "luat/01-co-ban/03-phap-ly.md"
LESSON_URL = "/courses/luat/lessons/co-ban/phap-ly"
TODAY = datetime(2026, 12, 5, 3, tzinfo=UTC)


@pytest.fixture(autouse=True)
def today():
    clock.set_now(TODAY)
    yield
    clock.set_now(None)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = make_tree(tmp_path / "courses")
    write(root, "_phap-ly.yaml", REGISTRY)
    return root


def legal_lesson(root: Path, front: str, body: str) -> None:
    write(root, LESSON_PATH, lesson("Căn cứ pháp lý", body, extra=front))


def problems(root: Path, as_of: date | None = None) -> list[tuple[str, int, str, str]]:
    return [(p.path, p.line, p.severity, p.code) for p in check_tree(root, as_of=as_of).problems]


def test_a_lesson_with_a_sound_basis_is_clean(tree):
    legal_lesson(tree, "legal: [84/2025/QH15, 216/2025/ND-CP]\nlegal_mentions: [11/2022/QH15]\n",
                 "## Căn cứ\n\nTheo Điều 5 Luật Thanh tra 2025, thay Luật Thanh tra số 11/2022/QH15;\n"
                 "Nghị định 216/2025/NĐ-CP hướng dẫn.\n")
    assert problems(tree) == []


def test_each_kind_of_problem_at_its_line(tree):
    legal_lesson(
        tree,
        "legal: [11/2022/QH15, 99/2026/QH15]\n",
        "## Căn cứ\n\nTheo khoản 1 Điều 5 Luật Thanh tra 2025.\n\nXem Nghị định 77/2024/NĐ-CP.\n"
        "Nhắc lại: Luật Thanh tra 2025.\n",
    )
    # line 4: `legal:`; "## Căn cứ" is line 7, the citations are on lines 9 and 11 (the second
    # citation of 84/2025/QH15, line 12, is not reported twice)
    assert problems(tree) == [
        ("courses/luat/01-co-ban/03-phap-ly.md", 4, "error", "legal-superseded"),
        ("courses/luat/01-co-ban/03-phap-ly.md", 4, "error", "legal-unknown"),
        ("courses/luat/01-co-ban/03-phap-ly.md", 9, "error", "legal-undeclared"),
        ("courses/luat/01-co-ban/03-phap-ly.md", 11, "error", "legal-unregistered"),
    ]
    messages = {p.code: p.message for p in check_tree(tree).problems}
    assert "superseded by 84/2025/QH15 from 01/07/2025" in messages["legal-superseded"]
    undeclared = messages["legal-undeclared"]
    assert undeclared.startswith("bài trích dẫn khoản 1 Điều 5 84/2025/QH15 (Luật Thanh tra) nhưng chưa")
    assert " / khoản 1 Điều 5 84/2025/QH15 (Luật Thanh tra) is cited but not declared" in undeclared


def test_registry_format_errors_are_reported_in_the_registry(tree):
    write(tree, "_phap-ly.yaml", REGISTRY.replace("kind: Thông tư", "kind: Công văn"))
    assert problems(tree) == [("courses/_phap-ly.yaml", 26, "error", "legal-bad-kind")]


def test_superseded_ahead_is_a_warning_and_as_of_looks_ahead(tree):
    legal_lesson(tree, "legal: [12/2026/TT-TTCP, 30/2026/NĐ-CP]\n",
                 "## Căn cứ\n\nThông tư 12/2026/TT-TTCP.\n")
    path = "courses/luat/01-co-ban/03-phap-ly.md"
    assert problems(tree) == [(path, 4, "warning", "legal-superseded-soon"),
                              (path, 4, "warning", "legal-not-in-force")]
    # on a day ahead the supersession has come: still a warning, since that day is not here
    assert problems(tree, as_of=date(2027, 3, 1)) == [(path, 4, "warning", "legal-superseded")]
    clock.set_now(datetime(2027, 3, 1, 3, tzinfo=UTC))  # the day has come: an error
    assert problems(tree) == [(path, 4, "error", "legal-superseded")]


def test_the_check_command_takes_as_of(make_app, tree):
    legal_lesson(tree, "legal: [12/2026/TT-TTCP]\n", "## Căn cứ\n\nThông tư 12/2026/TT-TTCP.\n")
    runner = make_app(COURSES_DIR=str(tree)).test_cli_runner()
    result = runner.invoke(args=["courses", "check", str(tree), "--as-of", "01/02/2027"])
    assert result.exit_code == 0, result.output
    assert ("courses/luat/01-co-ban/03-phap-ly.md:4: warning: vào ngày 01/02/2027, legal: 12/2026/TT-TTCP "
            "(Thông tư thử) bị thay thế bởi 30/2026/NĐ-CP từ ngày 01/01/2027") in result.output
    assert (" / on 01/02/2027, legal: 12/2026/TT-TTCP (Thông tư thử) is superseded by 30/2026/NĐ-CP "
            "from 01/01/2027") in result.output
    bad = runner.invoke(args=["courses", "check", str(tree), "--as-of", "2027-13-01"])
    assert bad.exit_code == 2 and "--as-of" in bad.output


def test_the_shipped_registry_verifies_what_the_shipped_courses_cite():
    root = Path(__file__).resolve().parents[2] / "courses"
    result = check_tree(root)
    assert result.errors == []
    assert len(result.registry.documents) >= 15
    for document in result.registry.documents.values():
        assert document.source.startswith("https://"), document.number
    cited = {number for course in result.courses for lesson_ in course.lessons() for number in lesson_.legal}
    assert {"84/2025/QH15", "91/2025/QH15", "30/2020/NĐ-CP"} <= cited


# --- the sync and the lesson page ---------------------------------------------------------------


def sync(app, root: Path):
    with app.app_context():
        report = sync_tree(root)
        db.session.commit()
    return report


@pytest.fixture
def site(make_app, tree, make_user):
    legal_lesson(tree, "legal: [84/2025/QH15, 12/2026/TT-TTCP, 216/2025/NĐ-CP]\n",
                 "## Căn cứ\n\nLuật Thanh tra 2025; Thông tư 12/2026/TT-TTCP; Nghị định 216/2025/NĐ-CP.\n")
    app = make_app(COURSES_DIR=str(tree))
    sync(app, tree)
    client = app.test_client()
    user = make_user(name="Nguyễn Văn An")
    assert login(client, user.email).status_code == 302
    client.email = user.email
    return app, client


def test_the_sync_stores_the_registry_and_each_lessons_basis(site, tree):
    app, _client = site
    with app.app_context():
        documents = {d.number: d for d in db.session.scalars(sa.select(LegalDocument))}
        assert set(documents) == {"84/2025/QH15", "11/2022/QH15", "30/2026/NĐ-CP", "12/2026/TT-TTCP",
                                  "216/2025/NĐ-CP"}
        old = documents["11/2022/QH15"]
        assert (old.superseded_from, old.superseded_by, old.superseded_extent) == (
            date(2025, 7, 1), ["84/2025/QH15"], "wholly")
        assert documents["216/2025/NĐ-CP"].verified is False
        basis = db.session.execute(
            sa.select(Lesson.key, LegalDocument.number)
            .join(LessonLegalBasis, LessonLegalBasis.lesson_id == Lesson.id)
            .join(LegalDocument, LegalDocument.id == LessonLegalBasis.document_id)
        ).all()
        assert sorted(basis) == [("co-ban/phap-ly", "12/2026/TT-TTCP"), ("co-ban/phap-ly", "216/2025/NĐ-CP"),
                                 ("co-ban/phap-ly", "84/2025/QH15")]
    # a lesson that drops a document from its basis loses it; one left out of the registry is archived
    legal_lesson(tree, "legal: [84/2025/QH15]\n", "## Căn cứ\n\nLuật Thanh tra 2025.\n")
    write(tree, "_phap-ly.yaml", REGISTRY.replace("  - 216/2025/NĐ-CP\n", ""))
    report = sync(app, tree)
    assert "legal document 216/2025/NĐ-CP" in report.archived
    with app.app_context():
        assert db.session.scalars(sa.select(LegalDocument.number).join(
            LessonLegalBasis, LessonLegalBasis.document_id == LegalDocument.id)).all() == ["84/2025/QH15"]
        assert db.session.scalar(sa.select(LegalDocument.archived).where(
            LegalDocument.number == "216/2025/NĐ-CP")) is True


def test_a_registry_with_errors_writes_nothing(make_app, tree):
    app = make_app(COURSES_DIR=str(tree))
    write(tree, "_phap-ly.yaml", REGISTRY.replace("in_force: 01/03/2027", "in_force: someday"))
    with app.app_context(), pytest.raises(SyncRefused) as refused:
        sync_tree(tree)
    assert [(p.path, p.code) for p in refused.value.problems] == [
        ("courses/_phap-ly.yaml", "legal-bad-date"), ("courses/_phap-ly.yaml", "legal-unknown-successor")]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalDocument)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 0


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_the_lesson_page_shows_the_basis_and_its_standing(site):
    _app, client = site
    html = page(client, LESSON_URL)
    assert "Căn cứ pháp lý" in html
    assert "Luật 84/2025/QH15" in html and "đang có hiệu lực" in html
    assert "bị thay thế" not in html and "legal-notice" not in html
    assert "216/2025/NĐ-CP" in html and "chưa xác minh" in html
    # the day 12/2026/TT-TTCP is superseded, the page says so and warns the trainee
    clock.set_now(datetime(2027, 1, 2, 3, tzinfo=UTC))
    assert login(client, client.email).status_code == 302  # a month later: signed in again
    html = page(client, LESSON_URL)
    assert "bị thay thế bởi 30/2026/NĐ-CP từ ngày 01/01/2027" in html
    assert 'class="flash flash-warning legal-notice" role="alert"' in html
    assert "Bài học này dựa trên văn bản pháp lý đã bị thay thế." in html
    # a lesson resting on nothing superseded shows no notice
    assert "legal-notice" not in page(client, "/courses/luat/lessons/co-ban/khai-niem")


def test_a_registry_change_shows_at_the_next_request_at_no_extra_statement(site, tree):
    app, client = site
    assert "legal-notice" not in page(client, LESSON_URL)  # the course's outline, basis included, cached
    before = count_queries(app, client, LESSON_URL)
    # the author marks 84/2025/QH15 partly superseded (only the registry changes)
    write(tree, "_phap-ly.yaml", REGISTRY.replace(
        "    names: [Luật Thanh tra 2025]\n",
        "    names: [Luật Thanh tra 2025]\n"
        "    superseded: {by: 30/2026/NĐ-CP, from: 01/12/2026, extent: partly}\n"))
    report = sync(app, tree)
    assert report.changed == ["legal document 84/2025/QH15"]  # no lesson changed
    assert "bị thay thế một phần bởi 30/2026/NĐ-CP từ ngày 01/12/2026" in page(client, LESSON_URL)
    assert count_queries(app, client, LESSON_URL) == before
