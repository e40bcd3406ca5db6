"""Customers, payment methods, payment intents, refunds and disputes."""
import pytest
import stripe

from .conftest import event_types
from .helpers import one_time_price, payment_session


def paid_charge(stripe_client, control, amount=2000):
    session = payment_session(stripe_client, one_time_price(stripe_client, amount=amount))
    done = control.post(f"/checkout/sessions/{session.id}/complete", {})
    return stripe_client.v1.payment_intents.retrieve(done["payment_intent"]).latest_charge


def test_full_refund_marks_the_charge_refunded(stripe_client, control):
    charge_id = paid_charge(stripe_client, control)
    refund = stripe_client.v1.refunds.create({"payment_intent": stripe_client.v1.charges
                                              .retrieve(charge_id).payment_intent})
    assert refund.amount == 2000 and refund.status == "succeeded"
    charge = stripe_client.v1.charges.retrieve(charge_id)
    assert charge.refunded and charge.amount_refunded == 2000
    assert event_types(stripe_client)[-2:] == ["refund.created", "charge.refunded"]
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create({"charge": charge_id})


def test_partial_refunds_add_up(stripe_client, control):
    charge_id = paid_charge(stripe_client, control)
    stripe_client.v1.refunds.create({"charge": charge_id, "amount": 500})
    charge = stripe_client.v1.charges.retrieve(charge_id)
    assert not charge.refunded and charge.amount_refunded == 500
    event = stripe_client.v1.events.list({"type": "charge.refunded"}).data[0]
    assert event.data.previous_attributes["amount_refunded"] == 0
    stripe_client.v1.refunds.create({"charge": charge_id, "amount": 1500})
    assert stripe_client.v1.charges.retrieve(charge_id).refunded
    refunds = stripe_client.v1.refunds.list({"charge": charge_id}).data
    assert [r.amount for r in refunds] == [1500, 500]
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create({"charge": charge_id, "amount": 1})


def test_dispute_through_control(stripe_client, control):
    charge_id = paid_charge(stripe_client, control)
    dispute = control.post(f"/charges/{charge_id}/dispute")
    assert dispute["object"] == "dispute" and dispute["charge"] == charge_id
    assert stripe_client.v1.charges.retrieve(charge_id).disputed
    assert "charge.dispute.created" in event_types(stripe_client)


def test_attach_detach_and_default_payment_method(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    pm = stripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    assert pm.customer == customer.id and pm.card.last4 == "4242"
    customer = stripe_client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": pm.id}})
    assert customer.invoice_settings.default_payment_method == pm.id
    listed = stripe_client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert [m.id for m in listed.data] == [pm.id]
    stripe_client.v1.payment_methods.detach(pm.id)
    assert stripe_client.v1.payment_methods.list({"customer": customer.id}).data == []
    customer = stripe_client.v1.customers.retrieve(customer.id)
    assert customer.invoice_settings.default_payment_method is None
    assert event_types(stripe_client) == [
        "customer.created", "payment_method.attached", "customer.updated",
        "payment_method.detached", "customer.updated"]


def test_declined_card_cannot_be_attached_but_0341_can(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    with pytest.raises(stripe.CardError) as exc:
        stripe_client.v1.payment_methods.attach("pm_card_chargeDeclined",
                                                {"customer": customer.id})
    assert exc.value.code == "card_declined"
    pm = stripe_client.v1.payment_methods.attach("pm_card_chargeCustomerFail",
                                                 {"customer": customer.id})
    assert pm.card.last4 == "0341"


def test_default_payment_method_must_belong_to_the_customer(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.update(
            customer.id, {"invoice_settings": {"default_payment_method": "pm_nope"}})


def test_payment_intent_confirm_success_and_decline(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    pi = stripe_client.v1.payment_intents.create({
        "amount": 1234, "currency": "gbp", "customer": customer.id,
        "payment_method": "pm_card_visa", "confirm": True})
    assert pi.status == "succeeded" and pi.latest_charge
    with pytest.raises(stripe.CardError) as exc:
        stripe_client.v1.payment_intents.create({
            "amount": 1234, "currency": "gbp", "payment_method": "pm_card_chargeCustomerFail",
            "confirm": True})
    assert exc.value.code == "card_declined"
    assert exc.value.user_message == "Your card was declined."
    failed = stripe_client.v1.payment_intents.list().data[0]
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.decline_code == "generic_decline"


def test_customer_address_and_metadata_update(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    updated = stripe_client.v1.customers.update(customer.id, {
        "name": "Ada", "address": {"line1": "1 Road", "country": "GB"},
        "metadata": {"tax_id": "GB123"}})
    assert updated.address.country == "GB" and updated.name == "Ada"
    event = stripe_client.v1.events.list({"type": "customer.updated"}).data[0]
    assert event.data.previous_attributes["name"] is None
    # Saving the same values again changes nothing, so no event.
    stripe_client.v1.customers.update(customer.id, {"name": "Ada"})
    assert len(stripe_client.v1.events.list({"type": "customer.updated"}).data) == 1


def test_receipt_and_invoice_pages(stripe_client, control):
    import requests
    charge = stripe_client.v1.charges.retrieve(paid_charge(stripe_client, control))
    page = requests.get(charge.receipt_url)
    assert page.status_code == 200 and "£20.00" in page.text
    stripe_client.v1.refunds.create({"charge": charge.id})
    assert "refunded" in requests.get(charge.receipt_url).text


def test_customer_tax_ids(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    txi = stripe_client.v1.customers.tax_ids.create(
        customer.id, {"type": "gb_vat", "value": "GB123456789"})
    assert txi.country == "GB" and txi.customer == customer.id
    listed = stripe_client.v1.customers.tax_ids.list(customer.id)
    assert [t.id for t in listed.data] == [txi.id]
    stripe_client.v1.customers.tax_ids.delete(customer.id, txi.id)
    assert stripe_client.v1.customers.tax_ids.list(customer.id).data == []
    assert event_types(stripe_client)[-2:] == ["customer.tax_id.created",
                                               "customer.tax_id.deleted"]
