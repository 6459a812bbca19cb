"""The words of the search: one folding and one tokenizer for the index, the query and the
highlighter, so that SQLite, PostgreSQL and the snippets all see exactly the same words.

A word (token) is a run of letters and digits of the folded text (``mooc.text.fold``:
lower case, no diacritics, đ -> d), so "Thanh tra viên", "THANH TRA VIEN" and
"thanh-tra-viên" are the same three words, and "Hòa"/"Hoà" the same one. Neither database
tokenizes on its own: the index stores the words joined by single spaces, which FTS5's
``ascii`` tokenizer splits at the spaces and nowhere else, and PostgreSQL gets a tsvector
built here, word by word (no parser, no dictionary in between).

The highlighter needs, for every folded word, where it sits in the original text; folding
can change lengths (decomposed input, "ß" -> "ss"), so :func:`token_spans` folds character
by character and keeps, for each folded character, the span of the original it came from.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from mooc.text import fold

MAX_TOKEN_LENGTH = 60  # longer "words" (hashes, URLs run together) are neither indexed nor searched

_TOKEN_RE = re.compile(r"[^\W_]+")  # letters and digits of any script; "_" separates
_WORD_RE = re.compile(r"\S+")


def tokenize(folded: str) -> list[str]:
    """The words of an already folded text."""
    return [t for t in _TOKEN_RE.findall(folded) if len(t) <= MAX_TOKEN_LENGTH]


def tokens(text: str) -> list[str]:
    """The words of any text: fold, then split."""
    return tokenize(fold(text))


def index_text(text: str) -> str:
    """What the index stores for a text: its words joined by single spaces."""
    return " ".join(tokens(text))


def _fold_char(ch: str) -> str:
    if ch.isspace():
        return " "
    # fold() of one character does the casefold + NFD + mark stripping + đ -> d it does for
    # a word, so a word folded character by character equals the word folded whole.
    return fold(ch)


@functools.lru_cache(maxsize=16384)
def _word_spans(word: str) -> tuple[tuple[str, int, int], ...]:
    """The tokens of one whitespace-free piece of text, with offsets within it. Cached: a
    lesson repeats a few hundred syllables."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, ch in enumerate(word):
        folded = _fold_char(ch)
        if not folded:
            if ends and ends[-1] == index:
                ends[-1] = index + 1  # a combining mark belongs to the letter before it
            continue
        for piece in folded:
            out.append(piece)
            starts.append(index)
            ends.append(index + 1)
    folded_word = "".join(out)
    return tuple(
        (match.group(), starts[match.start()], ends[match.end() - 1])
        for match in _TOKEN_RE.finditer(folded_word)
        if len(match.group()) <= MAX_TOKEN_LENGTH
    )


def iter_token_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Each word of ``text`` (as :func:`tokens` finds them) with its start and end offsets
    in ``text``: what the highlighter marks."""
    for match in _WORD_RE.finditer(text):
        base = match.start()
        for token, start, end in _word_spans(match.group()):
            yield token, base + start, base + end


def token_spans(text: str) -> list[tuple[str, int, int]]:
    return list(iter_token_spans(text))
