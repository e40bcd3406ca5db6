"""The hosted Checkout page in a real Chromium: a payment-mode purchase (after a
declined card) and a subscription, with the resulting events delivered and verified."""
import re

import pytest
import stripe

from .helpers import monthly_price, one_time_price

pytestmark = pytest.mark.browser


def session_params(receiver, mode, price):
    return {"mode": mode, "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": receiver.base + "/done?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": receiver.base + "/cancelled",
            "customer_email": "browser@example.com"}


def verified_events(receiver, endpoint):
    """Every delivered event, each checked with the SDK's signature verification."""
    return [stripe.Webhook.construct_event(r["body"], r["headers"]["Stripe-Signature"],
                                           endpoint.secret)
            for r in receiver.requests]


def test_payment_and_subscription_through_the_hosted_page(
        page, stripe_client, control, receiver, endpoint):
    gold = one_time_price(stripe_client, "Gold", 2000)
    pay = stripe_client.v1.checkout.sessions.create(
        session_params(receiver, "payment", gold))
    page.goto(pay.url)
    assert "£20.00" in page.locator("#amount-total").inner_text()
    assert page.get_by_text("Gold").first.is_visible()
    page.get_by_label("Visa: declined").check()
    page.get_by_role("button", name="Pay").click()
    page.get_by_text("Your card was declined.").wait_for()
    assert stripe_client.v1.checkout.sessions.retrieve(pay.id).status == "open"
    page.get_by_label("Visa: succeeds").check()
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(re.compile(r"/done\?session_id=" + pay.id))
    assert stripe_client.v1.checkout.sessions.retrieve(pay.id).payment_status == "paid"

    premium = monthly_price(stripe_client, "Premium", 700)
    sub = stripe_client.v1.checkout.sessions.create(
        session_params(receiver, "subscription", premium))
    page.goto(sub.url)
    assert "£7.00" in page.locator("#amount-total").inner_text()
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(re.compile(r"/done\?session_id=" + sub.id))

    control.flush()
    events = verified_events(receiver, endpoint)
    completed = [e.data.object.id for e in events if e.type == "checkout.session.completed"]
    assert completed == [pay.id, sub.id]
    types = [e.type for e in events]
    assert "charge.failed" in types and "customer.subscription.created" in types
    assert "invoice.paid" in types


def test_cancel_link_goes_to_cancel_url(page, stripe_client, receiver):
    price = one_time_price(stripe_client)
    session = stripe_client.v1.checkout.sessions.create(
        session_params(receiver, "payment", price))
    page.goto(session.url)
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(receiver.base + "/cancelled")


def test_expired_session_page_says_so(page, stripe_client, control, receiver):
    price = one_time_price(stripe_client)
    session = stripe_client.v1.checkout.sessions.create(
        session_params(receiver, "payment", price))
    stripe_client.v1.checkout.sessions.expire(session.id)
    page.goto(session.url)
    page.get_by_text("This Checkout Session has expired").wait_for()
