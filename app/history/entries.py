"""The billing history as the page lists it: every payment and refund of a user, newest
first, from our rows alone (two queries however long the history; no Stripe call)."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import url_for

from app.auth.models import User
from app.extensions import db
from app.history.models import Invoice
from app.history.receipts import what_for
from app.upgrades.models import UpgradeStatus, UserUpgrade

# Upgrades that took money (a refunded one did too, then gave it back).
CHARGED = (UpgradeStatus.COMPLETE, UpgradeStatus.REFUNDED)


@dataclass(frozen=True)
class Entry:
    at: datetime
    what: str
    amount: int  # minor units; a refund's is what went back
    currency: str
    status: str  # the badge's words
    tone: str  # its colour: "paid", "due", "refund", "muted"
    card: str | None = None
    receipt: str | None = None  # our receipt page
    hosted: str | None = None  # Stripe's invoice page
    pdf: str | None = None
    refund: bool = False


def _invoice_status(row: Invoice) -> tuple[str, str]:
    if row.status == "paid":
        if row.amount_refunded >= row.amount_paid > 0:
            return "Refunded", "muted"
        if row.amount_refunded:
            return "Partly refunded", "paid"
        return "Paid", "paid"
    if row.status == "open":
        if row.needs_action:
            return "Needs your confirmation", "due"
        return ("Failed: not paid yet", "due") if row.failed_at else ("Due", "due")
    if row.status == "uncollectible":
        return "Unpaid", "due"
    return "Cancelled, not charged", "muted"  # void


def _from_invoice(row: Invoice) -> list[Entry]:
    status, tone = _invoice_status(row)
    what = what_for(row)
    payment = Entry(
        at=row.paid_at or row.created_at, what=what, currency=row.currency, status=status,
        tone=tone, amount=row.amount_paid if row.status == "paid" else row.amount_due,
        card=row.card_label, hosted=row.hosted_invoice_url, pdf=row.invoice_pdf,
        receipt=url_for("history.receipt", invoice_id=row.id) if row.status == "paid" else None)
    if not row.amount_refunded:
        return [payment]
    refund = Entry(at=row.refunded_at or payment.at, what=f"Refund: {what}",
                   amount=row.amount_refunded, currency=row.currency, status="Refunded",
                   tone="refund", card=row.card_label, refund=True,
                   receipt=payment.receipt)
    return [refund, payment]


def _upgrade_what(upgrade: UserUpgrade) -> str:
    level = upgrade.type.target.label
    if upgrade.is_gift:
        return f"{level}, a gift for @{upgrade.recipient.username}"
    return f"{level} for your account"


def _from_upgrade(upgrade: UserUpgrade) -> list[Entry]:
    receipt = url_for("upgrades.show", upgrade_id=upgrade.id)
    refunded = upgrade.amount_refunded
    status = "Refunded" if refunded >= upgrade.amount else \
        "Partly refunded" if refunded else "Paid"
    payment = Entry(at=upgrade.completed_at or upgrade.created_at, what=_upgrade_what(upgrade),
                    amount=upgrade.amount, currency=upgrade.currency, status=status,
                    tone="muted" if status == "Refunded" else "paid",
                    card=upgrade.card_label, receipt=receipt)
    if not refunded:
        return [payment]
    refund = Entry(at=upgrade.refunded_at or payment.at, what=f"Refund: {payment.what}",
                   amount=refunded, currency=upgrade.currency, status="Refunded",
                   tone="refund", card=upgrade.card_label, receipt=receipt, refund=True)
    return [refund, payment]


def history_for(user: User) -> list[Entry]:
    """Every payment and refund of the user, newest first."""
    invoices = db.session.scalars(
        sa.select(Invoice).where(Invoice.user_id == user.id,
                                 Invoice.status.in_(("open", "paid", "uncollectible", "void")),
                                 sa.or_(Invoice.amount_due > 0, Invoice.amount_paid > 0))
        # Newest first already, so payments in the same second (Stripe's times are whole
        # seconds: a plan switched just after the first payment) keep their order through
        # the stable sort below: Stripe numbers a customer's invoices in sequence.
        .order_by(Invoice.created_at.desc(), Invoice.number.desc(), Invoice.id.desc()))
    upgrades = db.session.scalars(
        sa.select(UserUpgrade).options(so.joinedload(UserUpgrade.recipient))
        .where(UserUpgrade.purchaser_id == user.id, UserUpgrade.status.in_(CHARGED),
               UserUpgrade.amount > 0)
        .order_by(UserUpgrade.id.desc()))
    entries = [entry for row in invoices for entry in _from_invoice(row)]
    entries += [entry for upgrade in upgrades for entry in _from_upgrade(upgrade)]
    return sorted(entries, key=lambda e: e.at, reverse=True)
