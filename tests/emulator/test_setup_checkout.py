"""Setup-mode hosted Checkout: saving a card for a known customer from the hosted page
(the same test-card form payment mode uses), the events in Stripe's order, the
SetupIntent it succeeds, and a card that cannot be saved."""
import re

import pytest
import requests
import stripe

from .conftest import event_types

SUCCESS = "http://127.0.0.1:5000/settings/billing?session_id={CHECKOUT_SESSION_ID}"


@pytest.fixture
def customer(stripe_client):
    return stripe_client.v1.customers.create({"email": "saver@example.com",
                                              "name": "Ada Lovelace"})


def setup_session(client, customer, **extra):
    return client.v1.checkout.sessions.create({
        "mode": "setup", "customer": customer.id, "currency": "gbp",
        "success_url": SUCCESS, "cancel_url": "http://127.0.0.1:5000/settings/billing",
        **extra})


def test_the_session_as_created(stripe_client, customer):
    session = setup_session(stripe_client, customer,
                            setup_intent_data={"metadata": {"user_id": "7"}})
    assert (session.mode, session.status, session.currency) == ("setup", "open", "gbp")
    assert session.amount_total is None and session.payment_status == "unpaid"
    si = stripe_client.v1.setup_intents.retrieve(session.setup_intent)
    assert si.status == "requires_payment_method" and si.customer == customer.id
    assert si.metadata.to_dict() == {"user_id": "7"} and si.usage == "off_session"
    assert event_types(stripe_client) == ["customer.created", "setup_intent.created"]


def test_currency_is_required_unless_payment_method_types_are_given(stripe_client,
                                                                    customer):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.checkout.sessions.create(
            {"mode": "setup", "customer": customer.id, "success_url": SUCCESS})
    assert (caught.value.code, caught.value.param) == ("parameter_missing", "currency")
    session = stripe_client.v1.checkout.sessions.create({
        "mode": "setup", "customer": customer.id, "success_url": SUCCESS,
        "allowed_payment_method_types": ["card"]})
    assert session.currency is None


@pytest.mark.parametrize("number, brand, last4", [
    ("4242424242424242", "visa", "4242"), ("5555555555554444", "mastercard", "4444"),
    ("4000000000000341", "visa", "0341")])
def test_the_hosted_form_saves_the_chosen_card(stripe_client, customer, number, brand,
                                               last4):
    session = setup_session(stripe_client, customer)
    page = requests.get(session.url).text
    assert "Save a card" in page and 'id="submit">Save card</button>' in page
    assert 'name="payment" value="5555555555554444"' in page
    assert "saver@example.com" in page and "Delayed payment" not in page
    done = requests.post(session.url, data={"payment": number, "name": "Ada Lovelace"},
                         allow_redirects=False)
    assert done.status_code == 303
    assert done.headers["Location"] == SUCCESS.replace("{CHECKOUT_SESSION_ID}",
                                                       session.id)
    completed = stripe_client.v1.checkout.sessions.retrieve(
        session.id, {"expand": ["setup_intent", "setup_intent.payment_method"]})
    assert completed.status == "complete"
    assert completed.payment_status == "no_payment_required"
    si = completed.setup_intent
    assert si.status == "succeeded" and si.customer == customer.id
    pm = si.payment_method
    assert (pm.customer, pm.card.brand, pm.card.last4) == (customer.id, brand, last4)
    assert pm.billing_details.name == "Ada Lovelace"
    assert stripe_client.v1.setup_intents.retrieve(si.id).payment_method == pm.id
    assert [p.id for p in stripe_client.v1.customers.payment_methods.list(
        customer.id).data] == [pm.id]
    # Saving a card does not make it the default: the integration decides that.
    assert stripe_client.v1.customers.retrieve(
        customer.id).invoice_settings.default_payment_method is None
    assert event_types(stripe_client)[2:] == [
        "payment_method.attached", "setup_intent.succeeded", "checkout.session.completed"]


def test_the_completed_event_names_the_setup_intent(stripe_client, customer, control):
    session = setup_session(stripe_client, customer)
    control.post(f"/checkout/sessions/{session.id}/complete",
                 {"card": "5555 5555 5555 4444"})
    event = stripe_client.v1.events.list({"type": "checkout.session.completed"}).data[0]
    completed = event.data.object
    assert completed.mode == "setup" and completed.setup_intent == session.setup_intent
    assert completed.customer == customer.id
    attached = stripe_client.v1.events.list({"type": "payment_method.attached"}).data[0]
    succeeded = stripe_client.v1.events.list({"type": "setup_intent.succeeded"}).data[0]
    assert succeeded.data.object.payment_method == attached.data.object.id


@pytest.mark.parametrize("number, message", [
    ("4000000000000002", "Your card was declined."),
    ("4000000000009995", "Your card has insufficient funds.")])
def test_a_card_that_cannot_be_saved_shows_an_error_and_creates_nothing(
        stripe_client, customer, number, message):
    session = setup_session(stripe_client, customer)
    refused = requests.post(session.url, data={"payment": number}, allow_redirects=False)
    assert refused.status_code == 402
    assert re.search(r'id="card-errors" role="alert">' + re.escape(message), refused.text)
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    si = stripe_client.v1.setup_intents.retrieve(session.setup_intent)
    assert si.status == "requires_payment_method" and si.payment_method is None
    assert stripe_client.v1.customers.payment_methods.list(customer.id).data == []
    assert event_types(stripe_client) == ["customer.created", "setup_intent.created"]
    # Another card then goes through on the same session.
    assert requests.post(session.url, data={"payment": "4242424242424242"},
                         allow_redirects=False).status_code == 303


def test_the_control_endpoint_declines_alike(stripe_client, customer, control):
    session = setup_session(stripe_client, customer)
    error = control.post(f"/checkout/sessions/{session.id}/complete",
                         {"card": "4000000000000002"}, expect=402)["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error", "card_declined", "generic_decline")


@pytest.mark.browser
def test_saving_a_card_in_a_browser(page, stripe_client, customer, receiver):
    session = setup_session(stripe_client, customer,
                            success_url=receiver.base + "/done?session_id="
                                                        "{CHECKOUT_SESSION_ID}")
    page.goto(session.url)
    page.get_by_label("Visa: declined").check()
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("Your card was declined.").wait_for()
    page.get_by_label("Mastercard: succeeds").check()
    page.get_by_label("Name on card").fill("Ada Lovelace")
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(re.compile(r"/done\?session_id=" + session.id))
    pm = stripe_client.v1.customers.payment_methods.list(customer.id).data[0]
    assert pm.card.brand == "mastercard" and pm.billing_details.name == "Ada Lovelace"
