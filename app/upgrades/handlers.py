"""Stripe events about upgrades: small functions, each handing the object to the service."""

from app.services import upgrades
from app.webhooks.registry import Event, handles


@handles("checkout.session.completed", "checkout.session.async_payment_succeeded",
         "checkout.session.expired")
def checkout_session_changed(event: Event) -> None:
    # Each carries the whole session; applying its status and payment_status is the same job.
    upgrades.apply_checkout_session(event.object, event_id=event.id)


@handles("checkout.session.async_payment_failed")
def async_payment_failed(event: Event) -> None:
    upgrades.fail_checkout_session(event.object, event_id=event.id)


@handles("charge.refunded")
def charge_refunded(event: Event) -> None:
    upgrades.apply_charge_refund(event.object, event_id=event.id)


@handles("charge.dispute.created")
def dispute_created(event: Event) -> None:
    upgrades.flag_dispute(event.object, event_id=event.id)
