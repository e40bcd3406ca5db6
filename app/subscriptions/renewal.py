"""A renewal paid: `invoice.paid`'s plain case, without loading a row.

The plain case is a subscription in good standing (no failure streak the payment could
end) taking the invoice as its latest, in one conditional update that locks the customer's
user before the row (`_paid`; the order every verb takes them in, see
`history.lock_owner`), then the invoice's row in the billing history and its receipt job.
On PostgreSQL, for an invoice of money taken, the three are one statement: data-modifying
CTEs, each selecting from the one before, so the row and the job exist only if the update
applied (one round trip where the steps take three). Elsewhere (SQLite has no round trips
to save; a £0 invoice has no receipt) they are steps. Anything not plain goes the whole way
in the handler, which stays the definition: the tests compare the two.
"""

import functools
import typing

import sqlalchemy as sa

from app.auth.locks import locking
from app.auth.models import utcnow
from app.billing.models import BillingInfo
from app.extensions import db
from app.history import service as history
from app.history.views import InvoiceView
from app.outbox.enqueue import job_after, job_params, log_queued
from app.referrals.credit import was_referred
from app.subscriptions import service
from app.subscriptions.models import Subscription


@functools.cache
def _paid() -> sa.Update:
    """The subscription in good standing takes the invoice as its latest, the customer's
    user locked first; RETURNING the user and whether they were referred."""
    table = typing.cast(sa.Table, Subscription.__table__)
    owner = sa.select(BillingInfo.user_id).where(
        BillingInfo.stripe_customer_id == sa.bindparam("customer")).scalar_subquery()
    return (sa.update(table).where(
        table.c.stripe_subscription_id == sa.bindparam("subscription"),
        table.c.stripe_customer_id == sa.bindparam("customer"),
        table.c.payment_failed_at.is_(None),
        # The customer's user is locked before the row is (the sub-select runs first).
        table.c.user_id == locking(owner))
        .values(latest_invoice_id=sa.bindparam("invoice"), updated_at=sa.bindparam("now"))
        .returning(table.c.user_id, was_referred(table.c.user_id).label("referred")))


@functools.cache
def _in_one() -> sa.Select[typing.Any]:
    """PostgreSQL: `_paid`, the history row selected from it, the job from that."""
    renewed = _paid().cte("renewed")
    row = history.insert_for(renewed).cte("history_row")
    job = job_after(row)
    return (sa.select(renewed.c.user_id, renewed.c.referred, row.c.id.label("row_id"),
                      job.c.id.label("job_id"))
            .select_from(renewed.outerjoin(row, sa.true()).outerjoin(job, sa.true())))


def record_at_once(invoice: InvoiceView, *, event_id: str | None = None) -> bool:
    """Apply the plain case; False, with nothing changed, when the case is not plain (the
    caller goes the whole way)."""
    if not invoice.subscription_id:
        return False
    connection = db.session.connection()
    params = {"subscription": invoice.subscription_id, "customer": invoice.customer,
              "invoice": invoice.id, "now": utcnow()}
    values = history.paid_row(invoice)
    if connection.dialect.name != "postgresql" or values is None \
            or values["row_amount_paid"] <= 0:
        found = connection.execute(_paid(), params).first()
        if found is None:
            return False
        service.renewed(invoice, found.user_id, found.referred, event_id=event_id)
        history.record_paid_at_once(invoice, user_id=found.user_id)
        return True
    kind, key, payload = history.receipt_job(invoice.id, recovered=False)
    found = connection.execute(_in_one(), {**params, **values,
                                           **job_params(kind, key, payload)}).first()
    if found is None:
        return False  # the subscription's update did not apply, so nothing else did
    service.renewed(invoice, found.user_id, found.referred, event_id=event_id)
    if found.row_id is None:  # we hold the invoice's row already: move it forward
        history.record_paid(invoice)
    else:
        log_queued(key, kind, found.job_id)
    return True
