"""Checkout Sessions completed through the control endpoint (the hosted page's code
path), with the events Stripe would send, in order."""
import pytest
import requests
import stripe

from .conftest import event_types
from .helpers import monthly_price, one_time_price, payment_session, subscription_session


def test_create_session_shape(stripe_client, emulator):
    price = one_time_price(stripe_client)
    session = payment_session(stripe_client, price)
    assert session.url == f"{emulator.url}/checkout/{session.id}"
    assert session.status == "open" and session.payment_status == "unpaid"
    assert session.amount_total == 2000 and session.currency == "gbp"
    assert session.expires_at - session.created == 24 * 3600
    again = stripe_client.v1.checkout.sessions.retrieve(session.id,
                                                        {"expand": ["line_items"]})
    assert again.line_items.data[0].price.id == price.id
    assert again.line_items.data[0].amount_total == 2000
    listed = stripe_client.v1.checkout.sessions.list()
    assert [s.id for s in listed.data] == [session.id]


def test_recurring_price_refused_in_payment_mode(stripe_client):
    with pytest.raises(stripe.InvalidRequestError):
        payment_session(stripe_client, monthly_price(stripe_client))


def test_payment_mode_completion_and_event_order(stripe_client, control):
    session = payment_session(stripe_client, one_time_price(stripe_client))
    done = control.post(f"/checkout/sessions/{session.id}/complete",
                        {"card": "4242424242424242"})
    assert done["status"] == "complete" and done["payment_status"] == "paid"
    assert done["customer_details"]["email"] == "buyer@example.com"
    assert event_types(stripe_client) == [
        "payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
        "checkout.session.completed"]
    pi = stripe_client.v1.payment_intents.retrieve(done["payment_intent"],
                                                   {"expand": ["latest_charge"]})
    assert pi.status == "succeeded" and pi.amount_received == 2000
    assert pi.metadata["upgrade_id"] == "1"
    assert pi.latest_charge.paid and pi.latest_charge.payment_method_details.card.last4 == "4242"


def test_customer_creation_always_creates_a_customer(stripe_client, control):
    session = payment_session(stripe_client, one_time_price(stripe_client),
                              customer_creation="always")
    done = control.post(f"/checkout/sessions/{session.id}/complete", {})
    customer = stripe_client.v1.customers.retrieve(done["customer"])
    assert customer.email == "buyer@example.com"
    assert event_types(stripe_client)[0] == "customer.created"


@pytest.mark.parametrize("card", ["4000000000000002", "4000000000000341"])
def test_declined_card_leaves_the_session_open(stripe_client, control, card):
    session = payment_session(stripe_client, one_time_price(stripe_client))
    error = control.post(f"/checkout/sessions/{session.id}/complete", {"card": card},
                         expect=402)["error"]
    assert error["type"] == "card_error" and error["code"] == "card_declined"
    assert error["message"] == "Your card was declined."
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert event_types(stripe_client) == [
        "payment_intent.created", "charge.failed", "payment_intent.payment_failed"]
    # The buyer tries another card: same payment intent, now paid.
    done = control.post(f"/checkout/sessions/{session.id}/complete",
                        {"card": "4242424242424242"})
    assert done["payment_status"] == "paid"
    assert event_types(stripe_client)[-3:] == [
        "charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


@pytest.mark.parametrize("outcome, final", [
    ("succeeded", "checkout.session.async_payment_succeeded"),
    ("failed", "checkout.session.async_payment_failed")])
def test_delayed_payment_settles_either_way(stripe_client, control, outcome, final):
    session = payment_session(stripe_client, one_time_price(stripe_client))
    done = control.post(f"/checkout/sessions/{session.id}/complete", {"method": "delayed"})
    assert done["status"] == "complete" and done["payment_status"] == "unpaid"
    assert event_types(stripe_client) == [
        "payment_intent.created", "charge.pending", "payment_intent.processing",
        "checkout.session.completed"]
    settled = control.post(f"/checkout/sessions/{session.id}/settle", {"outcome": outcome})
    assert settled["payment_status"] == ("paid" if outcome == "succeeded" else "unpaid")
    tail = event_types(stripe_client)[4:]
    if outcome == "succeeded":
        assert tail == ["charge.succeeded", "payment_intent.succeeded", final]
    else:
        assert tail == ["charge.failed", "payment_intent.payment_failed", final]


def test_subscription_mode_with_trial(stripe_client, control):
    price = monthly_price(stripe_client, "Premium annual", 7000, "year")
    session = subscription_session(stripe_client, price, trial_days=14)
    done = control.post(f"/checkout/sessions/{session.id}/complete", {})
    assert done["payment_status"] == "no_payment_required"
    sub = stripe_client.v1.subscriptions.retrieve(done["subscription"],
                                                  {"expand": ["latest_invoice"]})
    assert sub.status == "trialing" and sub.trial_end - sub.trial_start == 14 * 86400
    assert sub.metadata["user_id"] == "7"
    item = sub["items"].data[0]
    assert item.current_period_start == sub.trial_start
    assert item.current_period_end == sub.trial_end
    assert sub.latest_invoice.status == "paid" and sub.latest_invoice.amount_paid == 0
    assert sub.latest_invoice.id == done["invoice"]
    # Nothing is charged now, so Checkout saves the card with a SetupIntent the session
    # names; it has succeeded, so the subscription has no pending one.
    si = stripe_client.v1.setup_intents.retrieve(done["setup_intent"])
    assert (si.status, si.customer, si.usage) == ("succeeded", sub.customer, "off_session")
    assert si.payment_method == sub.default_payment_method
    assert sub.pending_setup_intent is None
    assert event_types(stripe_client) == [
        "customer.created", "setup_intent.created", "payment_method.attached",
        "setup_intent.succeeded", "customer.subscription.created",
        "invoice.created", "invoice.finalized", "invoice.paid",
        "invoice.payment_succeeded", "invoice.updated", "checkout.session.completed"]


def test_subscription_mode_charges_at_once(stripe_client, control):
    session = subscription_session(stripe_client, monthly_price(stripe_client))
    done = control.post(f"/checkout/sessions/{session.id}/complete", {})
    assert done["payment_status"] == "paid"
    sub = stripe_client.v1.subscriptions.retrieve(done["subscription"])
    assert sub.status == "active" and sub.default_payment_method
    item = sub["items"].data[0]
    assert item.current_period_end > item.current_period_start
    invoice = stripe_client.v1.invoices.retrieve(done["invoice"], {"expand": ["payments"]})
    assert invoice.amount_paid == 700 and invoice.status == "paid"
    assert invoice.lines.data[0].pricing.price_details.price == item.price.id
    pi = invoice.payments.data[0].payment.payment_intent
    assert stripe_client.v1.payment_intents.retrieve(pi).status == "succeeded"
    assert event_types(stripe_client) == [
        "customer.created", "payment_method.attached", "customer.subscription.created",
        "invoice.created", "invoice.finalized", "payment_intent.created",
        "charge.succeeded", "payment_intent.succeeded", "invoice.paid",
        "invoice.payment_succeeded", "invoice_payment.paid", "invoice.updated",
        "customer.subscription.updated", "checkout.session.completed"]
    updated = stripe_client.v1.events.list({"type": "customer.subscription.updated"}).data[0]
    assert updated.data.previous_attributes["status"] == "incomplete"


def test_subscription_reuses_a_known_customer(stripe_client, control):
    customer = stripe_client.v1.customers.create({"email": "known@example.com"})
    session = subscription_session(stripe_client, monthly_price(stripe_client),
                                   customer=customer.id, customer_email=None)
    done = control.post(f"/checkout/sessions/{session.id}/complete", {})
    assert done["customer"] == customer.id
    assert "customer.created" not in event_types(stripe_client)[1:]


def test_setup_mode_saves_a_card(stripe_client, control):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    session = stripe_client.v1.checkout.sessions.create({
        "mode": "setup", "customer": customer.id, "currency": "gbp",
        "success_url": "http://127.0.0.1:5000/billing?session_id={CHECKOUT_SESSION_ID}"})
    done = control.post(f"/checkout/sessions/{session.id}/complete",
                        {"card": "5555555555554444"})
    si = stripe_client.v1.setup_intents.retrieve(done["setup_intent"],
                                                 {"expand": ["payment_method"]})
    assert si.status == "succeeded" and si.payment_method.card.brand == "mastercard"
    methods = stripe_client.v1.payment_methods.list({"customer": customer.id})
    assert [m.id for m in methods.data] == [si.payment_method.id]
    assert event_types(stripe_client)[1:] == [
        "setup_intent.created", "payment_method.attached", "setup_intent.succeeded",
        "checkout.session.completed"]


def test_expire_through_api_and_control(stripe_client, control):
    price = one_time_price(stripe_client)
    first = payment_session(stripe_client, price)
    assert stripe_client.v1.checkout.sessions.expire(first.id).status == "expired"
    second = payment_session(stripe_client, price)
    assert control.post(f"/checkout/sessions/{second.id}/expire")["status"] == "expired"
    control.post(f"/checkout/sessions/{second.id}/complete", {}, expect=400)
    assert event_types(stripe_client) == ["checkout.session.expired"] * 2


def test_sessions_expire_when_the_clock_passes_expires_at(stripe_client, control):
    session = payment_session(stripe_client, one_time_price(stripe_client))
    control.post("/clock/advance", {"seconds": 24 * 3600})
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_hosted_page_form_redirects_to_success_url(stripe_client, emulator):
    session = payment_session(stripe_client, one_time_price(stripe_client))
    page = requests.get(session.url)
    assert page.status_code == 200 and "£20.00" in page.text and "Gold" in page.text
    declined = requests.post(session.url, data={"payment": "4000000000000002"},
                             allow_redirects=False)
    assert "Your card was declined." in declined.text
    paid = requests.post(session.url, data={"payment": "4242424242424242"},
                         allow_redirects=False)
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"http://127.0.0.1:5000/done?session_id={session.id}"
    assert "complete" in requests.get(session.url).text


def test_hosted_page_labels_follow_the_mode(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    setup = stripe_client.v1.checkout.sessions.create({
        "mode": "setup", "customer": customer.id, "currency": "gbp",
        "success_url": "http://127.0.0.1:5000/billing"})
    page = requests.get(setup.url).text
    assert "Save card" in page and "Delayed payment" not in page
    trial = subscription_session(stripe_client, monthly_price(stripe_client), trial_days=14)
    page = requests.get(trial.url).text
    assert "Subscribe" in page and "14 days free" in page and "£7.00" in page
    assert "Delayed payment" not in page
