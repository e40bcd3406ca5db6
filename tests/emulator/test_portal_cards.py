"""The billing portal's cards: `features[payment_method_update][enabled]` is kept and
decides whether the hosted portal offers adding a card, making one the default and
removing one, and whether a `payment_method_update` flow may be opened."""
import pytest
import requests
import stripe

from .conftest import event_types
from .helpers import subscribe

RETURN = "http://127.0.0.1:5000/settings"


def configuration(client, cards):
    return client.v1.billing_portal.configurations.create({"features": {
        "payment_method_update": {"enabled": cards},
        "invoice_history": {"enabled": True},
        "subscription_cancel": {"enabled": True}}})


def portal(client, customer_id, config, **extra):
    return client.v1.billing_portal.sessions.create(
        {"customer": customer_id, "configuration": config.id, "return_url": RETURN,
         **extra})


def test_the_setting_is_kept_and_updated(stripe_client):
    config = configuration(stripe_client, cards=False)
    assert config.features.payment_method_update.enabled is False
    again = stripe_client.v1.billing_portal.configurations.retrieve(config.id)
    assert again.features.payment_method_update.to_dict() == {
        "enabled": False, "payment_method_configuration": None}
    stripe_client.v1.billing_portal.configurations.update(
        config.id, {"features": {"payment_method_update": {"enabled": True}}})
    event = stripe_client.v1.events.list(
        {"type": "billing_portal.configuration.updated"}).data[0]
    assert event.data.object.features.payment_method_update.enabled is True
    assert event.data.previous_attributes.to_dict() == {
        "features": {"payment_method_update": {"enabled": False}}}


def test_plan_switching_needs_card_updates(stripe_client):
    product = stripe_client.v1.products.create({"name": "Premium"})
    price = stripe_client.v1.prices.create({"product": product.id, "currency": "gbp",
                                            "unit_amount": 700,
                                            "recurring": {"interval": "month"}})
    features = {"subscription_update": {
        "enabled": True, "default_allowed_updates": ["price"],
        "products": [{"product": product.id, "prices": [price.id]}]}}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.billing_portal.configurations.create({"features": features})
    assert caught.value.user_message == \
        "Cannot enable subscription updates while payment method update is disabled."
    config = stripe_client.v1.billing_portal.configurations.create({"features": {
        **features, "payment_method_update": {"enabled": True}}})
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.billing_portal.configurations.update(
            config.id, {"features": {"payment_method_update": {"enabled": False}}})
    assert stripe_client.v1.billing_portal.configurations.retrieve(
        config.id).features.payment_method_update.enabled


def test_disabled_the_portal_offers_no_card_controls(stripe_client, control):
    sub = subscribe(stripe_client, control)
    spare = stripe_client.v1.payment_methods.attach("pm_card_mastercard",
                                                    {"customer": sub.customer})
    session = portal(stripe_client, sub.customer, configuration(stripe_client, False))
    page = requests.get(session.url).text
    assert "Mastercard •••• 4444" in page and "Visa •••• 4242" in page
    for control_text in ("Add card", "Make default", "Remove", 'id="card-form"'):
        assert control_text not in page
    mark = len(event_types(stripe_client))
    added = requests.post(f"{session.url}/payment_methods",
                          data={"card": "4242424242424242"}, allow_redirects=False)
    assert added.status_code == 400
    assert "Updating payment methods is turned off in this portal." in added.text
    for action in ("default", "remove"):
        refused = requests.post(f"{session.url}/payment_methods/{spare.id}",
                                data={"action": action}, allow_redirects=False)
        assert refused.status_code == 400
    assert event_types(stripe_client)[mark:] == []


def test_disabled_the_payment_method_update_flow_is_refused(stripe_client, control):
    sub = subscribe(stripe_client, control)
    config = configuration(stripe_client, cards=False)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        portal(stripe_client, sub.customer, config,
               flow_data={"type": "payment_method_update"})
    assert caught.value.param == "flow_data[type]"
    assert caught.value.user_message == (
        "The `payment_method_update` flow cannot be used because "
        "`payment_method_update` is disabled in the portal configuration.")


def test_enabled_cards_can_be_made_default_and_removed(stripe_client, control):
    sub = subscribe(stripe_client, control)
    first = sub.default_payment_method  # Checkout leaves the customer without a default
    spare = stripe_client.v1.payment_methods.attach("pm_card_mastercard",
                                                    {"customer": sub.customer})
    session = portal(stripe_client, sub.customer, configuration(stripe_client, True))
    page = requests.get(session.url).text
    assert "Add card" in page and page.count("Make default") == 2
    assert f'action="/billing_portal/{session.id}/payment_methods/{spare.id}"' in page
    mark = len(event_types(stripe_client))
    made = requests.post(f"{session.url}/payment_methods/{spare.id}",
                         data={"action": "default"}, allow_redirects=False)
    assert made.status_code == 303
    customer = stripe_client.v1.customers.retrieve(sub.customer)
    assert customer.invoice_settings.default_payment_method == spare.id
    assert stripe_client.v1.subscriptions.retrieve(sub.id).default_payment_method == \
        spare.id
    assert event_types(stripe_client)[mark:] == ["customer.updated",
                                                 "customer.subscription.updated"]
    assert requests.get(session.url).text.count("Make default") == 1
    # The default card cannot be removed; the old one can.
    kept = requests.post(f"{session.url}/payment_methods/{spare.id}",
                         data={"action": "remove"}, allow_redirects=False)
    assert kept.status_code == 400 and "cannot be removed" in kept.text
    removed = requests.post(f"{session.url}/payment_methods/{first}",
                            data={"action": "remove"}, allow_redirects=False)
    assert removed.status_code == 303
    assert [p.id for p in stripe_client.v1.customers.payment_methods.list(
        sub.customer).data] == [spare.id]
    assert event_types(stripe_client)[-1] == "payment_method.detached"


def test_another_customers_card_is_refused(stripe_client, control):
    sub = subscribe(stripe_client, control)
    stranger = stripe_client.v1.customers.create()
    theirs = stripe_client.v1.payment_methods.attach("pm_card_visa",
                                                     {"customer": stranger.id})
    session = portal(stripe_client, sub.customer, configuration(stripe_client, True))
    refused = requests.post(f"{session.url}/payment_methods/{theirs.id}",
                            data={"action": "remove"}, allow_redirects=False)
    assert refused.status_code == 400
    assert stripe_client.v1.payment_methods.retrieve(theirs.id).customer == stranger.id
