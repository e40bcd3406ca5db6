"""Subscription-mode Checkout as the app uses it: an existing customer, its reference
and metadata, subscription_data, promotion codes, and the session retrieved with its
subscription expanded."""
from .conftest import event_types
from .helpers import DAY, HOUR, events_of, monthly_price


def create(client, price, customer, **subscription_data):
    return client.v1.checkout.sessions.create({
        "mode": "subscription", "customer": customer.id,
        "line_items": [{"price": price.id, "quantity": 1}],
        "client_reference_id": "user-7", "metadata": {"user_id": "7"},
        "subscription_data": {"metadata": {"user_id": "7"}, **subscription_data},
        "allow_promotion_codes": True,
        "success_url": "http://127.0.0.1:5000/subscribed?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:5000/pricing"})


def test_the_session_carries_what_the_app_sent(stripe_client, control):
    customer = stripe_client.v1.customers.create({"email": "p@example.com"})
    session = create(stripe_client, monthly_price(stripe_client), customer,
                     trial_period_days=14)
    assert (session.mode, session.customer, session.client_reference_id) == (
        "subscription", customer.id, "user-7")
    assert session.metadata["user_id"] == "7" and session.allow_promotion_codes is True
    assert session.ui_mode == "hosted_page" and session.subscription is None
    assert session.cancel_url == "http://127.0.0.1:5000/pricing"


def test_completion_creates_the_subscription_and_expands_it(stripe_client, control):
    customer = stripe_client.v1.customers.create({"email": "p@example.com"})
    session = create(stripe_client, monthly_price(stripe_client), customer,
                     trial_period_days=14)
    control.post(f"/checkout/sessions/{session.id}/complete", {})
    done = stripe_client.v1.checkout.sessions.retrieve(session.id,
                                                       {"expand": ["subscription"]})
    sub = done.subscription
    assert sub.object == "subscription" and sub.status == "trialing"
    assert sub.customer == customer.id and sub.metadata["user_id"] == "7"
    assert sub.trial_end - sub.trial_start == 14 * DAY
    types = event_types(stripe_client)
    assert types.index("customer.subscription.created") < types.index("invoice.paid") \
        < types.index("checkout.session.completed")
    completed = events_of(stripe_client, "checkout.session.completed")[0].data.object
    assert completed.subscription == sub.id and completed.client_reference_id == "user-7"


def test_a_card_that_fails_when_charged_fails_after_the_trial(stripe_client, control):
    customer = stripe_client.v1.customers.create({"email": "p@example.com"})
    session = create(stripe_client, monthly_price(stripe_client), customer,
                     trial_period_days=14)
    done = control.post(f"/checkout/sessions/{session.id}/complete",
                        {"card": "4000000000000341"})
    assert done["status"] == "complete"
    control.post("/clock/advance", {"seconds": 14 * DAY + 60})
    sub = stripe_client.v1.subscriptions.retrieve(done["subscription"])
    assert sub.status == "active"  # the trial is over; the charge comes in an hour
    control.post("/clock/advance", {"seconds": HOUR})
    sub = stripe_client.v1.subscriptions.retrieve(done["subscription"])
    assert sub.status == "past_due"
    failed = events_of(stripe_client, "invoice.payment_failed")[0].data.object
    assert failed.parent.subscription_details.subscription == sub.id
    assert failed.next_payment_attempt == sub.trial_end + HOUR + 3 * DAY


def test_subscription_data_trial_end_starts_a_trial_to_that_moment(stripe_client, control):
    import pytest
    import stripe

    customer = stripe_client.v1.customers.create({"email": "p@example.com"})
    price = monthly_price(stripe_client)
    now = stripe_client.v1.customers.retrieve(customer.id).created
    with pytest.raises(stripe.InvalidRequestError, match="at least 48 hours"):
        create(stripe_client, price, customer, trial_end=now + 3600)
    with pytest.raises(stripe.InvalidRequestError, match="only specify one"):
        create(stripe_client, price, customer, trial_end=now + 30 * DAY, trial_period_days=14)
    session = create(stripe_client, price, customer, trial_end=now + 30 * DAY)
    control.post(f"/checkout/sessions/{session.id}/complete", {})
    sub = stripe_client.v1.checkout.sessions.retrieve(
        session.id, {"expand": ["subscription"]}).subscription
    assert sub.status == "trialing" and sub.trial_end == now + 30 * DAY
