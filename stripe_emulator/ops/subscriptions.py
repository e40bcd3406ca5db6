"""Subscriptions: start (from Checkout), bill and collect, retry, end (the renewal is in
renewals.py). Periods live on subscription items (current API). Status moves only
through `_after_payment`, `renewals.rollover` (a trial's end) and `cancel`, so a
subscription's life can be read in few places."""
import calendar
import datetime as dt

from ..events import emit, emit_updated
from ..shapes.subscriptions import subscription as subscription_shape
from ..shapes.subscriptions import subscription_item
from ..store import public, snapshot
from . import invoices

DAY = 86400
TRIAL_REMINDER = 3 * DAY  # customer.subscription.trial_will_end comes this early
ENDED = ("canceled", "incomplete_expired")


def add_interval(ts, interval, count=1):
    """`ts` moved forward by a price's billing interval (months clamp to month end)."""
    if interval in ("day", "week"):
        return ts + count * DAY * (7 if interval == "week" else 1)
    start = dt.datetime.fromtimestamp(ts, dt.UTC)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def next_end(start, price):
    rec = price["recurring"]
    return add_interval(start, rec["interval"], rec["interval_count"])


def period(sub):
    """The subscription's current period (that of its first item)."""
    item = sub["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def start(st, customer, lines, pm, trial_days=None, metadata=None, trial_end=None):
    """Create a subscription as Checkout does; returns (subscription, first invoice).
    With a trial (days, or an end) the first invoice is £0 and paid; otherwise it must be
    paid."""
    now = st.now()
    # As at Stripe, the customer's currency is set by their first subscription.
    customer["currency"] = customer["currency"] or lines[0][0]["currency"]
    sub = subscription_shape(now, customer["id"], lines[0][0]["currency"],
                             metadata=dict(metadata or {}),
                             default_payment_method=pm["id"] if pm else None,
                             test_clock=customer["test_clock"])
    if trial_days or trial_end:
        sub.update(status="trialing", trial_start=now,
                   trial_end=trial_end or now + trial_days * DAY)
    for price, qty in lines:
        end = sub["trial_end"] or next_end(now, price)
        sub["items"]["data"].append(
            subscription_item(now, sub["id"], public(price), qty, now, end))
    sub["billing_cycle_anchor"] = sub["trial_end"] or now
    st.add(sub)
    inv = invoices.draft(st, sub, "subscription_create", (now, now),
                         trial=bool(trial_days or trial_end), announce=False)
    # customer.subscription.created goes out once the first invoice exists, as at
    # Stripe (it already names its latest_invoice), and before invoice.created.
    sub["latest_invoice"] = inv["id"]
    emit(st, "customer.subscription.created", sub)
    emit(st, "invoice.created", inv)
    invoices.finalize(st, inv)
    collect(st, sub, inv, snapshot(sub), off_session=False)  # the customer is at Checkout
    return sub, inv


def bill(st, sub, reason, span, before, item_lines=True):
    """Draft, finalize and collect an invoice for `sub` now; reports the subscription's
    change against `before`."""
    inv = invoices.draft(st, sub, reason, span, item_lines=item_lines)
    sub["latest_invoice"] = inv["id"]
    invoices.finalize(st, inv)
    collect(st, sub, inv, before)
    return inv


def collect(st, sub, inv, before, pm=None, automatic=True, off_session=True):
    """Try to pay an open invoice of `sub`, move the subscription's status and emit
    customer.subscription.updated (then .deleted if failed retries end it). Returns
    None when paid, else the error explaining the failure (see `invoices.attempt`)."""
    error = invoices.attempt(st, inv, pm, automatic=automatic, off_session=off_session)
    waiting = getattr(error, "code", None) == invoices.ACTION_REQUIRED
    final = _after_payment(st, sub, inv, error is None, automatic and off_session,
                           waiting)
    emit_updated(st, "customer.subscription.updated", sub, before)
    if final == "canceled":
        cancel(st, sub, reason="payment_failed")
    return error


def _after_payment(st, sub, inv, paid, automatic=True, waiting=False):
    """The status a payment outcome leads to; returns the final-failure action taken.
    A failed manual attempt (`/pay`) changes nothing: only the automatic schedule
    moves a subscription towards past_due and its end. A renewal `waiting` for 3-D
    Secure is past_due (Stripe's rule for a failed renewal) with no retry ahead, and
    no final action: Stripe waits for the customer."""
    if paid:
        trial_over = sub["status"] == "trialing" and sub["trial_end"] <= st.now()
        if sub["status"] in ("incomplete", "past_due", "unpaid") or trial_over:
            sub["status"] = "active"
        return None
    if not automatic or sub["status"] in ("incomplete", *ENDED):
        return None
    if inv["next_payment_attempt"] is not None or waiting:
        sub["status"] = "past_due"
        return None
    final = st.config["after_payment_retries"]
    sub["status"] = "unpaid" if final == "unpaid" else "past_due"
    return final


def authenticated(st, sub, inv, pi, succeeded):
    """The customer completed (or failed) 3-D Secure for the invoice's payment: when
    paid, the subscription becomes active again (customer.subscription.updated).
    Returns None when paid, else the error."""
    before = snapshot(sub)
    error = invoices.finish_authentication(st, inv, pi, succeeded)
    if error is None:
        _after_payment(st, sub, inv, True)
        emit_updated(st, "customer.subscription.updated", sub, before)
    return error


def retry(st, sub, inv):
    """An automatic retry of a failed invoice."""
    return collect(st, sub, inv, snapshot(sub))


def remind_trial_end(st, sub):
    sub["_trial_reminded"] = True
    emit(st, "customer.subscription.trial_will_end", sub)


def cancel(st, sub, at=None, comment=None, feedback=None,
           reason="cancellation_requested"):
    """End the subscription now (or at `at`): customer.subscription.deleted. A renewal
    draft waiting to be charged is no longer scheduled."""
    for inv in invoices.scheduled_drafts(st, sub):
        invoices.unschedule(inv)
    sub.update(status="canceled", canceled_at=sub["canceled_at"] or st.now(),
               ended_at=at or st.now())
    details = sub["cancellation_details"]
    details["reason"] = details["reason"] if at and details["reason"] else reason
    if comment is not None:
        details["comment"] = comment
    if feedback is not None:
        details["feedback"] = feedback
    emit(st, "customer.subscription.deleted", sub)
    return sub
