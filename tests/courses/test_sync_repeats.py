"""A cold sync does no step twice that gives the same answer twice, and still writes what it wrote.

Python-Markdown's inline processor tried each of its 16 patterns at every text node, and its
toc extension built a table of contents no page shows; the sync scanned and resolved each link
that check had just scanned and resolved; nh3 built a sanitiser per fragment; the search index
tokenized a section twice. Each shortcut is compared here with the plain way on the shipped
courses, the benchmark's generated courses, the test tree, the authoring guide and generated
Markdown made of the characters the patterns look for. No time is asserted (bench/courses_sync.py).
"""

from __future__ import annotations

import random
from pathlib import Path

import nh3
import pytest

from bench.courses_sync import generate
from mooc.courses import check as check_module
from mooc.courses import render
from mooc.courses.check import LinkMap, check_tree
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.search import sections
from mooc.search.tokens import tokens
from tests.courses.tree import make_tree

ROOT = Path(__file__).resolve().parent.parent.parent

# what the inline patterns and the toc look for, and what surrounds them
PIECES = [
    "*", "**", "_", "__", "`", "``", "\\", "\\*", "[", "]", "(", ")", "![", "[^1]", "<", ">", "&",
    "&amp;", "&#123;", "~~", "==", "=", "~", "^", "!", "#", "|", "  \n", "\n", "\n\n", "\t", "    ",
    "a", "b c", "Thanh tra", "<b>", "</b>", "<span>x</span>", "<!-- c -->", "http://x.vn",
    "<http://x.vn>", "<a@b.vn>", "[x](y.md)", "[x][y]", "[y]: /z", "[^1]: ghi chú", "*[TTCP]: T",
    "TTCP", "{: .x}", "{#id}", "# ", "## Mục ", "- ", "1. ", "> ", "!!! note\n    ", "??? tip\n    ",
    "| a | b |\n|---|---|\n| c | d |", "```\nmã\n```", "`mã`", "[TOC]", "\n[TOC]\n", "Từ\n:   nghĩa",
]


def generated_markdown(count: int, seed: int = 20) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40))) for _ in range(count)]


def documents(root: Path) -> list[tuple[Path, str, LinkMap]]:
    result = check_tree(root)
    assert not result.errors, result.errors[:3]
    docs = []
    for course in result.courses:
        for doc in [course.doc] + [m.doc for m in course.modules] + [i.doc for i in course.items()]:
            docs.append((doc.path, doc.body, result.links))
    return docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, LinkMap | None, Path | None]]:
    """(Markdown, its link map, its path) of every document the tests render."""
    generated = tmp_path_factory.mktemp("generated") / "courses"
    generate(generated, 3)
    docs = documents(ROOT / "courses") + documents(generated)
    docs += documents(make_tree(tmp_path_factory.mktemp("tree") / "courses"))
    found: list[tuple[str, LinkMap | None, Path | None]] = [(body, links, path) for path, body, links in docs]
    found.append(((ROOT / "docs" / "authoring.md").read_text(encoding="utf-8"), None, None))
    return found + [(text, None, None) for text in generated_markdown(3000)]


def converted(converter: render._Converter, corpus) -> list[tuple[str, list]]:
    out = []
    for body, links, path in corpus:
        resolver = links.resolver(path) if links else None
        media = links.media_resolver(path) if links else None
        out.append((converter.convert(body, resolver, media), getattr(converter.md, "toc_tokens", [])))
    return out


def test_the_inline_and_toc_shortcuts_render_what_python_markdown_renders(corpus, monkeypatch):
    plain = render._Converter(plain=True)
    assert type(plain.md.treeprocessors["inline"]).__name__ == "InlineProcessor"
    assert type(plain.md.treeprocessors["toc"]).__name__ == "TocTreeprocessor"
    expected = converted(plain, corpus)
    assert converted(render._Converter(), corpus) == expected  # HTML and headings, marker or not
    # a pattern whose expression the table does not know is tried with its own expression first
    monkeypatch.setattr(render, "INLINE_NEEDS", {})
    assert converted(render._Converter(), corpus) == expected
    assert any("[TOC]" in body and 'class="toc"' in html
               for (body, _l, _p), (html, _t) in zip(corpus, expected, strict=True))


def test_every_inline_pattern_of_this_markdown_is_skipped_by_what_it_needs():
    converter = render._Converter()
    converter.convert("x", None, None)
    checks = converter.md.treeprocessors["inline"].checks
    # an upgrade that changes a pattern's expression is still exact (tried with it), but slower:
    # then INLINE_NEEDS is brought up to date, here
    assert len(checks) == 16 and all(one for _pattern, one, _other, _exact in checks)


def test_one_sanitiser_for_every_fragment_cleans_as_nh3_clean(corpus):
    if not hasattr(nh3, "Cleaner"):
        pytest.skip("an nh3 before 0.3: nh3.clean per fragment")
    assert render._cleaner is not None  # built once
    converter = render._Converter()
    for html, _tokens in converted(converter, corpus[:400]):
        assert render.sanitize(html) == nh3.clean(html, **render.SANITISER_OPTIONS)


def test_a_sync_scans_and_resolves_each_link_once(app, tmp_path, monkeypatch):
    root = tmp_path / "courses"
    generate(root, 2)  # 30 lessons, each linking to the next but the last of a module
    scans: list[str] = []
    resolved: list[tuple[Path, str]] = []
    real_scan, real_resolve = check_module.scan_links, LinkMap.resolve

    def scan(body: str):
        scans.append(body)
        return real_scan(body)

    def resolve(doc_path: Path, target: str):
        resolved.append((doc_path.parent, target))
        return real_resolve(doc_path, target)

    monkeypatch.setattr(check_module, "scan_links", scan)
    monkeypatch.setattr(LinkMap, "resolve", staticmethod(resolve))
    with app.app_context():
        report = sync_tree(root)
        db.session.commit()
    assert report.rendered == 2 + 6 + 30 - 6  # courses, modules with a text (none), lessons
    assert len(scans) == 2 + 6 + 30  # check's, one per file: the sync hashes what check read
    assert len(resolved) == len(set(resolved))  # once per folder and target: check, hash, render
    assert len([target for _folder, target in resolved if target.endswith(".md")]) == 2 * 3 * 4


def test_a_sections_words_are_the_words_of_its_text():
    long = "<p>" + "</p><p>".join(f"Dòng {n}: thanh tra viên, công-chức Đà Nẵng" for n in range(900)) + "</p>"
    html = f"<p>Mở đầu</p><h2 id='u-a'>Mục A</h2>{long}<h3 id='u-b'>Mục B</h3><p>Hết.</p>"
    found = sections.split_sections(html)
    assert len(found) > 3  # the long section was cut
    for section in found:
        assert section.words == tokens(section.body)
    assert sum(len(s.words or []) for s in found) == len(tokens("\n".join(s.body for s in found)))
