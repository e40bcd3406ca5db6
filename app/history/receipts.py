"""What a receipt names: what was paid for, who sold it and who bought it.

The seller is configuration (`SELLER_NAME`, `SELLER_ADDRESS`, `SELLER_VAT_ID`). The buyer's
billing name, address and tax IDs live at Stripe and are read when a receipt is shown or
its e-mail is sent, never stored here.
"""

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app.auth.models import User
from app.billing.details import TAX_ID_TYPES, details_of
from app.billing.errors import BillingError
from app.billing.forms import countries
from app.emails.messages import builder, iso, queue_email
from app.history.models import Invoice

log = logging.getLogger("app.history")

REASONS = {"subscription_create": "first payment", "subscription_cycle": "renewal",
           "subscription_update": "change of plan", "subscription_threshold": "usage",
           "manual": "payment"}


def plan_of(row: Invoice) -> str:
    """The plan an invoice paid for, told by the length of its period."""
    if row.period_start and row.period_end and \
            (row.period_end - row.period_start).days > 40:
        return "Premium (annual)"
    return "Premium (monthly)"


def what_for(row: Invoice) -> str:
    """"Premium (monthly), renewal"."""
    return f"{plan_of(row)}, {REASONS.get(row.billing_reason or '', 'payment')}"


@dataclass(frozen=True)
class Party:
    """A name, address lines and a tax ID, as a receipt prints them."""

    name: str
    lines: tuple[str, ...]
    tax_id: str | None


def seller() -> Party:
    config = current_app.config
    address = tuple(line.strip() for line in str(config["SELLER_ADDRESS"]).split(",")
                    if line.strip())
    return Party(name=config["SELLER_NAME"], lines=address,
                 tax_id=config["SELLER_VAT_ID"] or None)


def buyer(user: User) -> Party | None:
    """The user's billing details as Stripe holds them now; None when Stripe cannot say
    (the receipt says so rather than fail)."""
    try:
        held = details_of(user)
    except BillingError:
        return None
    country = dict(countries()).get(held.country, held.country)
    lines = tuple(part for part in (held.line1, held.line2,
                                    " ".join(p for p in (held.postal_code, held.city) if p),
                                    country) if part)
    kind = TAX_ID_TYPES.get(held.tax_type)
    label = kind.label if kind else held.tax_type.replace("_", " ").upper()
    tax_id = f"{label} {held.tax_value}" if held.tax_type else None
    return Party(name=held.name or user.username, lines=lines, tax_id=tax_id)


def queue_receipt(row: Invoice, *, back_in_good_standing: bool) -> bool:
    """Queue the receipt e-mail of a paid invoice (once per invoice; nothing for £0). Like
    every message it names no card: the receipt page does."""
    if row.status != "paid" or row.amount_paid <= 0:
        return False
    return queue_email("payment_receipt", row.user_id, record=row.stripe_invoice_id,
                       invoice=row.id, what=what_for(row), amount=row.amount_paid,
                       currency=row.currency, number=row.number,
                       paid_at=iso(row.paid_at), period_start=iso(row.period_start),
                       period_end=iso(row.period_end),
                       back_in_good_standing=back_in_good_standing)


@builder("payment_receipt")
@builder("upgrade_receipt")
def parties(user: User, context: dict[str, Any]) -> dict[str, Any]:
    """The seller and buyer of a receipt e-mail, as they are when it is sent."""
    return {"seller": seller(), "buyer": buyer(user)}
