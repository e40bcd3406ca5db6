"""Small builders shared by the emulator tests."""


def one_time_price(client, name="Gold", amount=2000, currency="gbp", lookup_key=None):
    product = client.v1.products.create({"name": name})
    params = {"product": product.id, "currency": currency, "unit_amount": amount}
    if lookup_key:
        params["lookup_key"] = lookup_key
    return client.v1.prices.create(params)


def monthly_price(client, name="Premium", amount=700, interval="month"):
    product = client.v1.products.create({"name": name})
    return client.v1.prices.create({"product": product.id, "currency": "gbp",
                                    "unit_amount": amount,
                                    "recurring": {"interval": interval}})


def payment_session(client, price, **extra):
    params = {"mode": "payment", "line_items": [{"price": price.id, "quantity": 1}],
              "success_url": "http://127.0.0.1:5000/done?session_id={CHECKOUT_SESSION_ID}",
              "cancel_url": "http://127.0.0.1:5000/cancelled",
              "customer_email": "buyer@example.com", "client_reference_id": "upgrade-1",
              "metadata": {"upgrade_id": "1"},
              "payment_intent_data": {"metadata": {"upgrade_id": "1"}}}
    params.update(extra)
    return client.v1.checkout.sessions.create(params)


def subscription_session(client, price, trial_days=None, **extra):
    params = {"mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}],
              "success_url": "http://127.0.0.1:5000/done?session_id={CHECKOUT_SESSION_ID}",
              "cancel_url": "http://127.0.0.1:5000/pricing",
              "customer_email": "sub@example.com", "client_reference_id": "user-7",
              "allow_promotion_codes": True,
              "subscription_data": {"metadata": {"user_id": "7"}}}
    if trial_days:
        params["subscription_data"]["trial_period_days"] = trial_days
    params.update(extra)
    return client.v1.checkout.sessions.create(params)


def subscribe(client, control, card="4242424242424242", trial=None, price=None):
    """A subscription started through Checkout with a test card; returns it."""
    price = price or monthly_price(client)
    session = subscription_session(client, price, trial_days=trial)
    done = control.post(f"/checkout/sessions/{session.id}/complete", {"card": card})
    return client.v1.subscriptions.retrieve(done["subscription"])


def events_of(client, type_):
    """Events of one type, oldest first."""
    return list(reversed(client.v1.events.list({"type": type_, "limit": 100}).data))


DAY = 86400
HOUR = 3600  # Stripe charges a renewal about an hour after its rollover


def on_clock(client, clock, email="clock@example.com"):
    """A customer living on a test clock, created as at Stripe (`test_clock`)."""
    return client.v1.customers.create({"email": email, "test_clock": clock.id})


def subscribe_customer(client, control, customer, price, card="4242424242424242",
                       trial=None):
    """A subscription of an existing customer through Checkout (completed by the
    control endpoint, the hosted page's code path: the one step real Stripe test mode
    would take in a browser); returns it."""
    data = {"metadata": {"user_id": "7"}}
    if trial:
        data["trial_period_days"] = trial
    session = client.v1.checkout.sessions.create({
        "mode": "subscription", "customer": customer.id,
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": "http://127.0.0.1:5000/done", "subscription_data": data})
    done = control.post(f"/checkout/sessions/{session.id}/complete", {"card": card})
    return client.v1.subscriptions.retrieve(done["subscription"])


def advance_clock(client, clock, frozen_time):
    """Advance a test clock as against real Stripe: ask, then poll until `ready`."""
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": frozen_time})
    for _ in range(100):
        clock = client.v1.test_helpers.test_clocks.retrieve(clock.id)
        if clock.status == "ready":
            return clock
    raise AssertionError(f"test clock {clock.id} is still {clock.status}")
