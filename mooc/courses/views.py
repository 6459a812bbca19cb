"""Course pages: catalogue, course outline, lessons, files. Thin: queries.py does the reading."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from werkzeug.security import safe_join

from mooc import accel, clock, kept
from mooc.config import settings
from mooc.courses import access, editions, outline_html, progress, queries
from mooc.courses.autosync import refresh_if_changed
from mooc.courses.format import ASSET_SUFFIXES
from mooc.courses.media import mime_type
from mooc.courses.models import Lesson
from mooc.extensions import db
from mooc.i18n import request_locale

bp = Blueprint("courses", __name__, url_prefix="/courses", template_folder="templates")

ASSET_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


@bp.record_once
def _template_globals(state: Any) -> None:
    state.app.jinja_env.globals["outline_html"] = outline_html.template_outline
    state.app.jinja_env.globals["outline_slot"] = outline_html.slot


@bp.before_request
def preview_edits():
    """In development, show authors their edits on reload (see autosync.py)."""
    if settings().courses_autosync:
        # current_app is a LocalProxy, typed by Flask as the app it stands for
        g.course_errors = refresh_if_changed(current_app._get_current_object())  # type: ignore[attr-defined]


def _course_or_404(key: str):
    course = queries.get_course(key)
    if course is None:
        abort(404)
    return course


@bp.get("/")
def catalog():
    courses = queries.live_courses()
    return render_template(
        "courses/catalog.html", courses=courses, progress=queries.course_progress(current_user.id, courses)
    )


@bp.get("/<key>")
def course(key: str):
    # The page as kept for this version of the course: one statement without the course's row
    # (queries.course_glance), the person's part filled from what it read.
    if kept.keepable() and (glance := queries.course_glance(key, current_user.id)) is not None:
        kept_key, fillers, _locked = _course_kept(glance)
        if (page := kept.ready(kept_key, fillers)) is not None:
            return page
    outline = queries.course_page(key, current_user.id)
    if outline is None:
        abort(404)
    kept_key, fillers, locked = _course_kept(outline)
    return kept.render(kept_key, "courses/course.html", fillers, course=outline.course, outline=outline,
                       locked=locked)


def _course_kept(outline: queries.Outline) -> tuple[tuple, dict[str, Any], str | None]:
    """The kept course page's key, its fillers for this request and why the course is locked
    for the person (None: it is not). Kept per version of the course (mooc/kept.py); the
    person's part is filled per request by the domain that knows where they stand (the template
    global courses/_course_standing.html calls: training/course_standing.py), without a template
    of its own around it."""
    locked = access.lock_reason(current_user.id, outline.course.id) if outline.lock_possible else None
    kept_key = ("course", outline.course.id, outline.course.version, str(request_locale()),
                current_user.role, request.script_root)
    own_part = current_app.jinja_env.globals["course_standing_html"]
    return kept_key, {
        "outline": outline_html.filler(outline.done_ids),
        "standing": lambda: str(own_part(outline.course, outline, locked)),  # type: ignore[operator]
    }, locked


def _lesson_key(course_id: int, version: int, lesson_id: int, done: bool, today: date) -> tuple:
    """What a kept lesson page depends on but its holes (mooc/kept.py): the header's name and
    token, the outline's done marks."""
    return ("lesson", course_id, version, lesson_id, done, today, str(request_locale()), current_user.role,
            request.script_root)


@bp.get("/<key>/lessons/<path:lesson_key>")
def lesson(key: str, lesson_key: str):
    # The page as kept for this version of the course, when the reader has nothing of their own
    # to be told and the course cannot be locked for them: one statement of plain columns.
    glance = queries.lesson_glance(key, lesson_key, current_user.id)
    if glance is not None and glance.plain:
        kept_key = _lesson_key(glance.course_id, glance.version, glance.lesson_id,
                               glance.lesson_id in glance.done_ids, clock.today())
        if (page := kept.ready(kept_key, {"outline": outline_html.filler(glance.done_ids)})) is not None:
            return page
    return _lesson_page(key, lesson_key)


def _lesson_page(key: str, lesson_key: str):
    found = queries.lesson_page(key, lesson_key, current_user.id)
    if found is None:
        course = _course_or_404(key)
        renamed = queries.renamed_item(Lesson, course.id, lesson_key)
        if renamed is None:
            abort(404)
        return redirect(url_for("courses.lesson", key=course.key, lesson_key=renamed.key), 301)
    outline, lesson, reader = found
    if (locked := access.refused_if_locked(current_user.id, outline.course)) is not None:
        return locked  # a locked step of the person's programme: refused, not only hidden
    news = editions.for_reader(outline.course, lesson, reader.completed_version, reader.refresher_of,
                               reader.read_fresh)
    previous, following = outline.neighbours("lesson", lesson.key)
    today = clock.today()
    basis = [(document, document.status(today)) for document in
             (outline.shape.basis(lesson.id) if outline.shape else ())]
    done = lesson.id in outline.done_ids and not news.redo
    page = dict(
        course=outline.course,
        lesson=lesson,
        module_title=outline.module_title("lesson", lesson.id),
        outline=outline,
        previous=previous,
        following=following,
        done=done,
        news=news,
        basis=basis,
        superseded=[(document, status) for document, status in basis if status.superseded],
    )
    if news.redo or news.added_since or news.diff:  # what changed for this reader: their own page
        return render_template("courses/lesson.html", **page)
    return kept.render(_lesson_key(outline.course.id, outline.course.version, lesson.id, done, today),
                       "courses/lesson.html", {"outline": outline_html.filler(outline.done_ids)}, **page)


@bp.post("/<key>/lessons/<path:lesson_key>/done")
def mark_done(key: str, lesson_key: str):
    course = _course_or_404(key)
    if (locked := access.refused_if_locked(current_user.id, course)) is not None:
        return locked
    lesson = db.session.scalar(
        db.select(Lesson).where(
            Lesson.course_id == course.id, Lesson.key == lesson_key, Lesson.archived.is_(False)
        )
    )
    if lesson is None:
        abort(404)
    progress.mark_done(current_user.id, lesson.id, course.id)
    outline = queries.outline(course, current_user.id)
    _previous, following = outline.neighbours("lesson", lesson.key)
    if following is not None:
        endpoint = "courses.lesson" if following.kind == "lesson" else "quizzes.quiz"
        argument = "lesson_key" if following.kind == "lesson" else "quiz_key"
        values: dict[str, Any] = {argument: following.key}
        return redirect(url_for(endpoint, key=course.key, **values))
    return redirect(url_for("courses.course", key=course.key))


@bp.get("/<key>/files/<path:filename>")
def file(key: str, filename: str):
    """Pictures, attachments, video, audio and captions from the course folder; never outside
    it, never a symlink, never of a course locked for the person (as its lessons are). Range
    requests (seeking in a video) and revalidation are answered."""
    course = _course_or_404(key)
    root = settings().courses_dir / course.source_dir
    if Path(filename).suffix.lower() not in ASSET_SUFFIXES:
        abort(404)
    if (locked := access.refused_if_locked(current_user.id, course)) is not None:
        return locked
    full = safe_join(str(root), filename)
    if full is None:
        abort(404)
    path = Path(full)
    if not path.is_file() or path.is_symlink() or root.resolve() not in path.resolve().parents:
        abort(404)
    if accel.enabled():  # nginx sends it (deploy/nginx/mooc.conf), ranges and revalidation too
        response = accel.course_file(f"{course.source_dir}/{filename}", mimetype=mime_type(filename))
        response.cache_control.max_age = 3600
    else:
        response = send_from_directory(root, filename, max_age=3600, conditional=True,
                                       mimetype=mime_type(filename))
    # Sign-in required: the browser may keep it for an hour, shared caches never
    # (send_from_directory says "public"; "public, private" lets some proxies keep it).
    response.cache_control.public = False
    response.cache_control.private = True
    response.headers["Content-Security-Policy"] = ASSET_CSP
    g.cacheable = True
    return response
