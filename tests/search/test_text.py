"""The pure parts of search: words, the query language, sections, highlighting. No database."""

from __future__ import annotations

import unicodedata

import pytest

from mooc.courses.render import render
from mooc.search.index import tsvector_literal
from mooc.search.query import MAX_QUERY_LENGTH, MAX_TERMS, Term, parse_query
from mooc.search.sections import MAX_SECTION_WORDS, split_sections
from mooc.search.snippets import highlight, snippet
from mooc.search.tokens import index_text, token_spans, tokens
from mooc.text import fold

# --- words -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Nguyễn Văn Đức", "Khánh Hòa / KHÁNH HOÀ", unicodedata.normalize("NFD", "Thanh tra viên Hoà"),
    "Straße ﬁle İstanbul", "Ðiều 5, khoản 2; điểm đ", "84/2025/QH15", "a_b c-d e.f", "x\u00a0y\u2003z",
    "tỉnh\u0301\u0301 ", "",
])
def test_words_with_offsets_are_the_words_of_the_folded_text(text):
    spans = token_spans(text)
    assert [word for word, _, _ in spans] == tokens(text)
    for word, start, end in spans:  # each span folds back to its word
        assert tokens(text[start:end]) == [word]


def test_words_are_folded_letters_and_digits():
    assert tokens("Thanh tra viên (TTV), Điều 7!") == ["thanh", "tra", "vien", "ttv", "dieu", "7"]
    assert tokens("Hòa") == tokens("Hoà") == tokens(unicodedata.normalize("NFD", "HOÀ")) == ["hoa"]
    assert tokens("snake_case") == ["snake", "case"]
    assert tokens("x" * 61 + " y") == ["y"]  # too long to be a word
    assert fold("Đ") == "d"


def test_a_decomposed_mark_is_highlighted_with_its_letter():
    text = "Ho\u0300a"  # o + combining grave
    assert token_spans(text) == [("hoa", 0, 4)]


# --- the query language ------------------------------------------------------------------------


def terms(text: str) -> list[tuple[tuple[str, ...], bool]]:
    return [(term.words, term.prefix) for term in parse_query(text).terms]


def test_words_phrases_and_prefixes():
    assert terms("Thanh tra VIÊN") == [(("thanh",), False), (("tra",), False), (("vien",), False)]
    assert terms('"quyết định thanh tra" Hoà') == [
        (("quyet", "dinh", "thanh", "tra"), False), (("hoa",), False),
    ]
    assert terms("“Khánh Hòa”") == [(("khanh", "hoa"), False)]
    assert terms('"unclosed phrase') == [(("unclosed", "phrase"), False)]
    assert terms("quy* d* thanh-tra* 84/2025/QH15") == [
        (("quy",), True), (("d",), False), (("thanh", "tra"), True), (("84", "2025", "qh15"), False),
    ]
    assert terms("tra tra TRA") == [(("tra",), False)]


def test_syntax_characters_are_separators():
    for text in ['"', "*", "-", ":", "(", ")", "NEAR/3", "AND OR NOT", "'", "\\", "^", "{}", "&|!<->"]:
        for term in parse_query(text).terms:
            assert all(word.isalnum() for word in term.words), text
    assert terms("-thanh :tra (vien)") == [(("thanh",), False), (("tra",), False), (("vien",), False)]


def test_the_query_is_bounded():
    query = parse_query("từ " * 500)
    assert len(query.text) <= MAX_QUERY_LENGTH and query.cut
    query = parse_query(" ".join(f"w{n}" for n in range(30)))
    assert len(query.terms) == MAX_TERMS and query.cut
    assert not parse_query("thanh tra").cut


def test_terms_become_database_queries_from_words_only():
    term = Term(("thanh", "tra"), prefix=True)
    assert term.as_fts5() == '"thanh tra"*'
    assert term.as_tsquery() == "('thanh' <-> 'tra':*)"
    assert term.as_like() == "% thanh tra%"
    assert Term(("vien",)).as_like() == "% vien %"


def test_the_postgresql_vector_keeps_title_heading_and_body_apart():
    # title at 1-2, (empty heading), body from 7: "soat thanh" is never adjacent
    assert tsvector_literal(["ra", "soat"], [], ["thanh", "toan", "ra"]) == (
        "'ra':1A,9C 'soat':2A 'thanh':7C 'toan':8C"
    )


# --- sections ----------------------------------------------------------------------------------


def test_a_lesson_is_cut_at_its_h2_and_h3_headings():
    html = render(
        "Mở đầu[^1].\n\n## Mục A\n\nChữ **đậm**.\n\n### Mục con\n\nx\n\n#### Nhỏ hơn\n\ny\n\n[^1]: Ghi chú.\n"
    ).html
    sections = [(s.position, s.anchor, s.heading, s.body) for s in split_sections(html)]
    assert sections == [
        (0, "", "", "Mở đầu."),
        (1, "u-muc-a", "Mục A", "Chữ đậm."),
        (2, "u-muc-con", "Mục con", "x\nNhỏ hơn\ny\nGhi chú."),  # h4 stays in its section; no "1" or "↩"
    ]


def test_a_lesson_that_starts_with_a_heading_still_has_a_top_section():
    sections = split_sections(render("## Đầu\n\nNội dung.\n").html)
    assert [(s.anchor, s.body) for s in sections] == [("", ""), ("u-dau", "Nội dung.")]


def test_a_long_section_is_cut_into_parts():
    line = " ".join(["chữ"] * 1000)
    sections = split_sections(render("## Dài\n\n" + "\n\n".join([line] * 7)).html)
    assert [(s.anchor, len(tokens(s.body))) for s in sections] == [
        ("", 0), ("u-dai", MAX_SECTION_WORDS), ("u-dai", MAX_SECTION_WORDS), ("u-dai", 1000),
    ]


# --- highlighting ------------------------------------------------------------------------------


def test_highlight_marks_matches_as_written_and_escapes_the_rest():
    marks = parse_query('thanh tra vien "khanh hoa" <b>').highlighter()
    text = "<b>Thanh tra viên</b> ở KHÁNH HOÀ & Khánh Hòa"
    assert str(highlight(text, marks)) == (
        "&lt;<mark>b</mark>&gt;<mark>Thanh tra viên</mark>&lt;/<mark>b</mark>&gt; ở "
        "<mark>KHÁNH HOÀ</mark> &amp; <mark>Khánh Hòa</mark>"
    )


def test_a_phrase_is_marked_only_where_its_words_are_adjacent():
    marks = parse_query('"thanh tra"').highlighter()
    assert str(highlight("thanh toán, tra cứu, thanh tra", marks)) == (
        "thanh toán, tra cứu, <mark>thanh tra</mark>"
    )


def test_prefix_marks_the_whole_word():
    assert str(highlight("Quyết định quy định", parse_query("quy*").highlighter())) == (
        "<mark>Quyết</mark> định <mark>quy</mark> định"
    )


def test_snippet_shows_the_best_window():
    text = " ".join(f"w{n}" for n in range(100)) + " thanh tra " + " ".join(f"v{n}" for n in range(100))
    result = str(snippet(text, parse_query("thanh tra").highlighter(), words=12))
    assert result == "…w92 w93 w94 w95 w96 w97 w98 w99 <mark>thanh tra</mark> v0 v1…"


def test_snippet_prefers_the_window_with_more_terms():
    text = "alpha " + "x " * 50 + "alpha beta " + "y " * 50
    result = str(snippet(text, parse_query("alpha beta").highlighter(), words=10))
    assert "<mark>alpha beta</mark>" in result


def test_snippet_without_a_match_is_the_start_and_blocks_are_separated():
    text = "Dòng một.\nDòng hai có <&>.\n" + "z " * 100
    result = str(snippet(text, parse_query("không").highlighter(), words=6))
    assert result == "Dòng một. · Dòng hai có &lt;&amp;&gt;. · z…"
    assert str(snippet("", parse_query("x").highlighter())) == ""


def test_snippet_from_the_indexed_words_is_the_same_as_from_the_text():
    text = ("Mở đầu. " * 30) + "Thanh tra viên Hoà và KHÁNH HÒA, điều 5.\nDòng sau " + ("chữ " * 60)
    for typed in ("thanh tra vien", "khanh hoa", "dieu*", "mo dau", "không có"):
        marks = parse_query(typed).highlighter()
        assert snippet(text, marks, folded=index_text(text)) == snippet(text, marks), typed
    marks = parse_query("khanh hoa").highlighter()
    assert snippet(text, marks, folded="stale words") == snippet(text, marks)  # an old index: recomputed


def test_the_tsvector_is_built_as_word_by_word():
    import random

    from mooc.search.index import MAX_POSITION, _tsvector_literal_plain

    rng = random.Random(5)
    words = ["thanh", "tra", "ra", "soat", "a1", "x"]
    for size in (0, 1, 7, 300, MAX_POSITION - 3, MAX_POSITION + 40):
        title = [rng.choice(words) for _ in range(rng.randint(0, 5))]
        heading = [rng.choice(words) for _ in range(rng.randint(0, 5))]
        body = [rng.choice(words) for _ in range(size)]
        assert tsvector_literal(title, heading, body) == _tsvector_literal_plain(title, heading, body)
    assert tsvector_literal([], [], ["x"] * (MAX_POSITION + 5)).endswith(f"{MAX_POSITION}C,{MAX_POSITION}C")
