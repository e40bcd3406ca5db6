"""A customer's cards through the API: retrieve and update (billing details, expiry,
metadata), a customer's own payment method, lists by type, attach and detach with
their events, and the default card."""
import pytest
import stripe

from .conftest import event_types
from .helpers import events_of


@pytest.fixture
def customer(stripe_client):
    return stripe_client.v1.customers.create({"email": "cards@example.com"})


@pytest.fixture
def card(stripe_client, customer):
    return stripe_client.v1.payment_methods.attach("pm_card_visa",
                                                   {"customer": customer.id})


def test_update_billing_details_expiry_and_metadata(stripe_client, card):
    updated = stripe_client.v1.payment_methods.update(card.id, {
        "billing_details": {"name": "Ada Lovelace", "email": "ada@example.com",
                            "phone": "+441130000000",
                            "address": {"line1": "1 High Street", "city": "Leeds",
                                        "postal_code": "LS1 1AA", "country": "GB"}},
        "card": {"exp_month": 3, "exp_year": 2040}, "metadata": {"label": "work"}})
    assert updated.billing_details.name == "Ada Lovelace"
    assert updated.billing_details.address.city == "Leeds"
    assert updated.billing_details.address.line2 is None
    assert (updated.card.exp_month, updated.card.exp_year) == (3, 2040)
    assert updated.metadata.to_dict() == {"label": "work"}
    assert stripe_client.v1.payment_methods.retrieve(card.id).to_dict() == \
        updated.to_dict()
    event = events_of(stripe_client, "payment_method.updated")[-1]
    assert event.data.object.card.exp_year == 2040
    previous = event.data.previous_attributes.to_dict()
    assert previous["card"] == {"exp_month": 12, "exp_year": 2034}
    assert previous["metadata"] == {"label": None}  # a key added was null
    assert previous["billing_details"]["name"] is None
    assert previous["billing_details"]["address"]["city"] is None


def test_an_update_that_changes_nothing_emits_nothing(stripe_client, card):
    stripe_client.v1.payment_methods.update(card.id, {"card": {"exp_month": 12}})
    assert events_of(stripe_client, "payment_method.updated") == []
    stripe_client.v1.payment_methods.update(card.id, {"billing_details": {"name": "Ada"}})
    cleared = stripe_client.v1.payment_methods.update(
        card.id, {"billing_details": {"name": ""}})
    assert cleared.billing_details.name is None
    assert len(events_of(stripe_client, "payment_method.updated")) == 2


@pytest.mark.parametrize("card_params, code, param", [
    ({"exp_month": 13}, "invalid_expiry_month", "card[exp_month]"),
    ({"exp_month": 0}, "invalid_expiry_month", "card[exp_month]"),
    ({"exp_year": 2001}, "invalid_expiry_year", "card[exp_year]"),
    ({"exp_year": 2999}, "invalid_expiry_year", "card[exp_year]"),
])
def test_an_impossible_expiry_is_a_card_error(stripe_client, card, card_params, code,
                                              param):
    with pytest.raises(stripe.CardError) as caught:
        stripe_client.v1.payment_methods.update(card.id, {"card": card_params})
    assert (caught.value.code, caught.value.param) == (code, param)
    assert caught.value.user_message in ("Your card's expiration month is invalid.",
                                         "Your card's expiration year is invalid.")
    assert stripe_client.v1.payment_methods.retrieve(card.id).card.exp_month == 12


def test_only_a_saved_card_can_be_updated(stripe_client):
    loose = stripe_client.v1.payment_methods.create(
        {"type": "card", "card": {"token": "tok_mastercard"}})
    assert loose.customer is None and loose.card.brand == "mastercard"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.payment_methods.update(loose.id, {"metadata": {"a": "b"}})
    assert caught.value.user_message == \
        "You must save this PaymentMethod to a customer before you can update it."
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.payment_methods.retrieve("pm_missing")
    assert caught.value.http_status == 404


def test_a_customers_payment_method(stripe_client, customer, card):
    other = stripe_client.v1.customers.create()
    mine = stripe_client.v1.customers.payment_methods.retrieve(customer.id, card.id)
    assert mine.id == card.id and mine.customer == customer.id
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.customers.payment_methods.retrieve(other.id, card.id)
    error = caught.value.error
    assert caught.value.http_status == 404
    assert (error.code, error.message) == ("resource_missing",
                                           f"No such PaymentMethod: '{card.id}'")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.customers.payment_methods.retrieve("cus_missing", card.id)
    assert caught.value.http_status == 404


def test_lists_filter_by_type(stripe_client, customer, card):
    second = stripe_client.v1.payment_methods.attach("pm_card_mastercard",
                                                     {"customer": customer.id})
    by_customer = stripe_client.v1.customers.payment_methods.list(customer.id,
                                                                  {"type": "card"})
    assert [pm.id for pm in by_customer.data] == [second.id, card.id]
    assert by_customer.url == f"/v1/customers/{customer.id}/payment_methods"
    assert stripe_client.v1.customers.payment_methods.list(
        customer.id, {"type": "us_bank_account"}).data == []
    assert [pm.id for pm in stripe_client.v1.payment_methods.list(
        {"customer": customer.id, "type": "card", "limit": 1}).data] == [second.id]


def test_attach_and_detach_events(stripe_client, customer, card):
    detached = stripe_client.v1.payment_methods.detach(card.id)
    assert detached.customer is None
    attached, gone = events_of(stripe_client, "payment_method.attached")[0], \
        events_of(stripe_client, "payment_method.detached")[0]
    assert attached.data.object.customer == customer.id
    assert gone.data.object.customer is None
    assert gone.data.previous_attributes.to_dict() == {"customer": customer.id}
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_methods.detach(card.id)
    # Nothing else changed: the card was not the customer's default.
    assert event_types(stripe_client) == [
        "customer.created", "payment_method.attached", "payment_method.detached"]


def test_default_card_set_and_cleared_on_detach(stripe_client, customer, card):
    updated = stripe_client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": card.id}})
    assert updated.invoice_settings.default_payment_method == card.id
    stripe_client.v1.payment_methods.detach(card.id)
    assert stripe_client.v1.customers.retrieve(
        customer.id).invoice_settings.default_payment_method is None
    set_default, cleared = events_of(stripe_client, "customer.updated")
    assert set_default.data.previous_attributes.to_dict() == {
        "invoice_settings": {"default_payment_method": None}}
    assert cleared.data.previous_attributes.to_dict() == {
        "invoice_settings": {"default_payment_method": card.id}}
    assert cleared.data.object.invoice_settings.default_payment_method is None
    assert event_types(stripe_client)[-2:] == ["payment_method.detached",
                                               "customer.updated"]


def test_a_default_must_be_the_customers_own_card(stripe_client, customer):
    other = stripe_client.v1.customers.create()
    theirs = stripe_client.v1.payment_methods.attach("pm_card_visa",
                                                     {"customer": other.id})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.customers.update(
            customer.id, {"invoice_settings": {"default_payment_method": theirs.id}})
    assert caught.value.param == "invoice_settings[default_payment_method]"
    assert caught.value.code == "resource_missing"
