"""One row per Stripe invoice of ours: what the billing history shows of it. Ids, amounts,
dates, status and the card's display summary; nothing personal (the buyer's name and
address stay at Stripe and are read when a receipt is shown)."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import UTCDateTime, utcnow
from app.billing.models import BRANDS
from app.extensions import Model

# Stripe's invoice statuses in the only order they move: a paid, void or uncollectible
# invoice never becomes open again, so an older snapshot never moves a row back.
STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


class Invoice(Model):
    __tablename__ = "invoices"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    stripe_invoice_id: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    stripe_subscription_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    number: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    billing_reason: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    # The plan line's words ("Premium (monthly)") and the period it pays for.
    description: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    # Every line as Stripe itemised it ({"description", "amount"}: a switch's credit for
    # unused time is negative), and the tax Stripe computed, so the receipt adds up.
    lines: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON, default=list)
    tax: so.Mapped[int] = so.mapped_column(default=0)
    period_start: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    period_end: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    status: so.Mapped[str] = so.mapped_column(sa.String(16))  # Stripe's, as Stripe names it
    amount_due: so.Mapped[int] = so.mapped_column(default=0)
    amount_paid: so.Mapped[int] = so.mapped_column(default=0)
    amount_refunded: so.Mapped[int] = so.mapped_column(default=0)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())  # Stripe's `created`
    paid_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    refunded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # The last attempt that failed, and whether the bank wants the customer to confirm it
    # (3-D Secure): the hosted invoice page is where they do.
    failed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    needs_action: so.Mapped[bool] = so.mapped_column(default=False)
    stripe_payment_intent_id: so.Mapped[str | None] = so.mapped_column(sa.String(255),
                                                                       index=True)
    card_brand: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    card_last4: so.Mapped[str | None] = so.mapped_column(sa.String(4))
    hosted_invoice_url: so.Mapped[str | None] = so.mapped_column(sa.String(2048))
    invoice_pdf: so.Mapped[str | None] = so.mapped_column(sa.String(2048))
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    @property
    def card_label(self) -> str | None:
        if not (self.card_brand and self.card_last4):
            return None
        return f"{BRANDS.get(self.card_brand, self.card_brand.title())} ending {self.card_last4}"

    @property
    def rank(self) -> int:
        return STATUS_RANK.get(self.status, 0)
