"""The grader: draws an attempt's questions, scores responses, and says what a trainee may see.

An attempt stores snapshots (plain JSON-ready dicts) of the questions it showed, and
grading reads only those, so a later edit of the quiz never changes a past result.
Responses come from a browser and are treated as hostile: wrong shapes, unknown keys
and huge strings score nothing and never raise.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from mooc.formats.quiz import (
    QuizSettings,
    QuizSource,
    normalize_answer,
    parse_number,
)
from mooc.formats.quiz_content import snapshot

__all__ = [
    "AttemptResult",
    "QuestionResult",
    "draw_questions",
    "draw_snapshots",
    "grade_attempt",
    "grade_question",
    "public_view",
]

MAX_RESPONSE_CHARS = 1000  # a longer short answer is wrong, unread
MAX_RESPONSE_ITEMS = 100  # more ticked boxes than any question has


@dataclass(frozen=True)
class QuestionResult:
    score: float
    max_score: float
    correct: bool


@dataclass(frozen=True)
class AttemptResult:
    score: float
    max_score: float
    percent: float  # 0-100, rounded to 2 decimals
    passed: bool
    per_question: dict[str, QuestionResult]  # by question key, in the order shown


# --- snapshots ----------------------------------------------------------------------


def public_view(snap: dict[str, Any]) -> dict[str, Any]:
    """What may reach the browser before grading: no correct flags, answers or explanation.

    Built from an allow-list, so a field added to snapshots later stays private until
    someone decides otherwise (Moodle CVE-2013-2243 leaked answers through the page).
    """
    view: dict[str, Any] = {
        "key": snap["key"],
        "type": snap["type"],
        "title": snap["title"],
        "body_md": snap["body_md"],
        "points": snap["points"],
    }
    if snap["type"] in ("single", "multiple", "true_false"):
        view["choices"] = [{"key": c["key"], "text_md": c["text_md"]} for c in snap["choices"]]
    return view


def draw_snapshots(
    snapshots: list[dict[str, Any]], settings: QuizSettings | dict[str, Any], rng: random.Random
) -> list[dict[str, Any]]:
    """The questions of a new attempt from a quiz's stored snapshots: `draw`, `shuffle`.

    Deterministic for a given *rng* state; the input is not modified. Without shuffle,
    drawn questions keep the file's order. Choices are shuffled only for one-answer and
    choose-all questions whose `shuffle` is not false; true/false keeps Đúng before Sai.
    """
    if isinstance(settings, QuizSettings):
        draw, shuffle = settings.draw, settings.shuffle
    else:
        draw, shuffle = settings.get("draw"), bool(settings.get("shuffle"))
    pool = list(snapshots)
    if draw is not None and draw < len(pool):
        picked = rng.sample(range(len(pool)), draw)
        if not shuffle:
            picked.sort()
        pool = [pool[i] for i in picked]
    elif shuffle:
        rng.shuffle(pool)
    drawn = []
    for snap in pool:
        snap = {**snap, "choices": [dict(c) for c in snap["choices"]]}
        if shuffle and snap.get("shuffle", True) and snap["type"] in ("single", "multiple"):
            rng.shuffle(snap["choices"])
        drawn.append(snap)
    return drawn


def draw_questions(quiz: QuizSource, rng: random.Random) -> list[dict[str, Any]]:
    """Snapshots for a new attempt at *quiz*: draw_snapshots() over all its questions."""
    return draw_snapshots([snapshot(q) for q in quiz.questions], quiz.settings, rng)


# --- grading ------------------------------------------------------------------------


def _keys(response: Any) -> list[str]:
    """The choice keys in a response: a string or a list of strings; anything else is none."""
    if isinstance(response, str):
        return [response]
    if isinstance(response, list | tuple):
        return [item for item in response[:MAX_RESPONSE_ITEMS] if isinstance(item, str)]
    return []


def _number(response: Any) -> Decimal | None:
    if isinstance(response, bool):
        return None
    if isinstance(response, int):
        return Decimal(response)
    if isinstance(response, float):
        return Decimal(str(response)) if math.isfinite(response) else None
    if isinstance(response, str):
        return parse_number(response)
    return None


def _bounds(answer: dict[str, str]) -> tuple[Decimal, Decimal]:
    if "low" in answer:
        return Decimal(answer["low"]), Decimal(answer["high"])
    value, tolerance = Decimal(answer["value"]), Decimal(answer["tolerance"])
    return value - tolerance, value + tolerance


def _fraction(snap: dict[str, Any], response: Any) -> Fraction:
    """The share of the points earned, 0 to 1."""
    qtype = snap["type"]
    if qtype in ("single", "true_false", "multiple"):
        return _choice_fraction(snap, response)
    if qtype == "short":
        return _short_fraction(snap, response)
    if qtype == "numeric":
        return _numeric_fraction(snap, response)
    raise ValueError(f"unknown question type {qtype!r} in snapshot {snap.get('key')!r}")


def _choice_fraction(snap: dict[str, Any], response: Any) -> Fraction:
    known = {c["key"] for c in snap["choices"]}
    right = {c["key"] for c in snap["choices"] if c["correct"]}
    ticked = {key for key in _keys(response) if key in known}
    if snap["type"] != "multiple":
        return Fraction(1) if len(ticked) == 1 and ticked <= right else Fraction(0)
    if not snap.get("partial"):
        return Fraction(1) if ticked == right else Fraction(0)
    # Moodle's rule: each right choice ticked earns 1/(number right), each wrong choice
    # ticked costs 1/(number wrong); floored at 0. Ticking every choice earns 1 - 1 = 0.
    # (A question whose choices are all right is refused by the format.)
    wrong = known - right
    earned = Fraction(len(ticked & right), len(right))
    if wrong:
        earned -= Fraction(len(ticked & wrong), len(wrong))
    return max(Fraction(0), earned)


def _short_fraction(snap: dict[str, Any], response: Any) -> Fraction:
    if not isinstance(response, str) or len(response) > MAX_RESPONSE_CHARS:
        return Fraction(0)
    mode = snap.get("match_mode", "fold")
    given = normalize_answer(response, mode)
    if not given:
        return Fraction(0)
    accepted = {normalize_answer(answer, mode) for answer in snap["answers"]}
    return Fraction(1) if given in accepted else Fraction(0)


def _numeric_fraction(snap: dict[str, Any], response: Any) -> Fraction:
    number = _number(response)
    if number is None:
        return Fraction(0)
    for answer in snap["numeric"]:
        low, high = _bounds(answer)
        if low <= number <= high:
            return Fraction(1)
    return Fraction(0)


def grade_question(snap: dict[str, Any], response: list[str] | str | None) -> QuestionResult:
    """Score one response against one snapshot.

    single / true_false: one known key, and it is right (several keys score 0);
    multiple: all-or-nothing, or with partial credit
    max(0, right ticked / number right - wrong ticked / number wrong) x points, so ticking
    every choice scores 0;
    short: compared per the question's match mode; numeric: inclusive tolerance/range.
    Unknown choice keys are ignored.
    """
    points = snap["points"]
    share = _fraction(snap, response)
    return QuestionResult(score=float(share * points), max_score=float(points), correct=share == 1)


def grade_attempt(
    snapshots: list[dict[str, Any]], responses: dict[str, Any], pass_percent: int
) -> AttemptResult:
    """Grade every question shown; a question without a response scores 0.

    percent is rounded to 2 decimals before the pass test, so 79.999... is 80.0.
    """
    if not isinstance(responses, dict):
        responses = {}
    per_question: dict[str, QuestionResult] = {}
    for snap in snapshots:
        per_question[snap["key"]] = grade_question(snap, responses.get(snap["key"]))
    score = math.fsum(r.score for r in per_question.values())
    max_score = math.fsum(r.max_score for r in per_question.values())
    percent = round(score / max_score * 100, 2) if max_score else 0.0
    return AttemptResult(
        score=round(score, 6),
        max_score=max_score,
        percent=percent,
        passed=percent >= pass_percent,
        per_question=per_question,
    )
