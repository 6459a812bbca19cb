"""Search on the database (run on SQLite and on PostgreSQL: the same assertions hold on both).

Each matching rule of the issue, the ranking tiers, highlighting, and what must never be
found: archived lessons and quiz text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.courses.models import Course, Lesson
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.search.index import rebuild
from mooc.search.models import SearchSection
from mooc.search.query import MAX_PAGE, search
from tests.courses.tree import lesson, write
from tests.search.corpus import make_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "courses")


@pytest.fixture
def site(app, corpus):
    sync(app, corpus)
    return app


def sync(app, root: Path) -> None:
    with app.app_context():
        sync_tree(root)
        db.session.commit()


def keys(app, text: str, course: str | None = None) -> list[str]:
    """Lesson keys found, in rank order (every page)."""
    with app.app_context():
        course_id = db.session.scalar(sa.select(Course.id).where(Course.key == course)) if course else None
        return [hit.lesson_key for hit in search(text, course_id, per_page=100).hits]


def first_hit(app, text: str):
    with app.app_context():
        return search(text).hits[0]


# --- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["thanh tra viên", "thanh tra vien", "THANH TRA VIÊN", "Thanh  Tra\tViên"])
def test_with_or_without_diacritics_and_in_any_case(site, text):
    assert set(keys(site, text)) == {
        "co-ban/thanh-tra-vien", "co-ban/doan-thanh-tra", "co-ban/ho-so", "chung/thanh-tra-vien-noi-bo",
    }


def test_d_matches_dj(site):
    assert keys(site, "dieu 7") == ["co-ban/khanh-hoa"]
    assert keys(site, "diem d") == ["co-ban/khanh-hoa"]
    assert keys(site, "ĐIỂM Đ") == ["co-ban/khanh-hoa"]


@pytest.mark.parametrize("text", ["Khánh Hòa", "Khánh Hoà", "khanh hoa", "KHÁNH HOÀ"])
def test_old_and_new_tone_placement_match(site, text):
    assert keys(site, text) == ["co-ban/khanh-hoa", "co-ban/ho-so"]  # the title first


def test_phrase_in_quotes_needs_the_words_adjacent_and_in_order(site):
    assert set(keys(site, "quyết định thanh tra")) >= {"co-ban/quyet-dinh", "co-ban/ra-soat"}
    assert keys(site, '"quyết định thanh tra"') == ["co-ban/quyet-dinh"]
    assert keys(site, "“quyet dinh thanh tra”") == ["co-ban/quyet-dinh"]  # typographic quotes
    assert keys(site, '"thanh tra quyết định"') == []  # the words, in another order
    assert keys(site, '"khánh hoà ngày"') == ["co-ban/khanh-hoa"]


def test_a_phrase_does_not_run_from_the_title_into_the_text(site):
    # Title "Rà soát", text "Thanh toán ...": never the phrase "soát thanh".
    assert keys(site, '"soát thanh"') == []
    assert "co-ban/ra-soat" in keys(site, "soát thanh")
    # Title "Làm việc tại Khánh Hòa", text "Đoàn đến ...".
    assert keys(site, '"hòa đoàn"') == []


def test_a_word_ending_in_a_star_is_a_prefix(site):
    assert keys(site, "niê") == []
    assert keys(site, "niê*") == ["luu-tru/tai-lieu-mat"]
    assert keys(site, "NIE*") == ["luu-tru/tai-lieu-mat"]
    assert keys(site, "n*") == []  # one letter is not a prefix: it is the word "n"


def test_filter_by_course(site):
    assert keys(site, "thanh tra viên", course="ksnb") == ["chung/thanh-tra-vien-noi-bo"]
    assert "chung/thanh-tra-vien-noi-bo" not in keys(site, "thanh tra viên", course="luat")


def test_every_word_must_appear(site):
    assert keys(site, "thanh tra viên niêm") == []
    assert set(keys(site, "hộp")) == {"luu-tru/tai-lieu-mat", "chung/thanh-tra-vien-noi-bo"}  # hộp, hợp


# --- ranking -------------------------------------------------------------------------------


def test_title_ranks_above_heading_above_a_passing_mention(site):
    assert keys(site, "thanh tra viên") == [
        "co-ban/thanh-tra-vien",  # in the title, and in more sections than...
        "chung/thanh-tra-vien-noi-bo",  # ...this one, also in the title
        "co-ban/doan-thanh-tra",  # in a heading
        "co-ban/ho-so",  # in passing, in the text
    ]


def test_words_side_by_side_rank_above_scattered_ones(site):
    with site.app_context():
        ids = dict(db.session.execute(sa.select(Lesson.key, Lesson.id)).all())
    # "tra cứu quyết định" as written in co-ban/ra-soat; scattered in the other ("nghiên cứu
    # kỹ quyết định trước khi tra"), whose lower id would otherwise put it first.
    assert ids["chung/thanh-tra-vien-noi-bo"] < ids["co-ban/ra-soat"]
    assert keys(site, "tra cứu quyết định") == ["co-ban/ra-soat", "chung/thanh-tra-vien-noi-bo"]
    assert keys(site, "cứu tra") == ["chung/thanh-tra-vien-noi-bo", "co-ban/ra-soat"]  # not side by side


def test_more_words_in_the_title_rank_first(site, corpus):
    write(corpus, "luat/03-ke-hoach/module.md", "---\ntitle: Kế hoạch\n---\n")
    write(corpus, "luat/03-ke-hoach/01-chi-tiet.md", lesson("Chi tiết", "Đoàn thanh tra lập kế hoạch.\n"))
    write(corpus, "luat/03-ke-hoach/02-ke-hoach.md", lesson("Kế hoạch", "Đoàn thanh tra lập kế hoạch.\n"))
    sync(site, corpus)
    # No title holds every word: "Đoàn thanh tra" holds three, "Kế hoạch" two (and wins over
    # the lower id of "Chi tiết", which holds none).
    assert keys(site, "kế hoạch đoàn thanh tra") == [
        "co-ban/doan-thanh-tra", "ke-hoach/ke-hoach", "ke-hoach/chi-tiet",
    ]


def test_a_lesson_appears_once_with_its_best_section(site):
    hit = first_hit(site, "vai trò thanh tra viên")
    assert hit.lesson_key == "co-ban/doan-thanh-tra" and hit.anchor == "u-vai-tro-cua-thanh-tra-vien"
    assert keys(site, "đoàn") .count("co-ban/doan-thanh-tra") == 1


def test_a_title_match_lands_on_the_top_of_the_lesson(site):
    hit = first_hit(site, "rà soát")
    assert hit.lesson_key == "co-ban/ra-soat" and hit.anchor == ""


def test_a_match_in_a_section_lands_on_its_heading(site):
    hit = first_hit(site, "bổ nhiệm trung thực")
    assert hit.lesson_key == "co-ban/thanh-tra-vien"
    assert hit.anchor == "u-tieu-chuan-bo-nhiem"
    assert str(hit.heading) == "Tiêu chuẩn <mark>bổ nhiệm</mark>"


# --- highlighting --------------------------------------------------------------------------


def test_matched_words_are_marked_as_written(site):
    hit = first_hit(site, "khanh hoa")
    assert str(hit.title) == "Làm việc tại <mark>Khánh Hòa</mark>"
    assert str(hit.snippet) == "Đoàn đến <mark>Khánh Hoà</mark> ngày 5/3."
    hit = first_hit(site, "thanh tra vien")
    assert str(hit.title) == "<mark>Thanh tra viên</mark>"


def test_snippets_escape_the_text(site):
    hit = first_hit(site, "so sánh")
    assert hit.anchor == "u-so-sanh"
    assert str(hit.snippet) == (
        "<mark>So sánh</mark> x &lt; y &amp;&amp; z rồi ghi &lt;script&gt;alert(1)&lt;/script&gt; "
        "vào <mark>sổ</mark>."  # "so" is "sổ" too
    )
    hit = first_hit(site, "script alert")
    assert "<script>" not in str(hit.snippet)
    assert "&lt;<mark>script</mark>&gt;<mark>alert</mark>(1)" in str(hit.snippet)


# --- what is never found -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Nemo", "Nautilus", "tàu ngầm", "hoa tiêu", "lái tàu", "Kiểm tra nhanh"])
def test_quiz_questions_answers_and_explanations_are_not_indexed(site, text):
    assert keys(site, text) == []
    with site.app_context():
        assert not db.session.scalar(
            sa.select(sa.func.count()).select_from(SearchSection).where(SearchSection.body_words.like("%nemo%"))
        )


def test_an_archived_lesson_leaves_the_index_and_comes_back_when_restored(site, corpus):
    assert keys(site, "niêm phong") == ["luu-tru/tai-lieu-mat"]
    source = corpus / "luat/02-luu-tru/01-tai-lieu-mat.md"
    text = source.read_text(encoding="utf-8")
    source.unlink()
    sync(site, corpus)
    assert keys(site, "niêm phong") == []
    with site.app_context():
        archived = db.session.scalar(sa.select(Lesson).where(Lesson.key == "luu-tru/tai-lieu-mat"))
        assert archived.archived
        assert not db.session.scalar(
            sa.select(sa.func.count()).select_from(SearchSection)
            .where(SearchSection.lesson_id == archived.id)
        )
    source.write_text(text, encoding="utf-8")
    sync(site, corpus)
    assert keys(site, "niêm phong") == ["luu-tru/tai-lieu-mat"]


def test_an_archived_course_leaves_the_index(site, corpus, tmp_path):
    shutil.move(corpus / "ksnb", tmp_path / "ksnb")
    sync(site, corpus)
    assert keys(site, "kiểm soát viên") == []
    shutil.move(tmp_path / "ksnb", corpus / "ksnb")
    sync(site, corpus)
    assert keys(site, "kiểm soát viên") == ["chung/thanh-tra-vien-noi-bo"]


def test_an_edited_lesson_is_found_by_its_new_text_only(site, corpus):
    write(corpus, "luat/01-co-ban/06-ra-soat.md", lesson("Rà soát", "Đối chiếu sổ sách kế toán.\n"))
    sync(site, corpus)
    assert keys(site, "sổ sách") == ["co-ban/ra-soat"]
    assert keys(site, "thanh toán") == []


def test_the_index_is_written_in_the_syncs_transaction(site, corpus):
    write(corpus, "luat/01-co-ban/06-ra-soat.md", lesson("Rà soát", "Đối chiếu sổ sách kế toán.\n"))
    with site.app_context():
        sync_tree(corpus)
        assert [h.lesson_key for h in search("sổ sách").hits] == ["co-ban/ra-soat"]  # seen inside it
        db.session.rollback()
    assert keys(site, "sổ sách") == []
    assert keys(site, "thanh toán") == ["co-ban/ra-soat"]


def test_an_unchanged_sync_rewrites_nothing(site, corpus):
    with site.app_context():
        before = sorted(db.session.scalars(sa.select(SearchSection.id)))
    sync(site, corpus)
    with site.app_context():
        assert sorted(db.session.scalars(sa.select(SearchSection.id))) == before


def test_rebuild_indexes_every_live_lesson_again(site):
    with site.app_context():
        db.session.execute(sa.delete(SearchSection))
        db.session.commit()
    assert keys(site, "thanh tra viên") == []
    with site.app_context():
        lessons, sections = rebuild()
        db.session.commit()
    assert lessons == 8 and sections == 13
    assert len(keys(site, "thanh tra viên")) == 4


def test_reindex_command(site):
    result = site.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 8 lesson(s) in 13 section(s)" in result.output


# --- hostile input and paging --------------------------------------------------------------


HOSTILE = [
    '"', '""', '"unclosed phrase', "*", "**thanh", "thanh**", "NEAR(thanh tra)", "thanh NEAR/2 tra",
    "title:thanh", "{title_words}: thanh", "-thanh", "thanh -tra", "(thanh", "thanh)", "thanh OR tra",
    "thanh AND NOT tra", "^thanh", "thanh & tra | !viên", "thanh <-> tra", "'thanh'", "thanh:*", "\\",
    "%", "_", "a" * 500, "thanh " * 100, "\x00thanh", "🙂", "ﬁ ß İ", "١٢٣", "'; DROP TABLE lessons; --",
]


def test_hostile_input_never_fails(site):
    with site.app_context():
        for text in HOSTILE:
            assert search(text).total >= 0, text
            search(text, page=3)
    # Punctuation only separates: "thanh-tra" is the phrase "thanh tra", "(viên)" the word.
    assert keys(site, "thanh-tra (viên)") == keys(site, '"thanh tra" viên') != []


def test_pages_of_results(site):
    with site.app_context():
        everything = [h.lesson_key for h in search("thanh", per_page=100).hits]
        assert len(everything) == 6
        pages = [[h.lesson_key for h in search("thanh", page=n, per_page=4).hits] for n in (1, 2, 3)]
        assert pages[0] + pages[1] == everything and pages[2] == []
        third = search("thanh", page=3, per_page=4)
        assert third.total == 6 and third.pages == 2
        assert search("thanh", page=10**9, per_page=4).page == MAX_PAGE
