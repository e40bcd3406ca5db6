"""What the webhook and outbox pages read: counts and lists from our rows, a few aggregate
queries each, whatever the size of the tables (no Stripe call)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.outbox.models import Job, JobStatus
from app.outbox.worker import due_condition
from app.webhooks.models import StripeEvent
from app.webhooks.operations import failed_condition

HOURS = 24
LISTED = 100  # failed events or jobs listed; the count says how many there are


@dataclass(frozen=True)
class Hour:
    start: datetime
    received: int
    failed: int  # of those, not processed yet


@dataclass(frozen=True)
class WebhookHealth:
    now: datetime
    hours: list[Hour]  # oldest first, the current hour last
    failed: list[StripeEvent]  # oldest first
    failed_count: int
    lag_average: float | None  # seconds from Stripe's `created` to processed, last 24 h
    lag_max: float | None
    oldest_unprocessed: StripeEvent | None

    @property
    def peak(self) -> int:
        return max((h.received for h in self.hours), default=0)


@dataclass(frozen=True)
class OutboxHealth:
    now: datetime
    counts: dict[str, int]  # by status
    due: int
    leased: list[Job]
    failed: list[Job]  # newest first


def _hour_of(column: so.InstrumentedAttribute[datetime]) -> sa.ColumnElement[str]:
    """The hour a timestamp falls in, as text that sorts (a GROUP BY key on both databases)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return sa.func.strftime("%Y-%m-%d %H", column)


def _seconds(start: so.InstrumentedAttribute[datetime | None],
             end: so.InstrumentedAttribute[datetime | None]) -> sa.ColumnElement[float]:
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.extract("epoch", end - start), sa.Float)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86_400.0


def webhook_health(now: datetime) -> WebhookHealth:
    """Events per hour over the last 24 hours, failures, lag and the oldest unprocessed."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    since = this_hour - timedelta(hours=HOURS - 1)
    hour = _hour_of(StripeEvent.received_at)
    counted = {key: (received, failed or 0) for key, received, failed in db.session.execute(
        sa.select(hour, sa.func.count(),
                  sa.func.sum(sa.case((failed_condition(), 1), else_=0)))
        .where(StripeEvent.received_at >= since).group_by(hour))}
    hours = []
    for n in range(HOURS):
        start = since + timedelta(hours=n)
        received, failed = counted.get(start.strftime("%Y-%m-%d %H"), (0, 0))
        hours.append(Hour(start, received, failed))
    lag = _seconds(StripeEvent.created, StripeEvent.processed_at)
    average, longest = db.session.execute(
        sa.select(sa.func.avg(lag), sa.func.max(lag))
        .where(StripeEvent.processed_at >= now - timedelta(hours=HOURS),
               StripeEvent.created.is_not(None))).one()
    failed_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(StripeEvent).where(failed_condition())) or 0
    failed_rows = list(db.session.scalars(
        sa.select(StripeEvent).where(failed_condition())
        .order_by(StripeEvent.received_at, StripeEvent.id).limit(LISTED)))
    return WebhookHealth(
        now=now, hours=hours, failed=failed_rows, failed_count=failed_count,
        lag_average=float(average) if average is not None else None,
        lag_max=float(longest) if longest is not None else None,
        oldest_unprocessed=failed_rows[0] if failed_rows else None)


def outbox_health(now: datetime) -> OutboxHealth:
    """Jobs by status, how many are due, the leased ones and the failed ones."""
    counts = {s.value: 0 for s in JobStatus}
    for status, count in db.session.execute(
            sa.select(Job.status, sa.func.count()).group_by(Job.status)):
        counts[status.value] = count
    return OutboxHealth(
        now=now, counts=counts,
        due=db.session.scalar(sa.select(sa.func.count()).where(due_condition(now))) or 0,
        leased=list(db.session.scalars(sa.select(Job).where(Job.status == JobStatus.RUNNING)
                                       .order_by(Job.id).limit(LISTED))),
        failed=list(db.session.scalars(sa.select(Job).where(Job.status == JobStatus.FAILED)
                                       .order_by(Job.id.desc()).limit(LISTED))))
