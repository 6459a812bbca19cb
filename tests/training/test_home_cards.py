"""The home page's course cards are kept under exactly the facts they show
(mooc/training/cards.py): a kept card is the card its macro renders, each person's card shows
their own progress and dates, and a macro cannot read a fact its key does not hold."""

from __future__ import annotations

import re
from pathlib import Path

from mooc.training.cards import Card
from tests.conftest import login
from tests.training.test_completion import require
from tests.training.test_home_fresh import _home, _mark_done, _progress_text

TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')
CARDS = Path(__file__).resolve().parents[2] / "mooc/training/templates/training/_home_cards.html"


def _cards(app) -> dict:
    return app.extensions["mooc.home_cards"].entries


def test_a_kept_card_is_the_card_its_macro_renders(org, person):
    app, o = org
    _staff, user = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    _mark_done(client, "co-ban/mot")
    first = TOKEN.sub("", _home(client))  # the cards rendered and kept
    kept = len(_cards(app))
    again = TOKEN.sub("", _home(client))  # from the cache
    assert kept and len(_cards(app)) == kept
    _cards(app).clear()
    fresh = TOKEN.sub("", _home(client))  # rendered again
    assert first == again == fresh
    assert _progress_text(fresh, "Luật Thanh tra 2025").startswith("1/2 bài học")


def test_people_with_the_same_facts_share_a_card_and_others_get_their_own(org, person):
    app, o = org
    _staff, first = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    _staff, second = person(o.section_b, name="Lê Thị Hai", email="hai@example.vn")
    require(app, o)
    one, two = app.test_client(), app.test_client()
    login(one, first.email)
    login(two, second.email)
    _home(one)
    kept = len(_cards(app))
    assert _progress_text(_home(two), "Luật Thanh tra 2025").startswith("0/2 bài học")
    assert len(_cards(app)) == kept  # the same course, due date and progress: the same card
    _mark_done(one, "co-ban/mot")
    assert _progress_text(_home(one), "Luật Thanh tra 2025").startswith("1/2 bài học")
    assert _progress_text(_home(two), "Luật Thanh tra 2025").startswith("0/2 bài học")
    assert len(_cards(app)) == kept + 1


def test_a_card_macro_reads_only_the_facts_of_its_key():
    source = CARDS.read_text(encoding="utf-8")
    read = set(re.findall(r"\bcard\.(\w+)", source))
    assert read and read <= set(Card._fields), read - set(Card._fields)
    macros = re.findall(r"{% macro (\w+)\((\w*)\)", source)
    assert {name for name, _arg in macros} >= {"required", "optional", "completed"}
    assert all(arg == "card" for _name, arg in macros)  # nothing but the Card goes in
    assert not re.search(r"\b(current_user|request|session|g)\b\.", source)  # nothing of the request


def test_each_language_has_its_own_cards(org, person):
    app, o = org
    _staff, user = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    assert _progress_text(_home(client), "Luật Thanh tra 2025").startswith("0/2 bài học")
    client.set_cookie("lang", "en")
    assert _progress_text(_home(client), "Luật Thanh tra 2025").startswith("0 of 2 lessons")
