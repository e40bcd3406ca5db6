"""Refund a subscription invoice's payment at Stripe: `flask billing refund-invoice` and the
console's "Refund invoice" share `refund_invoice`.

What is left to refund is read from Stripe (the charge that paid the invoice, under the
customer's lock), never from our row, which a `charge.refunded` in flight may be about to
update; the idempotency key names the invoice and that amount, so a repeat (or a retry after
a crash) returns the same refund, and a later refund of what remains is a new one. Stripe's
answer is kept at once through `record_refund`, as its `charge.refunded` webhook keeps it."""

from dataclasses import dataclass

import sqlalchemy as sa

from app.auth.locks import lock_user
from app.auth.models import utcnow
from app.billing import gateway
from app.billing.objects import Amount, parse
from app.extensions import db
from app.history.models import Invoice
from app.history.service import record_refund
from app.history.views import PaidCharge


class RefundRefused(Exception):
    """This invoice cannot be refunded; `str()` says why. Nothing was done."""


class _Charge(PaidCharge):
    amount: Amount


@dataclass(frozen=True)
class InvoiceRefunded:
    invoice: Invoice
    refund_id: str
    amount: int  # refunded now
    currency: str


def invoice_by_stripe_id(stripe_invoice_id: str) -> Invoice | None:
    return db.session.scalar(sa.select(Invoice).where(
        Invoice.stripe_invoice_id == stripe_invoice_id))


def refund_invoice(row: Invoice, *, reason: str | None = None) -> InvoiceRefunded:
    """Refund all that is left of the invoice's payment, as Stripe holds it now; flushes."""
    lock_user(row.user_id)
    db.session.refresh(row)
    if row.status != "paid" or row.amount_paid <= 0:
        raise RefundRefused(f"Invoice {row.number or row.stripe_invoice_id} is "
                            f"{row.status} with nothing paid, so there is nothing to refund.")
    found = gateway.invoice_charge(row.stripe_invoice_id)
    if found is None:
        raise RefundRefused(f"Stripe has no payment for invoice {row.stripe_invoice_id}; "
                            "nothing was refunded.")
    charge = parse(_Charge, found.to_dict(), f"charge of invoice {row.stripe_invoice_id}")
    left = charge.amount - charge.amount_refunded
    if left <= 0 or charge.payment_intent is None:
        raise RefundRefused(f"Invoice {row.number or row.stripe_invoice_id} is refunded in "
                            "full already; nothing was done.")
    refund = gateway.create_refund(
        charge.payment_intent, amount=left, reason=reason,
        idempotency_key=f"invoice-{row.stripe_invoice_id}-refund-{left}")
    row.stripe_payment_intent_id = row.stripe_payment_intent_id or charge.payment_intent
    db.session.flush()
    record_refund(charge.payment_intent, charge.amount_refunded + int(refund.amount),
                  utcnow())
    return InvoiceRefunded(row, str(refund.id), int(refund.amount), row.currency)
