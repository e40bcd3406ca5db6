"""Stripe events about subscriptions: small functions, each handing the typed object to the
service with the event's time (the order of snapshots is decided there)."""

from app.history import service as history
from app.history.views import InvoiceView
from app.subscriptions import renewal, service
from app.subscriptions.views import SubscriptionCheckoutView, SubscriptionView
from app.webhooks.registry import Event, handles


@handles("checkout.session.completed", "checkout.session.expired",
         view=SubscriptionCheckoutView, where={"mode": "subscription"})
def checkout_session_changed(event: Event[SubscriptionCheckoutView]) -> None:
    service.apply_checkout_session(event.object, event_id=event.id)


@handles("customer.subscription.created", "customer.subscription.updated",
         "customer.subscription.deleted", view=SubscriptionView)
def subscription_changed(event: Event[SubscriptionView]) -> None:
    # Each carries the whole subscription as it was at `created`.
    service.apply_subscription(event.object, snapshot_at=event.created, event_id=event.id)


@handles("customer.subscription.trial_will_end", view=SubscriptionView)
def trial_will_end(event: Event[SubscriptionView]) -> None:
    service.record_trial_will_end(event.object, at=event.created, event_id=event.id)


@handles("invoice.paid", view=InvoiceView, at_once=renewal.paid_in_one)
def invoice_paid(event: Event[InvoiceView]) -> None:
    # A renewal in good standing (most invoices) without loading a row; else the whole
    # way, the customer's user locked before the subscription's row (history.lock_owner).
    if renewal.record_at_once(event.object, event_id=event.id):
        return
    owner = history.lock_owner(event.object.customer)
    recovered = service.record_invoice_paid(event.object, event_id=event.id)
    history.record_paid_at_once(event.object, recovered=recovered, user_id=owner)


@handles("invoice.payment_failed", view=InvoiceView)
def invoice_payment_failed(event: Event[InvoiceView]) -> None:
    # Off-session, a payment that needs 3-D Secure is also reported as failed: it then has
    # the action-required e-mail and link, not "payment failed" (whichever event is first).
    history.lock_owner(event.object.customer)  # before the subscription's row
    needs_action = service.invoice_needs_action(event.object)
    history.record_failure(event.object, at=event.created, needs_action=needs_action)
    service.record_payment_failed(event.object, at=event.created, event_id=event.id,
                                  needs_action=needs_action)


@handles("invoice.payment_action_required", view=InvoiceView)
def invoice_payment_action_required(event: Event[InvoiceView]) -> None:
    history.lock_owner(event.object.customer)  # before the subscription's row
    history.record_failure(event.object, at=event.created, needs_action=True)
    service.record_payment_action_required(event.object, at=event.created,
                                           event_id=event.id)
