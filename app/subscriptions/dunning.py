"""Failed renewals: tell the user, try their other cards, and end access when grace runs out.

`invoice.payment_failed` queues three things in the webhook's transaction (so they exist
exactly when the failure is recorded, once per invoice however often it is delivered):
the "payment failed" e-mail, a job that tries the open invoice with the user's other
cards, and a job that runs when the grace period ends. The worker runs the jobs.

Trying other cards: each card in the user's order after the default (the one that just
failed), once per invoice (the job's key, and a Stripe idempotency key per invoice and
card, so a worker killed mid-way replays rather than charges twice). The first card that
pays becomes the default; a decline moves on to the next.

Grace end: if the subscription is still past due, it is cancelled at Stripe, so nothing
is charged later for time the user no longer had; the cancellation's webhook (or the
answer to the request) ends the row, which sends "access ended".

This module queues (the service calls it in the webhook's transaction); the jobs the
worker runs are in `dunning_jobs.py`, which applies their results through the service.
"""

import logging
from datetime import datetime

from app.auth.models import User
from app.billing import cards
from app.billing.models import PaymentMethod
from app.emails.messages import iso, queue_email
from app.outbox.enqueue import enqueue
from app.subscriptions.models import Subscription

log = logging.getLogger("app.subscriptions")
RETRY = "retry-invoice"
GRACE = "grace-end"


def other_cards(user: User) -> list[PaymentMethod]:
    """The user's cards after the default, in their order: the ones worth trying."""
    return [card for card in cards.cards_for(user) if not card.is_default]


def payment_failed(row: Subscription, *, invoice_id: str, amount: int, currency: str,
                   failed_at: datetime, grace_ends: datetime, tell: bool = True) -> None:
    """Queue what follows a failed renewal (called in the webhook's transaction). Not
    `tell`: the payment waits for the customer to confirm it, and that has its own
    e-mail (`payment_action_required`), so the user gets one clear message."""
    others = other_cards(row.user)
    if tell:
        queue_email("payment_failed", row.user_id, record=invoice_id, amount=amount,
                    currency=currency, plan=row.plan_label, failed_at=iso(failed_at),
                    grace_end=iso(grace_ends), other_cards=bool(others))
    if others:
        enqueue(RETRY, f"{RETRY}:{invoice_id}",
                {"invoice": invoice_id, "subscription": row.stripe_subscription_id})
    streak = iso(row.payment_failed_at)
    enqueue(GRACE, f"{GRACE}:{row.stripe_subscription_id}:{streak}",
            {"subscription": row.stripe_subscription_id, "streak": streak},
            run_after=grace_ends)


def payment_action_required(row: Subscription, *, invoice_id: str, amount: int,
                            currency: str, confirm_url: str | None,
                            grace_ends: datetime) -> None:
    """Queue what follows a renewal whose payment the bank wants the customer to confirm
    (3-D Secure): one e-mail with the link to Stripe's page for it, and the grace end
    (the same job as a failure's, so it runs once whichever event came first)."""
    queue_email("payment_action_required", row.user_id, record=invoice_id, amount=amount,
                currency=currency, plan=row.plan_label, confirm_url=confirm_url,
                grace_end=iso(grace_ends))
    streak = iso(row.payment_failed_at)
    enqueue(GRACE, f"{GRACE}:{row.stripe_subscription_id}:{streak}",
            {"subscription": row.stripe_subscription_id, "streak": streak},
            run_after=grace_ends)
