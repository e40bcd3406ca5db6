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
"""

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.auth.models import User, utcnow
from app.billing import cards, gateway
from app.billing.errors import CardDeclined
from app.billing.models import PaymentMethod
from app.billing.objects import parse
from app.emails.messages import iso, queue_email
from app.extensions import db
from app.outbox import job
from app.outbox.enqueue import enqueue
from app.subscriptions.models import Subscription, SubscriptionStatus
from app.subscriptions.views import SubscriptionView

log = logging.getLogger("app.subscriptions")
S = SubscriptionStatus
RETRY = "retry-invoice"
GRACE = "grace-end"


def other_cards(user: User) -> list[PaymentMethod]:
    """The user's cards after the default, in their order: the ones worth trying."""
    return [card for card in cards.cards_for(user) if not card.is_default]


def payment_failed(row: Subscription, *, invoice_id: str, amount: int, currency: str,
                   failed_at: datetime, grace_ends: datetime) -> None:
    """Queue what follows a failed renewal (called in the webhook's transaction)."""
    others = other_cards(row.user)
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


def _row(stripe_id: str) -> Subscription | None:
    return db.session.scalar(sa.select(Subscription)
                             .where(Subscription.stripe_subscription_id == stripe_id))


@job(RETRY)
def retry_with_other_cards(payload: dict[str, Any]) -> str:
    invoice_id, subscription_id = payload["invoice"], payload["subscription"]
    row = _row(subscription_id)
    if row is None or row.status not in (S.PAST_DUE, S.UNPAID):
        return f"nothing to try: the subscription is {row.status.value if row else 'gone'}"
    invoice = gateway.retrieve_invoice(invoice_id)
    if invoice is None or invoice.status != "open":
        return f"nothing to try: invoice {invoice_id} is {invoice.status if invoice else 'gone'}"
    user = row.user
    tried = []
    for card in other_cards(user):
        pm = card.stripe_payment_method_id
        try:
            gateway.pay_invoice(invoice_id, pm, idempotency_key=f"dunning:{invoice_id}:{pm}")
        except CardDeclined as exc:
            log.info("invoice %s: card %s declined (%s); trying the next", invoice_id, pm,
                     exc.operator_message)
            tried.append(pm)
            continue
        log.info("invoice %s paid with the user's card %s; it is now the default",
                 invoice_id, pm)
        cards.make_default(user, card)
        from app.subscriptions.service import refresh  # (service imports this module)

        refresh(subscription_id)  # active now, whenever its webhook comes
        return f"paid with {pm} after {len(tried)} decline(s)"
    return f"every other card declined ({', '.join(tried) or 'none saved'})"


@job(GRACE)
def end_after_grace(payload: dict[str, Any]) -> str:
    subscription_id, streak = payload["subscription"], payload["streak"]
    row = _row(subscription_id)
    if row is None or row.status is not S.PAST_DUE:
        return f"nothing to end: the subscription is {row.status.value if row else 'gone'}"
    if iso(row.payment_failed_at) != streak:
        return "nothing to end: a later failure has its own grace period"
    from app.subscriptions.service import apply_subscription, grace_period, now_snapshot

    ends = row.grace_ends(grace_period())
    if ends is not None and utcnow() < ends:
        # The grace period grew since this was queued (SUBSCRIPTION_GRACE_DAYS changed).
        enqueue(GRACE, f"{GRACE}:{subscription_id}:{streak}:{iso(ends)}", payload,
                run_after=ends)
        return f"not yet: the grace period now runs until {iso(ends)}"
    cancelled = gateway.cancel_subscription(subscription_id,
                                            idempotency_key=f"{GRACE}:{subscription_id}:{streak}")
    view = parse(SubscriptionView, cancelled.to_dict(), where=f"subscription {subscription_id}")
    apply_subscription(view, snapshot_at=now_snapshot(), authoritative=True)
    log.warning("subscription %s: grace period over while past due; cancelled at Stripe",
                subscription_id)
    return "grace period over: cancelled at Stripe"
