"""A renewal paid, `invoice.paid`'s common case, in one statement on PostgreSQL.

The plain case (a subscription in good standing, an invoice of money taken, first seen
paid) is three changes: the subscription takes the invoice as its latest
(`service.paid_at_once`, which locks the customer's user first), the invoice's row in the
billing history (`history.insert_for`), and its receipt job (`outbox.job_after`). Here they
are chained as data-modifying CTEs, each selecting from the one before, so the row and the
job exist only if the subscription's update applied: one round trip where the handler's
steps take three. What the statement did not do is left to those steps (SQLite, which has
no round trips to save, always takes them), and they stay the definition: the tests run
both.
"""

import functools
import typing

import sqlalchemy as sa

from app.extensions import db
from app.history import service as history
from app.history.views import InvoiceView
from app.outbox.enqueue import job_after, job_params, log_queued
from app.subscriptions import service


@functools.cache
def _statement() -> sa.Select[typing.Any]:
    renewed = service.paid_at_once().cte("renewed")
    row = history.insert_for(renewed).cte("history_row")
    job = job_after(row)
    return (sa.select(renewed.c.user_id, renewed.c.referred, row.c.id.label("row_id"),
                      job.c.id.label("job_id"))
            .select_from(renewed.outerjoin(row, sa.true()).outerjoin(job, sa.true())))


def record_at_once(invoice: InvoiceView, *, event_id: str | None = None) -> bool:
    """Apply the plain case in one statement; False, with nothing changed, when the
    database is not PostgreSQL or the case is not plain."""
    if db.session.connection().dialect.name != "postgresql" or not invoice.subscription_id:
        return False
    values = history.paid_row(invoice)
    if values is None or values["row_amount_paid"] <= 0:
        return False  # no receipt to send: the steps do it
    kind, key, payload = history.receipt_job(invoice.id, recovered=False)
    found = db.session.connection().execute(_statement(), {
        **service.paid_at_once_params(invoice), **values,
        **job_params(kind, key, payload)}).first()
    if found is None:
        return False  # the subscription's update did not apply, so nothing else did
    service.renewed(invoice, found.user_id, found.referred, event_id=event_id)
    if found.row_id is None:  # we hold the invoice's row already: move it forward
        history.record_paid(invoice)
    else:
        log_queued(key, kind, found.job_id)
    return True
