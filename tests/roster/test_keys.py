"""The stored sort key orders people exactly as person_sort_key does, as plain strings."""

from __future__ import annotations

import random

from mooc.roster.keys import search_text, search_words, sort_key
from mooc.text import person_sort_key

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý", "Ân", "Ấn", "Tôn Nữ"]
MIDDLE = ["", "Văn", "Thị", "Hữu", "Đức", "Thị Thu", "Ngọc", "Minh", "Xuân"]
GIVEN = ["An", "Ân", "Ấn", "Anh", "Ánh", "Ảnh", "Ă", "Bình", "Đức", "Dũng", "Hòa", "Hoà", "Hoà",
         "Hưng", "Hương",
         "Ý", "Yến", "Zô", "Ðức", "an", "AN", "Müller", "O'Neil", "Thành-Long", "Văn2"]


def test_sort_key_order_is_person_sort_key_order():
    rng = random.Random(7)
    names = {" ".join(filter(None, (rng.choice(FAMILY), rng.choice(MIDDLE), rng.choice(GIVEN))))
             for _ in range(3000)}
    names |= {"An", "", "Anh", "A B", "Nguyễn  Văn   An"}
    by_tuple = sorted(names, key=lambda n: (person_sort_key(n), n))
    by_string = sorted(names, key=lambda n: (sort_key(n), n))
    assert by_string == by_tuple
    assert all(key.isascii() and key.isalnum() and key == key.lower() for key in map(sort_key, names))


def test_hoa_spellings_share_a_key_and_search_text():
    assert sort_key("Trần Thị Hòa") == sort_key("Trần Thị Hoà")
    assert search_text("Trần Thị Hòa", "001", None) == search_text("Trần Thị Hoà", "001",
                                                                   None) == "tran thi hoa 001"
    assert search_words("  Nguyễn   ĐỨC ") == ["nguyen", "duc"]
