"""The words of the reminders: a trainee's mail and a manager's weekly digest.

The wording lives here, translated (Vietnamese by default, the site's default locale), as
plain strings in a small structure; two templates lay it out, ``message.txt`` (text, as
is) and ``message.html`` (HTML, where Jinja escapes every value: a name such as
``<b>An</b>`` arrives escaped in the HTML part and unaltered in the text part).

What a third party should not read stays out: a trainee's mail speaks of their own
courses only; a digest lists the people of the manager's subtree only (no e-mail
addresses, no staff codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import quote, urlencode

from flask import render_template
from flask_babel import force_locale

from mooc.config import settings
from mooc.formatting import format_date, format_number
from mooc.i18n import gettext as _
from mooc.reminders.models import ReminderKind, ReminderStatus
from mooc.reminders.schedule import DigestMessage, DigestRow, TraineeItem, TraineeMessage, step_days
from mooc.training.status import EnrolmentStatus

DIGEST_LIST_LIMIT = 50  # people listed per section of a digest; the rest are counted, with a link


@dataclass
class Entry:
    text: str
    url: str | None = None
    url_label: str | None = None


@dataclass
class Section:
    heading: str
    entries: list[Entry]
    more: str | None = None  # "… and 12 more."
    link: Entry | None = None
    note: str | None = None  # what to do, under the heading


@dataclass
class Composed:
    subject: str
    greeting: str
    intro: str
    sections: list[Section] = field(default_factory=list)
    action: Entry | None = None
    footer: str = ""
    lang: str = "vi"


def course_url(base_url: str, course_key: str) -> str:
    return f"{base_url}/courses/{quote(course_key)}"


def _locale() -> str:
    return settings().default_locale


def render(composed: Composed) -> tuple[str, str]:
    """(text, html) of a composed message."""
    text = render_template("reminders/mail/message.txt", m=composed)
    html = render_template("reminders/mail/message.html", m=composed)
    return text, html


# --- to a trainee ----------------------------------------------------------------------------------


def trainee_message(message: TraineeMessage, base_url: str) -> tuple[str, str, str]:
    """(subject, text, html) of one person's reminder about their own courses."""
    with force_locale(_locale()):
        composed = compose_trainee(message, base_url)
        return (composed.subject, *render(composed))


def compose_trainee(message: TraineeMessage, base_url: str) -> Composed:
    headings = {
        ReminderKind.OVERDUE: _("Overdue"),
        ReminderKind.DUE: _("Due soon"),
        ReminderKind.ASSIGNED: _("New required courses"),
        ReminderKind.EXPIRY: _("Certificates to renew"),
        ReminderKind.MANUAL: _("Required training to finish"),
    }
    sections: list[Section] = []
    for item in message.items:
        heading = headings[item.kind]
        if not sections or sections[-1].heading != heading:
            sections.append(Section(heading, []))
        sections[-1].entries.append(
            Entry(_item_text(item), course_url(base_url, item.course_key), _("Open the course")))
    return Composed(
        subject=_trainee_subject(message.items),
        greeting=_("Hello %(name)s,", name=message.name),
        intro=(_("%(sender)s, who follows your training, reminds you of the required training below.",
                 sender=message.sender_name) if message.sender_name
               else _("The required training below needs your attention.")),
        sections=sections,
        action=Entry(_("All your training:"), f"{base_url}/", base_url + "/"),
        footer=_("This is an automatic message from the training platform of the inspection sector, "
                 "sent to you because the courses above are required for you. Please do not reply to it."),
        lang=_locale(),
    )


def _trainee_subject(items: list[TraineeItem]) -> str:
    if len(items) > 1:
        return _("Training reminder: %(n)d courses need your attention", n=len(items))
    item = items[0]
    title, day = item.course_title, format_date(item.day)
    if item.kind == ReminderKind.MANUAL and item.days is None:
        return _("Reminder: “%(title)s”", title=title)
    if item.kind == ReminderKind.MANUAL:
        kind = ReminderKind.OVERDUE if (item.days or 0) < 0 else ReminderKind.DUE
        item = replace(item, step=f"{kind.value}-manual")
    if item.kind == ReminderKind.OVERDUE:
        return _("Overdue since %(date)s: “%(title)s”", title=title, date=day)
    if item.kind == ReminderKind.DUE:
        if item.days == 0:
            return _("Due today: “%(title)s”", title=title)
        return _("Reminder: “%(title)s” is due on %(date)s", title=title, date=day)
    if item.kind == ReminderKind.EXPIRY:
        return _("Your certificate for “%(title)s” expires on %(date)s", title=title, date=day)
    return _("New required course: %(title)s", title=title)


def titled(title: str, program_title: str | None) -> str:
    """A course's title, and the programme it is a step of, when a programme opened it."""
    if not program_title:
        return title
    return _("%(title)s (part of the programme “%(program)s”)", title=title, program=program_title)


def _item_text(item: TraineeItem) -> str:
    title, day = titled(item.course_title, item.program_title), format_date(item.day)
    if item.kind == ReminderKind.EXPIRY:
        return _("%(title)s: your certificate expires on %(date)s. Complete the course again by then "
                 "to keep it valid.", title=title, date=day)
    if item.day is None or item.days is None:
        return _("%(title)s: required, no deadline.", title=title)
    if item.days < 0:
        return _("%(title)s: due on %(date)s, overdue by %(n)d days.", title=title, date=day, n=-item.days)
    if item.kind == ReminderKind.ASSIGNED:
        return _("%(title)s: required, due on %(date)s.", title=title, date=day)
    if item.days == 0:
        return _("%(title)s: due today, %(date)s.", title=title, date=day)
    if item.days == 1:
        return _("%(title)s: due tomorrow, %(date)s.", title=title, date=day)
    return _("%(title)s: due on %(date)s, in %(n)d days.", title=title, date=day, n=item.days)


# --- to a unit manager --------------------------------------------------------------------------------


def digest_message(digest: DigestMessage, base_url: str, today: date, horizon: int) -> tuple[str, str, str]:
    """(subject, text, html) of a manager's weekly digest of their subtree."""
    with force_locale(_locale()):
        composed = compose_digest(digest, base_url, today, horizon)
        return (composed.subject, *render(composed))


def compose_digest(digest: DigestMessage, base_url: str, today: date, horizon: int) -> Composed:
    def people(**args: object) -> str:
        return f"{base_url}/reports/people?{urlencode({'unit': digest.unit_id, **args})}"

    due_to = today + timedelta(days=horizon)
    sections = [
        _digest_section(_("Overdue (%(n)s)", n=format_number(len(digest.overdue))), digest.overdue, today,
                        people(status="overdue")),
        _digest_section(_("Due within %(days)d days (%(n)s)", days=horizon,
                          n=format_number(len(digest.due_soon))),
                        digest.due_soon, today,
                        people(due_from=today.isoformat(), due_to=due_to.isoformat()), with_status=True),
        _digest_section(_("Not started yet (%(n)s)", n=format_number(len(digest.not_started))),
                        digest.not_started, today, people(status="not_started")),
    ]
    cannot = _cannot_sign_in_section(digest, people(status="to_do", account="cannot_sign_in"))
    if cannot is not None:
        sections.append(cannot)
    return Composed(
        subject=_("Weekly training digest, %(unit)s: %(overdue)s overdue, %(soon)s due soon, "
                  "%(idle)s not started", unit=digest.unit_name, overdue=format_number(len(digest.overdue)),
                  soon=format_number(len(digest.due_soon)), idle=format_number(len(digest.not_started))),
        greeting=_("Hello %(name)s,", name=digest.name),
        intro=_("Required training of %(unit)s and the units under it, as of %(date)s.",
                unit=digest.unit_name, date=format_date(today)),
        sections=[s for s in sections if s.entries],
        action=Entry(_("Reports:"), f"{base_url}/reports/", f"{base_url}/reports/"),
        footer=_("This is an automatic weekly message from the training platform of the inspection "
                 "sector, sent to you as the manager of %(unit)s. It lists people of your unit and of the "
                 "units under it only. Please do not forward it.", unit=digest.unit_name),
        lang=_locale(),
    )


def _cannot_sign_in_section(digest: DigestMessage, full_list: str) -> Section | None:
    """The people listed above who cannot sign in, with what to do about it."""
    rows = digest.cannot_sign_in
    if not rows:
        return None
    shown = rows[:DIGEST_LIST_LIMIT]
    section = Section(
        _("Cannot sign in (%(n)s)", n=format_number(len(rows))),
        [Entry(_("%(name)s (%(unit)s): %(account)s", name=r.staff_name, unit=r.unit_name,
                 account=r.account.label)) for r in shown],
        note=_("These people cannot train and get no reminders until they can sign in. Ask the training "
               "officer to invite them (an invitation needs their e-mail address on the roster)."))
    if len(rows) > len(shown):
        section.more = _("… and %(n)s more.", n=format_number(len(rows) - len(shown)))
    section.link = Entry(_("Full list:"), full_list, full_list)
    return section


def _digest_section(heading: str, rows: list[DigestRow], today: date, full_list: str,
                    with_status: bool = False) -> Section:
    shown = rows[:DIGEST_LIST_LIMIT]
    section = Section(heading, [Entry(_digest_row(row, today, with_status)) for row in shown])
    if len(rows) > len(shown):
        section.more = _("… and %(n)s more.", n=format_number(len(rows) - len(shown)))
    section.link = Entry(_("Full list:"), full_list, full_list)
    return section


def _digest_row(row: DigestRow, today: date, with_status: bool) -> str:
    text = _digest_row_text(row, today, with_status)
    if row.account.can_sign_in:
        return text
    return _("%(row)s [cannot sign in: %(account)s]", row=text, account=row.account.label)


def _digest_row_text(row: DigestRow, today: date, with_status: bool) -> str:
    args = {"name": row.staff_name, "unit": row.unit_name,
            "title": titled(row.course_title, row.program_title)}
    if row.due_on is None:
        return _("%(name)s (%(unit)s): %(title)s", **args)
    day = format_date(row.due_on)
    if row.status == EnrolmentStatus.OVERDUE:
        return _("%(name)s (%(unit)s): %(title)s, due %(date)s, %(n)d days overdue",
                 date=day, n=(today - row.due_on).days, **args)
    if not with_status:
        return _("%(name)s (%(unit)s): %(title)s, due %(date)s", date=day, **args)
    return _("%(name)s (%(unit)s): %(title)s, due %(date)s (%(status)s)", date=day, status=row.status.label,
             **args)


# --- for the admin page, the dry run and a person's data export ---------------------------------------------

# What a reminder's status and kind are called (the admin page's filters and table; the export).
STATUS_LABELS = {
    ReminderStatus.SENT: lambda: _("Sent"),
    ReminderStatus.FAILED: lambda: _("Failed"),
    ReminderStatus.PENDING: lambda: _("Being sent"),
}
KIND_LABELS = {
    ReminderKind.ASSIGNED: lambda: _("Course assigned"),
    ReminderKind.DUE: lambda: _("Before the due date"),
    ReminderKind.OVERDUE: lambda: _("Overdue"),
    ReminderKind.EXPIRY: lambda: _("Certificate expiry"),
    ReminderKind.DIGEST: lambda: _("Managers' weekly digest"),
    ReminderKind.MANUAL: lambda: _("Sent by a manager"),
}


def step_label(kind: ReminderKind | str, step: str) -> str:
    kind = ReminderKind(kind)
    days = step_days(step)
    if kind == ReminderKind.ASSIGNED:
        return _("Course assigned")
    if kind == ReminderKind.DUE:
        return _("On the due date") if not days else _("%(n)d days before the due date", n=days)
    if kind == ReminderKind.OVERDUE:
        return _("Overdue, reminder %(n)d", n=days or 0)
    if kind == ReminderKind.EXPIRY:
        return _("%(n)d days before the certificate expires", n=days or 0)
    if kind == ReminderKind.MANUAL:
        return _("Sent by a manager")
    return _("Weekly digest %(week)s", week=step.removeprefix("digest-"))
