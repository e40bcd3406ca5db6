"""Premium subscriptions: one row per Stripe subscription (history kept), the checkout that
starts one, and the cooling-off waiver a monthly subscriber gives."""

import enum
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import User, UTCDateTime, enum_column, utcnow
from app.extensions import Model


class SubscriptionStatus(enum.Enum):
    """Stripe's statuses, as Stripe names them."""

    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    PAUSED = "paused"

    @property
    def label(self) -> str:
        return {"past_due": "Payment overdue", "incomplete": "Awaiting first payment",
                "incomplete_expired": "Never started", "trialing": "Free trial",
                "canceled": "Cancelled"}.get(self.value, self.value.capitalize())


S = SubscriptionStatus
# A subscription in one of these is the user's current one: no second checkout.
LIVE = frozenset({S.INCOMPLETE, S.TRIALING, S.ACTIVE, S.PAST_DUE})
# Terminal: Stripe never moves a subscription out of these, so neither do we.
ENDED = frozenset({S.CANCELED, S.INCOMPLETE_EXPIRED})


class Subscription(Model):
    __tablename__ = "subscriptions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    stripe_subscription_id: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    stripe_customer_id: so.Mapped[str] = so.mapped_column(sa.String(255), index=True)
    status: so.Mapped[SubscriptionStatus] = so.mapped_column(enum_column(SubscriptionStatus),
                                                             index=True)
    stripe_item_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    stripe_price_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    interval: so.Mapped[str] = so.mapped_column(sa.String(8))  # "month" / "year"
    amount: so.Mapped[int]  # minor units per interval
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    current_period_start: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    current_period_end: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    trial_start: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    trial_end: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    cancel_at_period_end: so.Mapped[bool] = so.mapped_column(default=False)
    cancel_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    canceled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    ended_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    latest_invoice_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    # When the first payment of the current failure streak failed (the grace period runs
    # from it); cleared when an invoice is paid.
    payment_failed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    trial_will_end_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Days of referral credit in the current trial (Stripe metadata `credit_days`): a
    # "trial" that is credit is shown as the next payment date, never as a free trial.
    credit_days: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # When the subscription had been paid up to before credit moved its next charge
    # (metadata `paid_until`); None if credit followed a free trial or no payment yet.
    paid_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # The time of the Stripe snapshot this row reflects: an older one never overwrites it.
    snapshot_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow,
                                                       onupdate=utcnow)

    user: so.Mapped[User] = so.relationship()

    # Predicates, in one place (Pay's habit): pages, access and the CLI ask these.
    def on_trial(self, now: datetime) -> bool:
        return self.status is S.TRIALING and self.trial_end is not None and now < self.trial_end

    def active(self, now: datetime) -> bool:
        """Paid up (or trialing) and inside the period Stripe says it covers."""
        return self.status in (S.ACTIVE, S.TRIALING) and now < self.access_until

    def grace_ends(self, grace: timedelta) -> datetime | None:
        if self.status is not S.PAST_DUE:
            return None
        return (self.payment_failed_at or self.current_period_end) + grace

    def in_grace(self, now: datetime, grace: timedelta) -> bool:
        ends = self.grace_ends(grace)
        return ends is not None and now < ends

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def access_until(self) -> datetime:
        if self.status is S.TRIALING and self.trial_end is not None:
            return self.trial_end
        return self.current_period_end

    @property
    def plan_label(self) -> str:
        return "Premium (annual)" if self.interval == "year" else "Premium (monthly)"


class CheckoutStatus(enum.Enum):
    PENDING = "pending"
    COMPLETE = "complete"
    EXPIRED = "expired"


class SubscriptionCheckout(Model):
    """A subscription-mode Checkout Session we opened for a user (double submits reuse it)."""

    __tablename__ = "subscription_checkouts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    interval: so.Mapped[str] = so.mapped_column(sa.String(8))
    status: so.Mapped[CheckoutStatus] = so.mapped_column(enum_column(CheckoutStatus),
                                                         default=CheckoutStatus.PENDING)
    stripe_checkout_session_id: so.Mapped[str | None] = so.mapped_column(sa.String(255),
                                                                         unique=True)
    checkout_url: so.Mapped[str | None] = so.mapped_column(sa.Text)
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    stripe_subscription_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)


class CancellationWaiver(Model):
    """A monthly subscriber asked for immediate access and acknowledged losing the 14-day
    cancellation right (Consumer Contracts Regulations 2013, reg. 36): who, when, which
    wording, for which price."""

    __tablename__ = "cancellation_waivers"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    checkout_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("subscription_checkouts.id"), unique=True)
    wording_version: so.Mapped[str] = so.mapped_column(sa.String(20))
    stripe_price_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    amount: so.Mapped[int]
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    agreed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
