"""The programmes of the courses folder into the database, in the courses sync's transaction
(``courses.signals.programs_synced``: courses may not import training).

Same identity rules as courses: a programme is matched by its id (``id:``, default the file's
name); one whose id changed keeps its row (its enrolments, certificates and rules) when the
new file says ``previously: <old id>``; a programme whose file is gone is archived, never
deleted, and comes back when the file does. Steps hold no progress (it is read from course
enrolments), so a changed programme's steps are written again; the people following it are
then brought up to date (``programs.advance``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from mooc.courses.signals import programs_synced
from mooc.extensions import db
from mooc.formats.program import ProgramSource, StepSource
from mooc.training import programs as programs_logic
from mooc.training.models import Program, ProgramStep, program_step_courses

# (programme, its stored intro_hash) -> (hash, HTML), or None when the stored HTML is current
RenderIntro = Callable[[ProgramSource, str], tuple[str, str] | None]


def sync_programs(sources: list[ProgramSource], steps: dict[str, list[StepSource]],
                  course_ids: dict[str, int], report: Any,
                  render_intro: RenderIntro | None = None) -> list[int]:
    """Write the programmes; add what changed to the sync's ``report``. Returns the ids of the
    programmes whose steps changed. ``render_intro``: the courses sync's renderer of an
    introduction (None: the introductions are left as they are)."""
    existing = {program.key: program for program in db.session.scalars(sa.select(Program))}
    wanted = {source.key for source in sources}
    seen: set[str] = set()
    changed: list[int] = []
    for source in sources:
        if source.key not in steps:
            continue
        row, renamed_from = _match(source, existing, wanted, seen)
        seen.add(row.key if row is not None else source.key)
        is_new = row is None
        if row is None:
            row = Program(key=source.key, code=source.code, title=source.title)
            db.session.add(row)
            db.session.flush()
        if renamed_from is not None:
            row.key = source.key
            report.renamed.append(f"programme {renamed_from} -> {source.key}")
        _write_intro(row, source, render_intro)
        if _write(row, source, steps[source.key], course_ids):
            changed.append(row.id)
            if is_new:
                report.added.append(f"programme {source.key}")
            elif renamed_from is None:
                report.changed.append(f"programme {source.key}")
        if row.archived:
            row.archived = False
            report.restored.append(f"programme {source.key}")
    for key, row in existing.items():
        if key not in seen and not row.archived:
            row.archived = True
            report.archived.append(f"programme {key}")
    db.session.flush()
    return changed


def _match(source: ProgramSource, existing: dict[str, Program], wanted: set[str],
           seen: set[str]) -> tuple[Program | None, str | None]:
    """The stored programme of this file: by its id, or by an old id it names in ``previously:``
    (that no file holds any more). (row or None, the old id when renamed)."""
    row = existing.get(source.key)
    if row is not None:
        return row, None
    old = next((o for o in source.previous if o in existing and o not in wanted and o not in seen), None)
    return (existing[old], old) if old is not None else (None, None)


def _write_intro(row: Program, source: ProgramSource, render_intro: RenderIntro | None) -> None:
    """The introduction rendered like a lesson, when what it is rendered from changed (its
    Markdown, the renderer, where its links lead) or it never was (a row older than intro_html)."""
    if render_intro is not None and (intro := render_intro(source, row.intro_hash)) is not None:
        row.intro_hash, row.intro_html = intro


def _write(row: Program, source: ProgramSource, steps: list[StepSource], course_ids: dict[str, int]) -> bool:
    """Write the programme's words and steps if they changed. True if they did."""
    row.source_path = source.path
    content_hash = source.content_hash(steps)
    if row.content_hash == content_hash:
        return False
    row.code, row.title = source.code, source.title
    row.summary, row.intro = source.summary, source.intro
    row.content_hash = content_hash
    _write_steps(row, steps, course_ids)
    return True


def _write_steps(program: Program, steps: list[StepSource], course_ids: dict[str, int]) -> None:
    db.session.execute(sa.delete(ProgramStep).where(ProgramStep.program_id == program.id))
    db.session.flush()
    for position, source in enumerate(steps, start=1):
        step = ProgramStep(program_id=program.id, position=position, pick=source.pick,
                           after_previous=source.after_previous, optional=source.optional)
        db.session.add(step)
        db.session.flush()
        db.session.execute(sa.insert(program_step_courses), [
            {"step_id": step.id, "course_id": course_ids[key], "position": index}
            for index, key in enumerate(source.courses)])
    db.session.expire(program, ["steps"])


def _on_programs_synced(_sender: object, *, programs: list[ProgramSource], steps: dict[str, list[StepSource]],
                        course_ids: dict[str, int], report: Any,
                        render_intro: RenderIntro | None = None) -> None:
    changed = sync_programs(programs, steps, course_ids, report, render_intro)
    if changed:
        programs_logic.advance(program_ids=set(changed))


def connect() -> None:
    programs_synced.connect(_on_programs_synced)
