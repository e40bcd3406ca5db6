"""The Stripe customer behind a user: we keep its id and nothing Stripe already keeps."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import UTCDateTime, utcnow
from app.extensions import Model


class BillingInfo(Model):
    """One Stripe customer per user; name, address and tax ids live at Stripe."""

    __tablename__ = "billing_info"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), unique=True)
    stripe_customer_id: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    # The customer's balance at Stripe, in minor units of `balance_currency` (negative: a
    # credit, e.g. left by a switch to a cheaper plan). Stripe takes it off the next invoice.
    balance: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    balance_currency: so.Mapped[str | None] = so.mapped_column(sa.String(3))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)


class PaymentMethod(Model):
    """A card saved on the user's Stripe customer: its id, its place in the user's order
    (1 is the default), and what the page shows of it. Never a name, address or number."""

    __tablename__ = "payment_methods"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    billing_info_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("billing_info.id"), index=True)
    stripe_payment_method_id: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    priority: so.Mapped[int]  # 1, 2, 3 … per customer, no gaps
    brand: so.Mapped[str] = so.mapped_column(sa.String(32))
    last4: so.Mapped[str] = so.mapped_column(sa.String(4))
    exp_month: so.Mapped[int]
    exp_year: so.Mapped[int]
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    billing_info: so.Mapped[BillingInfo] = so.relationship()

    @property
    def is_default(self) -> bool:
        return self.priority == 1

    @property
    def label(self) -> str:
        """"Visa ending 4242"."""
        return f"{BRANDS.get(self.brand, self.brand.title())} ending {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"


# Stripe's card brands as people write them.
BRANDS = {"amex": "American Express", "cartes_bancaires": "Cartes Bancaires",
          "diners": "Diners Club", "discover": "Discover", "eftpos_au": "eftpos",
          "jcb": "JCB", "link": "Link", "mastercard": "Mastercard", "unionpay": "UnionPay",
          "visa": "Visa", "unknown": "Card"}
