"""Precomputed search and sort keys for staff, so the database filters and paginates.

Search ignores diacritics and case (``fold``); lists sort the Vietnamese way (given name,
family name, middle names, with Vietnamese letter and tone order). Python can compute
both, but a page of 50 out of 100,000 people must come from an ``ORDER BY ... LIMIT``,
so each staff row stores its keys: ``search_text`` and ``sort_key``.

``sort_key`` encodes ``person_sort_key(full_name)`` as a string of ``0-9a-z`` whose plain
byte order is the tuple order: every integer is written with a fixed width per kind, and
every tuple ends with "0", which sorts before any other symbol (so a prefix sorts first).
Lower-case letters and digits compare the same way in the C collation and in the usual
locale collations; queries still say ``COLLATE "C"`` on PostgreSQL to be sure.
"""

from __future__ import annotations

import functools

from mooc.text import fold, split_full_name, vi_sort_key

SORT_KEY_LENGTH = 400
SEARCH_TEXT_LENGTH = 500

_DIGITS = "123456789abcdefghijklmnopqrstuvwxyz"  # 35 symbols, all above the terminator "0"
_BASE = len(_DIGITS)
_END = "0"

# Class boundaries of the primary weights in mooc.text (space < punct < digit < letter < other).
_CLASS = 0x110000 + 1


def _int(value: int, width: int) -> str:
    if width == 1 and 0 <= value < _BASE:
        return _DIGITS[value]
    if value < 0 or value >= _BASE ** width:
        raise ValueError(f"{value} does not fit in {width} symbols")
    out = []
    for _ in range(width):
        value, rest = divmod(value, _BASE)
        out.append(_DIGITS[rest])
    return "".join(reversed(out))


def _primary(weight: int) -> str:
    kind, sub = divmod(weight, _CLASS)
    if kind == 0:          # space
        return "1"
    if kind == 1:          # punctuation, by code point
        return "2" + _int(sub, 4)
    if kind == 2:          # digit 0-9
        return "3" + _int(sub, 1)
    if kind == 3:          # letter of the (extended) Vietnamese alphabet
        return "4" + _int(sub, 1)
    return "5" + _int(sub, 4)  # another letter, by code point


def _text_key(key: tuple) -> str:
    primary, tones, others, cases = key
    parts = ["".join(map(_primary, primary)), _END,
             "".join(_int(t, 1) for t in tones), _END]
    for other in others:  # a tuple of strings (marks foreign to Vietnamese), usually empty
        parts.append("1" + "".join(_int(ord(ch), 4) for ch in other) + _END)
    parts.append(_END)
    parts.append("".join(_int(c, 1) for c in cases))
    parts.append(_END)
    return "".join(parts)


@functools.lru_cache(maxsize=65536)
def _part_key(text: str) -> str:
    # Name parts repeat across a roster far more than whole names do: cache per part.
    return _text_key(vi_sort_key(text))


def sort_key(full_name: str) -> str:
    """An ASCII string whose byte order is the order of ``person_sort_key(full_name)``
    (given name, then family name, then middle names)."""
    family, middle, given = split_full_name(full_name)
    return (_part_key(given) + _part_key(family) + _part_key(middle))[:SORT_KEY_LENGTH]


def search_text(full_name: str, staff_code: str, email: str | None) -> str:
    """What the roster search matches against: diacritic-free, lower-case."""
    return fold(" ".join(filter(None, (full_name, staff_code, email or ""))))[:SEARCH_TEXT_LENGTH]


def search_words(query: str) -> list[str]:
    """The words of a search box, folded the same way (each must appear somewhere)."""
    return [word for word in fold(query or "").split(" ") if word][:8]
