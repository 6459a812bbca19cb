"""The results page: /search/?q=...&course=<key>&page=N. Thin: query.py parses and searches."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from mooc.courses import queries
from mooc.params import int_arg, text_arg
from mooc.replica import reads_replica
from mooc.search.query import MAX_QUERY_LENGTH, search
from mooc.training import programs

bp = Blueprint("search", __name__, url_prefix="/search", template_folder="templates")


@bp.get("/")
@reads_replica
def results():
    course_key = text_arg("course")
    course = queries.get_course(course_key) if course_key else None  # unknown or archived: all courses
    found = search(
        text_arg("q", max_length=10_000),  # search() says when a query is too long and cuts it
        course_id=course.id if course else None,
        page=int_arg("page") or 1,
        # Once for the page, whatever its hits: a locked course's lessons show their titles only.
        locked=programs.locked_courses(current_user.staff_id),
    )
    return render_template(
        "search/results.html",
        results=found,
        course=course,
        courses=queries.live_courses(),
        max_length=MAX_QUERY_LENGTH,
    )
