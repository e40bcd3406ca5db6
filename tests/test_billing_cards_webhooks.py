"""Cards kept in step with Stripe by webhooks, whatever order the events come in.

The events are the emulator's own, from changes made at "Stripe" (as the customer portal or
the dashboard would): three cards attached, one's expiry updated, the default changed, one
detached. Delivered in any order, twice, the rows end as Stripe is."""

import random

import pytest
import sqlalchemy as sa

from app.billing import gateway
from app.billing.models import BillingInfo, PaymentMethod
from app.extensions import db
from app.webhooks.models import StripeEvent
from tests.subscription_helpers import with_customer

CARD_EVENTS = ("payment_method.attached", "payment_method.detached", "payment_method.updated",
               "customer.updated")


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def rows(app) -> list[tuple[str, int, int]]:
    with app.app_context():
        return [(c.stripe_payment_method_id, c.priority, c.exp_year) for c in db.session.scalars(
            sa.select(PaymentMethod).order_by(PaymentMethod.priority))]


def forget_everything(app) -> None:
    with app.app_context():
        db.session.execute(sa.delete(PaymentMethod))
        db.session.execute(sa.delete(StripeEvent))
        db.session.commit()


def a_customer_of_ours(app, make_user) -> str:
    """A customer at the emulator, recorded as alice's (as her first checkout would)."""
    user = make_user("alice")
    with app.app_context():
        customer = gateway.client().v1.customers.create(params={"email": user.email}).id
        db.session.add(BillingInfo(user_id=user.id, stripe_customer_id=customer))
        db.session.commit()
    return customer


def changes_at_stripe(app, customer: str) -> tuple[list[dict], dict]:
    """Change cards at the emulator; (its events about them, the cards Stripe ends with)."""
    with app.app_context():
        api = gateway.client().v1
        a, b, c = (api.payment_methods.attach(token, params={"customer": customer}).id
                   for token in ("pm_card_visa", "pm_card_mastercard", "pm_card_visa"))
        api.payment_methods.update(b, params={"card": {"exp_month": 7, "exp_year": 2039}})
        api.customers.update(customer, params={
            "invoice_settings": {"default_payment_method": c}})
        api.payment_methods.detach(a)
        events = [e.to_dict() for e in api.events.list(params={"limit": 100}).data
                  if e.type in CARD_EVENTS]
    return events, {"gone": a, "second": b, "default": c}


def test_card_events_in_any_order_end_in_stripes_state(app, make_user, post_event):
    customer = a_customer_of_ours(app, make_user)
    events, cards = changes_at_stripe(app, customer)
    assert {e["type"] for e in events} == set(CARD_EVENTS)
    orders = [list(reversed(events)), list(events)]
    shuffler = random.Random(7)
    for _ in range(10):
        orders.append(shuffler.sample(events, len(events)))
    for order in orders:
        forget_everything(app)
        for payload in order + order:  # every event delivered twice
            assert post_event(payload).status_code == 200
        assert rows(app) == [(cards["default"], 1, rows(app)[0][2]),
                             (cards["second"], 2, 2039)], [e["type"] for e in order]


def test_a_detach_before_its_attach_leaves_no_row(app, make_user, post_event):
    customer = a_customer_of_ours(app, make_user)
    with app.app_context():
        api = gateway.client().v1
        card = api.payment_methods.attach("pm_card_visa", params={"customer": customer}).id
        api.payment_methods.detach(card)
        events = {e.type: e.to_dict() for e in api.events.list(params={"limit": 100}).data}
    post_event(events["payment_method.detached"])
    post_event(events["payment_method.attached"])
    assert rows(app) == []


def test_cards_of_customers_not_ours_cost_no_request_and_no_row(app, make_user, post_event,
                                                               emulator, monkeypatch):
    with_customer(app, make_user("bob"))  # a customer of ours, but not this one
    with app.app_context():
        api = gateway.client().v1
        stranger = api.customers.create(params={"email": "someone@else.example"}).id
        api.payment_methods.attach("pm_card_visa", params={"customer": stranger})
        events = [e.to_dict() for e in api.events.list(params={"limit": 100}).data
                  if e.type in CARD_EVENTS]
    asked = []
    monkeypatch.setattr(gateway, "retrieve_payment_method", lambda pm: asked.append(pm))
    for payload in events:
        assert post_event(payload).json["outcome"] == "processed"
    assert asked == [] and rows(app) == []
