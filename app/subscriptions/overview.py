"""What the pages show about a user's subscriptions: read-only, from our rows, never Stripe.

The settings page renders from `overview_for` (two queries whatever the history's length);
which buttons it offers follows the same rules as the verbs in `changes.py`, so a button is
never shown for a change the verb would refuse.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.auth.models import User, days_left, utcnow
from app.extensions import db
from app.subscriptions.changes import other_interval
from app.subscriptions.models import (
    LIVE,
    Subscription,
    SubscriptionCheckout,
    SubscriptionStatus,
)
from app.timeline import Timeline, timeline_with

S = SubscriptionStatus


@dataclass(frozen=True)
class Overview:
    """The current subscription (if any), what it means today, and the history."""

    current: Subscription | None
    history: list[Subscription]
    now: datetime
    timeline: Timeline

    @property
    def trial_days_left(self) -> int | None:
        """Days of free trial left; None outside one (referral credit is not a trial)."""
        until = self.timeline.trial_until
        return days_left(until, self.now) if until is not None else None

    @property
    def credit_days(self) -> int | None:
        """Days of referral credit the next payment waits for; None if it does not."""
        return self.timeline.credit_days or None

    @property
    def grace_ends(self) -> datetime | None:
        """While past due: when Premium from the subscription ends unless the card is fixed."""
        return self.timeline.payment_overdue_until

    @property
    def can_cancel(self) -> bool:
        sub = self.current
        return sub is not None and sub.status in (S.TRIALING, S.ACTIVE, S.PAST_DUE) \
            and not sub.cancel_at_period_end

    @property
    def can_resume(self) -> bool:
        sub = self.current
        return sub is not None and sub.live and sub.cancel_at_period_end

    @property
    def can_switch(self) -> bool:
        # A cancelled subscription is resumed first: switching one that is about to end
        # would charge for a period the subscriber has said they do not want.
        sub = self.current
        return sub is not None and sub.status in (S.TRIALING, S.ACTIVE) \
            and not sub.cancel_at_period_end

    @property
    def switch_to(self) -> str | None:
        return other_interval(self.current) if self.current is not None else None

    @property
    def past_due(self) -> bool:
        return self.current is not None and self.current.status is S.PAST_DUE


def overview_for(user: User) -> Overview:
    """The user's subscriptions, newest first: the live one apart, the rest as history."""
    rows = list(db.session.scalars(
        sa.select(Subscription).where(Subscription.user_id == user.id)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())))
    # The same choice as `timeline.current_subscription`: the newest live one.
    current = next((row for row in rows if row.status in LIVE), None)
    history = [row for row in rows if row is not current]
    now = utcnow()
    return Overview(current, history, now, timeline_with(user, current, now))


def checkout_for(user: User, session_id: str) -> SubscriptionCheckout | None:
    """The user's own subscription checkout with this Checkout Session id, or None."""
    return db.session.scalar(sa.select(SubscriptionCheckout).where(
        SubscriptionCheckout.user_id == user.id,
        SubscriptionCheckout.stripe_checkout_session_id == session_id))
