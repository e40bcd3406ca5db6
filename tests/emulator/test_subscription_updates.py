"""POST /v1/subscriptions/{id}: a price switch with each `proration_behavior`, trials
kept, moved or ended, `cancel_at_period_end` and `cancel_at`, each reported by
customer.subscription.updated with `previous_attributes`."""
import pytest
import stripe

from .conftest import event_types
from .helpers import DAY, HOUR, events_of, monthly_price, subscribe


def period(sub):
    item = sub["items"].data[0]
    return item.current_period_start, item.current_period_end


def prorated(amount, sub, at):
    start, end = period(sub)
    return round(amount * (end - at) / (end - start))


@pytest.fixture
def prices(stripe_client):
    product = stripe_client.v1.products.create({"name": "Premium"})

    def price(amount, interval):
        return stripe_client.v1.prices.create({
            "product": product.id, "currency": "gbp", "unit_amount": amount,
            "recurring": {"interval": interval}})

    return {"monthly": price(700, "month"), "dearer": price(1000, "month"),
            "annual": price(7000, "year")}


def switch(client, sub, price, **extra):
    item = sub["items"].data[0]
    return client.v1.subscriptions.update(
        sub.id, {"items": [{"id": item.id, "price": price.id}], **extra})


def now(control):
    return control.get("/clock")["now"]


def test_create_prorations_leaves_pending_items_for_the_next_invoice(
        stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["monthly"])
    control.post("/clock/advance", {"seconds": 10 * DAY})
    at = now(control)
    updated = switch(stripe_client, sub, prices["dearer"],
                     proration_behavior="create_prorations")
    assert updated.latest_invoice == sub.latest_invoice  # nothing billed yet
    pending = stripe_client.v1.invoice_items.list({"pending": True}).data
    assert sorted(i.amount for i in pending) == sorted(
        [-prorated(700, sub, at), prorated(1000, sub, at)])
    assert all(i.proration and i.invoice is None for i in pending)
    assert {i.parent.subscription_details.subscription for i in pending} == {sub.id}
    previous = events_of(stripe_client, "customer.subscription.updated")[-1]
    assert previous.data.previous_attributes["items"]["data"][0]["price"]["id"] == \
        prices["monthly"].id
    # The renewal bills the prorations with the new price's next period.
    control.post("/clock/advance", {"seconds": period(sub)[1] - at + HOUR + 60})
    renewed = stripe_client.v1.subscriptions.retrieve(sub.id)
    invoice = stripe_client.v1.invoices.retrieve(renewed.latest_invoice)
    assert invoice.billing_reason == "subscription_cycle" and invoice.status == "paid"
    prorations = [line for line in invoice.lines.data
                  if line.parent.subscription_item_details.proration]
    assert {line.parent.subscription_item_details.invoice_item
            for line in prorations} == {i.id for i in pending}
    assert invoice.amount_paid == 1000 + sum(i.amount for i in pending)
    credit = next(line for line in prorations if line.amount < 0)
    assert credit.parent.subscription_item_details.proration_details.credited_items \
        .invoice == sub.latest_invoice
    assert stripe_client.v1.invoice_items.list({"pending": True}).data == []


def test_always_invoice_bills_the_difference_now(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["monthly"])
    control.post("/clock/advance", {"seconds": 10 * DAY})
    at = now(control)
    updated = switch(stripe_client, sub, prices["dearer"],
                     proration_behavior="always_invoice")
    invoice = stripe_client.v1.invoices.retrieve(updated.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.status == "paid"
    assert invoice.amount_paid == prorated(1000, sub, at) - prorated(700, sub, at)
    assert all(line.parent.subscription_item_details.proration
               for line in invoice.lines.data)
    assert period(updated) == period(sub)  # same interval: the period goes on
    assert event_types(stripe_client)[-3:] == [
        "invoice_payment.paid", "invoice.updated", "customer.subscription.updated"]


def test_none_switches_without_billing(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["monthly"])
    updated = switch(stripe_client, sub, prices["dearer"], proration_behavior="none")
    assert updated["items"].data[0].price.id == prices["dearer"].id
    assert updated.latest_invoice == sub.latest_invoice
    assert stripe_client.v1.invoice_items.list().data == []


def test_proration_date_sets_the_moment_prorations_are_computed_from(
        stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["monthly"])
    start, end = period(sub)
    at = start + 5 * DAY
    switch(stripe_client, sub, prices["dearer"], proration_behavior="create_prorations",
           proration_date=at)
    amounts = sorted(i.amount for i in stripe_client.v1.invoice_items.list().data)
    assert amounts == sorted([-prorated(700, sub, at), prorated(1000, sub, at)])
    with pytest.raises(stripe.InvalidRequestError) as caught:
        switch(stripe_client, sub, prices["monthly"], proration_date=end + DAY)
    assert caught.value.param == "proration_date"


def test_a_switch_during_a_trial_keeps_the_trial(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, trial=14, price=prices["monthly"])
    updated = switch(stripe_client, sub, prices["annual"],
                     proration_behavior="create_prorations")
    assert updated.status == "trialing" and updated.trial_end == sub.trial_end
    assert period(updated) == (sub.trial_start, sub.trial_end)
    assert updated.latest_invoice == sub.latest_invoice
    assert stripe_client.v1.invoice_items.list().data == []
    control.post("/clock/advance", {"seconds": 14 * DAY + HOUR + 60})
    after = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert after.status == "active"
    assert stripe_client.v1.invoices.retrieve(after.latest_invoice).amount_paid == 7000
    assert period(after)[1] - period(after)[0] >= 365 * DAY


def test_trial_end_moves_the_trial_and_its_reminder(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, trial=14, price=prices["monthly"])
    later = sub.trial_end + 7 * DAY
    updated = stripe_client.v1.subscriptions.update(sub.id, {"trial_end": later})
    assert updated.trial_end == later and period(updated)[1] == later
    previous = events_of(stripe_client, "customer.subscription.updated")[-1]
    assert previous.data.previous_attributes["trial_end"] == sub.trial_end
    control.post("/clock/advance", {"seconds": 30 * DAY})
    reminder = events_of(stripe_client, "customer.subscription.trial_will_end")
    assert [e.created for e in reminder] == [later - 3 * DAY]
    for bad in (1000, ""):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            stripe_client.v1.subscriptions.update(sub.id, {"trial_end": bad})
        assert caught.value.param == "trial_end"


def test_trial_end_now_ends_the_trial_and_bills(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, trial=14, price=prices["monthly"])
    control.post("/clock/advance", {"seconds": 2 * DAY})
    at = now(control)
    updated = stripe_client.v1.subscriptions.update(sub.id, {"trial_end": "now"})
    assert updated.status == "active" and updated.trial_end == at
    assert period(updated)[0] == at
    invoice = stripe_client.v1.invoices.retrieve(updated.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.amount_paid == 700
    # Stripe sends trial_will_end when a trial is ended at once.
    assert "customer.subscription.trial_will_end" in event_types(stripe_client)


def test_error_if_incomplete_refuses_a_change_the_card_cannot_pay(
        stripe_client, control, prices):
    sub = subscribe(stripe_client, control, card="4000000000000341", trial=14,
                    price=prices["monthly"])
    with pytest.raises(stripe.CardError):
        stripe_client.v1.subscriptions.update(
            sub.id, {"trial_end": "now", "payment_behavior": "error_if_incomplete"})
    unchanged = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert unchanged.status == "trialing" and unchanged.trial_end == sub.trial_end
    assert unchanged.latest_invoice == sub.latest_invoice
    # allow_incomplete (the default) applies it and leaves the invoice to be paid.
    applied = stripe_client.v1.subscriptions.update(sub.id, {"trial_end": "now"})
    assert applied.status == "past_due"


def test_switching_annual_to_monthly_credits_the_customer(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["annual"])
    at = now(control)
    updated = switch(stripe_client, sub, prices["monthly"])
    invoice = stripe_client.v1.invoices.retrieve(updated.latest_invoice)
    credit = -prorated(7000, sub, at)
    assert invoice.total == 700 + credit and invoice.amount_due == 0
    customer = stripe_client.v1.customers.retrieve(sub.customer)
    assert customer.balance == invoice.ending_balance == 700 + credit
    control.post("/clock/advance", {"seconds": period(updated)[1] - at + HOUR + 60})
    renewal = stripe_client.v1.invoices.retrieve(
        stripe_client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.starting_balance == customer.balance and renewal.amount_due == 0


def test_cancel_at_period_end_records_the_request(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["monthly"])
    updated = stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert updated.cancel_at == period(sub)[1] and updated.canceled_at
    assert updated.cancellation_details.reason == "cancellation_requested"
    previous = events_of(stripe_client, "customer.subscription.updated")[-1]
    assert previous.data.previous_attributes["cancel_at_period_end"] is False
    assert previous.data.previous_attributes["cancel_at"] is None


def test_cancel_at_ends_the_subscription_then(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["monthly"])
    when = period(sub)[0] + 12 * DAY
    updated = stripe_client.v1.subscriptions.update(sub.id, {"cancel_at": when})
    assert updated.cancel_at == when and not updated.cancel_at_period_end
    control.post("/clock/advance", {"seconds": 20 * DAY})
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.ended_at == when
    deleted = events_of(stripe_client, "customer.subscription.deleted")
    assert [e.created for e in deleted] == [when]


def test_cancel_at_can_be_cleared_or_set_to_the_period_end(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["monthly"])
    at_end = stripe_client.v1.subscriptions.update(sub.id, {"cancel_at": "min_period_end"})
    assert at_end.cancel_at == period(sub)[1]
    cleared = stripe_client.v1.subscriptions.update(sub.id, {"cancel_at": ""})
    assert cleared.cancel_at is None and cleared.canceled_at is None
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.update(
            sub.id, {"cancel_at": period(sub)[1], "cancel_at_period_end": True})


def test_items_are_changed_by_id_only(stripe_client, control, prices):
    sub = subscribe(stripe_client, control, price=prices["monthly"])
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.subscriptions.update(
            sub.id, {"items": [{"price": prices["dearer"].id}]})
    assert caught.value.param == "items[0][id]"
    other = monthly_price(stripe_client, "Other")
    usd = stripe_client.v1.prices.create({"product": other.product, "currency": "usd",
                                          "unit_amount": 900,
                                          "recurring": {"interval": "month"}})
    with pytest.raises(stripe.InvalidRequestError):
        switch(stripe_client, sub, usd)
