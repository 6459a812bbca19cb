"""Highlighting: the matched words of a text wrapped in <mark>, the rest HTML-escaped.

Works on the text as written (diacritics, capitals) by locating the query's folded words
in the folded text (tokens.token_spans keeps the offsets). Pure: no database, no Flask
beyond markupsafe.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

from markupsafe import Markup, escape

from mooc.search.tokens import iter_token_spans, token_spans

SNIPPET_WORDS = 36  # words shown around the best match
LEAD_WORDS = 8  # of which before the first matched word
ELLIPSIS = "…"
BLOCK_SEPARATOR = " · "  # between two blocks (paragraphs, list items, cells) of the body


class Terms:
    """What a highlighter looks for: sequences of folded words, the last one maybe a prefix."""

    def __init__(self, terms: Sequence[tuple[tuple[str, ...], bool]]) -> None:
        self.terms = list(terms)
        self.by_first: dict[str, list[int]] = {}
        self.prefixed_first: list[int] = []  # one-word prefix terms: checked at every word
        for index, (words, prefix) in enumerate(self.terms):
            if prefix and len(words) == 1:
                self.prefixed_first.append(index)
            else:
                self.by_first.setdefault(words[0], []).append(index)

    def matches(self, words: list[str]) -> list[tuple[int, int, int]]:
        """(first word, end word, term index) of every occurrence of a term in ``words``."""
        found = []
        by_first, prefixed = self.by_first, self.prefixed_first
        for i, word in enumerate(words):
            candidates = by_first.get(word)
            if prefixed:
                starting = [k for k in prefixed if word.startswith(self.terms[k][0][0])]
                if starting:
                    candidates = (candidates or []) + starting
            if not candidates:
                continue
            for k in candidates:
                term, prefix = self.terms[k]
                end = i + len(term)
                if end > len(words):
                    continue
                if words[i + 1:end - 1] != list(term[1:-1]):
                    continue
                last = words[end - 1]
                if last == term[-1] or (prefix and last.startswith(term[-1])):
                    found.append((i, end, k))
        return found


def _render(text: str, marks: list[tuple[int, int]], start: int, end: int) -> Markup:
    """text[start:end], escaped, with the (merged) character ranges in ``marks`` in <mark>."""
    out: list[str] = []
    position = start
    for mark_start, mark_end in marks:
        mark_start, mark_end = max(mark_start, start), min(mark_end, end)
        if mark_end <= mark_start or mark_start < position:
            continue
        out.append(str(escape(text[position:mark_start])))
        out.append(f"<mark>{escape(text[mark_start:mark_end])}</mark>")
        position = mark_end
    out.append(str(escape(text[position:end])))
    return Markup("".join(out).replace("\n", BLOCK_SEPARATOR))  # noqa: S704 (every piece is escaped)


def _char_marks(
    text: str, spans: list[tuple[str, int, int]], matches: list[tuple[int, int, int]]
) -> list[tuple[int, int]]:
    """Character ranges to mark; matches next to each other (only spaces between) make one."""
    ranges = sorted((spans[first][1], spans[last - 1][2]) for first, last, _ in matches)
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and (start <= merged[-1][1] or text[merged[-1][1]:start] == " "):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, terms: Terms) -> Markup:
    """The whole text with every match marked (for titles and headings)."""
    spans = token_spans(text)
    matches = terms.matches([word for word, _, _ in spans])
    return _render(text, _char_marks(text, spans, matches), 0, len(text))


def _window_start(matches: list[tuple[int, int, int]], words: int) -> int:
    """The first word of the window of ``words`` words around the best run of ``matches``."""
    best: tuple[int, int, int] | None = None
    reach = words - LEAD_WORDS
    for index, (first_word, _end, _k) in enumerate(matches[:200]):  # matches are in text order
        inside = [m for m in matches[index:index + reach] if m[1] <= first_word + reach]
        score = (len({m[2] for m in inside}), len(inside), -first_word)
        if best is None or score > best:
            best = score
    return max(0, -best[2] - LEAD_WORDS) if best else 0


def snippet(text: str, terms: Terms, words: int = SNIPPET_WORDS, folded: str | None = None) -> Markup:
    """About ``words`` words of ``text`` around its best match (the window that holds the
    most different terms, then the most matches, then the earliest), matches marked;
    the start of the text if nothing matches.

    ``folded`` is the text's words as indexed (tokens.index_text): with it, the window is
    found on those, and only the words up to its end are located in ``text``.
    """
    all_words = folded.split() if folded is not None else [word for word, _, _ in token_spans(text)]
    if not all_words:
        return Markup("")
    matches = terms.matches(all_words)
    first = _window_start(matches, words) if matches else 0
    last = min(len(all_words), first + words)
    spans = list(islice(iter_token_spans(text), last))
    if [word for word, _, _ in spans] != all_words[:last]:  # an index older than the tokenizer
        return snippet(text, terms, words) if folded is not None else Markup("")
    start = 0 if first == 0 else spans[first][1]
    end = len(text) if last == len(all_words) else spans[last - 1][2]
    shown = [m for m in matches if first <= m[0] and m[1] <= last]
    body = _render(text, _char_marks(text, spans, shown), start, end)
    return Markup("{}{}{}").format(ELLIPSIS if start > 0 else "", body, ELLIPSIS if end < len(text) else "")
