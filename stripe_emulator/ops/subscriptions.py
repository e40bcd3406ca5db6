"""Subscriptions and their invoices: start, renew on the emulator's clock, switch
price, cancel. Periods live on subscription items (current API)."""
import calendar
import datetime as dt

from ..errors import CardError
from ..events import emit, emit_updated
from ..shapes.billing import invoice as invoice_shape
from ..shapes.billing import invoice_payment, line_item, plan, subscription_item
from ..shapes.billing import subscription as subscription_shape
from ..shapes.payments import payment_intent
from ..store import public, snapshot
from .payments import charge_intent

DAY = 86400
MAX_ATTEMPTS = 4          # Stripe's default Smart Retries: then the subscription is canceled
RETRY_EVERY = 3 * DAY


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


def _next_end(start, price):
    rec = price["recurring"]
    return add_interval(start, rec["interval"], rec["interval_count"])


def start(st, customer, lines, pm, trial_days=None, metadata=None):
    """Create a subscription as Checkout does; returns (subscription, invoice)."""
    now = st.now()
    first_price = lines[0][0]
    sub = subscription_shape(now, customer["id"], first_price["currency"],
                             metadata=dict(metadata or {}),
                             default_payment_method=pm["id"] if pm else None)
    if trial_days:
        sub.update(status="trialing", trial_start=now, trial_end=now + trial_days * DAY)
    for price, qty in lines:
        end = sub["trial_end"] or _next_end(now, price)
        sub["items"]["data"].append(
            subscription_item(now, sub["id"], public(price), qty, now, end))
    sub["billing_cycle_anchor"] = sub["items"]["data"][0]["current_period_end"] \
        if trial_days else now
    st.add(sub)
    invoice = bill(st, sub, "subscription_create", trial=bool(trial_days), created=True)
    return sub, invoice


def bill(st, sub, reason, trial=False, before=None, created=False):
    """Invoice the subscription's current period and try to collect it; `before` is
    the snapshot the resulting customer.subscription.updated is reported against.
    For a new subscription (`created`), customer.subscription.created goes out once
    the first invoice exists, as at Stripe (it already names its latest_invoice)."""
    customer = st.get(sub["customer"], "customer")
    items = sub["items"]["data"]
    period = (items[0]["current_period_start"], items[0]["current_period_end"])
    inv = invoice_shape(st.now(), st.base_url, customer, sub["id"], sub["currency"],
                        reason, (period[0], period[0]) if reason ==
                        "subscription_create" else period)
    for item in items:
        price = item["price"]
        product = st.get(price["product"], "product")
        name = product["name"] if product else price["product"]
        amount = 0 if trial else price["unit_amount"] * item["quantity"]
        text = (f"Trial period for {name}" if trial
                else f"{item['quantity']} × {name}")
        inv["lines"]["data"].append(line_item(
            inv["id"], item, amount, (item["current_period_start"],
                                      item["current_period_end"]), text))
    total = sum(line["amount"] for line in inv["lines"]["data"])
    inv.update(subtotal=total, subtotal_excluding_tax=total, total=total,
               total_excluding_tax=total, amount_due=total, amount_remaining=total)
    st.add(inv)
    if created:
        sub["latest_invoice"] = inv["id"]
        emit(st, "customer.subscription.created", sub)
    before = before or snapshot(sub)
    emit(st, "invoice.created", inv)
    customer["next_invoice_sequence"] += 1
    inv.update(status="open", number=f"{customer['invoice_prefix']}-"
               f"{customer['next_invoice_sequence'] - 1:04d}", effective_at=st.now())
    inv["status_transitions"]["finalized_at"] = st.now()
    emit(st, "invoice.finalized", inv)
    sub["latest_invoice"] = inv["id"]
    pay(st, sub, inv, before)
    return inv


def _payment_method_for(st, sub):
    customer = st.get(sub["customer"], "customer")
    pm_id = sub["default_payment_method"] or \
        customer["invoice_settings"]["default_payment_method"]
    return st.get(pm_id or "", "payment_method")


def pay(st, sub, inv, before, pm=None):
    """Collect an open invoice (with `pm`, or the subscription's or customer's default
    payment method); moves the subscription to active, past_due, or after the last of
    MAX_ATTEMPTS failures, canceled. Returns whether it was paid."""
    inv["attempted"] = True
    inv["attempt_count"] += 1
    paid = True
    if inv["amount_due"] > 0:
        pi = st.add(payment_intent(st.now(), inv["amount_due"], inv["currency"],
                                   customer=inv["customer"],
                                   description="Subscription update" if
                                   inv["billing_reason"] != "subscription_create"
                                   else "Subscription creation"))
        pi["setup_future_usage"] = "off_session"
        record = st.add(invoice_payment(st.now(), inv, pi["id"]))
        emit(st, "payment_intent.created", pi)
        pm = pm or _payment_method_for(st, sub)
        try:
            if pm is None:
                raise CardError("No payment method", code="payment_method_missing")
            charge_intent(st, pi, pm)
            record.update(status="paid", amount_paid=inv["amount_due"])
            record["status_transitions"]["paid_at"] = st.now()
        except CardError:
            paid = False
    if paid:
        inv.update(status="paid", amount_paid=inv["amount_due"], amount_remaining=0,
                   next_payment_attempt=None)
        inv["status_transitions"]["paid_at"] = st.now()
        emit(st, "invoice.paid", inv)
        emit(st, "invoice.payment_succeeded", inv)
        if sub["status"] in ("incomplete", "past_due", "unpaid") or (
                sub["status"] == "trialing" and sub["trial_end"] and
                sub["trial_end"] <= st.now()):
            sub["status"] = "active"
    else:
        retry = inv["attempt_count"] < MAX_ATTEMPTS
        inv["next_payment_attempt"] = st.now() + RETRY_EVERY if retry else None
        emit(st, "invoice.payment_failed", inv)
        if sub["status"] != "incomplete":
            sub["status"] = "past_due"
        if not retry and sub["status"] == "past_due":
            emit_updated(st, "customer.subscription.updated", sub, before)
            cancel(st, sub, reason="payment_failed")
            return paid
    emit_updated(st, "customer.subscription.updated", sub, before)
    return paid


def advance(st):
    """Run everything the clock has made due: trial reminders, renewals, ends."""
    now = st.now()
    for sub in st.all("subscription"):
        if sub["status"] in ("canceled", "incomplete_expired", "incomplete"):
            continue
        if (sub["status"] == "trialing" and not sub.get("_trial_reminded")
                and sub["trial_end"] - 3 * DAY <= now):
            sub["_trial_reminded"] = True
            emit(st, "customer.subscription.trial_will_end", sub)
        retry_due(st, sub, now)
        while (sub["status"] not in ("canceled",)
               and sub["items"]["data"][0]["current_period_end"] <= now):
            if sub["cancel_at_period_end"] or (sub["cancel_at"] and
                                               sub["cancel_at"] <= now):
                cancel(st, sub, at=sub["items"]["data"][0]["current_period_end"])
                break
            renew(st, sub)


def retry_due(st, sub, now):
    """Retry the open invoice of a past_due subscription when its next attempt is due."""
    inv = st.get(sub["latest_invoice"] or "", "invoice")
    while (sub["status"] == "past_due" and inv and inv["status"] == "open"
           and inv["next_payment_attempt"] and inv["next_payment_attempt"] <= now):
        pay(st, sub, inv, snapshot(sub))


def renew(st, sub):
    before = snapshot(sub)
    for item in sub["items"]["data"]:
        start_at = item["current_period_end"]
        item["current_period_start"] = start_at
        item["current_period_end"] = _next_end(start_at, item["price"])
    return bill(st, sub, "subscription_cycle", before=before)


def cancel(st, sub, at=None, comment=None, reason="cancellation_requested"):
    when = at or st.now()
    sub.update(status="canceled", canceled_at=sub["canceled_at"] or st.now(),
               ended_at=when, cancel_at_period_end=False)
    sub["cancellation_details"]["reason"] = reason
    if comment:
        sub["cancellation_details"]["comment"] = comment
    emit(st, "customer.subscription.deleted", sub)
    return sub


def switch_price(st, sub, item, price, proration_behavior):
    """Change an item's price; an interval change restarts the period and bills now."""
    before = snapshot(sub)
    old = item["price"]
    item["price"] = public(price)
    item["plan"] = plan(public(price))
    same_interval = (old["recurring"]["interval"], old["recurring"]["interval_count"]) == (
        price["recurring"]["interval"], price["recurring"]["interval_count"])
    if same_interval or sub["status"] == "trialing":
        emit_updated(st, "customer.subscription.updated", sub, before)
        return sub
    now = st.now()
    for it in sub["items"]["data"]:
        it["current_period_start"] = now
        it["current_period_end"] = _next_end(now, it["price"])
    sub["billing_cycle_anchor"] = now
    bill(st, sub, "subscription_update", before=before)
    return sub
