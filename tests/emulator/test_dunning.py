"""Dunning: the customer's `delinquent` flag (Stripe's documented rule: an automatic
payment failure sets it, paying any invoice clears it), `/v1/invoices/{id}/pay` with a
given card (the card's own decline, only the customer's cards, the defaults left
alone), and `attempt_count` / `next_payment_attempt` along the retry schedule."""
import pytest
import stripe

from .conftest import event_types
from .helpers import DAY, HOUR, events_of, subscribe

FAILING = "4000000000000341"  # saves fine, fails whenever charged


def failed_renewal(client, control, retry_days=(3, 3, 3)):
    """A subscription whose first renewal (after a 7-day trial; charged an hour after
    the trial's end) has just failed; returns (subscription, its open invoice)."""
    control.post("/config", {"payment_retry_days": list(retry_days)})
    sub = subscribe(client, control, card=FAILING, trial=7)
    control.post("/clock/advance", {"seconds": 7 * DAY + HOUR + 60})
    sub = client.v1.subscriptions.retrieve(sub.id)
    return sub, client.v1.invoices.retrieve(sub.latest_invoice)


def delinquency_changes(client, customer_id):
    """(old, new) `delinquent` of each customer.updated that changed it, oldest first."""
    return [(e.data.previous_attributes["delinquent"], e.data.object.delinquent)
            for e in events_of(client, "customer.updated")
            if e.data.object.id == customer_id
            and "delinquent" in e.data.previous_attributes]


def test_a_failed_renewal_makes_the_customer_delinquent_and_paying_clears_it(
        stripe_client, control):
    sub, invoice = failed_renewal(stripe_client, control)
    assert sub.status == "past_due" and invoice.status == "open"
    customer = stripe_client.v1.customers.retrieve(sub.customer)
    assert customer.delinquent is True
    assert event_types(stripe_client)[-3:] == [
        "invoice.updated", "customer.updated", "customer.subscription.updated"]
    updated = events_of(stripe_client, "customer.updated")[-1]
    assert updated.data.previous_attributes.to_dict() == {"delinquent": False}
    assert updated.created == sub.trial_end + HOUR  # dated at the failed attempt
    # A failed retry changes nothing more: it is delinquent already.
    control.post("/clock/advance", {"seconds": 3 * DAY})
    assert len(events_of(stripe_client, "invoice.payment_failed")) == 2
    assert delinquency_changes(stripe_client, sub.customer) == [(False, True)]
    # Paying the invoice by hand with a good card clears it.
    good = stripe_client.v1.payment_methods.attach("pm_card_visa",
                                                   {"customer": sub.customer})
    paid = stripe_client.v1.invoices.pay(invoice.id, {"payment_method": good.id,
                                                      "off_session": True})
    assert paid.status == "paid" and paid.amount_remaining == 0
    assert stripe_client.v1.customers.retrieve(sub.customer).delinquent is False
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert event_types(stripe_client)[-3:] == [
        "invoice.updated", "customer.updated", "customer.subscription.updated"]
    assert delinquency_changes(stripe_client, sub.customer) == [(False, True),
                                                                (True, False)]
    # No further retry once it is paid.
    control.post("/clock/advance", {"seconds": 10 * DAY})
    assert len(events_of(stripe_client, "invoice.payment_failed")) == 2


def test_a_paid_renewal_never_touches_delinquent(stripe_client, control):
    sub = subscribe(stripe_client, control)
    end = sub["items"].data[0].current_period_end
    control.post("/clock/advance", {"seconds": end - sub.created + 60})
    assert stripe_client.v1.customers.retrieve(sub.customer).delinquent is False
    assert delinquency_changes(stripe_client, sub.customer) == []


def test_a_failed_manual_pay_leaves_delinquent_as_it_was(stripe_client, control):
    """Only an automatic failure sets it: a customer made delinquent stays so, and a
    manual failure does not send another customer.updated."""
    sub, invoice = failed_renewal(stripe_client, control)
    with pytest.raises(stripe.CardError):
        stripe_client.v1.invoices.pay(invoice.id)
    assert delinquency_changes(stripe_client, sub.customer) == [(False, True)]


def test_pay_answers_the_cards_own_decline(stripe_client, control, http):
    sub, invoice = failed_renewal(stripe_client, control)
    card = sub.default_payment_method
    answer = http.post(f"{http.base}/v1/invoices/{invoice.id}/pay",
                       data={"payment_method": card, "off_session": "true"})
    assert answer.status_code == 402
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["decline_code"], error["message"]) == (
        "card_error", "card_declined", "generic_decline", "Your card was declined.")
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/card-declined"
    assert error["payment_method"]["id"] == card
    intent = error["payment_intent"]
    assert intent["object"] == "payment_intent"
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["decline_code"] == "generic_decline"
    charge = stripe_client.v1.charges.retrieve(error["charge"])
    assert charge.status == "failed" and charge.payment_intent == intent["id"]
    # The same through the SDK.
    with pytest.raises(stripe.CardError) as caught:
        stripe_client.v1.invoices.pay(invoice.id, {"payment_method": card})
    assert caught.value.code == "card_declined"
    assert caught.value.error.decline_code == "generic_decline"
    assert stripe_client.v1.invoices.retrieve(invoice.id).status == "open"
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "past_due"


def test_an_insufficient_funds_card_cannot_be_used_to_pay(stripe_client, control, http):
    """4000 0000 0000 9995 declines with insufficient_funds as soon as it is saved to
    the customer (only 4000 0000 0000 0341 saves and then fails), so it never belongs
    to the customer; an unsaved one is refused by /pay like any card not theirs."""
    sub, invoice = failed_renewal(stripe_client, control)
    with pytest.raises(stripe.CardError) as caught:
        stripe_client.v1.payment_methods.attach(
            "pm_card_chargeDeclinedInsufficientFunds", {"customer": sub.customer})
    assert caught.value.error.decline_code == "insufficient_funds"
    assert caught.value.user_message == "Your card has insufficient funds."
    answer = http.post(f"{http.base}/v1/invoices/{invoice.id}/pay",
                       data={"payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "payment_method")
    assert "must be attached to the customer" in error["message"]


def test_pay_refuses_another_customers_card(stripe_client, control):
    sub, invoice = failed_renewal(stripe_client, control)
    stranger = stripe_client.v1.customers.create({"email": "other@example.com"})
    theirs = stripe_client.v1.payment_methods.attach("pm_card_visa",
                                                     {"customer": stranger.id})
    before = len(stripe_client.v1.events.list({"limit": 100}).data)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.invoices.pay(invoice.id, {"payment_method": theirs.id})
    error = caught.value.error
    assert caught.value.http_status == 400 and error.param == "payment_method"
    assert error.message == (
        f"The customer does not have a payment method with the ID {theirs.id}. "
        "The payment method must be attached to the customer.")
    # Refused before anything happened: no attempt, no event, still open.
    assert len(stripe_client.v1.events.list({"limit": 100}).data) == before
    assert stripe_client.v1.invoices.retrieve(invoice.id).status == "open"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.invoices.pay(invoice.id, {"payment_method": "pm_nonexistent"})
    assert missing.value.http_status == 404


def test_paying_with_a_given_card_keeps_the_default_cards(stripe_client, control):
    sub, invoice = failed_renewal(stripe_client, control)
    customer = stripe_client.v1.customers.retrieve(sub.customer)
    good = stripe_client.v1.payment_methods.attach("pm_card_visa",
                                                   {"customer": sub.customer})
    stripe_client.v1.invoices.pay(invoice.id, {"payment_method": good.id})
    after = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert after.status == "active"
    assert after.default_payment_method == sub.default_payment_method != good.id
    assert stripe_client.v1.customers.retrieve(sub.customer).invoice_settings \
        .default_payment_method == customer.invoice_settings.default_payment_method
    for event in events_of(stripe_client, "customer.subscription.updated"):
        assert "default_payment_method" not in event.data.previous_attributes
    for event in events_of(stripe_client, "customer.updated"):
        assert "invoice_settings" not in event.data.previous_attributes
    # So the next renewal goes back to the default card, and fails again.
    control.post("/clock/advance", {"seconds": 32 * DAY})
    renewal = stripe_client.v1.invoices.retrieve(
        stripe_client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.id != invoice.id and renewal.status == "open"
    assert stripe_client.v1.customers.retrieve(sub.customer).delinquent is True


def test_invoice_updated_reports_attempt_count_and_next_attempt(stripe_client, control):
    control.post("/config", {"payment_retry_days": [1, 2]})
    sub = subscribe(stripe_client, control, card=FAILING, trial=7)
    control.post("/clock/advance", {"seconds": 30 * DAY})
    end = sub.trial_end + HOUR  # the first attempt: an hour after the trial's end
    updates = [e for e in events_of(stripe_client, "invoice.updated")
               if e.data.object.billing_reason == "subscription_cycle"]
    assert [(e.data.object.attempt_count, e.data.object.next_payment_attempt)
            for e in updates] == [(1, end + DAY), (2, end + 3 * DAY), (3, None)]
    assert [{k: e.data.previous_attributes[k]
             for k in ("attempt_count", "next_payment_attempt")} for e in updates] == [
        {"attempt_count": 0, "next_payment_attempt": None},
        {"attempt_count": 1, "next_payment_attempt": end + DAY},
        {"attempt_count": 2, "next_payment_attempt": end + 3 * DAY}]
    assert updates[0].data.previous_attributes["attempted"] is False
    failures = events_of(stripe_client, "invoice.payment_failed")
    assert [e.data.object.attempt_count for e in failures] == [1, 2, 3]


def test_a_failed_manual_pay_does_not_move_the_retry_schedule(stripe_client, control):
    """Stripe's `attempt_count`: any first attempt counts, then only automatic ones
    ("manual payment attempts after the first attempt do not affect the retry
    schedule")."""
    sub, invoice = failed_renewal(stripe_client, control, retry_days=(2, 2))
    first = sub.trial_end + HOUR
    assert (invoice.attempt_count, invoice.next_payment_attempt) == (1, first + 2 * DAY)
    with pytest.raises(stripe.CardError):
        stripe_client.v1.invoices.pay(invoice.id, {"off_session": True})
    failed = events_of(stripe_client, "invoice.payment_failed")[-1]
    assert failed.data.object.id == invoice.id
    assert (failed.data.object.attempt_count, failed.data.object.next_payment_attempt) \
        == (1, first + 2 * DAY)
    after = stripe_client.v1.invoices.retrieve(invoice.id)
    assert (after.attempt_count, after.next_payment_attempt) == (1, first + 2 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    control.post("/clock/advance", {"seconds": 2 * DAY})
    after = stripe_client.v1.invoices.retrieve(invoice.id)
    assert (after.attempt_count, after.next_payment_attempt) == (2, first + 4 * DAY)


def test_canceled_after_the_schedule_and_still_delinquent(stripe_client, control):
    """after_payment_retries=canceled (the default) ends the subscription once the
    schedule is spent, a manual attempt in between notwithstanding. The invoice stays
    open and, as Stripe documents, dunning's end does not clear `delinquent`."""
    sub, invoice = failed_renewal(stripe_client, control, retry_days=(1, 1))
    with pytest.raises(stripe.CardError):
        stripe_client.v1.invoices.pay(invoice.id)
    control.post("/clock/advance", {"seconds": DAY})
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    control.post("/clock/advance", {"seconds": DAY})
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.cancellation_details.reason == "payment_failed"
    deleted = events_of(stripe_client, "customer.subscription.deleted")
    assert [e.created for e in deleted] == [sub.trial_end + HOUR + 2 * DAY]
    assert stripe_client.v1.invoices.retrieve(invoice.id).status == "open"
    assert stripe_client.v1.customers.retrieve(sub.customer).delinquent is True
    assert delinquency_changes(stripe_client, sub.customer) == [(False, True)]
