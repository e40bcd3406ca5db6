"""Stripe events about upgrades: small functions, each handing the typed object to the service."""

from app.referrals.credit import reverse_conversion
from app.services import upgrades
from app.upgrades.views import ChargeView, CheckoutSessionView, DisputeView
from app.webhooks.registry import Event, handles

# Payment-mode sessions are upgrades'; subscription-mode ones belong to subscriptions.
PAYMENT = {"mode": "payment"}


@handles("checkout.session.completed", "checkout.session.async_payment_succeeded",
         "checkout.session.expired", view=CheckoutSessionView, where=PAYMENT)
def checkout_session_changed(event: Event[CheckoutSessionView]) -> None:
    # Each carries the whole session; applying its status and payment_status is the same job.
    upgrades.apply_checkout_session(event.object, event_id=event.id)


@handles("checkout.session.async_payment_failed", view=CheckoutSessionView, where=PAYMENT)
def async_payment_failed(event: Event[CheckoutSessionView]) -> None:
    upgrades.fail_checkout_session(event.object, event_id=event.id)


@handles("charge.refunded", view=ChargeView)
def charge_refunded(event: Event[ChargeView]) -> None:
    charge = event.object
    upgrades.apply_charge_refund(charge, event_id=event.id)
    if charge.payment_intent and (charge.refunded or charge.amount_refunded >= charge.amount
                                  > 0):
        # A payment that earned referral credit (an upgrade's or a subscription invoice's),
        # refunded in full, takes the credit back.
        reverse_conversion(charge.payment_intent)


@handles("charge.dispute.created", view=DisputeView)
def dispute_created(event: Event[DisputeView]) -> None:
    upgrades.flag_dispute(event.object, event_id=event.id)
