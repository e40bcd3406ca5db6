"""Cards with an expiry: the Checkout control endpoint saves a card with the given
`exp_month` / `exp_year`, and a card whose expiry has passed by the emulator's (or the
test clock's) time is declined as Stripe declines it (`expired_card`)."""
import datetime as dt

import pytest
import stripe

from .helpers import (
    HOUR,
    advance_clock,
    events_of,
    monthly_price,
    on_clock,
    subscription_session,
)

START = int(dt.datetime(2027, 3, 10, 12, tzinfo=dt.UTC).timestamp())


def _setup_session(client, customer):
    return client.v1.checkout.sessions.create({
        "mode": "setup", "customer": customer.id, "currency": "gbp",
        "success_url": "http://127.0.0.1:5000/done"})


def test_a_card_is_saved_with_the_expiry_given(stripe_client, control):
    customer = stripe_client.v1.customers.create({"email": "exp@example.com"})
    session = _setup_session(stripe_client, customer)
    control.post(f"/checkout/sessions/{session.id}/complete",
                 {"card": "5555555555554444", "exp_month": 4, "exp_year": 2099})
    [pm] = stripe_client.v1.customers.payment_methods.list(customer.id).data
    assert (pm.card.exp_month, pm.card.exp_year, pm.card.last4) == (4, 2099, "4444")
    [attached] = events_of(stripe_client, "payment_method.attached")
    assert attached.data.object["card"]["exp_month"] == 4


def test_without_an_expiry_the_test_cards_own_is_kept(stripe_client, control):
    customer = stripe_client.v1.customers.create({"email": "exp@example.com"})
    session = _setup_session(stripe_client, customer)
    control.post(f"/checkout/sessions/{session.id}/complete", {"card": "4242424242424242"})
    [pm] = stripe_client.v1.customers.payment_methods.list(customer.id).data
    assert (pm.card.exp_month, pm.card.exp_year) == (12, 2034)


@pytest.mark.parametrize("body, param", [
    ({"exp_month": 4}, "exp_year"),
    ({"exp_year": 2030}, "exp_month"),
    ({"exp_month": 13, "exp_year": 2030}, "exp_month"),
    ({"exp_month": "4", "exp_year": 2030}, "exp_month"),
    ({"exp_month": True, "exp_year": 2030}, "exp_month"),
    ({"exp_month": 4, "exp_year": 30}, "exp_year"),
    ({"exp_month": 4, "exp_year": 2030.0}, "exp_year"),
])
def test_a_bad_expiry_is_a_clear_400(stripe_client, control, body, param):
    customer = stripe_client.v1.customers.create({"email": "exp@example.com"})
    session = _setup_session(stripe_client, customer)
    answer = control.post(f"/checkout/sessions/{session.id}/complete",
                          {"card": "4242424242424242", **body}, expect=400)
    assert answer["error"]["param"] == param
    assert param in answer["error"]["message"]
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_an_expiry_already_past_is_declined_as_expired(stripe_client, control):
    clock = stripe_client.v1.test_helpers.test_clocks.create({"frozen_time": START})
    customer = on_clock(stripe_client, clock)
    session = _setup_session(stripe_client, customer)
    answer = control.post(f"/checkout/sessions/{session.id}/complete",
                          {"card": "4242424242424242", "exp_month": 2, "exp_year": 2027},
                          expect=402)
    assert answer["error"]["code"] == "expired_card"
    assert answer["error"]["decline_code"] == "expired_card"
    assert answer["error"]["message"] == "Your card has expired."
    assert stripe_client.v1.customers.payment_methods.list(customer.id).data == []
    # Valid through the end of its month: March 2027 is still good on 10 March 2027.
    control.post(f"/checkout/sessions/{session.id}/complete",
                 {"card": "4242424242424242", "exp_month": 3, "exp_year": 2027})


def test_a_renewal_charged_after_the_card_expired_is_declined_expired_card(
        stripe_client, control):
    clock = stripe_client.v1.test_helpers.test_clocks.create({"frozen_time": START})
    customer = on_clock(stripe_client, clock)
    price = monthly_price(stripe_client)
    session = subscription_session(stripe_client, price, customer=customer.id,
                                   customer_email=None)
    done = control.post(f"/checkout/sessions/{session.id}/complete",
                        {"card": "4242424242424242", "exp_month": 3, "exp_year": 2027})
    sub = stripe_client.v1.subscriptions.retrieve(done["subscription"])
    assert sub.status == "active"  # paid on 10 March with a card valid through March
    renewal = sub["items"].data[0].current_period_end  # 10 April 2027

    advance_clock(stripe_client, clock, renewal + HOUR + 60)
    [failed] = events_of(stripe_client, "charge.failed")
    charge = failed.data.object
    assert (charge["failure_code"], charge["outcome"]["reason"]) == ("expired_card",
                                                                     "expired_card")
    assert charge["failure_message"] == "Your card has expired."
    [intent_failed] = events_of(stripe_client, "payment_intent.payment_failed")
    error = intent_failed.data.object["last_payment_error"]
    assert (error["code"], error["decline_code"]) == ("expired_card", "expired_card")
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/expired-card"
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "past_due"

    # Paying the open invoice by hand with it answers the same card error.
    [invoice] = [inv for inv in stripe_client.v1.invoices.list(
        {"customer": customer.id, "status": "open"}).data]
    with pytest.raises(stripe.CardError) as caught:
        stripe_client.v1.invoices.pay(invoice.id)
    assert caught.value.code == "expired_card"
    assert caught.value.error.decline_code == "expired_card"


def test_a_card_valid_through_the_charge_month_pays(stripe_client, control):
    clock = stripe_client.v1.test_helpers.test_clocks.create({"frozen_time": START})
    customer = on_clock(stripe_client, clock)
    price = monthly_price(stripe_client)
    session = subscription_session(stripe_client, price, customer=customer.id,
                                   customer_email=None)
    done = control.post(f"/checkout/sessions/{session.id}/complete",
                        {"card": "4242424242424242", "exp_month": 4, "exp_year": 2027})
    sub = stripe_client.v1.subscriptions.retrieve(done["subscription"])
    advance_clock(stripe_client, clock, sub["items"].data[0].current_period_end + HOUR + 60)
    assert events_of(stripe_client, "charge.failed") == []
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"
