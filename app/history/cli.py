"""`flask billing refund-invoice INVOICE_ID`: refund what is left of a paid invoice."""

import re

import click

from app.billing.cli import billing, needs_stripe
from app.extensions import db
from app.history.refunds import RefundRefused, invoice_by_stripe_id, refund_invoice
from app.money import format_money

_INVOICE_ID = re.compile(r"in_[A-Za-z0-9]{1,250}")


@billing.command("refund-invoice")
@click.argument("invoice_id")
@click.option("--reason", help="Why (kept in the refund's metadata at Stripe).")
@needs_stripe
def refund_invoice_command(invoice_id: str, reason: str | None) -> None:
    """Refund all that is left of a paid subscription invoice at Stripe (safe to repeat)."""
    if not _INVOICE_ID.fullmatch(invoice_id):
        raise click.ClickException(f"Invalid invoice id {invoice_id!r}: it looks like in_…")
    row = invoice_by_stripe_id(invoice_id)
    if row is None:
        raise click.ClickException(f"No invoice of ours is {invoice_id}.")
    try:
        done = refund_invoice(row, reason=reason)
    except RefundRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Refunded {format_money(done.amount, done.currency)} of invoice {invoice_id} "
               f"(refund {done.refund_id}).")
