"""The billing timeline: what a user has, until when, why, and what they pay next.

One answer, read from our rows and never from Stripe. Pages, e-mails, the CLI and tests
read it; nothing else works out a date or an amount. It sits below the features (it reads
their models only), so every feature may ask it.

How Stripe holds referral credit for a subscriber: the next charge is moved by setting the
subscription's `trial_end` past the date it was due, so Stripe reports "trialing". The
subscription's metadata says how many of those days are credit (`credit_days`) and, when
the subscription had been paid, up to when (`paid_until`). Here that is what it is: a paid
subscription whose next charge waits N days, never a free trial.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.auth.models import Level, User, utcnow
from app.billing.models import BillingInfo
from app.extensions import db
from app.money import format_money
from app.subscriptions.models import LIVE, Subscription, SubscriptionStatus

S = SubscriptionStatus

# Stripe makes a renewal's invoice when the period (or trial) ends and finalizes and charges
# it about an hour later; its upcoming invoice says so (`next_payment_attempt`). The date
# a user is told they pay is that one: a period ending late in the evening is paid the
# next morning.
CHARGED_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Source:
    """One reason a user has Premium access; `until` is None when it never ends."""

    kind: str  # "level", "subscription", "credit"
    label: str
    until: datetime | None = None


@dataclass(frozen=True)
class NextCharge:
    """The subscription's next payment, as Stripe's upcoming invoice will ask for it."""

    at: datetime  # when Stripe charges it
    due: datetime  # when the period (or trial, or credit) it follows ends
    amount: int
    currency: str
    plan: str
    first: bool  # the subscription's first payment (after a free trial or credit)
    credit_days: int = 0  # days referral credit moved it by


@dataclass(frozen=True)
class Timeline:
    level: Level
    now: datetime
    sources: tuple[Source, ...] = field(default_factory=tuple)
    subscription: Subscription | None = None
    # The app's word for the subscription (Stripe's status is on the row): "none",
    # "incomplete", "trialing" (a free trial), "credit" (Premium from credit before the first
    # payment), "active" (paid, whatever credit follows), "cancelling", "past_due", "ended".
    state: str = "none"
    trial_until: datetime | None = None
    paid_until: datetime | None = None
    credit_days: int = 0  # days of credit the subscription's next charge waits for
    credit_until: datetime | None = None  # a credit window not carried by a subscription
    next_charge: NextCharge | None = None
    # Set while the subscription's last payment failed (past due): when Premium from it
    # ends unless the payment is made. Every page warns about it.
    payment_overdue_until: datetime | None = None

    @property
    def premium(self) -> bool:
        return bool(self.sources)

    @property
    def overdue_in_grace(self) -> bool:
        """Past due, and Premium still kept for the grace period."""
        return self.payment_overdue_until is not None and any(
            s.kind == "subscription" for s in self.sources)

    @property
    def until(self) -> datetime | None:
        """When Premium access ends if nothing changes; None if it never does (or is absent)."""
        ends = [s.until for s in self.sources if s.until is not None]
        if not self.sources or len(ends) < len(self.sources):
            return None
        return max(ends)

    @property
    def level_premium(self) -> bool:
        return Level.GOLD <= self.level

    @property
    def subscription_unneeded(self) -> bool:
        """A subscription still renewing although the level includes Premium for good: it
        adds nothing (settings says so, with a way to cancel)."""
        sub = self.subscription
        return self.level_premium and sub is not None and sub.live \
            and not sub.cancel_at_period_end

    @property
    def sentence(self) -> str:
        """The one sentence that says what the user has and pays next."""
        return _sentence(self)

    def as_dict(self) -> dict[str, Any]:
        charge = self.next_charge
        return {
            "level": self.level.value,
            "premium": self.premium,
            "until": _iso(self.until),
            "sources": [{"kind": s.kind, "label": s.label, "until": _iso(s.until)}
                        for s in self.sources],
            "state": self.state,
            "trial_until": _iso(self.trial_until),
            "paid_until": _iso(self.paid_until),
            "credit_days": self.credit_days,
            "credit_until": _iso(self.credit_until),
            "next_charge": None if charge is None else {
                "at": charge.at.isoformat(), "due": charge.due.isoformat(),
                "amount": charge.amount,
                "currency": charge.currency, "plan": charge.plan, "first": charge.first,
                "credit_days": charge.credit_days},
            "payment_overdue_until": _iso(self.payment_overdue_until),
            "sentence": self.sentence,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def day(value: datetime) -> str:
    return f"{value:%-d %B %Y}"


def grace_period() -> timedelta:
    return timedelta(days=current_app.config["SUBSCRIPTION_GRACE_DAYS"])


def current_subscription(user_id: int) -> Subscription | None:
    """The user's live subscription (the newest, should there be two), or None."""
    return db.session.scalar(sa.select(Subscription).where(
        Subscription.user_id == user_id, Subscription.status.in_(LIVE),
    ).order_by(Subscription.created_at.desc(), Subscription.id.desc()).limit(1))


# The worker job (run by the subscriptions feature) that stops a subscription at the end of
# its paid period once a level makes it unnecessary: an upgrade's buyer asked for it, and
# the upgrade was paid. Named here, below both, so the upgrade queues it by name.
STOP_UNNEEDED_SUBSCRIPTION = "stop-unneeded-subscription"


def renewing_subscription(user_id: int) -> Subscription | None:
    """The user's live subscription if it will charge again (not set to end), else None."""
    sub = current_subscription(user_id)
    return sub if sub is not None and not sub.cancel_at_period_end else None


def timeline_for(user: User | None, now: datetime | None = None) -> Timeline:
    """Everything the user is entitled to, with the reasons, and their next charge."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Timeline(level=Level.MEMBER, now=now or utcnow())
    return timeline_with(user, current_subscription(user.id), now)


def timeline_with(user: User, sub: Subscription | None,
                  now: datetime | None = None) -> Timeline:
    """The same, with the user's current subscription already read (or None)."""
    now = now or utcnow()
    parts: dict[str, Any] = {"level": user.level, "now": now}
    sources: list[Source] = []
    if Level.GOLD <= user.level:
        sources.append(Source("level", f"{user.level.label} level (never expires)"))
    carried = False
    if sub is not None:
        part = _subscription_part(sub, now, _balance(user.id, sub.currency))
        source = part.pop("source", None)
        if source is not None:
            sources.append(source)
        carried = part.get("credit_days", 0) > 0
        parts.update(part, subscription=sub)
    if user.credit_until is not None and now < user.credit_until and not carried:
        sources.append(Source("credit", "Referral credit", user.credit_until))
        parts["credit_until"] = user.credit_until
    return Timeline(sources=tuple(sources), **parts)


def state_of(sub: Subscription, now: datetime | None = None) -> str:
    """The app's word for a subscription (see `Timeline.state`), beside Stripe's status."""
    if sub.status not in LIVE:
        return "ended"
    return str(_subscription_part(sub, now or utcnow())["state"])


def _balance(user_id: int, currency: str) -> int:
    """The customer's balance at Stripe in `currency` (negative: a credit), 0 if none."""
    found = db.session.execute(sa.select(BillingInfo.balance, BillingInfo.balance_currency)
                               .where(BillingInfo.user_id == user_id)).first()
    return found.balance if found is not None and found.balance_currency == currency else 0


def _subscription_part(sub: Subscription, now: datetime, balance: int = 0) -> dict[str, Any]:
    """The subscription's share of the timeline (see `Timeline`'s fields)."""
    if sub.status is S.INCOMPLETE:
        return {"state": "incomplete"}
    if sub.status is S.PAST_DUE:
        grace_ends = sub.grace_ends(grace_period())
        part: dict[str, Any] = {"state": "past_due", "payment_overdue_until": grace_ends,
                      "paid_until": sub.current_period_start}
        if grace_ends is not None and now < grace_ends:
            part["source"] = Source("subscription", f"Subscription: {sub.plan_label}, payment "
                                    "overdue (grace period)", grace_ends)
        return part
    if not sub.active(now):
        return {"state": "ended"}
    trialing = sub.status is S.TRIALING and sub.trial_end is not None
    credit = sub.credit_days if trialing else 0
    ends = sub.access_until
    paid_until = trial_until = None
    if sub.status is S.ACTIVE:
        paid_until = sub.current_period_end
    elif credit:
        credit_from = ends - timedelta(days=credit)
        if sub.paid_until is not None:
            paid_until = sub.paid_until
        elif credit_from > now and credit_from > (sub.trial_start or now):
            trial_until = credit_from  # the free trial, then the credit
    else:
        trial_until = ends
    if sub.cancel_at_period_end:
        state = "cancelling"
    elif paid_until is not None:
        state = "active"
    elif trial_until is not None:
        state = "trialing"
    else:
        state = "credit"
    label = "free trial" if state == "trialing" and not credit else sub.plan_label
    part = {"state": state, "trial_until": trial_until, "paid_until": paid_until,
            "credit_days": credit,
            "source": Source("subscription", f"Subscription: {label}", ends)}
    if not sub.cancel_at_period_end:
        # Stripe takes the customer's balance (a credit is negative) off the invoice.
        part["next_charge"] = NextCharge(at=ends + CHARGED_AFTER, due=ends,
                                         amount=max(0, sub.amount + balance),
                                         currency=sub.currency,
                                         plan=sub.plan_label, first=paid_until is None,
                                         credit_days=credit)
    return part


def _sentence(t: Timeline) -> str:
    sub, charge = t.subscription, t.next_charge
    also = (f" Your {t.level.label} level includes Premium too, for good."
            if t.level_premium else "")
    if sub is None or t.state in ("none", "ended"):
        if t.level_premium:
            return f"Your {t.level.label} level includes Premium access, for good."
        if t.credit_until is not None:
            return f"Your referral credit gives you Premium until {day(t.credit_until)}."
        return "You are on the free Starter plan."
    plan = sub.plan_label
    if t.state == "incomplete":
        return f"{plan}, waiting for the first payment to be confirmed." + also
    if t.state == "past_due":
        if t.payment_overdue_until is not None and t.now < t.payment_overdue_until:
            return (f"{plan}, payment overdue: Premium is kept until "
                    f"{day(t.payment_overdue_until)} while the payment is sorted out." + also)
        return f"{plan}, payment overdue: Premium is paused until the payment is made." + also
    if t.state == "cancelling":
        if t.trial_until is not None and t.paid_until is None and not t.credit_days:
            return (f"{plan}, cancelled: the free trial ends on {day(sub.access_until)} and "
                    "nothing will be charged." + also)
        return (f"{plan}, cancelled: Premium ends on {day(sub.access_until)} and nothing "
                "more will be charged." + also)
    assert charge is not None
    pay = (f"{'first' if charge.first else 'next'} payment of "
           f"{format_money(charge.amount, charge.currency)} on {day(charge.at)}")
    plural = "s" if t.credit_days != 1 else ""
    credit = f"{t.credit_days} day{plural} of referral credit"
    if t.state == "trialing":
        if t.credit_days and t.trial_until is not None:
            return (f"{sub.plan_label}, free trial until {day(t.trial_until)}, then "
                    f"{credit}; {pay}." + also)
        return f"{sub.plan_label}, free trial until {day(charge.due)}; {pay}." + also
    if t.state == "credit":
        return (f"{sub.plan_label}, covered by {credit} until {day(charge.due)}; {pay}."
                + also)
    assert t.paid_until is not None
    if t.credit_days:
        return (f"{sub.plan_label}, paid to {day(t.paid_until)}, then {credit}; {pay}."
                + also)
    return f"{sub.plan_label}, paid to {day(t.paid_until)}; {pay}." + also
