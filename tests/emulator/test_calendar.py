"""Stripe's calendar, checked event by event on a test clock through the official SDK:
the order and the dates (`created`, in the clock's time) of a renewal, a failed renewal
with its retries and final action, a trial's end, and a monthly <-> annual switch.

What Stripe documents (docs.stripe.com/billing/subscriptions/overview, "How
subscriptions work"; /billing/testing/test-clocks):
- "When the subscription approaches its renewal date, an invoice.upcoming event is
  sent" (some days before: the account's setting, 3 here);
- "When the subscription period elapses, an invoice.created event is sent", the
  subscription having moved to its next period (customer.subscription.updated);
- "Subscription invoices are finalized about one hour after creation"; then the
  payment: invoice.paid / invoice.payment_succeeded, or invoice.payment_failed and
  the subscription past_due, retried on the schedule, then the configured end;
- a trial's end is a renewal: the subscription becomes active with a draft invoice,
  charged an hour later;
- a change of billing interval resets the period and is invoiced and charged at once.
"""
import datetime as dt

import pytest

from .helpers import DAY, HOUR, advance_clock, monthly_price, on_clock, subscribe_customer

START = int(dt.datetime(2027, 1, 15, tzinfo=dt.UTC).timestamp())
FEB_15 = int(dt.datetime(2027, 2, 15, tzinfo=dt.UTC).timestamp())
FAILING = "4000000000000341"  # saves fine, fails whenever charged

PAID = ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
        "invoice.paid", "invoice.payment_succeeded", "invoice_payment.paid",
        "invoice.updated"]
FAILED = ["payment_intent.created", "charge.failed", "payment_intent.payment_failed",
          "invoice.payment_failed", "invoice.updated"]


@pytest.fixture
def clock(stripe_client):
    return stripe_client.v1.test_helpers.test_clocks.create({"frozen_time": START})


@pytest.fixture
def customer(stripe_client, clock):
    return on_clock(stripe_client, clock)


def all_events(client):
    """Every event, oldest first (catalog events left out)."""
    events = client.v1.events.list({"limit": 100}).auto_paging_iter()
    return [e for e in reversed(list(events))
            if not e.type.startswith(("product.", "price."))]


def since(client, marker):
    """The events after `marker` (an event id, or None for all), the clock's own
    advancing/ready left out: [(type, created), ...] oldest first."""
    events = all_events(client)
    ids = [e.id for e in events]
    start = ids.index(marker) + 1 if marker else 0
    return [(e.type, e.created) for e in events[start:]
            if not e.type.startswith("test_helpers.")]


def last_id(client):
    return client.v1.events.list({"limit": 1}).data[0].id


def at(moment, *types):
    return [(t, moment) for t in types]


def test_a_renewal_rolls_over_at_the_period_end_and_charges_an_hour_later(
        stripe_client, control, clock, customer):
    price = monthly_price(stripe_client)
    sub = subscribe_customer(stripe_client, control, customer, price)
    mark = last_id(stripe_client)
    # Half an hour after the period's end: rolled over, the invoice still a draft.
    advance_clock(stripe_client, clock, FEB_15 + HOUR // 2)
    assert since(stripe_client, mark) == (
        at(FEB_15 - 3 * DAY, "invoice.upcoming")
        + at(FEB_15, "customer.subscription.updated", "invoice.created"))
    rolled = stripe_client.v1.subscriptions.retrieve(sub.id)
    item = rolled["items"].data[0]
    assert (rolled.status, item.current_period_start) == ("active", FEB_15)
    draft = stripe_client.v1.invoices.retrieve(rolled.latest_invoice)
    assert (draft.status, draft.billing_reason, draft.amount_due) == (
        "draft", "subscription_cycle", 700)
    assert (draft.period_start, draft.period_end) == (START, FEB_15)  # the period over
    assert draft.automatically_finalizes_at == FEB_15 + HOUR
    assert draft.hosted_invoice_url is None
    mark = last_id(stripe_client)
    # The hour passes: finalized, then charged.
    advance_clock(stripe_client, clock, FEB_15 + HOUR)
    assert since(stripe_client, mark) == at(FEB_15 + HOUR, "invoice.finalized", *PAID)
    paid = stripe_client.v1.invoices.retrieve(draft.id)
    assert (paid.status, paid.amount_paid, paid.automatically_finalizes_at) == (
        "paid", 700, None)
    assert paid.status_transitions.finalized_at == FEB_15 + HOUR
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_the_rollover_and_upcoming_events_carry_what_stripe_sends(
        stripe_client, control, clock, customer):
    sub = subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client))
    advance_clock(stripe_client, clock, FEB_15 + 2 * HOUR)
    events = {e.type: e for e in all_events(stripe_client) if e.created >= FEB_15 - 3 * DAY}
    upcoming = events["invoice.upcoming"].data.object
    assert upcoming.id.startswith("upcoming_in") and upcoming.billing_reason == "upcoming"
    assert upcoming.amount_due == 700 and upcoming.next_payment_attempt == FEB_15 + HOUR
    assert upcoming.parent.subscription_details.subscription == sub.id
    updated = events["customer.subscription.updated"].data
    assert updated.object.latest_invoice == events["invoice.created"].data.object.id
    assert updated.previous_attributes["latest_invoice"] == sub.latest_invoice
    assert updated.previous_attributes["items"]["data"][0]["current_period_start"] == START
    assert events["invoice.created"].data.object.status == "draft"
    assert events["invoice.finalized"].data.object.status == "open"


def test_a_failed_renewal_is_retried_then_the_subscription_is_canceled(
        stripe_client, control, clock, customer):
    """After a 7-day trial the card fails: past_due an hour after the trial's end,
    retried 3, 6 and 9 days later (the default `payment_retry_days` [3, 3, 3]: days
    after the previous attempt, as Stripe's custom retry schedule counts them), then
    canceled (the default `after_payment_retries`)."""
    sub = subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client),
                             card=FAILING, trial=7)
    end = sub.trial_end
    assert end == START + 7 * DAY
    mark = last_id(stripe_client)
    advance_clock(stripe_client, clock, end + 10 * DAY)
    first = end + HOUR
    assert since(stripe_client, mark) == (
        at(end - 3 * DAY, "customer.subscription.trial_will_end", "invoice.upcoming")
        + at(end, "customer.subscription.updated", "invoice.created")
        + at(first, "invoice.finalized", *FAILED, "customer.updated",
             "customer.subscription.updated")
        + at(first + 3 * DAY, *FAILED)
        + at(first + 6 * DAY, *FAILED)
        + at(first + 9 * DAY, *FAILED, "customer.subscription.deleted"))
    statuses = [e.data.object.status for e in all_events(stripe_client)
                if e.type.startswith("customer.subscription.") and e.created >= end]
    assert statuses == ["active", "past_due", "canceled"]
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert ended.cancellation_details.reason == "payment_failed"
    assert ended.ended_at == first + 9 * DAY
    invoice = stripe_client.v1.invoices.retrieve(ended.latest_invoice)
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == (
        "open", 4, None)


def test_after_the_retries_the_subscription_can_be_left_unpaid(
        stripe_client, control, clock, customer):
    control.post("/config", {"payment_retry_days": [2], "after_payment_retries": "unpaid"})
    sub = subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client),
                             card=FAILING, trial=7)
    first = sub.trial_end + HOUR
    mark = last_id(stripe_client)
    advance_clock(stripe_client, clock, first + 2 * DAY)
    assert since(stripe_client, mark)[-6:] == at(first + 2 * DAY, *FAILED,
                                                 "customer.subscription.updated")
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "unpaid"
    # Its next invoice stays a draft: nothing is attempted, no upcoming notice.
    mark = last_id(stripe_client)
    renewal = int(dt.datetime(2027, 2, 22, tzinfo=dt.UTC).timestamp())
    advance_clock(stripe_client, clock, renewal + 2 * HOUR)
    assert since(stripe_client, mark) == at(renewal, "customer.subscription.updated",
                                            "invoice.created")
    latest = stripe_client.v1.invoices.retrieve(
        stripe_client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (latest.status, latest.auto_advance, latest.automatically_finalizes_at) == (
        "draft", False, None)


def test_a_trial_ends_active_with_a_draft_charged_an_hour_later(
        stripe_client, control, clock, customer):
    sub = subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client),
                             trial=14)
    end = sub.trial_end
    mark = last_id(stripe_client)
    advance_clock(stripe_client, clock, end + 30 * 60)
    assert since(stripe_client, mark) == (
        at(end - 3 * DAY, "customer.subscription.trial_will_end", "invoice.upcoming")
        + at(end, "customer.subscription.updated", "invoice.created"))
    over = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert over.status == "active"  # at the trial's end, before the charge
    changed = [e for e in all_events(stripe_client)
               if e.type == "customer.subscription.updated"][-1]
    assert changed.data.previous_attributes["status"] == "trialing"
    assert stripe_client.v1.invoices.retrieve(over.latest_invoice).status == "draft"
    mark = last_id(stripe_client)
    advance_clock(stripe_client, clock, end + HOUR)
    assert since(stripe_client, mark) == at(end + HOUR, "invoice.finalized", *PAID)
    assert stripe_client.v1.invoices.retrieve(over.latest_invoice).amount_paid == 700


def test_a_switch_to_annual_is_charged_at_once_and_renews_a_year_later(
        stripe_client, control, clock, customer):
    product = stripe_client.v1.products.create({"name": "Premium"})
    monthly, annual = (stripe_client.v1.prices.create({
        "product": product.id, "currency": "gbp", "unit_amount": amount,
        "recurring": {"interval": interval}})
        for amount, interval in ((700, "month"), (7000, "year")))
    sub = subscribe_customer(stripe_client, control, customer, monthly)
    switched = START + 10 * DAY
    advance_clock(stripe_client, clock, switched)
    mark = last_id(stripe_client)
    item = sub["items"].data[0]
    stripe_client.v1.subscriptions.update(
        sub.id, {"items": [{"id": item.id, "price": annual.id}]})
    # The unused month is credited (a proration item) on the invoice billed at once.
    assert since(stripe_client, mark) == at(
        switched, "invoiceitem.created", "invoice.created", "invoice.finalized", *PAID,
        "customer.subscription.updated")
    now_annual = stripe_client.v1.subscriptions.retrieve(sub.id)
    year_end = int(dt.datetime(2028, 1, 25, tzinfo=dt.UTC).timestamp())
    assert (now_annual["items"].data[0].current_period_start,
            now_annual["items"].data[0].current_period_end) == (switched, year_end)
    # No monthly renewal any more: the next is a year on, in the same two moments.
    mark = last_id(stripe_client)
    advance_clock(stripe_client, clock, year_end + HOUR)
    assert since(stripe_client, mark) == (
        at(year_end - 3 * DAY, "invoice.upcoming")
        + at(year_end, "customer.subscription.updated", "invoice.created")
        + at(year_end + HOUR, "invoice.finalized", *PAID))


def test_a_switch_to_monthly_leaves_credit_that_the_renewal_uses(
        stripe_client, control, clock, customer):
    product = stripe_client.v1.products.create({"name": "Premium"})
    monthly, annual = (stripe_client.v1.prices.create({
        "product": product.id, "currency": "gbp", "unit_amount": amount,
        "recurring": {"interval": interval}})
        for amount, interval in ((700, "month"), (7000, "year")))
    sub = subscribe_customer(stripe_client, control, customer, annual)
    item = sub["items"].data[0]
    stripe_client.v1.subscriptions.update(
        sub.id, {"items": [{"id": item.id, "price": monthly.id}]})
    credit = stripe_client.v1.customers.retrieve(customer.id).balance
    assert credit < -700
    mark = last_id(stripe_client)
    advance_clock(stripe_client, clock, FEB_15 + HOUR)
    # The credit pays the renewal when it is finalized: no charge, the balance used.
    assert since(stripe_client, mark) == (
        at(FEB_15 - 3 * DAY, "invoice.upcoming")
        + at(FEB_15, "customer.subscription.updated", "invoice.created")
        + at(FEB_15 + HOUR, "invoice.finalized", "customer.updated", "invoice.paid",
             "invoice.payment_succeeded", "invoice.updated"))
    assert stripe_client.v1.customers.retrieve(customer.id).balance == credit + 700


def test_invoice_upcoming_days_is_a_setting(stripe_client, control, clock, customer):
    control.post("/config", {"invoice_upcoming_days": 7})
    subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client))
    advance_clock(stripe_client, clock, FEB_15 + HOUR)
    assert [e.created for e in all_events(stripe_client)
            if e.type == "invoice.upcoming"] == [FEB_15 - 7 * DAY]
    control.post("/config", {"invoice_upcoming_days": 0})
    march_15 = int(dt.datetime(2027, 3, 15, tzinfo=dt.UTC).timestamp())
    advance_clock(stripe_client, clock, march_15 + HOUR)
    assert len([e for e in all_events(stripe_client) if e.type == "invoice.upcoming"]) == 1
    control.post("/config", {"invoice_upcoming_days": -1}, expect=400)


def test_the_emulators_own_clock_runs_the_same_calendar(stripe_client, control):
    """`POST /_emulator/clock/advance`, for everything on no test clock, gives the
    same renewal: rollover at the period's end, the charge an hour later."""
    from .helpers import subscribe
    sub = subscribe(stripe_client, control)
    end = sub["items"].data[0].current_period_end
    now = control.get("/clock")["now"]
    mark = last_id(stripe_client)
    control.post("/clock/advance", {"seconds": end - now + 60})
    assert since(stripe_client, mark) == (
        at(end - 3 * DAY, "invoice.upcoming")
        + at(end, "customer.subscription.updated", "invoice.created"))
    mark = last_id(stripe_client)
    control.post("/clock/advance", {"seconds": HOUR})
    assert since(stripe_client, mark) == at(end + HOUR, "invoice.finalized", *PAID)
