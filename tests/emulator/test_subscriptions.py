"""The Subscriptions API, renewals on the emulator's clock, and the portal."""
import pytest
import requests
import stripe

from .conftest import event_types
from .helpers import HOUR, monthly_price, subscription_session


def subscribe(stripe_client, control, card="4242424242424242", trial=None, price=None):
    price = price or monthly_price(stripe_client)
    session = subscription_session(stripe_client, price, trial_days=trial)
    done = control.post(f"/checkout/sessions/{session.id}/complete", {"card": card})
    return stripe_client.v1.subscriptions.retrieve(done["subscription"])


def test_list_by_customer_and_status(stripe_client, control):
    sub = subscribe(stripe_client, control)
    listed = stripe_client.v1.subscriptions.list({"customer": sub.customer})
    assert [s.id for s in listed.data] == [sub.id]
    assert stripe_client.v1.subscriptions.list({"status": "trialing"}).data == []


def test_cancel_at_period_end_then_resume(stripe_client, control):
    sub = subscribe(stripe_client, control)
    end = sub["items"].data[0].current_period_end
    sub = stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert sub.cancel_at_period_end and sub.cancel_at == end and sub.status == "active"
    event = stripe_client.v1.events.list({"type": "customer.subscription.updated"}).data[0]
    assert event.data.previous_attributes["cancel_at_period_end"] is False
    sub = stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False})
    assert not sub.cancel_at_period_end and sub.cancel_at is None


def test_cancel_now(stripe_client, control):
    sub = subscribe(stripe_client, control)
    sub = stripe_client.v1.subscriptions.cancel(sub.id)
    assert sub.status == "canceled" and sub.ended_at and sub.canceled_at
    assert event_types(stripe_client)[-1] == "customer.subscription.deleted"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.cancel(sub.id)


def test_switch_to_annual_restarts_the_period_and_bills(stripe_client, control):
    # A new interval restarts the period: the annual price is billed now, less the
    # credit for the unused monthly time (create_prorations).
    sub = subscribe(stripe_client, control)
    annual = monthly_price(stripe_client, "Premium", 7000, "year")
    item = sub["items"].data[0]
    sub = stripe_client.v1.subscriptions.update(sub.id, {
        "items": [{"id": item.id, "price": annual.id}],
        "proration_behavior": "create_prorations"})
    new_item = sub["items"].data[0]
    assert new_item.price.id == annual.id and new_item.id == item.id
    assert new_item.current_period_end - new_item.current_period_start > 360 * 86400
    invoice = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.amount_paid == 6300
    assert sorted(line.amount for line in invoice.lines.data) == [-700, 7000]


def test_renewal_when_the_clock_passes_the_period_end(stripe_client, control):
    sub = subscribe(stripe_client, control)
    end = sub["items"].data[0].current_period_end
    control.post("/clock/advance", {"seconds": end - sub.created + HOUR + 60})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub["items"].data[0].current_period_start == end
    invoices = stripe_client.v1.invoices.list({"subscription": sub.id}).data
    assert [i.billing_reason for i in invoices] == ["subscription_cycle",
                                                    "subscription_create"]
    assert invoices[0].status == "paid"


def test_trial_ends_then_failing_card_goes_past_due(stripe_client, control):
    sub = subscribe(stripe_client, control, card="4000000000000341", trial=14)
    assert sub.status == "trialing"
    control.post("/clock/advance", {"seconds": 12 * 86400})
    assert event_types(stripe_client)[-2:] == ["customer.subscription.trial_will_end",
                                               "invoice.upcoming"]
    control.post("/clock/advance", {"seconds": 3 * 86400})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "past_due"
    assert event_types(stripe_client)[-5:] == [
        "payment_intent.payment_failed", "invoice.payment_failed", "invoice.updated",
        "customer.updated", "customer.subscription.updated"]  # delinquent: true
    # The customer fixes the card; paying the open invoice makes it active again.
    customer = sub.customer
    good = stripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": customer})
    invoice = stripe_client.v1.invoices.pay(sub.latest_invoice, {"payment_method": good.id})
    assert invoice.status == "paid"
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_cancel_at_period_end_ends_it_when_the_period_is_over(stripe_client, control):
    sub = subscribe(stripe_client, control)
    stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    control.post("/clock/advance", {"seconds": 40 * 86400})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled"
    assert sub.ended_at == sub["items"].data[0].current_period_end


def test_subscription_mode_decline_leaves_the_session_open(stripe_client, control):
    session = subscription_session(stripe_client, monthly_price(stripe_client))
    error = control.post(f"/checkout/sessions/{session.id}/complete",
                         {"card": "4000000000000341"}, expect=402)["error"]
    assert error["message"] == "Your card was declined."
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert stripe_client.v1.subscriptions.list().data == []


def test_billing_portal_session_and_page(stripe_client, control):
    sub = subscribe(stripe_client, control)
    portal = stripe_client.v1.billing_portal.sessions.create(
        {"customer": sub.customer, "return_url": "http://127.0.0.1:5000/settings"})
    page = requests.get(portal.url)
    assert page.status_code == 200 and "Cancel plan" in page.text
    requests.post(f"{portal.url}/subscriptions/{sub.id}", data={"action": "cancel"})
    assert stripe_client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end


def test_hosted_invoice_page(stripe_client, control):
    sub = subscribe(stripe_client, control)
    invoice = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    page = requests.get(invoice.hosted_invoice_url)
    assert page.status_code == 200 and "£7.00" in page.text and "paid" in page.text


def test_failed_renewal_is_retried_then_the_subscription_ends(stripe_client, control):
    sub = subscribe(stripe_client, control, card="4000000000000341", trial=7)
    control.post("/clock/advance", {"seconds": 7 * 86400 + HOUR + 60})
    invoice = stripe_client.v1.invoices.retrieve(
        stripe_client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert invoice.attempt_count == 1 and invoice.next_payment_attempt
    with pytest.raises(stripe.CardError):
        stripe_client.v1.invoices.pay(invoice.id)  # the same failing card, by hand
    # A manual attempt after the first does not move the retry schedule (Stripe's
    # `attempt_count`): the three automatic retries still come, then the end.
    after = stripe_client.v1.invoices.retrieve(invoice.id)
    assert (after.attempt_count, after.next_payment_attempt) == (
        1, invoice.next_payment_attempt)
    for _ in range(3):
        control.post("/clock/advance", {"seconds": 3 * 86400})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled"
    assert sub.cancellation_details.reason == "payment_failed"
    assert event_types(stripe_client).count("invoice.payment_failed") == 5
    assert event_types(stripe_client)[-1] == "customer.subscription.deleted"
