"""Stripe events about cards and the customer's default card. Each asks Stripe for the
current state of what it names (app/billing/cards.py), so any order ends the same."""

from app.billing import cards
from app.billing.views import CustomerRef, PaymentMethodRef, SetupCheckoutView, SetupIntentView
from app.webhooks.registry import Event, handles


@handles("payment_method.attached", "payment_method.detached", "payment_method.updated",
         "payment_method.automatically_updated", view=PaymentMethodRef)
def payment_method_changed(event: Event[PaymentMethodRef]) -> None:
    if cards.concerns_us(event.object.customer, event.object.id):
        cards.sync_card(event.object.id)


@handles("customer.updated", view=CustomerRef)
def customer_updated(event: Event[CustomerRef]) -> None:
    cards.sync_default(event.object.id)


@handles("setup_intent.succeeded", view=SetupIntentView)
def setup_intent_succeeded(event: Event[SetupIntentView]) -> None:
    setup = event.object
    if setup.payment_method and cards.concerns_us(setup.customer, setup.payment_method):
        cards.sync_card(setup.payment_method)


@handles("checkout.session.completed", view=SetupCheckoutView, where={"mode": "setup"})
def setup_checkout_completed(event: Event[SetupCheckoutView]) -> None:
    session = event.object
    if session.setup_intent and cards.concerns_us(session.customer):
        cards.sync_setup(session.setup_intent)
