"""3-D Secure: Stripe's authentication test cards (4000 0027 6000 3184 always asks;
4000 0025 0000 3155 and 4000 0000 0000 3220 ask on-session and off-session unless
set up), the challenge on hosted Checkout and the hosted invoice page, the control
endpoint that answers it, and an off-session renewal that needs the customer
(`requires_action`, invoice.payment_failed + invoice.payment_action_required, past_due,
no automatic retry)."""
import pytest
import requests
import stripe

from .conftest import event_types
from .helpers import DAY, HOUR, monthly_price, subscription_session

ALWAYS = "4000002760003184"
UNLESS_SET_UP = "4000002500003155"
THREE_DS2 = "4000000000003220"


def waiting_intent(client, customer):
    """The customer's PaymentIntent in requires_action (exactly one)."""
    intents = [pi for pi in client.v1.payment_intents.list({"customer": customer}).data
               if pi.status == "requires_action"]
    assert len(intents) == 1, intents
    return intents[0]


def start_checkout(client, control, card, trial=None):
    """A subscription Checkout completed with `card`; returns (session, price)."""
    price = monthly_price(client)
    session = subscription_session(client, price, trial_days=trial)
    done = control.post(f"/checkout/sessions/{session.id}/complete", {"card": card})
    return done, price


def subscribed(client, control, card):
    """A monthly subscription whose first payment was authenticated at Checkout."""
    done, _ = start_checkout(client, control, card)
    assert done["status"] == "open" and done["subscription"] is None
    pi = waiting_intent(client, done["customer"])
    control.post(f"/payment_intents/{pi.id}/authenticate", {"outcome": "succeed"})
    session = client.v1.checkout.sessions.retrieve(done["id"])
    assert session.status == "complete" and session.payment_status == "paid"
    return client.v1.subscriptions.retrieve(session.subscription)


@pytest.mark.parametrize("card", [ALWAYS, UNLESS_SET_UP, THREE_DS2])
def test_first_payment_at_checkout_waits_for_the_challenge(stripe_client, control, card):
    done, _ = start_checkout(stripe_client, control, card)
    assert done["status"] == "open"
    pi = waiting_intent(stripe_client, done["customer"])
    assert pi.next_action.type == "redirect_to_url"
    assert pi.next_action.redirect_to_url.url.endswith(f"/authenticate/{pi.id}")
    assert pi.last_payment_error is None  # on-session: nothing was declined
    sub = stripe_client.v1.subscriptions.list({"customer": done["customer"]}).data[0]
    assert sub.status == "incomplete"
    types = event_types(stripe_client)
    assert "payment_intent.requires_action" in types
    assert "invoice.payment_action_required" in types
    assert "invoice.payment_failed" not in types and "checkout.session.completed" not in types

    sub = subscribed_after(stripe_client, control, pi, done)
    assert sub.status == "active"
    charge = stripe_client.v1.charges.retrieve(
        stripe_client.v1.payment_intents.retrieve(pi.id).latest_charge)
    assert charge.status == "succeeded"
    assert event_types(stripe_client)[-1] == "checkout.session.completed"


def subscribed_after(client, control, pi, done):
    control.post(f"/payment_intents/{pi.id}/authenticate", {"outcome": "succeed"})
    session = client.v1.checkout.sessions.retrieve(done["id"])
    assert session.status == "complete"
    return client.v1.subscriptions.retrieve(session.subscription)


def test_a_failed_challenge_leaves_the_session_open_for_another_card(
        stripe_client, control):
    done, _ = start_checkout(stripe_client, control, ALWAYS)
    pi = waiting_intent(stripe_client, done["customer"])
    failed = control.post(f"/payment_intents/{pi.id}/authenticate", {"outcome": "fail"})
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    assert failed["last_payment_error"]["message"].startswith(
        "We are unable to authenticate your payment method.")
    assert stripe_client.v1.checkout.sessions.retrieve(done["id"]).status == "open"
    again = control.post(f"/payment_intents/{pi.id}/authenticate", {"outcome": "succeed"},
                         expect=400)
    assert "requires_action" in again["error"]["message"]

    second = control.post(f"/checkout/sessions/{done['id']}/complete",
                          {"card": "4242424242424242"})
    assert second["status"] == "complete"
    sub = stripe_client.v1.subscriptions.retrieve(second["subscription"])
    assert sub.status == "active"  # the same subscription's first invoice, now paid
    assert len(stripe_client.v1.subscriptions.list({"customer": sub.customer}).data) == 1
    assert stripe_client.v1.invoices.retrieve(second["invoice"]).status == "paid"


def test_an_off_session_renewal_with_3184_needs_the_customer(stripe_client, control):
    sub = subscribed(stripe_client, control, ALWAYS)
    control.post("/clock/advance", {"seconds": 31 * DAY + HOUR})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    invoice = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "past_due" and invoice.status == "open"
    assert invoice.next_payment_attempt is None  # no automatic retry: Stripe waits
    pi = waiting_intent(stripe_client, sub.customer)
    assert pi.last_payment_error.code == "authentication_required"
    assert pi.last_payment_error.decline_code == "authentication_required"
    types = event_types(stripe_client)
    tail = types[len(types) - 1 - types[::-1].index("invoice.finalized"):]
    assert tail[:5] == ["invoice.finalized", "payment_intent.created",
                        "payment_intent.requires_action", "invoice.payment_failed",
                        "invoice.payment_action_required"]
    assert stripe_client.v1.customers.retrieve(sub.customer).delinquent is True

    control.post("/clock/advance", {"seconds": 10 * DAY})  # nothing retried meanwhile
    assert waiting_intent(stripe_client, sub.customer).id == pi.id
    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.invoices.pay(invoice.id)  # off-session, as /pay is by default
    assert declined.value.code == "invoice_payment_intent_requires_action"

    control.post(f"/payment_intents/{pi.id}/authenticate", {"outcome": "succeed"})
    assert stripe_client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert stripe_client.v1.customers.retrieve(sub.customer).delinquent is False
    assert event_types(stripe_client)[-1] == "customer.subscription.updated"


@pytest.mark.parametrize("card", [UNLESS_SET_UP, THREE_DS2])
def test_a_card_set_up_at_checkout_renews_without_the_customer(stripe_client, control,
                                                               card):
    sub = subscribed(stripe_client, control, card)
    control.post("/clock/advance", {"seconds": 31 * DAY + HOUR})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active"
    assert stripe_client.v1.invoices.retrieve(sub.latest_invoice).status == "paid"
    assert "invoice.payment_action_required" not in event_types(
        stripe_client, created={"gt": sub.items.data[0].current_period_start - 1})


def test_a_trial_saves_a_3155_card_after_its_challenge(stripe_client, control):
    done, _ = start_checkout(stripe_client, control, UNLESS_SET_UP, trial=7)
    assert done["status"] == "open"
    si = stripe_client.v1.setup_intents.retrieve(done["setup_intent"])
    assert si.status == "requires_action"
    control.post(f"/setup_intents/{si.id}/authenticate", {"outcome": "succeed"})
    session = stripe_client.v1.checkout.sessions.retrieve(done["id"])
    assert session.status == "complete" and session.setup_intent == si.id
    assert stripe_client.v1.setup_intents.retrieve(si.id).status == "succeeded"
    control.post("/clock/advance", {"seconds": 7 * DAY + HOUR + 60})
    sub = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert sub.status == "active"  # the trial's end charged off-session, set up


def test_an_off_session_payment_intent_with_3155_unset_is_refused(stripe_client,
                                                                  control):
    customer = stripe_client.v1.customers.create({"email": "a@example.com"})
    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.payment_intents.create({
            "amount": 500, "currency": "gbp", "customer": customer.id,
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "confirm": True, "off_session": True})
    assert declined.value.code == "authentication_required"


def test_hosted_pages_show_the_challenge(stripe_client, control, emulator):
    price = monthly_price(stripe_client)
    session = subscription_session(stripe_client, price)
    web = requests.Session()
    answer = web.post(f"{emulator.url}/checkout/{session.id}",
                      data={"payment": ALWAYS, "email": "s@example.com"},
                      allow_redirects=False)
    assert answer.status_code == 303
    page = web.get(f"{emulator.url}/checkout/{session.id}").text
    assert "Complete authentication" in page and "Fail authentication" in page
    pi = waiting_intent(stripe_client, stripe_client.v1.checkout.sessions.retrieve(
        session.id).customer)
    failed = web.post(f"{emulator.url}/authenticate/{pi.id}", data={"outcome": "fail"})
    assert "We are unable to authenticate your payment method" in failed.text
    web.post(f"{emulator.url}/checkout/{session.id}", data={"payment": ALWAYS})
    pi = waiting_intent(stripe_client, pi.customer)  # the second card's attempt
    done = web.post(f"{emulator.url}/authenticate/{pi.id}", data={"outcome": "succeed"},
                    allow_redirects=False)
    assert done.status_code == 303 and done.headers["Location"].startswith(
        "http://127.0.0.1:5000/done")
    sub = stripe_client.v1.subscriptions.retrieve(
        stripe_client.v1.checkout.sessions.retrieve(session.id).subscription)

    control.post("/clock/advance", {"seconds": 31 * DAY + HOUR})
    invoice = stripe_client.v1.invoices.retrieve(
        stripe_client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    page = web.get(invoice.hosted_invoice_url).text
    assert "Your bank asks you to confirm this payment." in page
    pay = web.post(f"{invoice.hosted_invoice_url}/pay", allow_redirects=False)
    assert pay.headers["Location"].startswith("/authenticate/pi_")
    paid = web.post(emulator.url + pay.headers["Location"], data={"outcome": "succeed"})
    assert 'id="invoice-status">paid<' in paid.text
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"
