"""Keep the billing history from Stripe's invoice and charge events, in any order.

An invoice's row is ours when its customer is. Each snapshot moves the row only forward
(draft, open, then paid, void or uncollectible: `STATUS_RANK`), so a late `invoice.finalized`
never reopens a paid invoice. The card a payment used is read from Stripe once, when the
invoice is first seen paid (the invoice does not carry it); a refund comes with its charge.
Every function flushes and never commits.
"""

import functools
import logging
import typing
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.locks import lock_user_of
from app.auth.models import utcnow
from app.billing import gateway
from app.billing.models import BillingInfo
from app.billing.objects import MalformedObject, as_datetime, parse
from app.extensions import db
from app.history.models import STATUS_RANK, Invoice
from app.history.views import InvoiceView, PaidCharge
from app.outbox.enqueue import enqueue, enqueue_after

log = logging.getLogger("app.history")
PAID = "invoice-paid"  # the job that completes a paid invoice's row and sends its receipt


def _row(invoice_id: str) -> Invoice | None:
    return db.session.scalar(sa.select(Invoice).where(Invoice.stripe_invoice_id == invoice_id)
                             .execution_options(populate_existing=True))


def record(invoice: InvoiceView) -> Invoice | None:
    """Apply an invoice snapshot to its row (made on first sight). None: not our customer's."""
    # The customer's user, locked: the invoice's events may be applied at once, one row,
    # in turn. One statement finds and locks them.
    user_id = lock_user_of(sa.select(BillingInfo.user_id).where(
        BillingInfo.stripe_customer_id == invoice.customer).scalar_subquery())
    if user_id is None:
        return None
    row = _row(invoice.id)
    if row is None:
        row = _new(user_id, invoice)
        db.session.add(row)
    elif row.user_id != user_id:
        raise MalformedObject(f"invoice {invoice.id} is customer {invoice.customer}'s, but "
                              f"was recorded for another user")
    _apply(row, invoice)
    db.session.flush()
    return row


def _new(user_id: int | None, invoice: InvoiceView) -> Invoice:
    return Invoice(**_first_values(user_id, invoice))


def _first_values(user_id: int | None, invoice: InvoiceView) -> dict[str, typing.Any]:
    """What a row holds when first made, before the first snapshot is applied to it."""
    return {"user_id": user_id, "stripe_invoice_id": invoice.id, "status": "draft",
            "currency": invoice.currency, "created_at": as_datetime(invoice.created),
            "needs_action": False, "amount_due": 0, "amount_paid": 0, "amount_refunded": 0,
            "lines": [], "tax": 0, "description": "", "recorded_at": utcnow()}


class _Values:
    """A new row's values as plain attributes, for `_apply` to work on without the ORM's
    per-attribute bookkeeping (a webhook's path builds one per paid invoice)."""

    def __init__(self, values: dict[str, typing.Any]) -> None:
        self.__dict__.update(dict.fromkeys(_COLUMNS), **values)

    if typing.TYPE_CHECKING:  # every column is an attribute, set above
        def __getattr__(self, name: str) -> typing.Any: ...
        def __setattr__(self, name: str, value: typing.Any) -> None: ...

    @property
    def rank(self) -> int:
        return STATUS_RANK.get(self.status, 0)


def _apply(row: Invoice | _Values, invoice: InvoiceView) -> None:
    """Move the row forward to the snapshot (never back: STATUS_RANK)."""
    status = invoice.status or ("paid" if invoice.amount_paid else row.status)
    if STATUS_RANK.get(status, 0) >= row.rank:
        row.status = status
        row.amount_due, row.amount_paid = invoice.amount_due, invoice.amount_paid
        row.currency = invoice.currency
        row.number = invoice.number or row.number
        row.hosted_invoice_url = invoice.hosted_invoice_url or row.hosted_invoice_url
        row.invoice_pdf = invoice.invoice_pdf or row.invoice_pdf
        row.billing_reason = invoice.billing_reason or row.billing_reason
        row.stripe_subscription_id = invoice.subscription_id or row.stripe_subscription_id
        if invoice.lines is not None:
            row.lines = [{"description": (item.description or "")[:200], "amount": item.amount}
                         for item in invoice.lines.data[:50]]
        row.tax = invoice.tax
        line = invoice.plan_line
        if line is not None:
            row.description = (line.description or "")[:255]
            row.period_start = as_datetime(line.period.start)
            row.period_end = as_datetime(line.period.end)
        paid = invoice.status_transitions.paid_at if invoice.status_transitions else None
        if paid is not None:
            row.paid_at = as_datetime(paid)
    if row.status == "paid":
        row.paid_at = row.paid_at or as_datetime(invoice.created)
        row.needs_action = False


def record_paid(invoice: InvoiceView, *, recovered: bool = False) -> Invoice | None:
    """An invoice was paid: its row, and (for money taken) the job that reads the card it
    was paid with from Stripe and then sends the receipt, once per invoice. `recovered`:
    the subscription was past due until now."""
    row = record(invoice)
    if row is not None and row.status == "paid" and row.amount_paid > 0:
        enqueue(*receipt_job(invoice.id, recovered))
    return row


def lock_owner(customer_id: str) -> int | None:
    """The user of a Stripe customer, locked (found and locked in one statement); None for
    a customer not ours. An invoice's handler takes it before anything else, as every verb
    takes the user's lock before a subscription's row: in the other order two transactions
    can wait on each other (a deadlock on PostgreSQL)."""
    return lock_user_of(sa.select(BillingInfo.user_id).where(
        BillingInfo.stripe_customer_id == customer_id).scalar_subquery())


def record_paid_at_once(invoice: InvoiceView, *, recovered: bool = False,
                        user_id: int | None) -> None:
    """`record_paid` for a webhook, without loading a row: an invoice first seen paid (the
    common case) is inserted in one statement with the values `record` would give a new
    row; one we hold already goes through `record_paid`. `user_id`: the customer's user,
    locked already (`lock_owner`)."""
    if user_id is None:
        return  # not our customer's
    values = paid_row(invoice, user_id)
    if values is None:
        record_paid(invoice, recovered=recovered)
        return
    insert = _insert(db.session.connection().dialect.name)
    if values["row_amount_paid"] > 0:  # with its receipt's job: one statement on PostgreSQL
        inserted = enqueue_after(insert, values, *receipt_job(invoice.id, recovered))
    else:
        inserted = db.session.connection().execute(insert, values).first()
    if inserted is None:
        record_paid(invoice, recovered=recovered)  # we have its row: move it forward


def paid_row(invoice: InvoiceView, user_id: int | None = None) -> dict[str, typing.Any] | None:
    """The values `record` gives a new row for a paid snapshot, as `row_<column>`
    parameters of `_insert` or `paid_for`; None if the snapshot is not paid."""
    row = _Values(_first_values(user_id, invoice))
    _apply(row, invoice)
    if row.status != "paid":
        return None
    return {f"row_{name}": getattr(row, name) for name in _COLUMNS}


def receipt_job(invoice_id: str, recovered: bool) -> tuple[str, str, dict[str, typing.Any]]:
    """The job (kind, key, payload) that completes a paid invoice's row and sends its
    receipt, once per invoice. `recovered`: the subscription was past due until now."""
    return PAID, f"{PAID}:{invoice_id}", {"invoice": invoice_id, "recovered": recovered}


_INVOICES = typing.cast(sa.Table, Invoice.__table__)
_COLUMNS = tuple(column.key for column in _INVOICES.columns if column.key != "id")


def _bind(name: str) -> sa.BindParameter[typing.Any]:
    # Named apart from the columns: SQLAlchemy would set any column of a table a statement
    # changes from a parameter bearing its name (a subscription's `status`, say).
    return sa.bindparam(f"row_{name}", type_=_INVOICES.c[name].type)


@functools.cache
def _insert(dialect: str) -> sa.Insert:
    """A new row from `paid_row`'s values, unless the invoice has one already."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(_INVOICES).values({name: _bind(name) for name in _COLUMNS})
            .on_conflict_do_nothing(index_elements=["stripe_invoice_id"])
            .returning(_INVOICES.c.id))


def paid_for(owner: sa.CTE) -> sa.Insert:
    """PostgreSQL: the paid snapshot's row for the user of `owner`'s row (its `user_id`),
    selected from it, so a statement that changes that row writes this one only if it did.
    A new row gets `paid_row`'s values; a row we hold already (its `invoice.finalized` came
    first, as it does at Stripe) is moved forward to them as `_apply` moves it, with
    `paid_params` saying which parts the snapshot carries; another user's row is left
    alone. RETURNING the row's id."""
    columns = [name for name in _COLUMNS if name != "user_id"]
    insert = postgresql.insert(_INVOICES).from_select(
        ["user_id", *columns], sa.select(owner.c.user_id, *(_bind(name) for name in columns)))
    new, held = insert.excluded, _INVOICES.c

    def carried(flag: str, name: str) -> sa.ColumnElement[typing.Any]:
        return sa.case((sa.bindparam(flag, type_=sa.Boolean()), new[name]), else_=held[name])

    return insert.on_conflict_do_update(
        index_elements=["stripe_invoice_id"],
        set_={
            **{name: new[name] for name in ("status", "amount_due", "amount_paid", "currency",
                                            "tax", "needs_action")},
            # `invoice.x or row.x`: what the snapshot leaves out, the row keeps.
            **{name: sa.func.coalesce(sa.func.nullif(new[name], ""), held[name])
               for name in ("number", "hosted_invoice_url", "invoice_pdf", "billing_reason",
                            "stripe_subscription_id")},
            "lines": carried("given_lines", "lines"),
            **{name: carried("given_plan", name)
               for name in ("description", "period_start", "period_end")},
            "paid_at": sa.func.coalesce(sa.bindparam("given_paid_at", type_=held.paid_at.type),
                                        held.paid_at, new.paid_at),
        },
        where=held.user_id == new.user_id).returning(held.id)


def paid_params(invoice: InvoiceView) -> dict[str, typing.Any]:
    """`paid_for`'s parameters beside `paid_row`'s: which parts of the row the snapshot
    carries (the rest a held row keeps), and the time Stripe says it was paid."""
    paid = invoice.status_transitions.paid_at if invoice.status_transitions else None
    return {"given_lines": invoice.lines is not None,
            "given_plan": invoice.plan_line is not None,
            "given_paid_at": as_datetime(paid) if paid is not None else None}


def complete_payment(row: Invoice) -> None:
    """Keep the card and payment of a paid invoice (the invoice does not carry them)."""
    if row.stripe_payment_intent_id is not None:
        return
    found = gateway.invoice_charge(row.stripe_invoice_id)
    if found is None:
        return
    charge = parse(PaidCharge, found.to_dict(), f"charge of invoice {row.stripe_invoice_id}")
    row.stripe_payment_intent_id = charge.payment_intent
    if charge.card is not None:
        row.card_brand, row.card_last4 = charge.card.brand, charge.card.last4
    # A refund whose event came first (it found no payment to attach to) shows here.
    refunded = min(charge.amount_refunded, row.amount_paid)
    if refunded > row.amount_refunded:
        row.amount_refunded, row.refunded_at = refunded, row.refunded_at or utcnow()
    db.session.flush()


def record_failure(invoice: InvoiceView, *, at: datetime, needs_action: bool = False) -> None:
    """An attempt to pay the invoice failed at `at` (or the bank asks the customer to
    confirm it: `needs_action`)."""
    row = record(invoice)
    if row is None or row.status != "open":
        return
    if row.failed_at is None or at >= row.failed_at:
        row.failed_at = at
        row.needs_action = needs_action
    db.session.flush()


def record_refund(payment_intent_id: str, amount_refunded: int, at: datetime) -> bool:
    """A charge was refunded (`amount_refunded` in all so far): keep it on the invoice it
    paid. Whether it was an invoice's."""
    row = db.session.scalar(sa.select(Invoice).where(
        Invoice.stripe_payment_intent_id == payment_intent_id).with_for_update())
    if row is None:
        return False
    if amount_refunded > row.amount_refunded:  # a late, smaller total changes nothing
        row.amount_refunded = min(amount_refunded, row.amount_paid)
        row.refunded_at = at
        db.session.flush()
    return True


def invoice_refund_may_be_ours(connection: sa.Connection, payment_intent_id: str | None) -> bool:
    """Whether a charge's payment paid one of our invoices (a read on the event log's
    connection)."""
    return payment_intent_id is not None and connection.execute(
        sa.select(Invoice.id).where(Invoice.stripe_payment_intent_id == payment_intent_id)
    ).first() is not None
