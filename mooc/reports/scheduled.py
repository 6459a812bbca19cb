"""Scheduled reports: each subscription's report, mailed once per week or month.

`mooc reports send` (cron, daily) goes through the active subscriptions; for each one whose
period (ISO week or month) has no delivery yet it **claims** the period (a ``pending`` row,
committed), builds the report as its subscriber may read it **now** (a person's scope is
checked again: a manager who lost the role, or whose unit is no longer theirs, gets nothing,
and the delivery says why; so are the subscription's filters: one naming a course, position
or programme that is gone skips the mail, audited, rather than widen the report), **hands**
the mail over with no transaction open and **confirms** it (``sent`` or ``failed``), as the
reminders do (mooc/reminders/sender.py): a second run in the period sends nothing, a failed
one is retried by the next run, and a run that died after claiming is taken over after
``MOOC_REMINDER_PENDING_MINUTES``.

The mail: a short summary in the body (completion rate, the change since the last period's
mail, the five units furthest behind, a small chart as an inline image), and the report as
XLSX and/or PDF attachments."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from mooc import clock, mail
from mooc.auth import audit
from mooc.auth.models import Permission, User
from mooc.config import public_url, settings
from mooc.downloads import slug
from mooc.extensions import db
from mooc.formatting import format_date, format_number
from mooc.i18n import gettext as _
from mooc.reports import charts, exports, figures, queries, subscriptions
from mooc.reports.models import DeliveryStatus, Frequency, ReportDelivery, ReportKind, ReportSubscription
from mooc.roster.scope import unit_reader, visible_units

FURTHEST_BEHIND = 5


def period_of(frequency: Frequency, day: date) -> str:
    if frequency == Frequency.WEEKLY:
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day:%Y-%m}"


def reader_of(subscription: ReportSubscription) -> tuple[User | None, str]:
    """Who the report is read as, now, or (None, why not): the reader's scope as it is today
    (``_reader``), and the subscription's filters, checked again (one that names a course,
    position or programme that is gone stops the mail rather than widen the report)."""
    reader, why_not = _reader(subscription)
    if reader is not None:
        try:
            subscriptions.filters_of(subscription)
        except subscriptions.BadFilter as bad:
            return None, str(bad)
    return reader, why_not


def _reader(subscription: ReportSubscription) -> tuple[User | None, str]:
    """A person reads it within their own scope as it is today; an address without an account
    reads the unit it was given when the subscription was made (the whole ministry: none), as
    a reporter would."""
    if subscription.user_id is None:
        address = subscription.email or ""
        return unit_reader(subscription.unit_id, email=address, name=address), ""
    user = subscription.user
    if user is None or not user.active:
        return None, "account disabled"
    if not user.can(Permission.READ_REPORTS):
        return None, "no longer reads reports"
    scope = visible_units(user)
    if scope is not None and (subscription.unit_id is None or subscription.unit_id not in scope):
        return None, "unit outside the person's scope"
    return user, ""


def address_of(subscription: ReportSubscription) -> str:
    if subscription.user is not None:
        return mail.address(subscription.user.display_name, subscription.user.email)
    return subscription.email or ""


@dataclass
class Report:
    """One subscription's mail, built."""

    subject: str
    text: str
    html: str
    parts: list[mail.Part] = field(default_factory=list)
    rate: float | None = None


def _figures(subscription: ReportSubscription, reader: User, filters: queries.Filters,
             today: date) -> figures.Figures:
    if subscription.kind == ReportKind.COMPLIANCE:
        return figures.compliance(reader, subscription.unit_id, today)
    if subscription.kind == ReportKind.OVERDUE:
        return figures.overdue(reader, subscription.unit_id, filters, today)
    return figures.dashboard(queries.rollup(reader, subscription.unit_id, filters, today))


def build(subscription: ReportSubscription, reader: User, today: date,
          previous_rate: float | None) -> Report:
    """The report as ``reader`` may read it today, with the subscription's filters
    (queries.OutOfScope if they may not read it; subscriptions.BadFilter if a filter names a
    course, position or programme that is gone)."""
    filters = subscriptions.filters_of(subscription)
    made = _figures(subscription, reader, filters, today)
    stamp = " · ".join(
        [_("As of %(day)s", day=format_date(today))]
        + ([_("Course: %(title)s", title=subscription.course.title)] if subscription.course else [])
        + subscriptions.described(subscription))
    parts = [mail.Part("bieu-do.png", "image/png", charts.rates_png(made.rated[:20]), cid="chart")]
    name = slug(made.title, today.isoformat())
    if subscription.xlsx:
        parts.append(mail.Part(f"{name}.xlsx", exports.XLSX_MIME,
                               exports.tables_to_xlsx(made.title, made.sheets, stamp)))
    if subscription.pdf:
        parts.append(mail.Part(f"{name}.pdf", "application/pdf", figures.pdf(made, stamp)))
    rate = made.rate
    change = None if rate is None or previous_rate is None else round(rate - previous_rate, 1)
    behind = sorted(made.rated, key=lambda pair: pair[1])[:FURTHEST_BEHIND]
    text, body = _summary(made, stamp, change, behind)
    return Report(f"{made.title} ({stamp})", text, body, parts, rate)


def _summary(made: figures.Figures, stamp: str, change: float | None,
             behind: list[tuple[str, float]]) -> tuple[str, str]:
    """The mail's body, as text and as HTML (the same facts)."""
    title = made.title
    lines = [
        made.rate_line,
        (_("Change since the last report: %(change)s points", change=format_number(change, 1))
         if change is not None else _("Change since the last report: this is the first one")),
        *made.facts,
    ]
    behind_lines = [f"{label}: {figures.percent(rate)}" for label, rate in behind]
    link = public_url() + "/reports/"
    text = "\n".join([title, stamp, "", *lines, "", _("Furthest behind:"), *behind_lines, "",
                      _("The report on the site: %(link)s", link=link)])
    escape = html.escape
    body = (
        f"<h1 style=\"font-size:18px\">{escape(title)}</h1><p>{escape(stamp)}</p>"
        + "".join(f"<p>{escape(line)}</p>" for line in lines)
        + f"<h2 style=\"font-size:15px\">{escape(_('Furthest behind:'))}</h2><ol>"
        + "".join(f"<li>{escape(line)}</li>" for line in behind_lines) + "</ol>"
        + f"<p><img src=\"cid:chart\" alt=\"{escape(_('Completion rate by unit'))}\" width=\"600\"></p>"
        + f"<p><a href=\"{escape(link)}\">{escape(_('Open the report on the site'))}</a></p>"
    )
    return text, body


@dataclass
class RunReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    waiting: int = 0  # claimed by another run that may still be sending
    lines: list[str] = field(default_factory=list)


def _claim(subscription: ReportSubscription, period: str, now: datetime,
           stale: timedelta) -> ReportDelivery | None:
    """This period's delivery row, claimed for this run, or None (sent, skipped, or held by
    a run that may still be sending). Committed."""
    delivery = db.session.scalar(sa.select(ReportDelivery).where(
        ReportDelivery.subscription_id == subscription.id, ReportDelivery.period == period))
    if delivery is None:
        delivery = ReportDelivery(subscription_id=subscription.id, period=period,
                                  status=DeliveryStatus.PENDING, claimed_at=now)
        db.session.add(delivery)
        try:
            db.session.commit()
        except sa.exc.IntegrityError:  # another run claimed it a moment ago
            db.session.rollback()
            return None
        return delivery
    if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.SKIPPED):
        return None
    if delivery.status == DeliveryStatus.PENDING and now - delivery.claimed_at < stale:
        return None
    taken = db.session.execute(sa.update(ReportDelivery).where(
        ReportDelivery.id == delivery.id, ReportDelivery.status == delivery.status,
        ReportDelivery.claimed_at == delivery.claimed_at).values(
        status=DeliveryStatus.PENDING, claimed_at=now))
    db.session.commit()
    if not taken.rowcount:  # type: ignore[attr-defined]
        return None
    db.session.refresh(delivery)
    return delivery


def _previous_rate(subscription: ReportSubscription, period: str) -> float | None:
    return db.session.scalar(
        sa.select(ReportDelivery.rate).where(
            ReportDelivery.subscription_id == subscription.id, ReportDelivery.period != period,
            ReportDelivery.status == DeliveryStatus.SENT)
        .order_by(ReportDelivery.sent_at.desc()).limit(1))


def due(today: date) -> list[tuple[ReportSubscription, str]]:
    """The active subscriptions with their current period, and no sent or skipped delivery of it."""
    subscriptions = db.session.scalars(
        sa.select(ReportSubscription).where(ReportSubscription.active.is_(True))
        .order_by(ReportSubscription.id)).all()
    done = {(row.subscription_id, row.period) for row in db.session.execute(
        sa.select(ReportDelivery.subscription_id, ReportDelivery.period).where(
            ReportDelivery.status.in_([DeliveryStatus.SENT, DeliveryStatus.SKIPPED])))}
    found = []
    for subscription in subscriptions:
        period = period_of(subscription.frequency, today)
        if (subscription.id, period) not in done:
            found.append((subscription, period))
    return found


def send_due(today: date, *, should_stop: Callable[[], bool] = lambda: False) -> RunReport:
    """Send each due subscription's report (see the module's docstring). Commits."""
    report = RunReport()
    stale = timedelta(minutes=settings().reminder_pending_minutes)
    for subscription, period in due(today):
        if should_stop():
            break
        now = clock.now()
        delivery = _claim(subscription, period, now, stale)
        if delivery is None:
            report.waiting += 1
            continue
        _deliver(subscription, delivery, period, today, report)
    return report


def _skip(subscription_id: int, delivery_id: int, period: str, to: str, why_not: str,
          report: RunReport) -> None:
    """This period's mail is not sent, and why (the delivery and the audit trail say it)."""
    delivery = db.session.get(ReportDelivery, delivery_id)
    assert delivery is not None  # claimed by this run
    delivery.status, delivery.detail = DeliveryStatus.SKIPPED, why_not[:500]
    audit.record("reports.subscription_skipped", target=to[:200], subscription=subscription_id,
                 period=period, reason=why_not[:500])
    db.session.commit()
    report.skipped += 1
    report.lines.append(f"skipped {to}: {why_not}")


def _deliver(subscription: ReportSubscription, delivery: ReportDelivery, period: str, today: date,
             report: RunReport) -> None:
    reader, why_not = reader_of(subscription)
    to = address_of(subscription)
    subscription_id, delivery_id = subscription.id, delivery.id
    if reader is None:
        _skip(subscription_id, delivery_id, period, to, why_not, report)
        return
    built: Report | None = None
    with force_locale(settings().default_locale):  # a mail has no browser to choose a language
        try:
            built = build(subscription, reader, today, _previous_rate(subscription, period))
        except queries.OutOfScope:
            why_not = "unit outside the scope"
        except subscriptions.BadFilter as bad:  # gone since reader_of() looked
            why_not = str(bad)
    db.session.rollback()  # nothing open while the mail server is talked to
    if built is None:
        _skip(subscription_id, delivery_id, period, to, why_not, report)
        return
    try:
        mail.send(to, built.subject, built.text, built.html, parts=built.parts)
    except mail.MailError as error:
        delivery = db.session.get(ReportDelivery, delivery_id)  # type: ignore[assignment]
        delivery.status, delivery.detail = DeliveryStatus.FAILED, str(error)[:500]
        db.session.commit()
        report.failed += 1
        report.lines.append(f"failed {to}: {error}")
        return
    delivery = db.session.get(ReportDelivery, delivery_id)  # type: ignore[assignment]
    delivery.status, delivery.sent_at, delivery.rate = DeliveryStatus.SENT, clock.now(), built.rate
    db.session.commit()
    report.sent += 1
    report.lines.append(f"sent {to}: {built.subject}")
