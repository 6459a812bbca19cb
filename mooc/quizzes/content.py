"""What a synced quiz stores: its settings and its questions as snapshots with rendered HTML.

Called by the courses sync with a render function (Markdown -> sanitised HTML), so the
question text, choices and explanations are rendered once, at sync, like lessons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from mooc.quizzes.format import QuizSource
from mooc.quizzes.grading import snapshot


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
