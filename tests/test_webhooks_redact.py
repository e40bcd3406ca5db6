"""The event log keeps no personal data: what Stripe's events say about people is emptied
in the stored copy, and the rest is stored as signed."""

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.webhooks.models import StripeEvent
from app.webhooks.redact import stored_body
from tests.stripe_objects import event, stripe_object
from tests.webhook_effects import recorder  # noqa: F401


@pytest.fixture
def app_config(billing_config):
    return billing_config


NAME, STREET, EMAIL = "Zebulon Quixotic-Farnsworth", "77 Xylophone Lane", "zeb@example.com"


def stored(app, event_id: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(StripeEvent.payload)
                                 .where(StripeEvent.stripe_id == event_id))


def a_person(**extra) -> dict:
    customer = stripe_object("customer", name=NAME, email=EMAIL, phone="+44 20 7946 0000",
                             **extra)
    customer["address"] = {"line1": STREET, "line2": None, "city": "Leeds",
                           "postal_code": "LS1 1AA", "state": None, "country": "GB"}
    return customer


def test_a_customer_event_is_stored_without_the_person(app, post_event, recorder):
    payload = event("customer.updated", a_person(), previous_attributes={
        "name": "Old Name", "address": {"line1": "1 Old Street"}})
    assert post_event(payload).status_code == 200
    kept = stored(app, payload["id"])
    for personal in (NAME, STREET, EMAIL, "Old Name", "1 Old Street", "7946"):
        assert personal not in kept
    kept_event = json.loads(kept)
    assert kept_event["data"]["object"]["id"] == payload["data"]["object"]["id"]
    assert kept_event["data"]["object"]["address"] == {
        "line1": None, "line2": None, "city": None, "postal_code": None, "state": None,
        "country": "GB"}  # a country alone names no one
    assert kept_event["data"]["previous_attributes"] == {"name": None,
                                                         "address": {"line1": None}}


def test_card_and_checkout_details_and_tax_ids_are_emptied_too():
    card = stripe_object("payment_method")
    card["billing_details"] = {"name": NAME, "email": EMAIL, "address": None, "phone": None}
    session = stripe_object("checkout.session")
    session["customer_details"] = {"name": NAME, "email": EMAIL}
    tax_id = {"id": "txi_1", "object": "tax_id", "type": "gb_vat", "value": "GB123456789"}
    for obj in (card, session, tax_id):
        kept = stored_body(json.dumps(event("x.updated", obj), indent=2))
        assert NAME not in kept and EMAIL not in kept and "GB123456789" not in kept


def test_an_event_with_nothing_personal_is_stored_byte_for_byte():
    charge = stripe_object("charge")
    charge["billing_details"] = None
    charge["receipt_email"] = None
    payload = event("charge.refunded", charge)
    body = json.dumps(payload, indent=2)
    assert stored_body(body) == body


def test_quotes_and_key_like_text_inside_values_are_handled():
    customer = a_person(description='says "name": "kept", and \\ a backslash')
    customer["name"] = 'Zeb "the Bold" \\ Q'
    body = json.dumps(event("customer.updated", customer))
    kept = json.loads(stored_body(body))  # still JSON
    assert kept["data"]["object"]["name"] is None
    assert kept["data"]["object"]["description"] == customer["description"]
