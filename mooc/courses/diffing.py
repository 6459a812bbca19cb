"""A readable word-level diff of two versions of a lesson's text, for people (not a patch).

Pure: takes the plain text the sync stores (``Lesson.text``: one line per paragraph, heading
or list item, no markup) and returns blocks of pieces; the template escapes every piece, so
nothing an author wrote in a lesson can reach the page as HTML through a diff.

- Text is compared in Unicode NFC with its whitespace collapsed: the same words written
  precomposed and decomposed (a file saved by another editor) are not a change.
- Paragraphs are aligned first (difflib over the paragraphs); a paragraph deleted in one
  place and inserted unchanged in another is shown once, where it is now, as moved.
- A paragraph replaced by a similar one is diffed word by word (difflib over word, space
  and punctuation tokens), so one changed article number reads as one <del>/<ins> pair;
  a paragraph with little in common with what it replaced is shown as removed and added.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher

from mooc.text import clean

SAME, INSERTED, DELETED = "same", "ins", "del"
# kinds of block
UNCHANGED, CHANGED, ADDED, REMOVED, MOVED = "unchanged", "changed", "added", "removed", "moved"
SIMILAR = 0.5  # below this word-level likeness a replaced paragraph is "removed" + "added"

# A document number or a date (84/2025/QH15, 55/2025/NĐ-CP, 01/07/2025) is one token: a law
# replaced by another reads as one number struck out and another put in, not as pieces.
_TOKEN_RE = re.compile(r"\w+(?:/[\w-]*\w)+|\w+|\s+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Piece:
    op: str  # SAME | INSERTED | DELETED
    text: str


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # UNCHANGED | CHANGED | ADDED | REMOVED | MOVED
    pieces: tuple[Piece, ...]

    @property
    def after(self) -> str:
        """The block as the lesson says it now (what was taken out left out)."""
        return "".join(piece.text for piece in self.pieces if piece.op != DELETED)


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs (its lines), NFC, whitespace collapsed, empty ones dropped."""
    return [line for line in (clean(raw) for raw in text.split("\n")) if line]


def tokens(text: str) -> list[str]:
    """Words (a document number or date whole), runs of whitespace and single punctuation marks
    (a word keeps its diacritics:
    ``\\w`` is Unicode-aware, and the text is NFC so a tone mark is part of its letter)."""
    return _TOKEN_RE.findall(text)


def same_words(old: str, new: str) -> bool:
    """Whether two texts say the same words in the same order (NFC; spacing and line breaks
    ignored: a paragraph re-wrapped in the source breaks its lines elsewhere in the text)."""
    return " ".join(paragraphs(old)) == " ".join(paragraphs(new))


def diff_words(old: str, new: str) -> tuple[Piece, ...]:
    """One paragraph against another, word by word. A space between two changes joins them,
    so "a b c" -> "x y c" reads as <del>a b</del><ins>x y</ins> c, not four fragments."""
    a, b = tokens(old), tokens(new)
    raw: list[tuple[str, str, str]] = []  # (tag, old text, new text)
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        raw.append((op, "".join(a[i1:i2]), "".join(b[j1:j2])))
    merged: list[list[str]] = []  # [tag, old, new] with "equal" or "change"
    for index, (tag, old_text, new_text) in enumerate(raw):
        between_changes = (
            tag == "equal" and old_text.isspace()
            and 0 < index < len(raw) - 1 and raw[index - 1][0] != "equal" and raw[index + 1][0] != "equal"
        )
        kind = "equal" if tag == "equal" and not between_changes else "change"
        if merged and merged[-1][0] == kind == "change":
            merged[-1][1] += old_text
            merged[-1][2] += new_text
        else:
            merged.append([kind, old_text, new_text])
    pieces: list[Piece] = []
    for kind, old_text, new_text in merged:
        if kind == "equal":
            pieces.append(Piece(SAME, old_text))
            continue
        if old_text:
            pieces.append(Piece(DELETED, old_text))
        if new_text:
            pieces.append(Piece(INSERTED, new_text))
    return tuple(pieces)


def likeness(old: str, new: str) -> float:
    """How much two paragraphs share, by words (0..1)."""
    a = [t for t in tokens(old) if not t.isspace()]
    b = [t for t in tokens(new) if not t.isspace()]
    return SequenceMatcher(None, a, b, autojunk=False).ratio() if a or b else 1.0


def diff_text(old: str, new: str) -> list[Block]:
    """The blocks of ``new`` with what changed since ``old`` marked (removed paragraphs in
    the place they had)."""
    a, b = paragraphs(old), paragraphs(new)
    opcodes = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    # Paragraphs both deleted somewhere and inserted elsewhere, word for word: moved.
    deleted = Counter(p for tag, i1, i2, _j1, _j2 in opcodes if tag in ("delete", "replace")
                      for p in a[i1:i2])
    inserted = Counter(p for tag, _i1, _i2, j1, j2 in opcodes if tag in ("insert", "replace")
                       for p in b[j1:j2])
    moved = deleted & inserted
    hidden = Counter(moved)  # their old places show nothing
    blocks: list[Block] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            blocks += [Block(UNCHANGED, (Piece(SAME, p),)) for p in a[i1:i2]]
            continue
        olds = []
        for p in a[i1:i2]:
            if hidden[p] > 0:
                hidden[p] -= 1
            else:
                olds.append(p)
        news: list[tuple[bool, str]] = []  # (moved here, paragraph)
        for p in b[j1:j2]:
            is_moved = moved[p] > 0
            if is_moved:
                moved[p] -= 1
            news.append((is_moved, p))
        blocks += _pair(olds, news)
    return blocks


def _pair(olds: list[str], news: list[tuple[bool, str]]) -> list[Block]:
    """A run of removed paragraphs against a run of new ones (each flagged when it moved
    here): each new paragraph takes the most alike old one after the last taken, if alike
    enough, and is diffed word by word against it."""
    out: list[Block] = []
    added: list[Block] = []  # new paragraphs like none of the old: after the removed ones
    start = 0  # olds before this index are placed
    for is_moved, new in news:
        if is_moved:
            out += added
            added = []
            out.append(Block(MOVED, (Piece(SAME, new),)))
            continue
        best, best_index = SIMILAR, -1
        for index in range(start, len(olds)):
            score = likeness(olds[index], new)
            if score >= best:
                best, best_index = score, index
        if best_index < 0:
            added.append(Block(ADDED, (Piece(INSERTED, new),)))
            continue
        out += [Block(REMOVED, (Piece(DELETED, old),)) for old in olds[start:best_index]]
        out += added
        added = []
        out.append(Block(CHANGED, diff_words(olds[best_index], new)))
        start = best_index + 1
    out += [Block(REMOVED, (Piece(DELETED, old),)) for old in olds[start:]]
    return out + added


def has_changes(blocks: list[Block]) -> bool:
    return any(block.kind != UNCHANGED for block in blocks)


def with_context(blocks: list[Block], context: int = 1) -> list[Block | None]:
    """The changed blocks and ``context`` unchanged ones either side; None where a run of
    unchanged blocks is left out (the page shows an ellipsis)."""
    keep = [False] * len(blocks)
    for index, block in enumerate(blocks):
        if block.kind != UNCHANGED:
            for near in range(max(0, index - context), min(len(blocks), index + context + 1)):
                keep[near] = True
    out: list[Block | None] = []
    for index, block in enumerate(blocks):
        if keep[index]:
            out.append(block)
        elif out and out[-1] is not None or (not out and index == 0):
            out.append(None)
    return out
