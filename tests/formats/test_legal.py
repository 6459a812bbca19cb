"""The legal registry's format and the citation finder (mooc/formats/legal.py): pure text."""

from __future__ import annotations

import unicodedata
from datetime import date

from mooc.formats.legal import find_citations, number_key, parse_registry, status_on

REGISTRY = """\
documents:
  - number: 84/2025/QH15
    kind: Luật
    title: Luật Thanh tra
    issuer: Quốc hội
    signed: 25/06/2025
    in_force: 01/07/2025
    source: https://example.vn/84
    names: [Luật Thanh tra 2025]

  - number: 11/2022/QH15
    kind: Luật
    title: Luật Thanh tra
    issuer: Quốc hội
    signed: 2022-11-14
    in_force: 01/07/2023
    source: https://example.vn/11
    superseded:
      by: 84/2025/QH15
      from: 01/07/2025

  - number: 55/2025/NĐ-CP
    kind: Nghị định
    title: Chức năng của Bộ
    issuer: Chính phủ
    signed: 02/03/2025
    in_force: 01/03/2025
    source: https://example.vn/55
    superseded: {by: 84/2025/QH15, from: 01/01/2027, extent: partly}

unverified:
  - 216/2025/NĐ-CP
"""


def test_number_key_treats_every_spelling_of_one_number_alike():
    decomposed = unicodedata.normalize("NFD", "55/2025/NĐ-CP")
    assert {number_key(x) for x in ["55/2025/NĐ-CP", "55/2025/ND-CP", "55 / 2025 / nđ-cp", decomposed]} == {
        "55/2025/ND-CP"}
    assert number_key("84/2025/QH15") != number_key("84/2025/QH14")


def test_a_valid_registry_reads_every_field():
    registry, problems = parse_registry(REGISTRY, "courses/_phap-ly.yaml")
    assert problems == []
    old = registry.get("11/2022/qh15")
    assert old is not None and old.line == 11 and old.signed == date(2022, 11, 14)
    assert old.superseded is not None and old.superseded.by == ("84/2025/QH15",)
    assert old.superseded.since == date(2025, 7, 1) and old.superseded.extent == "wholly"
    assert registry.get("55/2025/ND-CP").number == "55/2025/NĐ-CP"  # found by the D spelling
    assert registry.known("216/2025/ND-CP") and registry.get("216/2025/NĐ-CP") is None
    assert registry.get("84/2025/QH15").names == ("Luật Thanh tra 2025",)


def test_status_on_a_day():
    registry, _ = parse_registry(REGISTRY)
    old, new, partly = (registry.get(n) for n in ("11/2022/QH15", "84/2025/QH15", "55/2025/NĐ-CP"))
    assert status_on(old, date(2025, 6, 30)).state == "in_force"
    gone = status_on(old, date(2025, 7, 1))
    assert gone.superseded and gone.by == ("84/2025/QH15",) and gone.since == date(2025, 7, 1)
    assert status_on(new, date(2025, 6, 30)).state == "not_yet"
    assert status_on(partly, date(2026, 12, 31)).state == "in_force"
    assert status_on(partly, date(2027, 1, 1)).state == "partly_superseded"


def problems_of(text: str) -> list[tuple[int, str]]:
    return sorted((p.line, p.code) for p in parse_registry(text, "courses/_phap-ly.yaml")[1])


def test_registry_problems_name_their_line():
    broken = REGISTRY.replace("kind: Nghị định", "kind: Công văn").replace(
        "signed: 25/06/2025", "signed: 31/02/2025").replace(
        "source: https://example.vn/11", "source: example.vn/11\n    colour: blue")
    assert problems_of(broken) == [
        (6, "legal-bad-date"),
        (17, "legal-bad-source"),
        (18, "legal-unknown-field"),
        (24, "legal-bad-kind"),
    ]


def test_missing_fields_duplicates_and_unknown_successors():
    # the last line joins `unverified`, where 84/2025/QH15 is a duplicate
    text = REGISTRY.replace("    issuer: Chính phủ\n", "").replace(
        "      by: 84/2025/QH15\n", "      by: 99/2025/QH15\n") + "  - 84/2025/QH15\n"
    assert problems_of(text) == [
        (18, "legal-unknown-successor"),
        (22, "legal-missing-field"),
        (32, "legal-duplicate"),
    ]


def test_a_broken_supersession_and_a_bad_number():
    text = REGISTRY.replace("from: 01/07/2025", "from: soon").replace(
        "number: 84/2025/QH15", "number: 84-2025")
    # 84/2025/QH15 left out, 55/2025/NĐ-CP names an unknown successor
    assert problems_of(text) == [(2, "legal-bad-number"), (18, "legal-bad-superseded"),
                                 (29, "legal-unknown-successor")]


def test_a_date_written_in_braces_is_an_error_not_a_crash():
    """`signed: {25/06/2025}` is YAML for a mapping; its message once went through str.format(),
    which took the braces for a placeholder and stopped the check with a KeyError."""
    registry, problems = parse_registry(REGISTRY.replace("signed: 25/06/2025", "signed: {25/06/2025}"))
    assert (6, "legal-bad-date") in [(p.line, p.code) for p in problems]  # (and what it replaces is unknown)
    assert "{'25/06/2025': None}" in problems[0].message and registry.get("84/2025/QH15") is None

def test_yaml_and_shape_errors():
    assert problems_of("documents:\n  - number: [1\n") == [(3, "legal-registry-yaml")]
    assert problems_of("- number: 84/2025/QH15\n") == [(1, "legal-registry-format")]


def test_citations_by_number_by_name_and_with_their_article():
    registry, _ = parse_registry(REGISTRY)
    body = (
        "Theo khoản 2 Điều 12 Luật Thanh tra 2025 và Nghị định số 55/2025/ND-CP,\n"
        "ngày 05/3/2020 (a date, not a number).\n"
        "```\n84/2025/QH15 inside code is not read\n```\n"
        "Luật Thanh tra số 11/2022/QH15 đã hết hiệu lực; xem Quyết định 774/QĐ-TTg.\n"
    )
    found = [(c.line, c.number, c.article) for c in find_citations(body, 10, registry)]
    assert found == [
        (10, "84/2025/QH15", "khoản 2 Điều 12"),
        (10, "55/2025/ND-CP", ""),
        (15, "11/2022/QH15", ""),
    ]
