"""A page that shows several separately rendered pieces of Markdown gives each its own ids.

Each question's text and explanation is rendered on its own at sync (quiz_content), and so are
a course's introduction and each module's: every one with a footnote used to carry ``u-fn:1``
and ``u-fnref:1``. On one page that made duplicate ids, and every footnote link jumped to the
first question's note. Parsed as a browser reads it: ids unique, every footnote link (and its
way back) lands inside its own piece.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from mooc.courses.render import render, scope_ids
from tests.conftest import login
from tests.courses.tree import make_tree, write
from tests.quizzes.test_taking import _sync, choice_keys, start, submit

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

QUIZ = """---
title: Kiểm tra chú thích
review: after_submit_with_key
---

## Ai ký quyết định thanh tra? {#ky}

Theo Luật Thanh tra[^1].

[^1]: Điều 48 Luật Thanh tra 2025.

- [ ] Thanh tra viên
- [x] Thủ trưởng cơ quan thanh tra

> Thủ trưởng ký[^1].
>
> [^1]: Khoản 1 Điều 48.

## Thời hạn ban hành kết luận? {#thoi-han}

Theo Nghị định[^1].

[^1]: Nghị định 43/2023/NĐ-CP.

- [x] 15 ngày
- [ ] 30 ngày

> Xem chú thích[^1].
>
> [^1]: Điều 20.
"""


class _Page(HTMLParser):
    """Every id, and every footnote link, with the rendered piece it is in (a 'prose' block:
    a question's text or explanation, a course's or module's introduction)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int | None]] = []  # (tag, the piece it opens or None)
        self.pieces = 0
        self.ids: list[tuple[str, int | None]] = []
        self.links: list[tuple[str, str, int | None]] = []  # (class, target id, piece)

    def piece(self) -> int | None:
        return next((p for _tag, p in reversed(self.stack) if p is not None), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        opens = None
        if "prose" in (attributes.get("class") or "").split():
            self.pieces += 1
            opens = self.pieces
        if tag not in VOID:
            self.stack.append((tag, opens))
        piece = opens or self.piece()
        if attributes.get("id"):
            self.ids.append((attributes["id"] or "", piece))
        kind = attributes.get("class") or ""
        if tag == "a" and kind in ("footnote-ref", "footnote-backref"):
            self.links.append((kind, (attributes.get("href") or "").removeprefix("#"), piece))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def _assert_each_note_is_its_own(html: str, pieces: int) -> None:
    page = _Page()
    page.feed(html)
    ids = [name for name, _piece in page.ids]
    assert len(ids) == len(set(ids)), sorted(name for name in ids if ids.count(name) > 1)
    where = dict(page.ids)
    refs = [link for link in page.links if link[0] == "footnote-ref"]
    assert len(refs) == pieces, page.links  # one note in each piece written with one
    for kind, target, piece in page.links:
        assert target in where, f"{kind} to #{target}: no such id"
        assert where[target] == piece, f"{kind} to #{target} leaves its piece"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = make_tree(tmp_path / "courses")
    write(root, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ)
    return root


@pytest.fixture
def site(make_app, tree):
    app = make_app(COURSES_DIR=str(tree))
    _sync(app, tree)
    return app


def test_the_questions_of_an_attempt_and_its_review_each_keep_their_own_notes(site, make_user):
    client = site.test_client()
    assert login(client, make_user().email).status_code == 302
    attempt_url = start(client)
    _assert_each_note_is_its_own(client.get(attempt_url).get_data(as_text=True), pieces=2)
    keys = choice_keys(site)
    submit(client, attempt_url, {"q-ky": keys["ky"]["Thủ trưởng cơ quan thanh tra"],
                                 "q-thoi-han": keys["thoi-han"]["15 ngày"]})
    review = client.get(attempt_url).get_data(as_text=True)
    assert "Khoản 1 Điều 48." in review  # the explanations are shown, each with its note
    _assert_each_note_is_its_own(review, pieces=4)


def test_a_course_and_its_modules_introductions_each_keep_their_own_notes(make_app, tree, make_user):
    write(tree, "luat/course.md", (tree / "luat/course.md").read_text(encoding="utf-8")
          + "\nTheo Luật[^1].\n\n[^1]: Luật 84/2025/QH15.\n")
    write(tree, "luat/01-co-ban/module.md", "---\ntitle: Cơ bản\n---\n\nChương một[^1].\n\n[^1]: Điều 1.\n")
    write(tree, "luat/02-nang-cao/module.md",
          "---\ntitle: Nâng cao\n---\n\nChương hai[^1].\n\n[^1]: Điều 2.\n")
    app = make_app(COURSES_DIR=str(tree))
    _sync(app, tree)
    client = app.test_client()
    assert login(client, make_user().email).status_code == 302
    page = client.get("/courses/luat").get_data(as_text=True)
    assert "Điều 2." in page
    _assert_each_note_is_its_own(page, pieces=3)


def test_a_piece_s_ids_are_scoped_in_its_tags_only():
    html = render("Theo Luật[^1], `id=\"u-x\" href=\"#u-y\"`.\n\n## Mục {#muc}\n\n[^1]: Điều 5.").html
    scoped = scope_ids(html, "q-ky")
    assert 'id="u-q-ky-fnref:1"' in scoped and 'href="#u-q-ky-fn:1"' in scoped and 'id="u-q-ky-muc"' in scoped
    assert '<code>id="u-x" href="#u-y"</code>' in scoped  # what the author wrote as text stays
    assert scope_ids("<p>Không có chú thích.</p>", "q-ky") == "<p>Không có chú thích.</p>"
