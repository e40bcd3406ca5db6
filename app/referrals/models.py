"""Referrals and the credit ledger. A user's credit window itself is `User.credit_until`."""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import UTCDateTime, enum_column, utcnow
from app.extensions import Model


class Referral(Model):
    """One per referred user: who referred them, and whether they have paid yet."""

    __tablename__ = "referrals"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # A referrer may delete their account later: the referral stays, without them.
    referrer_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    referred_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    converted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    credited_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Times converted: a full refund of the converting payment reverses the grants, and a
    # later payment converts it again (its ledger rows carry the new number).
    conversions: so.Mapped[int] = so.mapped_column(default=0)
    # The Stripe payment intent of the converting payment, whose full refund reverses it.
    converting_payment_intent: so.Mapped[str | None] = so.mapped_column(sa.String(255),
                                                                        index=True)


class CreditReason(enum.Enum):
    REFERRAL_GIVEN = "referral_given"  # to the referrer, when the referred user pays
    REFERRAL_RECEIVED = "referral_received"  # to the referred user, when they pay
    ADMIN_GRANT = "admin_grant"
    REVERSAL = "reversal"  # a converting payment refunded in full


class CreditEntry(Model):
    """One change of a user's credit window, with its reason: the ledger support reads."""

    __tablename__ = "credit_entries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    days: so.Mapped[int]  # negative for a reversal
    reason: so.Mapped[CreditReason] = so.mapped_column(enum_column(CreditReason))
    referral_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("referrals.id", ondelete="SET NULL"))
    conversion: so.Mapped[int | None]  # which conversion of the referral
    note: so.Mapped[str | None] = so.mapped_column(sa.String(200))  # an admin's reason
    before: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    after: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    # The Stripe side of the change, when it moved a subscriber's next charge: which
    # subscription, and the date the charge moved to (Stripe's `trial_end`).
    stripe_subscription_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    charge_moved_to: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    # A referral grants (and reverses) once per side per conversion, whatever the race.
    __table_args__ = (
        sa.UniqueConstraint("referral_id", "conversion", "user_id", "reason",
                            name="uq_credit_entries_once_per_referral"),
    )
