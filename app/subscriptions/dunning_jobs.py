"""The worker's side of dunning (see `dunning.py`): try the open invoice with the user's
other cards, and cancel at Stripe when the grace period ends while still past due."""

import logging
from typing import Any

import sqlalchemy as sa

from app.auth.models import utcnow
from app.billing import cards, gateway
from app.billing.errors import CardDeclined
from app.billing.objects import parse
from app.emails.messages import iso
from app.extensions import db
from app.outbox import job
from app.outbox.enqueue import enqueue
from app.subscriptions.dunning import GRACE, RETRY, other_cards
from app.subscriptions.models import Subscription, SubscriptionStatus
from app.subscriptions.service import apply_subscription, now_snapshot, refresh
from app.subscriptions.views import SubscriptionView
from app.timeline import grace_period

log = logging.getLogger("app.subscriptions")
S = SubscriptionStatus


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
