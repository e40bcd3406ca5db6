"""A subscription's renewal, in Stripe's two moments: at the end of the period (or the
trial) it rolls over (the next period starts, a trial becomes `active`,
customer.subscription.updated, then the period's invoice as a draft, invoice.created);
about an hour later (`invoices.FINALIZE_DELAY`) the draft is finalized and charged.
Some days before (`invoice_upcoming_days`) comes invoice.upcoming."""
from ..events import emit, emit_updated
from ..store import snapshot
from . import changes, invoices, preview
from . import subscriptions as subs


def upcoming_at(st, sub):
    """When invoice.upcoming is due for the current period's renewal, or None (turned
    off, sent already, no renewal coming, or a period too short for the notice)."""
    days = st.config["invoice_upcoming_days"]
    start, end = subs.period(sub)
    if not days or sub["status"] == "unpaid" or sub.get("_upcoming_for") == end:
        return None
    if sub["cancel_at"] is not None and sub["cancel_at"] <= end:
        return None  # it ends instead of renewing
    at = end - int(float(days) * subs.DAY)
    return at if at > start else None


def announce_upcoming(st, sub):
    """invoice.upcoming: the renewal's invoice as a preview (an `upcoming_in_…` id, as
    Stripe's upcoming invoices have), `next_payment_attempt` when it will be charged."""
    sub["_upcoming_for"] = subs.period(sub)[1]
    emit(st, "invoice.upcoming", preview.preview(st, changes.plan(st, sub)))


def rollover(st, sub):
    """The period's end: start the next period and draft its invoice (which covers the
    period just over, as Stripe's `period_start`/`period_end` do), to be finalized and
    charged in an hour. An unpaid subscription's invoices stay drafts, as at Stripe."""
    before = snapshot(sub)
    over = subs.period(sub)
    for item in sub["items"]["data"]:
        begin = item["current_period_end"]
        item["current_period_start"] = begin
        item["current_period_end"] = subs.next_end(begin, item["price"])
    if sub["status"] == "trialing":
        sub["status"] = "active"  # the trial is over; the charge comes in an hour
    inv = invoices.draft(st, sub, "subscription_cycle", over, announce=False)
    if sub["status"] == "unpaid":
        inv["auto_advance"] = False
    else:
        invoices.schedule(st, inv)
    sub["latest_invoice"] = inv["id"]
    emit_updated(st, "customer.subscription.updated", sub, before)
    emit(st, "invoice.created", inv)
    return inv


def finalize_and_charge(st, sub, inv):
    """An hour after the rollover: the draft is finalized and the default card charged
    (paid, or failed and retried on the schedule)."""
    before = snapshot(sub)
    invoices.finalize(st, inv)
    subs.collect(st, sub, inv, before)
    return inv
