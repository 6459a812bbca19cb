"""xAPI 1.0.3 statements built from plain facts (no database, no request): tested directly.

The person is an account (``homePage`` + staff code), never an e-mail address or a name:
the store learns who did what only as far as the ministry's own register says. Activities
are the platform's own addresses (MOOC_BASE_URL), so they are IRIs a reader can open."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

# A fixed namespace: the same fact on the same platform always gets the same statement id.
NAMESPACE = uuid.UUID("6c1f0d9e-8a61-5c33-9b8f-2f4d0e7a9c10")

VERBS = {
    "completed": ("http://adlnet.gov/expapi/verbs/completed", "completed", "đã hoàn thành"),
    "attempted": ("http://adlnet.gov/expapi/verbs/attempted", "attempted", "đã làm bài"),
    "passed": ("http://adlnet.gov/expapi/verbs/passed", "passed", "đã đạt"),
    "failed": ("http://adlnet.gov/expapi/verbs/failed", "failed", "chưa đạt"),
    "earned": ("http://id.tincanapi.com/verb/earned", "earned", "đã được cấp"),
    "voided": ("http://adlnet.gov/expapi/verbs/voided", "voided", "đã hủy"),
}
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "lesson": "http://adlnet.gov/expapi/activities/lesson",
    "assessment": "http://adlnet.gov/expapi/activities/assessment",
    "certificate": "https://w3id.org/xapi/cmi5/activitytype/certificate",
}


@dataclass(frozen=True)
class Where:
    """Where the statements come from: the platform's address and the account home page."""

    base_url: str  # no trailing slash
    home_page: str  # the account's homePage (the ministry's register)


def statement_id(where: Where, kind: str, source_id: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{where.base_url}|{kind}|{source_id}"))


def _actor(where: Where, staff_code: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": where.home_page, "name": staff_code}}


def _verb(name: str) -> dict[str, Any]:
    iri, english, vietnamese = VERBS[name]
    return {"id": iri, "display": {"en-US": english, "vi-VN": vietnamese}}


def _activity(iri: str, kind: str, title: str) -> dict[str, Any]:
    return {"objectType": "Activity", "id": iri,
            "definition": {"type": ACTIVITY_TYPES[kind], "name": {"vi-VN": title}}}


def course_iri(where: Where, course_key: str) -> str:
    return f"{where.base_url}/courses/{quote(course_key)}"


def _item_iri(where: Where, course_key: str, folder: str, item_key: str) -> str:
    return f"{course_iri(where, course_key)}/{folder}/{quote(item_key)}"


def _timestamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


def _statement(where: Where, kind: str, source_id: int, staff_code: str, verb: str,
               activity: dict[str, Any], when: datetime, course: tuple[str, str] | None,
               result: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": statement_id(where, kind, source_id),
        "actor": _actor(where, staff_code),
        "verb": _verb(verb),
        "object": activity,
        "timestamp": _timestamp(when),
        "context": {"platform": "mooc", "language": "vi-VN"},
    }
    if course is not None:
        key, title = course
        statement["context"]["contextActivities"] = {
            "parent": [_activity(course_iri(where, key), "course", title)]}
    if result is not None:
        statement["result"] = result
    return statement


def lesson_done(where: Where, source_id: int, staff_code: str, when: datetime, course_key: str,
                course_title: str, lesson_key: str, lesson_title: str) -> dict[str, Any]:
    activity = _activity(_item_iri(where, course_key, "lessons", lesson_key), "lesson", lesson_title)
    return _statement(where, "lesson", source_id, staff_code, "completed", activity, when,
                      (course_key, course_title), {"completion": True})


def attempt_started(where: Where, source_id: int, staff_code: str, when: datetime,
                    course_key: str, course_title: str, quiz_key: str, quiz_title: str,
                    number: int) -> dict[str, Any]:
    activity = _activity(_item_iri(where, course_key, "quizzes", quiz_key), "assessment", quiz_title)
    statement = _statement(where, "attempt", source_id, staff_code, "attempted", activity, when,
                           (course_key, course_title))
    statement["context"]["extensions"] = {f"{where.base_url}/xapi/attempt-number": number}
    return statement


def attempt_graded(where: Where, source_id: int, staff_code: str, when: datetime,
                   course_key: str, course_title: str, quiz_key: str, quiz_title: str,
                   number: int, passed: bool, score: float | None, max_score: float | None,
                   percent: float) -> dict[str, Any]:
    activity = _activity(_item_iri(where, course_key, "quizzes", quiz_key), "assessment", quiz_title)
    score_part: dict[str, Any] = {"scaled": round(max(0.0, min(100.0, percent)) / 100, 4)}
    if score is not None and max_score:
        score_part |= {"raw": score, "min": 0, "max": max_score}
    statement = _statement(where, "graded", source_id, staff_code, "passed" if passed else "failed",
                           activity, when, (course_key, course_title),
                           {"score": score_part, "success": passed, "completion": True})
    statement["context"]["extensions"] = {f"{where.base_url}/xapi/attempt-number": number}
    return statement


def course_completed(where: Where, source_id: int, staff_code: str, when: datetime,
                     course_key: str, course_title: str, cycle: int,
                     score: float | None) -> dict[str, Any]:
    result: dict[str, Any] = {"completion": True}
    if score is not None:
        result["score"] = {"scaled": round(max(0.0, min(100.0, score)) / 100, 4)}
    statement = _statement(where, "course", source_id, staff_code, "completed",
                           _activity(course_iri(where, course_key), "course", course_title),
                           when, None, result)
    statement["context"]["extensions"] = {f"{where.base_url}/xapi/cycle": cycle}
    return statement


def certificate_issued(where: Where, source_id: int, staff_code: str, when: datetime,
                       course_key: str, course_title: str, code: str) -> dict[str, Any]:
    activity = _activity(f"{where.base_url}/verify/{quote(code)}", "certificate", course_title)
    return _statement(where, "certificate", source_id, staff_code, "earned", activity, when,
                      (course_key, course_title))


def certificate_revoked(where: Where, source_id: int, when: datetime) -> dict[str, Any]:
    """Voids the statement that the certificate was earned (xAPI's way to withdraw one): by
    the platform itself, the authority that issued it."""
    return {
        "id": statement_id(where, "revoked", source_id),
        "actor": {"objectType": "Agent", "account": {"homePage": where.base_url, "name": "mooc"}},
        "verb": _verb("voided"),
        "object": {"objectType": "StatementRef", "id": statement_id(where, "certificate", source_id)},
        "timestamp": _timestamp(when),
    }
