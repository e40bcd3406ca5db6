"""The worker's side of a paid invoice: read its card from Stripe, then send the receipt.

Kept out of the webhook, so applying `invoice.paid` asks Stripe nothing; the job runs
again safely (the card is read once, the e-mail is queued once per invoice)."""

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.history.models import Invoice
from app.history.receipts import queue_receipt
from app.history.service import PAID, complete_payment
from app.outbox import job


@job(PAID)
def paid_invoice(payload: dict[str, Any]) -> str:
    row = db.session.scalar(sa.select(Invoice).where(
        Invoice.stripe_invoice_id == payload["invoice"]).with_for_update())
    if row is None:
        return "no such invoice"
    complete_payment(row)
    # Past due until now: the subscription said so when it was paid, or this invoice's own
    # failure was recorded (perhaps after the payment, its event having come late).
    recovered = bool(payload.get("recovered")) or row.failed_at is not None
    queued = queue_receipt(row, back_in_good_standing=recovered)
    return f"card {row.card_label or 'unknown'}; receipt {'queued' if queued else 'not due'}"
