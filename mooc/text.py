"""Vietnamese text: normalising, diacritic-free folding, and Vietnamese sort order.

Names reach us from web forms, XLSX rosters and legacy Windows-1258 exports, so the
same name can arrive precomposed or decomposed, with odd whitespace, and with the tone
mark on either vowel ("Hòa" / "Hoà"). Everything here is standard library only: Python's
own ``sorted()`` orders by code point, which puts "Ánh" and "Đức" after "Zô", and a
full collation library (PyICU) is a heavy native dependency for one alphabet.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = [
    "clean",
    "fold",
    "name_sort_key",
    "nfc",
    "person_sort_key",
    "split_full_name",
    "vi_sort_key",
]


def nfc(s: str) -> str:
    """Return *s* in Unicode NFC.

    Legacy Windows-1258 text decodes to a base letter plus a combining tone mark;
    NFC makes it compare and index equal to what a browser sends.
    """
    return unicodedata.normalize("NFC", s)


def clean(s: str | None) -> str:
    """NFC, every run of Unicode whitespace (NBSP, tabs, newlines...) to one space, strip.

    Spreadsheet cells and pasted text carry NBSPs and doubled spaces that would
    otherwise make two spellings of one name look different. ``None`` becomes "".
    """
    if not s:
        return ""
    # str.split() with no argument splits on every character for which isspace() is true.
    return " ".join(nfc(s).split())


def name_key(s: str | None) -> str:
    """An e-mail address, a directory user name or a name typed to sign in, as it is stored and
    compared in any case: ``clean()`` (NFC, one space, stripped), lower-cased by Python.

    The one fold for such names, on both sides of every comparison: what is written (accounts,
    the roster, lock keys, audit targets, directory names) and what is looked up. Never SQL's
    ``lower()`` instead: SQLite's lowers ASCII only ('ĐÀO' stays 'ĐÀo'), and PostgreSQL's follows
    the database's LC_CTYPE (a "C" database lowers ASCII only too). SQL compares the stored,
    already folded values by plain equality (docs/architecture.md, "Names in any case")."""
    if not s:
        return ""
    if s.isascii():
        return " ".join(s.split()).lower()
    return nfc(clean(s).lower())


# --- folding ------------------------------------------------------------------------

# Combining marks used with Latin script; fold() drops them after NFD.
_MARKS_RE = re.compile(
    "["
    "\u0300-\u036f"  # Combining Diacritical Marks (all five Vietnamese tones are here)
    "\u1ab0-\u1aff"  # Combining Diacritical Marks Extended
    "\u1dc0-\u1dff"  # Combining Diacritical Marks Supplement
    "\u20d0-\u20ff"  # Combining Diacritical Marks for Symbols
    "\ufe20-\ufe2f"  # Combining Half Marks
    "]+"
)


@functools.lru_cache(maxsize=16384)
def _fold_word(word: str) -> str:
    # casefold first: it can emit combining marks (e.g. "İ" -> "i" + U+0307) that the
    # NFD + strip pass then removes. Đ/đ have no decomposition, so NFD leaves them
    # alone; Ð/ð (eth, U+00D0/U+00F0) look identical to Đ in upper case and turn up
    # in mistyped or converted data, so they fold to "d" as well.
    word = _MARKS_RE.sub("", unicodedata.normalize("NFD", word.casefold()))
    return word.replace("đ", "d").replace("ð", "d")


def fold(s: str) -> str:
    """Lower-case, diacritic-free form of *s*, for accent- and case-insensitive matching.

    Users type "nguyen van duc" for "Nguyễn Văn Đức"; both fold to the same string, and
    so do "Hòa"/"Hoà" (old and new tone placement) and "Khánh Hòa"/"KHÁNH HOÀ".
    It runs over whole rosters, so it is cached per word: Vietnamese has only a few
    thousand syllables, and a roster of 100,000 names repeats them constantly.
    """
    if s.isascii():
        return " ".join(s.lower().split())
    # A word of nothing but marks folds to "", which must not leave a double space.
    return " ".join([word for word in map(_fold_word, s.split()) if word])


# --- Vietnamese collation -----------------------------------------------------------

# Vietnamese alphabet, with f, j, w, z (loan words, foreign names) placed after the
# nearest Latin letter: f after e/ê, j after i, w after v, z after y.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_INDEX = {ch: i for i, ch in enumerate(_ALPHABET)}

# Marks that make a distinct letter of the alphabet (primary difference).
_LETTER_MARKS = {
    ("a", "\u0306"): "ă",  # breve
    ("a", "\u0302"): "â",  # circumflex
    ("e", "\u0302"): "ê",
    ("o", "\u0302"): "ô",
    ("o", "\u031b"): "ơ",  # horn
    ("u", "\u031b"): "ư",
}

# Tones (secondary difference), in dictionary order; 0 is "ngang" (no mark).
_TONES = {
    "\u0300": 1,  # huyền (grave)
    "\u0309": 2,  # hỏi (hook above)
    "\u0303": 3,  # ngã (tilde)
    "\u0301": 4,  # sắc (acute)
    "\u0323": 5,  # nặng (dot below)
}
_TONE_MARKS = {tone: mark for mark, tone in _TONES.items()}

# Primary weight classes: space < punctuation/symbols < digits < letters of the
# alphabet < any other letter. Within a class the weight is the sub-value below.
_CLASS = 0x110000 + 1
_W_SPACE = 0
_W_PUNCT = 1 * _CLASS  # + code point
_W_DIGIT = 2 * _CLASS  # + decimal value
_W_LETTER = 3 * _CLASS  # + index in _ALPHABET
_W_OTHER = 4 * _CLASS  # + code point of the lower-case base letter

# Per-character info: (kind, primary weight, tone, is_upper, other marks)
_LETTER, _MARK, _NONLETTER = 0, 1, 2
_CharInfo = tuple[int, int, int, int, str]


def _char_info(ch: str) -> _CharInfo:
    """Collation data for one (NFC) character."""
    if ch == " " or ch.isspace():
        return (_NONLETTER, _W_SPACE, 0, 0, "")
    if unicodedata.combining(ch) or unicodedata.category(ch) == "Mn":
        return (_MARK, 0, _TONES.get(ch, 0), 0, "")
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    upper = 1 if ch.isupper() else 0
    if base in "đĐðÐ":
        base = "đ"
    if base.isalpha():
        letter = base.lower()
        tone = 0
        other = ""
        for mark in marks:
            combined = _LETTER_MARKS.get((letter, mark))
            if combined is not None:
                letter = combined
            elif mark in _TONES and not tone:
                tone = _TONES[mark]
            else:
                other += mark
        index = _LETTER_INDEX.get(letter)
        if index is not None:
            weight = _W_LETTER + index
        else:
            weight = _W_OTHER + ord(letter[0])
            other = (letter[1:] + other) if len(letter) > 1 else other
        return (_LETTER, weight, tone, upper, other)
    if ch.isdecimal():
        return (_NONLETTER, _W_DIGIT + unicodedata.decimal(ch), 0, 0, "")
    return (_NONLETTER, _W_PUNCT + ord(ch), 0, 0, "")


# Precompute the blocks a Vietnamese text is made of (ASCII, Latin-1, Latin
# Extended-A/B, combining marks, Latin Extended Additional); anything else is
# computed on demand, uncached, so odd input cannot grow memory.
_CHAR_TABLE: dict[str, _CharInfo] = {
    chr(cp): _char_info(chr(cp))
    for lo, hi in ((0x0000, 0x024F), (0x0300, 0x036F), (0x1E00, 0x1EFF))
    for cp in range(lo, hi + 1)
}


@functools.lru_cache(maxsize=16384)
def vi_sort_key(s: str) -> tuple:
    """Sort key that orders text the way a Vietnamese dictionary or roster does.

    Three levels, each compared across the whole string before the next:

    1. letters: a ă â b c d đ e ê (f) g h i (j) k l m n o ô ơ p q r s t u ư v (w) x y (z),
       case-insensitive, with space < punctuation < digits < letters (so "An" < "Anh");
    2. tones, one per syllable, in the order ngang, huyền, hỏi, ngã, sắc, nặng
       (so "Ma" < "Mà" < "Mả" < "Mã" < "Má" < "Mạ", but "Mà" < "Mai");
    3. marks foreign to Vietnamese (ü, ç...), then case (lower before upper).

    Tones are keyed per syllable, not per character, so "Hòa" and "Hoà" get the same
    key. The text is clean()-ed first, so extra whitespace and NFD input do not matter.
    Cached: person_sort_key() calls it per name part, and those repeat a great deal.
    """
    text = clean(s)
    primary: list[int] = []
    tones: list[int] = []
    cases: list[int] = []
    others: list[str] = []
    has_other = False
    in_syllable = False
    table = _CHAR_TABLE
    for ch in text:
        info = table.get(ch)
        if info is None:
            info = _char_info(ch)
        kind, weight, tone, upper, other = info
        if kind == _LETTER:
            if not in_syllable:
                tones.append(tone)
                in_syllable = True
            elif tone:
                if tones[-1]:
                    # A second tone in one syllable is malformed; keep it visible.
                    other += _TONE_MARKS[tone]
                else:
                    tones[-1] = tone
            primary.append(weight)
            cases.append(upper)
            others.append(other)
            if other:
                has_other = True
        elif kind == _MARK:
            # A combining mark NFC could not compose (its base has no precomposed form).
            if in_syllable and tone and not tones[-1]:
                tones[-1] = tone
            elif others:
                others[-1] += ch
                has_other = True
            else:
                # Nothing to attach to: keep it as a symbol rather than drop it.
                primary.append(_W_PUNCT + ord(ch))
                cases.append(0)
                others.append("")
        else:
            in_syllable = False
            primary.append(weight)
            cases.append(0)
            others.append("")
    # Other marks are rare; keep the key small when there are none.
    return (tuple(primary), tuple(tones), tuple(others) if has_other else (), tuple(cases))


# --- personal names -----------------------------------------------------------------


def split_full_name(full: str) -> tuple[str, str, str]:
    """Split a Vietnamese full name into (family, middle, given).

    Vietnamese names are family name + zero or more middle names + given name, and
    people are listed by given name, so the parts must be told apart. The first word is
    taken as the family name (compound family names such as "Tôn Nữ" cannot be told
    from a middle name without a list), the last as the given name.
    """
    words = clean(full).split(" ")
    if not words[0]:
        return ("", "", "")
    if len(words) == 1:
        return ("", "", words[0])
    return (words[0], " ".join(words[1:-1]), words[-1])


def name_sort_key(family: str, middle: str, given: str) -> tuple:
    """Sort key for people: given name, then family name, then middle names.

    This is the order of Vietnamese class lists and rosters; each part is compared
    with vi_sort_key.
    """
    return (vi_sort_key(given), vi_sort_key(family), vi_sort_key(middle))


def person_sort_key(full_name: str) -> tuple:
    """Sort key for a full name as one string: name_sort_key(*split_full_name(full_name))."""
    return name_sort_key(*split_full_name(full_name))
