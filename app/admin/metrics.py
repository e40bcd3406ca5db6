"""The overview's figures: the business over the last 90 days, read from our own rows.

Every figure is one aggregate query grouped by day in SQL (ten in all, whatever the number
of customers); Python only turns the per-day changes into the 90 days of each series.
Days are UTC calendar days; the window is the 90 days ending today. Money is in minor units
per currency. The definitions (the page says each in a line, `DEFINITIONS`):

- MRR: at the end of each day, the monthly price (annual ÷ 12) of every subscription with a
  paid invoice (money taken, not refunded in full) whose period covers that day, until the
  subscription ended. A free trial (a £0 invoice), days whose charge referral credit moved
  (no invoice covers them) and an overdue period (its invoice is not paid) count nothing.
  A subscription is valued at its current price.
- Subscribers by plan: the subscriptions counted in MRR that day, monthly and annual.
- Trials started: free trials begun that day (Stripe's `trial_start`; a "trial" that is
  referral credit, `credit_days` or `paid_until` set, is not a trial). Converted: those
  trials' subscriptions whose first payment with money taken was that day.
- Cancellations: subscriptions that ended that day (`ended_at`), split into paying ones
  (with a payment before) and the rest (trials, never paid). Churn: the paying ones over
  the 90 days ÷ the subscribers counted in MRR at the end of the day before the window.
- At risk: at the end of each day, the amount due on invoices whose payment failed, from the
  invoice's creation until it was paid (or, written off or voided, until its subscription
  ended). Recovered: invoices paid that day after a failed attempt (Stripe's retries, Pay
  now, a new or new default card).
- Upgrade revenue: one-time upgrades paid that day (`completed_at`), before refunds.
- Refunds: money refunded on invoices and upgrades, on the day of the latest refund
  (an upgrade refunded in part: the day it was last changed).
- Referral conversions: referrals whose referred user first paid that day (`converted_at`).
- Credit days: days of credit granted that day (referrals both sides, admin grants), and
  days taken back by reversals.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.auth.models import utcnow
from app.extensions import db
from app.history.models import Invoice
from app.referrals.models import CreditEntry, CreditReason, Referral
from app.subscriptions.models import Subscription, SubscriptionStatus
from app.upgrades.models import UserUpgrade

WINDOW_DAYS = 90

DEFINITIONS = {
    "mrr": "MRR: the monthly price (annual ÷ 12) of every subscription with a paid invoice "
           "covering the day; free trials, days deferred by credit and overdue periods "
           "count nothing.",
    "subscribers": "Subscribers: the subscriptions counted in MRR that day, by plan.",
    "trials": "Trials: free trials begun that day (credit is not a trial); converted: first "
              "payment of a trial's subscription that day.",
    "cancellations": "Cancellations: subscriptions that ended that day; churn: paying ones "
                     "over 90 days ÷ subscribers counted in MRR the day before.",
    "at_risk": "At risk: amount due on invoices whose payment failed, until paid or written "
               "off; recovered: paid that day after a failed attempt.",
    "upgrades": "Upgrade revenue: one-time upgrades paid that day, before refunds.",
    "refunds": "Refunds: money refunded on invoices and upgrades, on the day of the latest "
               "refund.",
    "referrals": "Referral conversions: referred users' first payments that day.",
    "credit": "Credit days: days granted that day (referrals, both sides, and admin grants) "
              "and days taken back by reversals.",
}


class utc_day(FunctionElement[Any]):
    """The UTC calendar day of a timestamp: an ISO string on SQLite, a date on PostgreSQL."""

    type = sa.String()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass
class Overview:
    """Each series has one value per day of `days`; money series are keyed by currency."""

    days: list[date]
    mrr: dict[str, list[int]] = field(default_factory=dict)
    subscribers: dict[str, list[int]] = field(default_factory=dict)  # "month" / "year"
    trials_started: list[int] = field(default_factory=list)
    trials_converted: list[int] = field(default_factory=list)
    cancellations_paying: list[int] = field(default_factory=list)
    cancellations_other: list[int] = field(default_factory=list)
    subscribers_before: int = 0  # counted in MRR at the end of the day before the window
    at_risk: dict[str, list[int]] = field(default_factory=dict)
    recovered: dict[str, list[int]] = field(default_factory=dict)
    upgrade_revenue: dict[str, list[int]] = field(default_factory=dict)
    refunds: dict[str, list[int]] = field(default_factory=dict)
    referral_conversions: list[int] = field(default_factory=list)
    credit_granted: list[int] = field(default_factory=list)
    credit_reversed: list[int] = field(default_factory=list)

    @property
    def churn(self) -> float | None:
        """Paying cancellations in the window ÷ subscribers before it (None: none before)."""
        if not self.subscribers_before:
            return None
        return sum(self.cancellations_paying) / self.subscribers_before


class _Days:
    """Per-day sums over the window: flows (what happened that day) and stocks (the running
    total of +/- changes, what was there at the end of the day)."""

    def __init__(self, days: list[date]):
        self.days, self.index = days, {d: i for i, d in enumerate(days)}

    def flow(self, rows: Iterable[tuple[object, int]]) -> list[int]:
        values = [0] * len(self.days)
        for day, amount in rows:
            i = self.index.get(_as_date(day))
            if i is not None:
                values[i] += int(amount or 0)
        return values

    def stock(self, rows: Iterable[tuple[object, int]]) -> tuple[int, list[int]]:
        """(the total before the window, the total at the end of each day)."""
        before, changes = 0, self.flow([])
        for day, amount in rows:
            d = _as_date(day)
            if d < self.days[0]:
                before += int(amount or 0)
            elif d in self.index:
                changes[self.index[d]] += int(amount or 0)
        values, total = [], before
        for change in changes:
            total += change
            values.append(total)
        return before, values


def _changes(cover: sa.CTE, keys: Sequence[str], value: sa.ColumnElement[int],
             since: datetime) -> sa.CompoundSelect:
    """+value on the day each interval of `cover` (columns start, end) begins and -value on
    the day it ends, summed per day and `keys`: the running total is what it covers."""
    cols = [cover.c[k] for k in keys]
    live = sa.and_(sa.or_(cover.c.end.is_(None), cover.c.end > since),
                   sa.or_(cover.c.end.is_(None), cover.c.end > cover.c.start))
    opened = sa.select(utc_day(cover.c.start).label("day"), *cols,
                       sa.func.sum(value).label("value"), sa.func.count().label("n")
                       ).where(live).group_by(sa.text("1"), *cols)
    closed = sa.select(utc_day(cover.c.end).label("day"), *cols,
                       -sa.func.sum(value), -sa.func.count()
                       ).where(live, cover.c.end.is_not(None)).group_by(sa.text("1"), *cols)
    return sa.union_all(opened, closed)


def _earliest(first: sa.ColumnElement[Any], *others: sa.ColumnElement[Any]
              ) -> sa.ColumnElement[Any]:
    """The earliest of `first` and those of `others` that are set (LEAST ignoring NULL,
    which SQLite's min() does not)."""
    result = first
    for other in others:
        result = sa.case((other < result, other), else_=result)
    return result


PAID_MONEY = sa.and_(Invoice.status == "paid", Invoice.amount_paid > 0)


def _first_payments() -> sa.Subquery:
    """Each subscription's first payment with money taken."""
    return (sa.select(Invoice.stripe_subscription_id.label("sid"),
                      sa.func.min(Invoice.paid_at).label("first_paid"))
            .where(PAID_MONEY, Invoice.stripe_subscription_id.is_not(None))
            .group_by(Invoice.stripe_subscription_id).subquery())


def overview(now: datetime | None = None) -> Overview:
    """The overview's figures for the 90 days ending on `now`'s day (UTC)."""
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=WINDOW_DAYS - 1 - i) for i in range(WINDOW_DAYS)]
    since = datetime.combine(days[0], time(), tzinfo=UTC)
    per = _Days(days)
    o = Overview(days=days)
    _revenue(o, per, since)
    _trials_and_cancellations(o, per, since)
    _payments(o, per, since)
    _referrals(o, per, since)
    return o


def _revenue(o: Overview, per: _Days, since: datetime) -> None:
    """MRR and subscribers by plan: one query."""
    S_, Inv = Subscription, Invoice
    covering = (sa.select(S_.amount, S_.currency, S_.interval, S_.ended_at,
                          Inv.period_start.label("start"), Inv.period_end,
                          sa.func.lead(Inv.period_start).over(
                              partition_by=Inv.stripe_subscription_id,
                              order_by=(Inv.period_start, Inv.id)).label("next_start"))
                .join(S_, S_.stripe_subscription_id == Inv.stripe_subscription_id)
                .where(PAID_MONEY, Inv.amount_refunded < Inv.amount_paid,
                       Inv.period_start.is_not(None), Inv.period_end > since)
                .subquery())
    c = covering.c
    # A paid period stops early when the next paid period starts (a switch of plan) or
    # the subscription ends (cancelled at once).
    end = _earliest(c.period_end, c.next_start, c.ended_at)
    cover = sa.select(c.amount, c.currency, c.interval, c.start, end.label("end")).cte("cover")
    rows = db.session.execute(_changes(cover, ["currency", "interval"], cover.c.amount,
                                       since)).all()
    money: dict[tuple[str, str], list[tuple[object, int]]] = defaultdict(list)
    counts: dict[str, list[tuple[object, int]]] = defaultdict(list)
    for day, currency, interval, value, n in rows:
        money[currency, interval].append((day, value))
        counts[interval].append((day, n))
    for plan in ("month", "year"):
        o.subscribers[plan] = per.stock(counts.get(plan, []))[1]
        o.subscribers_before += per.stock(counts.get(plan, []))[0]
    for currency in sorted({cur for cur, _ in money}):
        monthly = per.stock(money.get((currency, "month"), []))[1]
        annual = per.stock(money.get((currency, "year"), []))[1]
        o.mrr[currency] = [m + round(a / 12) for m, a in zip(monthly, annual, strict=True)]


def _trials_and_cancellations(o: Overview, per: _Days, since: datetime) -> None:
    """Trials started, trials converted, cancellations: three queries."""
    S_ = Subscription
    free_trial = sa.and_(S_.trial_start.is_not(None), S_.credit_days == 0,
                         S_.paid_until.is_(None))
    o.trials_started = per.flow(db.session.execute(
        sa.select(utc_day(S_.trial_start), sa.func.count())
        .where(free_trial, S_.trial_start >= since).group_by(sa.text("1"))).all())
    first = _first_payments()
    o.trials_converted = per.flow(db.session.execute(
        sa.select(utc_day(first.c.first_paid), sa.func.count())
        .join(S_, S_.stripe_subscription_id == first.c.sid)
        .where(free_trial, first.c.first_paid >= since).group_by(sa.text("1"))).all())
    ended = db.session.execute(
        sa.select(utc_day(S_.ended_at), sa.func.count(), sa.func.count(first.c.first_paid))
        .outerjoin(first, first.c.sid == S_.stripe_subscription_id)
        .where(S_.status == SubscriptionStatus.CANCELED, S_.ended_at >= since)
        .group_by(sa.text("1"))).all()
    o.cancellations_paying = per.flow((day, paying) for day, _, paying in ended)
    o.cancellations_other = per.flow((day, n - paying) for day, n, paying in ended)


def _by_currency(per: _Days, rows: Iterable[Sequence[Any]]) -> dict[str, list[int]]:
    """Rows of (day, currency, amount) as one daily flow per currency."""
    grouped: dict[str, list[tuple[object, int]]] = defaultdict(list)
    for day, currency, amount in rows:
        grouped[currency].append((day, amount))
    return {currency: per.flow(grouped[currency]) for currency in sorted(grouped)}


def _payments(o: Overview, per: _Days, since: datetime) -> None:
    """At risk, recovered, upgrade revenue, refunds: four queries."""
    Inv, U = Invoice, UserUpgrade
    settled = sa.case((Inv.status == "paid", Inv.paid_at),
                      (Inv.status.in_(("void", "uncollectible")),
                       sa.func.coalesce(Subscription.ended_at, Inv.failed_at)),
                      else_=None)
    failed = (sa.select(Inv.currency, Inv.amount_due, Inv.created_at.label("start"),
                        settled.label("end"))
              .outerjoin(Subscription,
                         Subscription.stripe_subscription_id == Inv.stripe_subscription_id)
              .where(Inv.failed_at.is_not(None), Inv.amount_due > 0).cte("failed"))
    rows = db.session.execute(_changes(failed, ["currency"], failed.c.amount_due, since)).all()
    risk: dict[str, list[tuple[object, int]]] = defaultdict(list)
    for day, currency, value, _ in rows:
        risk[currency].append((day, value))
    o.at_risk = {currency: per.stock(risk[currency])[1] for currency in sorted(risk)}
    o.recovered = _by_currency(per, db.session.execute(
        sa.select(utc_day(Inv.paid_at), Inv.currency, sa.func.sum(Inv.amount_paid))
        .where(PAID_MONEY, Inv.failed_at.is_not(None), Inv.paid_at >= since)
        .group_by(sa.text("1"), Inv.currency)))
    o.upgrade_revenue = _by_currency(per, db.session.execute(
        sa.select(utc_day(U.completed_at), U.currency, sa.func.sum(U.amount))
        .where(U.completed_at >= since).group_by(sa.text("1"), U.currency)))
    upgrade_refunded = sa.func.coalesce(U.refunded_at, U.updated_at)
    o.refunds = _by_currency(per, db.session.execute(sa.union_all(
        sa.select(utc_day(Inv.refunded_at), Inv.currency, sa.func.sum(Inv.amount_refunded))
        .where(Inv.amount_refunded > 0, Inv.refunded_at >= since)
        .group_by(sa.text("1"), Inv.currency),
        sa.select(utc_day(upgrade_refunded), U.currency, sa.func.sum(U.amount_refunded))
        .where(U.amount_refunded > 0, upgrade_refunded >= since)
        .group_by(sa.text("1"), U.currency))))


def _referrals(o: Overview, per: _Days, since: datetime) -> None:
    """Referral conversions and credit days: two queries."""
    o.referral_conversions = per.flow(db.session.execute(
        sa.select(utc_day(Referral.converted_at), sa.func.count())
        .where(Referral.converted_at >= since).group_by(sa.text("1"))).all())
    C = CreditEntry
    reversal = C.reason == CreditReason.REVERSAL
    rows = db.session.execute(
        sa.select(utc_day(C.created_at),
                  sa.func.sum(sa.case((reversal, 0), else_=C.days)),
                  sa.func.sum(sa.case((reversal, -C.days), else_=0)))
        .where(C.created_at >= since).group_by(sa.text("1"))).all()
    o.credit_granted = per.flow((day, granted) for day, granted, _ in rows)
    o.credit_reversed = per.flow((day, reversed_) for day, _, reversed_ in rows)
