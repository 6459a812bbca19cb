"""The word-level diff of two versions of a lesson's text (mooc/courses/diffing.py)."""

from __future__ import annotations

import unicodedata

from mooc.courses.diffing import (
    ADDED,
    CHANGED,
    DELETED,
    INSERTED,
    MOVED,
    REMOVED,
    SAME,
    UNCHANGED,
    Piece,
    diff_text,
    diff_words,
    has_changes,
    same_words,
    with_context,
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def kinds(blocks):
    return [block.kind for block in blocks]


def test_one_changed_number_reads_as_one_deletion_and_one_insertion_with_diacritics_intact():
    """A decree replaced by another reads as the old number struck out and the new put in."""
    old = "Thời hạn thanh tra không quá 45 ngày theo Nghị định số 43/2023/NĐ-CP."
    new = "Thời hạn thanh tra không quá 30 ngày theo Nghị định số 216/2025/NĐ-CP."
    assert diff_words(old, new) == (
        Piece(SAME, "Thời hạn thanh tra không quá "),
        Piece(DELETED, "45"),
        Piece(INSERTED, "30"),
        Piece(SAME, " ngày theo Nghị định số "),
        Piece(DELETED, "43/2023/NĐ-CP"),  # a document's number is one word: one replaced by another
        Piece(INSERTED, "216/2025/NĐ-CP"),
        Piece(SAME, "."),
    )


def test_a_word_differing_only_by_its_tone_mark_is_a_change_of_that_word_alone():
    pieces = diff_words("Người được thanh tra có quyền", "Người được thanh tra có quyển")
    assert [p for p in pieces if p.op != SAME] == [Piece(DELETED, "quyền"), Piece(INSERTED, "quyển")]


def test_neighbouring_changed_words_are_one_change_not_fragments():
    pieces = diff_words("Chánh thanh tra tỉnh ký quyết định", "Tổng Thanh tra Chính phủ ký quyết định")
    assert pieces == (
        Piece(DELETED, "Chánh thanh"),  # two words, one change: the space between joins them
        Piece(INSERTED, "Tổng Thanh"),
        Piece(SAME, " tra "),
        Piece(DELETED, "tỉnh"),
        Piece(INSERTED, "Chính phủ"),
        Piece(SAME, " ký quyết định"),
    )


def test_the_same_words_precomposed_and_decomposed_are_not_a_change():
    text = ("Điều 12. Quyền của Đoàn thanh tra.\n"
            "Trưởng đoàn thanh tra chịu trách nhiệm trước người ra quyết định.")
    assert nfd(text) != text
    assert same_words(text, nfd(text))
    blocks = diff_text(text, nfd(text) + "\n\n   ")  # and spacing does not count either
    assert not has_changes(blocks)
    assert kinds(blocks) == [UNCHANGED, UNCHANGED]
    # a real change in a decomposed paragraph is shown in NFC, diacritics whole
    changed = diff_text(text, nfd(text.replace("Trưởng đoàn", "Phó trưởng đoàn")))
    assert kinds(changed) == [UNCHANGED, CHANGED]
    assert Piece(INSERTED, "Phó trưởng") in changed[1].pieces or Piece(INSERTED, "Phó ") in changed[1].pieces
    assert all(unicodedata.is_normalized("NFC", piece.text) for block in changed for piece in block.pieces)


def test_a_moved_paragraph_is_shown_once_as_moved_not_as_a_deletion_and_an_insertion():
    old = "Mở đầu về thanh tra.\nNguyên tắc khách quan.\nTrình tự ba bước.\nKết luận thanh tra."
    new = "Mở đầu về thanh tra.\nTrình tự ba bước.\nKết luận thanh tra.\nNguyên tắc khách quan."
    blocks = diff_text(old, new)
    assert [(b.kind, b.after) for b in blocks if b.kind != UNCHANGED] == [(MOVED, "Nguyên tắc khách quan.")]
    assert [b.after for b in blocks] == new.split("\n")  # the lesson as it is now, in order
    assert all(piece.op == SAME for block in blocks for piece in block.pieces)


def test_a_moved_paragraph_written_decomposed_is_still_moved():
    old = "Một.\nHai đoạn văn dời.\nBa."
    new = "Một.\nBa.\n" + nfd("Hai đoạn văn dời.")
    blocks = diff_text(old, new)
    # "Ba." or "Hai..." moved (either reading is true): one paragraph moved, nothing else
    assert sorted(kinds(blocks)) == [MOVED, UNCHANGED, UNCHANGED]
    assert [b.after for b in blocks] == ["Một.", "Ba.", "Hai đoạn văn dời."]  # NFC, in order


def test_unlike_paragraphs_are_removed_and_added_and_similar_ones_diffed():
    old = "Tiêu đề.\nĐoạn cũ nói về kiểm tra hồ sơ tài chính.\nĐoạn giữ nguyên."
    new = "Tiêu đề.\nPhần mới hoàn toàn về tiếp công dân.\nĐoạn giữ nguyên.\nĐoạn thêm ở cuối."
    blocks = diff_text(old, new)
    assert kinds(blocks) == [UNCHANGED, REMOVED, ADDED, UNCHANGED, ADDED]
    assert blocks[1].pieces == (Piece(DELETED, "Đoạn cũ nói về kiểm tra hồ sơ tài chính."),)
    assert blocks[4].pieces == (Piece(INSERTED, "Đoạn thêm ở cuối."),)


def test_only_the_changes_and_their_neighbours_are_shown():
    old = "\n".join(f"Đoạn {n}." for n in range(1, 11))
    new = old.replace("Đoạn 7.", "Đoạn bảy.")
    shown = with_context(diff_text(old, new), context=1)
    assert shown[0] is None and shown[-1] is None  # gaps before and after
    assert [b.after for b in shown if b is not None] == ["Đoạn 6.", "Đoạn bảy.", "Đoạn 8."]
    assert with_context(diff_text(old, old)) == [None]


def test_text_that_looks_like_html_stays_text():
    blocks = diff_text("Viết <b>đậm</b>.", "Viết <script>alert(1)</script>.")
    pieces = [p for b in blocks for p in b.pieces]
    assert Piece(INSERTED, "script") in pieces or any("script" in p.text for p in pieces)
    assert "".join(p.text for p in pieces if p.op != DELETED) == "Viết <script>alert(1)</script>."
