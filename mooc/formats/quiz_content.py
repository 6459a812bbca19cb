"""What a synced quiz stores: its settings and its questions as snapshots with rendered HTML.

Called by the courses sync with a render function (Markdown -> sanitised HTML), so the
question text, choices and explanations are rendered once, at sync, like lessons.
An attempt stores the snapshots it showed (`mooc.quizzes.grading` draws and grades them),
so a later edit of the quiz never changes a past result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from mooc.formats.quiz import NumericAnswer, NumericRange, QuestionSource, QuizSource

__all__ = ["SNAPSHOT_VERSION", "quiz_content", "snapshot"]

SNAPSHOT_VERSION = 1


def _numeric_snapshot(answer: NumericAnswer | NumericRange) -> dict[str, str]:
    if isinstance(answer, NumericRange):
        return {"low": str(answer.low), "high": str(answer.high)}
    return {"value": str(answer.value), "tolerance": str(answer.tolerance)}


def snapshot(question: QuestionSource) -> dict[str, Any]:
    """Everything needed to show, grade and later review *question*, as JSON-ready data.

    Numbers are decimal strings ("2.5"), not floats, so "2.6 within 2.5 ± 0.1" stays
    exactly on the boundary.
    """
    return {
        "v": SNAPSHOT_VERSION,
        "key": question.key,
        "type": question.type,
        "title": question.title,
        "body_md": question.body_md,
        "points": question.points,
        "partial": question.partial,
        "match_mode": question.match_mode,
        "shuffle": question.shuffle,
        "choices": [{"key": c.key, "text_md": c.text_md, "correct": c.correct} for c in question.choices],
        "answers": list(question.answers),
        "numeric": [_numeric_snapshot(a) for a in question.numeric],
        "explanation_md": question.explanation_md,
    }


def _inline(html: str) -> str:
    """A one-paragraph rendering without its <p> wrapper (choices read as plain labels)."""
    stripped = html.strip()
    if stripped.startswith("<p>") and stripped.endswith("</p>") and stripped.count("<p>") == 1:
        return stripped[3:-4]
    return stripped


def quiz_content(quiz: QuizSource, render: Callable[[str], Any]) -> tuple[dict, list, str]:
    """(settings, questions, intro_html) for the Quiz row."""
    questions = []
    for question in quiz.questions:
        snap = snapshot(question)
        snap["title_html"] = _inline(render(question.title).html)
        snap["body_html"] = render(question.body_md).html if question.body_md.strip() else ""
        snap["explanation_html"] = (
            render(question.explanation_md).html if question.explanation_md.strip() else ""
        )
        for choice in snap["choices"]:
            choice["html"] = _inline(render(choice["text_md"]).html)
        questions.append(snap)
    intro_html = render(quiz.intro_md).html if quiz.intro_md.strip() else ""
    return asdict(quiz.settings), questions, intro_html
