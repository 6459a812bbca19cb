"""Tests for mooc.text: normalising, folding and Vietnamese sort order.

Every expected order below is written out by hand; none is computed with the
function under test.
"""

import unicodedata

import pytest

from mooc.text import (
    clean,
    fold,
    name_sort_key,
    nfc,
    person_sort_key,
    split_full_name,
    vi_sort_key,
)

GRAVE, HOOK, TILDE, ACUTE, DOT = "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"


def vi_sorted(items):
    return sorted(items, key=vi_sort_key)


# --- nfc ----------------------------------------------------------------------------


def test_nfc_composes_windows_1258_text():
    # Windows-1258 stores "ễ" as ê (0xEA) + combining tilde (0xDE), "ứ" as ư (0xFD) +
    # combining acute (0xEC); decoding gives decomposed text.
    raw = b"Nguy\xea\xden V\xe3n \xd0\xfd\xecc".decode("cp1258")
    assert raw == "Nguyê\u0303n Văn Đư\u0301c"
    assert raw != "Nguyễn Văn Đức"
    assert nfc(raw) == "Nguyễn Văn Đức"
    assert len(nfc(raw)) == len("Nguyễn Văn Đức") == 14


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a\xcc", "à"),
        (b"a\xd2", "ả"),
        (b"a\xde", "ã"),
        (b"a\xec", "á"),
        (b"a\xf2", "ạ"),
        (b"\xe2\xec", "ấ"),
        (b"\xe3\xf2", "ặ"),
        (b"\xf5\xcc", "ờ"),
        (b"\xdd\xd2", "Ử"),
    ],
)
def test_nfc_each_windows_1258_tone_byte(raw, expected):
    assert nfc(raw.decode("cp1258")) == expected


def test_nfc_leaves_composed_text_alone():
    assert nfc("Khánh Hòa") == "Khánh Hòa"
    assert nfc("") == ""


# --- clean --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Nguyễn Văn Đức", "Nguyễn Văn Đức"),
        ("  Nguyễn\u00a0\u00a0Văn\tĐức\n", "Nguyễn Văn Đức"),
        ("\u2003Lê\u3000Thị\r\n\u202fHà\u00a0", "Lê Thị Hà"),
        ("Trần \t \n Anh", "Trần Anh"),
        ("Nguye\u0302\u0303n", "Nguyễn"),
        ("", ""),
        (" \u00a0\t\n ", ""),
        (None, ""),
    ],
)
def test_clean(raw, expected):
    assert clean(raw) == expected


# --- fold ---------------------------------------------------------------------------

ALL_TONED_VOWELS = "aàảãáạăằẳẵắặâầẩẫấậeèẻẽéẹêềểễếệiìỉĩíịoòỏõóọôồổỗốộơờởỡớợuùủũúụưừửữứựyỳỷỹýỵ"
ALL_TONED_VOWELS_FOLDED = "a" * 18 + "e" * 12 + "i" * 6 + "o" * 18 + "u" * 12 + "y" * 6

# Vowel letter -> (base, letter-making mark, what fold must give).
VOWELS = {
    "a": ("a", "", "a"),
    "ă": ("a", "\u0306", "a"),
    "â": ("a", "\u0302", "a"),
    "e": ("e", "", "e"),
    "ê": ("e", "\u0302", "e"),
    "i": ("i", "", "i"),
    "o": ("o", "", "o"),
    "ô": ("o", "\u0302", "o"),
    "ơ": ("o", "\u031b", "o"),
    "u": ("u", "", "u"),
    "ư": ("u", "\u031b", "u"),
    "y": ("y", "", "y"),
}
TONES = ["", GRAVE, HOOK, TILDE, ACUTE, DOT]


def _every_toned_vowel():
    """(character, expected fold) for all 12 vowels x 6 tones x 2 cases."""
    for base, mark, folded in VOWELS.values():
        for tone in TONES:
            for b in (base, base.upper()):
                yield unicodedata.normalize("NFC", b + mark + tone), folded


def test_generated_vowels_are_the_72_precomposed_letters_each_case():
    chars = [ch for ch, _ in _every_toned_vowel()]
    assert len(chars) == 144
    assert len(set(chars)) == 144
    assert all(len(ch) == 1 for ch in chars)
    assert "".join(chars[0::2]) == ALL_TONED_VOWELS
    assert "".join(chars[1::2]) == ALL_TONED_VOWELS.upper()


@pytest.mark.parametrize(("char", "expected"), list(_every_toned_vowel()))
def test_fold_every_vowel_with_every_tone(char, expected):
    assert fold(char) == expected
    # The same letter decomposed (as from Windows-1258 or macOS) folds the same way.
    assert fold(unicodedata.normalize("NFD", char)) == expected


def test_fold_all_vowels_at_once():
    assert fold(ALL_TONED_VOWELS) == ALL_TONED_VOWELS_FOLDED
    assert fold(ALL_TONED_VOWELS.upper()) == ALL_TONED_VOWELS_FOLDED


def test_fold_d_with_stroke():
    assert fold("đ") == "d"
    assert fold("Đ") == "d"
    assert fold("Đặng Đình Đạt") == "dang dinh dat"
    # Capital eth looks exactly like Đ and turns up in converted data.
    assert fold("\u00d0ức") == "duc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Văn Đức", "nguyen van duc"),
        ("NGUYỄN VĂN ĐỨC", "nguyen van duc"),
        ("  Nguyễn\u00a0 Văn\t\tĐức\n", "nguyen van duc"),
        ("Nguyen  VAN duc ", "nguyen van duc"),
        (b"Nguy\xea\xden V\xe3n \xd0\xfd\xecc".decode("cp1258"), "nguyen van duc"),
        ("Khánh Hòa", "khanh hoa"),
        ("KHÁNH HOÀ", "khanh hoa"),
        ("Thừa Thiên Huế", "thua thien hue"),
        ("Bà Rịa – Vũng Tàu", "ba ria – vung tau"),
        ("", ""),
    ],
)
def test_fold(text, expected):
    assert fold(text) == expected


def test_fold_equates_old_and_new_tone_placement():
    assert fold("Hòa") == fold("Hoà") == "hoa"
    assert fold("Thủy") == fold("Thuỷ") == "thuy"
    assert fold("Khánh Hòa") == fold("KHÁNH HOÀ")


def test_fold_drops_other_latin_diacritics():
    assert fold("Müller Çelik") == "muller celik"
    assert fold("STRASSE") == fold("Straße")


# --- vi_sort_key: equal keys --------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hòa", "Hoà"),
        ("HÒA", "HOÀ"),
        ("Thủy", "Thuỷ"),
        ("Khánh Hòa", "Khánh Hoà"),
        ("Nguyễn Văn Đức", unicodedata.normalize("NFD", "Nguyễn Văn Đức")),
        ("Nguyễn Văn Đức", b"Nguy\xea\xden V\xe3n \xd0\xfd\xecc".decode("cp1258")),
        ("Nguyễn Văn Đức", "  Nguyễn\u00a0Văn \t Đức "),
    ],
)
def test_vi_sort_key_same_string(a, b):
    assert vi_sort_key(a) == vi_sort_key(b)


def test_vi_sort_key_tone_placement_sorts_as_one_string():
    # Both spellings of Hòa sit together, between "Hoa" and "Hỏa", in input order.
    names = ["Hỏa", "Hoà", "Hoa", "Hòa", "Hoá"]
    assert vi_sorted(names) == ["Hoa", "Hoà", "Hòa", "Hỏa", "Hoá"]


# --- vi_sort_key: letters -----------------------------------------------------------

ALPHABET = [
    "a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l", "m",
    "n", "o", "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z",
]  # fmt: skip


def test_letter_order_across_the_alphabet():
    assert len(ALPHABET) == 33
    assert vi_sorted(reversed(ALPHABET)) == ALPHABET
    scrambled = ALPHABET[16:] + ALPHABET[:16]
    scrambled = scrambled[1::2] + scrambled[0::2]
    assert vi_sorted(scrambled) == ALPHABET


def test_letter_order_upper_case():
    upper = [ch.upper() for ch in ALPHABET]
    assert vi_sorted(reversed(upper)) == upper


def test_letter_order_with_syllables():
    words = [
        "Anh", "Ăn", "Ẩn", "Bảo", "Cúc", "Dũng", "Đức", "Em", "Ê", "Fan", "Giang", "Hà",
        "Im", "Jack", "Kim", "Lan", "Minh", "Nam", "Oanh", "Ôn", "Ơn", "Phúc", "Quang",
        "Rạng", "Sơn", "Tâm", "Uyên", "Ưng", "Vy", "Wang", "Xuân", "Yến", "Zin",
    ]  # fmt: skip
    assert vi_sorted(reversed(words)) == words


def test_example_from_the_brief():
    names = ["Bùi", "Ấn", "Anh", "Ánh", "Ân", "Đức", "Dũng", "Zô", "Ă"]
    assert vi_sorted(names) == ["Anh", "Ánh", "Ă", "Ân", "Ấn", "Bùi", "Dũng", "Đức", "Zô"]
    # Python's own order (by code point) gets this wrong, which is why the key exists.
    assert sorted(names) != vi_sorted(names)


def test_d_with_stroke_after_d():
    assert vi_sorted(["Đức", "Dũng", "Đào", "Duy", "Ê"]) == ["Dũng", "Duy", "Đào", "Đức", "Ê"]


# --- vi_sort_key: tones and the levels ----------------------------------------------


def test_tone_order():
    expected = ["Ma", "Mà", "Mả", "Mã", "Má", "Mạ"]
    assert vi_sorted(["Mạ", "Má", "Mã", "Mả", "Mà", "Ma"]) == expected
    assert vi_sorted(["Mã", "Mạ", "Ma", "Má", "Mà", "Mả"]) == expected


def test_tone_order_on_letters_with_their_own_marks():
    assert vi_sorted(["Lệ", "Lế", "Lễ", "Lể", "Lề", "Lê"]) == ["Lê", "Lề", "Lể", "Lễ", "Lế", "Lệ"]
    assert vi_sorted(["Hựu", "Hứu", "Hữu", "Hửu", "Hừu", "Hưu"]) == [
        "Hưu", "Hừu", "Hửu", "Hữu", "Hứu", "Hựu",
    ]  # fmt: skip


def test_letters_weigh_more_than_tones():
    # "Mà" < "Mai": "ma" is a prefix of "mai", so the letters decide before the tone.
    assert vi_sorted(["Mai", "Mạ", "Mà", "Ma"]) == ["Ma", "Mà", "Mạ", "Mai"]
    # ă is a letter of its own: any tone on a comes before plain ă.
    assert vi_sorted(["Mă", "Mạ", "Mã"]) == ["Mã", "Mạ", "Mă"]
    assert vi_sorted(["Ân", "Ạn", "Ăn", "Án"]) == ["Án", "Ạn", "Ăn", "Ân"]


def test_letters_decide_across_the_whole_string_before_tones():
    # Letters: "ma an" < "ma anh", so the larger tone on the first syllable does not matter.
    assert vi_sorted(["Ma Anh", "Mà An"]) == ["Mà An", "Ma Anh"]


def test_tones_compared_left_to_right():
    # Same letters; the first syllable with a different tone decides.
    assert vi_sorted(["Mà Anh", "Ma Ánh", "Ma Anh"]) == ["Ma Anh", "Ma Ánh", "Mà Anh"]


def test_case_is_the_last_tie_breaker():
    assert vi_sorted(["Mà", "mà", "Ma", "ma"]) == ["ma", "Ma", "mà", "Mà"]
    # Case never outweighs letters or tones.
    assert vi_sorted(["mai", "Mà"]) == ["Mà", "mai"]
    assert vi_sorted(["mà", "Ma"]) == ["Ma", "mà"]
    assert vi_sorted(["KHÁNH HOÀ", "khánh hòa", "Khánh Hòa"]) == [
        "khánh hòa", "Khánh Hòa", "KHÁNH HOÀ",
    ]  # fmt: skip


def test_space_punctuation_digits_before_letters():
    items = ["Anh", "An-Bình", "An Bình", "An", "2", "Ánh", "10", "1 An"]
    # Digits compare digit by digit ("10" < "2"); space < punctuation < digits < letters.
    assert vi_sorted(items) == ["1 An", "10", "2", "An", "An Bình", "An-Bình", "Anh", "Ánh"]


def test_foreign_marks_rank_below_tones_and_letters():
    assert vi_sorted(["Mullers", "Müller", "Muller"]) == ["Muller", "Müller", "Mullers"]
    assert vi_sort_key("Müller") != vi_sort_key("Muller")


def test_other_scripts_after_the_latin_alphabet():
    assert vi_sorted(["Яна", "Zô", "An", "Ω"]) == ["An", "Zô", "Ω", "Яна"]


def test_empty_string_first():
    assert vi_sorted(["a", "", " "]) == ["", " ", "a"]
    assert vi_sort_key("") == vi_sort_key("   ")


# --- names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("Nguyễn Văn Đức", ("Nguyễn", "Văn", "Đức")),
        ("Lê Thị Thu Hà", ("Lê", "Thị Thu", "Hà")),
        ("Hà", ("", "", "Hà")),
        ("Trần Anh", ("Trần", "", "Anh")),
        ("  Lê \u00a0Thị\tThu   Hà \n", ("Lê", "Thị Thu", "Hà")),
        (unicodedata.normalize("NFD", "Trần Anh"), ("Trần", "", "Anh")),
        ("Tôn Nữ Thị Ngọc Hà", ("Tôn", "Nữ Thị Ngọc", "Hà")),
        ("", ("", "", "")),
        ("   ", ("", "", "")),
    ],
)
def test_split_full_name(full, expected):
    assert split_full_name(full) == expected


PEOPLE_IN_ORDER = [
    "Nguyễn Văn An",
    "Lê Văn Anh",
    "Trần Thị Ánh",
    "Phạm Thị Ân",
    "Vũ Văn Dũng",
    "Hoàng Minh Đức",
    "Lê Hà",
    "Nguyễn Thị Hà",
    "Nguyễn Văn Hà",
    "Đặng Thị Thu Hằng",
    "Bùi Thị Hoà",
    "Đỗ Thị Hòa",
]


def test_people_sorted_by_given_then_family_then_middle():
    shuffled = PEOPLE_IN_ORDER[7:] + PEOPLE_IN_ORDER[:7]
    shuffled = shuffled[1::2] + shuffled[0::2]
    assert shuffled != PEOPLE_IN_ORDER
    assert sorted(shuffled, key=person_sort_key) == PEOPLE_IN_ORDER
    backwards = PEOPLE_IN_ORDER[::-1]
    assert sorted(backwards, key=person_sort_key) == PEOPLE_IN_ORDER


def test_name_sort_key_from_separate_fields():
    people = [split_full_name(p) for p in reversed(PEOPLE_IN_ORDER)]
    ordered = sorted(people, key=lambda p: name_sort_key(*p))
    assert [" ".join(part for part in p if part) for p in ordered] == PEOPLE_IN_ORDER


def test_name_sort_key_priorities():
    # Given name beats family name ...
    assert name_sort_key("Trần", "Văn", "An") < name_sort_key("An", "Văn", "Bình")
    # ... family name beats middle names ...
    assert name_sort_key("Lê", "Văn", "An") < name_sort_key("Trần", "Thị", "An")
    # ... and middle names decide last.
    assert name_sort_key("Lê", "Thị", "An") < name_sort_key("Lê", "Văn", "An")


def test_person_sort_key_equates_tone_placement_and_whitespace():
    assert person_sort_key("Đỗ Thị Hòa") == person_sort_key(" Đỗ  Thị\u00a0Hoà ")
    assert person_sort_key("Đỗ Thị Hòa") == name_sort_key("Đỗ", "Thị", "Hoà")
