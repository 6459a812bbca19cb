"""The API's shapes, as pydantic models: every answer is built through them (so it is
validated before it leaves), and the OpenAPI document is generated from them (openapi.py).
Field names are stable: a new field may be added, none is renamed or removed in /api/v1."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Unit(Strict):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    active: bool
    merged_into_id: int | None = Field(description="the unit it was merged into, for a closed unit")


class Person(Strict):
    id: int
    staff_code: str = Field(description="as HR writes it (text: leading zeros kept)")
    full_name: str
    email: str | None
    unit_id: int
    position_code: str | None
    position_title: str | None
    status: Literal["active", "on_leave", "left"]
    joined_on: date | None
    left_on: date | None
    updated_at: datetime


class Enrolment(Strict):
    id: int
    staff_id: int
    staff_code: str
    course_key: str
    course_title: str
    cycle: int
    required: bool
    latest: bool = Field(description="the person's current cycle of the course")
    status: Literal["not_started", "in_progress", "completed", "overdue", "exempt", "closed"]
    assigned_on: date
    due_on: date | None
    completed_at: datetime | None
    expires_on: date | None
    score: float | None
    updated_at: datetime


class Certificate(Strict):
    code: str
    staff_id: int
    staff_code: str
    course_key: str
    course_title: str
    issued_at: datetime
    expires_on: date | None
    revoked: bool
    verify_url: str
    updated_at: datetime


class Completion(Strict):
    """A course cycle completed (not an exemption): what an HR system records as training done."""

    enrolment_id: int = Field(description="the enrolment it completes (/enrolments)")
    staff_id: int
    staff_code: str
    course_key: str
    course_title: str
    cycle: int
    completed_at: datetime
    expires_on: date | None = Field(description="when it must be renewed; null: never")
    score: float | None = Field(description="best quiz percent at completion")
    edition: str | None = Field(description="the content hash of the course edition completed")
    certificate_code: str | None = Field(description="its certificate (/certificates), if one was issued")
    updated_at: datetime


class DashboardRow(Strict):
    unit_id: int | None = Field(description="null for the total")
    unit: str
    headcount: int
    people_required: int
    completed: int
    in_progress: int
    not_started: int
    overdue: int
    exempt: int
    cannot_sign_in: int
    completion_rate: float | None = Field(description="percent of the people who owe training")


class Dashboard(Strict):
    unit_id: int | None
    as_of: date
    rows: list[DashboardRow]
    total: DashboardRow


class UnitList(Strict):
    data: list[Unit]


class Page(Strict, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at the end")


# The pages the API answers, each the model the OpenAPI document names (openapi.ROUTES): a page
# is built through its own (data.py), so each row is validated as what it is documented to be.
PersonPage = Page[Person]
EnrolmentPage = Page[Enrolment]
CompletionPage = Page[Completion]
CertificatePage = Page[Certificate]


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
