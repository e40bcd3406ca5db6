"""A renewal paid: `invoice.paid`'s plain case, without loading a row.

The plain case is a subscription in good standing (no failure streak the payment could
end) taking the invoice as its latest, in one conditional update that locks the customer's
user before the row (`_paid`; the order every verb takes them in, see
`history.lock_owner`), then the invoice's row in the billing history and its receipt job.

On PostgreSQL, for an invoice of money taken by a subscriber who was not referred (a
referral to convert needs the transaction), `paid_in_one` applies it before any
transaction: one autocommit statement of data-modifying CTEs, each selecting from the one
before: the update, the invoice's row (inserted, or moved forward if its
`invoice.finalized` came first), its job (unless queued already), and the event's claim
(`eventlog.claim_after`). One round trip where the handler's way takes four (BEGIN, claim,
statement, COMMIT). The claim happens only if the update and the row applied; when it does
not (the row is another user's, a twin delivery claimed the event), the handler runs as
usual, and the update it repeats leaves the subscription as it is.

In the handler, `record_at_once` takes the same case in steps (SQLite, where a statement
saves no round trip; a £0 invoice; a referred subscriber). Anything not plain goes the
whole way in the handler, which stays the definition: the tests compare them.
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
from app.webhooks.eventlog import claim_after
from app.webhooks.registry import Event


@functools.cache
def _paid(*, referred: bool = True) -> sa.Update:
    """The subscription in good standing takes the invoice as its latest, the customer's
    user locked first; RETURNING the user and whether they were referred. `referred=False`
    leaves a referred subscriber's subscription alone."""
    table = typing.cast(sa.Table, Subscription.__table__)
    owner = sa.select(BillingInfo.user_id).where(
        BillingInfo.stripe_customer_id == sa.bindparam("customer")).scalar_subquery()
    conditions = [
        table.c.stripe_subscription_id == sa.bindparam("subscription"),
        table.c.stripe_customer_id == sa.bindparam("customer"),
        table.c.payment_failed_at.is_(None),
        # The customer's user is locked before the row is (the sub-select runs first).
        table.c.user_id == locking(owner)]
    if not referred:
        conditions.append(~was_referred(table.c.user_id))
    return (sa.update(table).where(*conditions)
            .values(latest_invoice_id=sa.bindparam("invoice"), updated_at=sa.bindparam("now"))
            .returning(table.c.user_id, was_referred(table.c.user_id).label("referred")))


@functools.cache
def _in_one() -> sa.Select[typing.Any]:
    """PostgreSQL: `_paid` (not referred), the history row selected from it (new, or
    moved forward), the job and the event's claim from that."""
    renewed = _paid(referred=False).cte("renewed")
    row = history.paid_for(renewed).cte("history_row")
    job = job_after(row)
    claimed = claim_after(row)
    return (sa.select(renewed.c.user_id, job.c.id.label("job_id"),
                      claimed.c.id.label("claimed"))
            .select_from(renewed.outerjoin(job, sa.true()).outerjoin(claimed, sa.true())))


def paid_in_one(connection: sa.Connection, event: Event[InvoiceView],
                claim: dict[str, typing.Any]) -> bool:
    """The plain case of money taken and the event's claim, in one autocommit statement
    on PostgreSQL (the registration's `at_once`); whether it claimed the event."""
    invoice = event.object
    values = history.paid_row(invoice) if invoice.subscription_id else None
    if values is None or values["row_amount_paid"] <= 0:
        return False
    kind, key, payload = history.receipt_job(invoice.id, recovered=False)
    found = connection.execute(_in_one(), {
        **_params(invoice), **values, **history.paid_params(invoice),
        **job_params(kind, key, payload), **claim}).first()
    if found is None or found.claimed is None:
        return False  # the handler goes on; anything applied here it finds done
    service.renewed(invoice, found.user_id, False, event_id=event.id)
    log_queued(key, kind, found.job_id)
    return True


def _params(invoice: InvoiceView) -> dict[str, typing.Any]:
    return {"subscription": invoice.subscription_id, "customer": invoice.customer,
            "invoice": invoice.id, "now": utcnow()}


def record_at_once(invoice: InvoiceView, *, event_id: str | None = None) -> bool:
    """Apply the plain case in the handler's transaction; False, with nothing changed,
    when the case is not plain (the caller goes the whole way)."""
    if not invoice.subscription_id:
        return False
    found = db.session.connection().execute(_paid(), _params(invoice)).first()
    if found is None:
        return False
    service.renewed(invoice, found.user_id, found.referred, event_id=event_id)
    history.record_paid_at_once(invoice, user_id=found.user_id)
    return True
