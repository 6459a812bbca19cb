"""Synthetic people for the demo and the benchmark: Vietnamese names at their real frequencies,
the 34 provinces (2025 map), the sections of an inspectorate, and the positions of the sector.

Pure data and a seeded draw; ``mooc demo --staff N`` and bench/generate.py both use it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from mooc.text import fold

# Family names and their approximate share of the population (per mille).
FAMILY = [
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 71),
    ("Hoàng", 41),
    ("Huỳnh", 10),
    ("Phan", 45),
    ("Vũ", 30),
    ("Võ", 9),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Đinh", 4),
    ("Trịnh", 4),
    ("Mai", 3),
    ("Cao", 3),
    ("Lương", 3),
    ("Đào", 3),
    ("Tạ", 2),
    ("Lâm", 2),
    ("Hà", 2),
    ("Tô", 2),
    ("Phùng", 2),
    ("Kiều", 1),
    ("Chu", 1),
    ("Triệu", 1),
    ("Quách", 1),
    ("Thái", 1),
    ("Lại", 1),
    ("Vương", 1),
]


def _words(text: str) -> list[str]:
    return text.split()


MIDDLE_MALE = [
    ("Văn", 40),
    ("Hữu", 8),
    ("Đức", 8),
    ("Minh", 8),
    ("Quốc", 6),
    ("Thanh", 5),
    ("Công", 5),
    ("Xuân", 4),
    ("Quang", 4),
    ("Ngọc", 3),
    ("Trọng", 3),
    ("Đình", 4),
    ("Mạnh", 2),
    ("Anh", 2),
    ("Hoàng", 2),
    ("Tuấn", 1),
    ("Duy", 2),
]
MIDDLE_FEMALE = [
    ("Thị", 45),
    ("Ngọc", 8),
    ("Thu", 7),
    ("Thanh", 6),
    ("Kim", 5),
    ("Thùy", 4),
    ("Minh", 4),
    ("Hồng", 4),
    ("Phương", 3),
    ("Bích", 3),
    ("Mỹ", 2),
    ("Diệu", 2),
    ("Khánh", 2),
    ("Hải", 2),
    ("Thảo", 2),
    ("Lan", 1),
]
GIVEN_MALE = _words(
    "An Bảo Bình Cường Chiến Công Dũng Duy Dương Đạt Đức Hải Hiếu Hiệp Hoàng Hùng Huy Khang Khánh Khoa Kiên "
    "Long Lộc Lực Minh Nam Nghĩa Nhân Phong Phúc Quân Quang Sơn Tài Thắng Thành Thiện Toàn Trung Tuấn Tùng "
    "Việt Vinh Vũ Hưng Hậu Tiến Thịnh Trí Tâm"
)
GIVEN_FEMALE = _words(
    "Anh Ánh Châu Chi Diệp Dung Giang Hà Hạnh Hằng Hiền Hoa Hòa Huệ Hương Huyền Lan Liên Linh Loan Mai My "
    "Nga Ngân Ngọc Nhung Oanh Phương Quyên Quỳnh Thảo Thơ Thu Thủy Trang Trâm Uyên Vân Xuân Yến Hồng Lệ Nhi "
    "Tuyết Vy"
)

# The 34 provinces and cities of the 2025 map; the six cities are "Thành phố".
CITIES = ["Hà Nội", "Huế", "Hải Phòng", "Đà Nẵng", "Hồ Chí Minh", "Cần Thơ"]
PROVINCES = CITIES + [
    "Lai Châu",
    "Điện Biên",
    "Sơn La",
    "Lạng Sơn",
    "Quảng Ninh",
    "Thanh Hóa",
    "Nghệ An",
    "Hà Tĩnh",
    "Cao Bằng",
    "Tuyên Quang",
    "Lào Cai",
    "Thái Nguyên",
    "Phú Thọ",
    "Bắc Ninh",
    "Hưng Yên",
    "Ninh Bình",
    "Quảng Trị",
    "Quảng Ngãi",
    "Gia Lai",
    "Khánh Hòa",
    "Lâm Đồng",
    "Đắk Lắk",
    "Đồng Nai",
    "Tây Ninh",
    "Vĩnh Long",
    "Đồng Tháp",
    "Cà Mau",
    "An Giang",
]
assert len(PROVINCES) == 34
BIG = {
    "Hà Nội": 3.0,
    "Hồ Chí Minh": 3.0,
    "Hải Phòng": 1.6,
    "Đà Nẵng": 1.4,
    "Cần Thơ": 1.3,
    "Thanh Hóa": 1.5,
    "Nghệ An": 1.5,
}

CENTRAL_SECTIONS = [
    "Văn phòng",
    "Vụ Tổ chức cán bộ",
    "Vụ Pháp chế",
    "Vụ Kế hoạch - Tổng hợp",
    "Cục Thanh tra khối kinh tế (Cục I)",
    "Cục Thanh tra khối nội chính (Cục II)",
    "Cục Thanh tra khối văn hóa - xã hội (Cục III)",
    "Cục Giải quyết khiếu nại, tố cáo",
    "Cục Phòng, chống tham nhũng",
    "Cục Giám sát, thẩm định và xử lý sau thanh tra",
    "Trường Cán bộ Thanh tra",
    "Ban Tiếp công dân Trung ương",
]
PROVINCE_SECTIONS = [
    "Văn phòng",
    "Phòng Nghiệp vụ 1",
    "Phòng Nghiệp vụ 2",
    "Phòng Nghiệp vụ 3",
    "Phòng Nghiệp vụ 4",
    "Phòng Tiếp công dân và xử lý đơn",
    "Phòng Giải quyết khiếu nại, tố cáo",
    "Phòng Phòng, chống tham nhũng",
    "Phòng Giám sát, kiểm tra và xử lý sau thanh tra",
    "Phòng Thanh tra kinh tế - xã hội",
]

POSITIONS = [  # code, title, rank, share of staff (per mille)
    ("CTT", "Chánh Thanh tra", 10, 8),
    ("PCTT", "Phó Chánh Thanh tra", 20, 25),
    ("TP", "Trưởng phòng", 30, 60),
    ("PTP", "Phó Trưởng phòng", 40, 110),
    ("TTVCC", "Thanh tra viên cao cấp", 50, 40),
    ("TTVC", "Thanh tra viên chính", 60, 220),
    ("TTV", "Thanh tra viên", 70, 350),
    ("CV", "Chuyên viên", 80, 187),
]


def _weighted(pairs: Sequence[tuple[str, int]]) -> tuple[list[str], list[int]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


class Names:
    """Realistic Vietnamese full names (male and female), drawn from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.family, self.family_w = _weighted(FAMILY)
        self.middle_m, self.middle_m_w = _weighted(MIDDLE_MALE)
        self.middle_f, self.middle_f_w = _weighted(MIDDLE_FEMALE)

    def draw(self) -> tuple[str, str, str]:
        rng = self.rng
        family = rng.choices(self.family, self.family_w)[0]
        if rng.random() < 0.5:
            middle = rng.choices(self.middle_m, self.middle_m_w)[0]
            given = rng.choice(GIVEN_MALE)
            if rng.random() < 0.15:
                middle += " " + rng.choice(["Minh", "Quốc", "Đức", "Hoàng", "Thanh"])
        else:
            middle = rng.choices(self.middle_f, self.middle_f_w)[0]
            given = rng.choice(GIVEN_FEMALE)
            if rng.random() < 0.2 and middle == "Thị":
                middle += " " + rng.choice(["Thu", "Ngọc", "Thanh", "Kim", "Minh", "Hồng"])
        return family, middle, given


def email_local(family: str, middle: str, given: str) -> str:
    """The part before @ of a generated address: given name, then initials ("an.nv")."""
    return fold(given).replace(" ", "") + "." + "".join(fold(w)[0] for w in (family + " " + middle).split())
