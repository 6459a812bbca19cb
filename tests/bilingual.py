"""What an author's message looks like: Vietnamese first, then English ("vi / en").

``mooc courses check``, ``sync`` and ``import-gift`` print their messages through
``mooc.formats.problem.bilingual``; tests read either half with ``vietnamese()`` and
``english()``, and ``reads_vietnamese_first()`` says why a message is not in that form.
"""

from __future__ import annotations

import re
import unicodedata

SEPARATOR = " / "  # mooc.formats.problem.SEPARATOR: the contract, written here again

# Letters only Vietnamese uses among the two languages: đ, the vowels with a breve, circumflex or
# horn, and the five tones (NFC precomposed, or a combining mark left over from NFD).
VIETNAMESE_LETTER = re.compile(
    "[đĐăĂâÂêÊôÔơƠưƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ]"
)
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”|`[^`]*`")


def reads_vietnamese_first(message: str) -> str:
    """Why ``message`` is not "Vietnamese / English" ("" when it is)."""
    if not unicodedata.is_normalized("NFC", message):
        return "not NFC"
    if SEPARATOR not in message:
        return f"no {SEPARATOR.strip()!r} between Vietnamese and English"
    vi, en = (QUOTED.sub("", half) for half in message.split(SEPARATOR, 1))
    if not VIETNAMESE_LETTER.search(vi):
        return "no Vietnamese before the separator (outside quotes)"
    en = en.split(SEPARATOR, 1)[0]  # a shared tail may follow ("Sửa thành / write it as: ...")
    if len(re.findall(r"\b[A-Za-z]{2,}\b", en)) < 2:
        return "no English after the separator"
    if len(words := vietnamese_words(en)) > 3:
        return f"Vietnamese after the separator: {words}"
    return ""


def vietnamese_words(english_half: str) -> list[str]:
    """The Vietnamese words of an English half outside quotes and parentheses: it may name
    Vietnamese things ("khoản 1 Điều 5", a title, "55/2025/NĐ-CP"), not say them."""
    text = re.sub(r"\([^()]*\)", "", QUOTED.sub("", english_half))
    return [word for word in text.split() if VIETNAMESE_LETTER.search(word)]


def vietnamese(message: str) -> str:
    assert not (why := reads_vietnamese_first(message)), f"{why}: {message!r}"
    return message.split(SEPARATOR, 1)[0]


def english(message: str) -> str:
    assert not (why := reads_vietnamese_first(message)), f"{why}: {message!r}"
    return message.split(SEPARATOR, 1)[1]
