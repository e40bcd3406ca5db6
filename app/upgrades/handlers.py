"""Stripe events about upgrades: small functions, each handing the typed object to the service."""

import sqlalchemy as sa

from app.history.service import invoice_refund_may_be_ours, record_refund
from app.referrals.credit import converted_by, reverse_conversion
from app.upgrades import completion
from app.upgrades import service as upgrades
from app.upgrades.views import ChargeView, CheckoutSessionView, DisputeView
from app.webhooks.registry import Event, handles

# Payment-mode sessions are upgrades'; subscription-mode ones belong to subscriptions.
PAYMENT = {"mode": "payment"}


def _session_may_be_ours(connection: sa.Connection, session: CheckoutSessionView) -> bool:
    """An upgrade's session (a cheap look on the event log's connection): a payment-mode
    session of something else is stored as "nothing of ours" without a transaction."""
    return upgrades.session_may_be_ours(connection, session)


@handles("checkout.session.completed", "checkout.session.async_payment_succeeded",
         "checkout.session.expired", view=CheckoutSessionView, where=PAYMENT,
         ours=_session_may_be_ours, at_once=completion.complete_in_one)
def checkout_session_changed(event: Event[CheckoutSessionView]) -> None:
    # Each carries the whole session; applying its status and payment_status is the same job
    # (a paid one of a pending upgrade in a few statements: app/upgrades/completion.py).
    completion.apply_session(event.object, event_id=event.id)


@handles("checkout.session.async_payment_failed", view=CheckoutSessionView, where=PAYMENT,
         ours=_session_may_be_ours)
def async_payment_failed(event: Event[CheckoutSessionView]) -> None:
    upgrades.fail_checkout_session(event.object, event_id=event.id)


def _refunded_in_full(charge: ChargeView) -> bool:
    return charge.refunded or charge.amount_refunded >= charge.amount > 0


def _paid_upgrade(connection: sa.Connection, charge: ChargeView) -> bool:
    """An upgrade's payment (a cheap look on the event log's connection)."""
    return upgrades.payment_may_be_ours(connection, charge.payment_intent, charge.id,
                                        charge.metadata)


def _charge_may_be_ours(connection: sa.Connection, charge: ChargeView) -> bool:
    """An upgrade's payment, a subscription invoice's, or one that converted a referral
    and is refunded in full."""
    return _paid_upgrade(connection, charge) or bool(
        charge.payment_intent and _refunded_in_full(charge)
        and converted_by(connection, charge.payment_intent)) or \
        invoice_refund_may_be_ours(connection, charge.payment_intent)


@handles("charge.succeeded", view=ChargeView, ours=_paid_upgrade)
def charge_succeeded(event: Event[ChargeView]) -> None:
    # The card and Stripe's receipt link, for a receipt completed by a webhook (whose
    # Checkout Session names the payment but does not carry its charge).
    upgrades.record_charge(event.object, event_id=event.id)


@handles("charge.refunded", view=ChargeView, ours=_charge_may_be_ours)
def charge_refunded(event: Event[ChargeView]) -> None:
    charge = event.object
    if charge.payment_intent is None or not record_refund(
            charge.payment_intent, charge.amount_refunded, event.created):
        upgrades.apply_charge_refund(charge, event_id=event.id)
    if charge.payment_intent and _refunded_in_full(charge):
        # A payment that earned referral credit (an upgrade's or a subscription invoice's),
        # refunded in full, takes the credit back.
        reverse_conversion(charge.payment_intent)


@handles("charge.dispute.created", view=DisputeView)
def dispute_created(event: Event[DisputeView]) -> None:
    upgrades.flag_dispute(event.object, event_id=event.id)
