"""`invoices.create_preview`: the invoice a planned change would produce, built from
the same plan `changes.apply` carries out, and stored nowhere.

When the change is invoiced at once (`always_invoice`, a new billing interval, a trial
ended now) the preview is that invoice; otherwise it is the next regular invoice, with
the pending items and the change's prorations on top of the next period's charge."""
from ..errors import InvalidRequest
from ..shapes.invoices import invoice as invoice_shape
from ..store import new_id
from . import invoices, prorations
from . import subscriptions as subs


def nothing_upcoming(customer_id):
    return InvalidRequest(f"No upcoming invoices for customer: {customer_id}",
                          code="invoice_upcoming_none", status=404)


def _ends_at_period_end(change):
    """Whether the subscription (as changed) ends before its next invoice."""
    sub, cancel = change.sub, change.cancel
    if "cancel_at_period_end" in cancel:
        return cancel["cancel_at_period_end"]
    cancel_at = cancel["cancel_at"] or None if "cancel_at" in cancel else sub["cancel_at"]
    return cancel_at is not None and cancel_at <= subs.period(sub)[1]


def _items_after(change):
    """(item, price, quantity) for every item as it will be after the change."""
    moved = {it["id"]: (p, q) for it, p, q in change.items}
    return [(it, *moved.get(it["id"], (it["price"], it["quantity"])))
            for it in change.sub["items"]["data"]]


def preview(st, change):
    """The invoice dict (id `upcoming_in_…`, as Stripe's previews) for a change."""
    sub, now = change.sub, st.now()
    customer = st.get(sub["customer"], "customer")
    ident = new_id("upcoming_in")
    lines = []
    if change.invoice_now:
        reason, span = "subscription_update", (now, now)
        if change.reset_cycle:
            for item, price, qty in _items_after(change):
                begin, end = now, subs.next_end(now, price)
                lines.append(_line(st, ident, sub, item, price, qty, (begin, end)))
    else:
        if _ends_at_period_end(change):
            raise nothing_upcoming(customer["id"])
        begin, end = subs.period(sub)
        if change.trial_end not in (None, "now"):
            end = change.trial_end
        reason, span = "upcoming", (begin, end)
        for item, price, qty in _items_after(change):
            lines.append(_line(st, ident, sub, item, price, qty,
                               (end, subs.next_end(end, price))))
    pending = [invoices.pending_line(ident, ii, ident=new_id("il_tmp"))
               for ii in invoices.pending_items(st, sub)]
    inv = invoice_shape(now, st.base_url, customer, sub, reason, span, ident=ident,
                        hosted_invoice_url=None, test_clock=customer["test_clock"])
    inv["lines"]["data"] = pending + prorations.preview_lines(ident, sub, change.prorations) \
        + lines
    if change.prorations:
        inv["parent"]["subscription_details"]["subscription_proration_date"] = change.at
    if not change.invoice_now:  # charged about an hour after the period's end
        inv["next_payment_attempt"] = span[1] + invoices.FINALIZE_DELAY
    invoices.set_totals(inv)
    invoices.apply_balance(inv, customer)
    return inv


def _line(st, ident, sub, item, price, qty, span):
    future = {**item, "price": price, "quantity": qty}
    return invoices.item_line(st, ident, sub, future, span, ident=new_id("il_tmp"))
