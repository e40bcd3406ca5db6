"""The worker's side of "paying twice, prevented": a subscriber who bought Gold or Platinum
for themselves and asked, on the upgrade form, to stop the subscription has it stopped at
the end of the period already paid, once the upgrade is paid (the upgrade queues the job in
the transaction that completes it, so an upgrade that fails or is abandoned stops nothing)."""

import logging
from typing import Any

import sqlalchemy as sa

from app.auth.models import Level
from app.extensions import db
from app.outbox import job
from app.subscriptions.changes import ChangeNotAllowed, cancel_at_period_end
from app.subscriptions.models import Subscription
from app.timeline import STOP_UNNEEDED_SUBSCRIPTION

log = logging.getLogger("app.subscriptions")


@job(STOP_UNNEEDED_SUBSCRIPTION)
def stop_unneeded_subscription(payload: dict[str, Any]) -> str:
    """Cancel at period end, decided on Stripe's current state (the verb reads it under the
    user's lock); safe to run again: a subscription not renewing any more is left alone."""
    subscription_id = payload["subscription"]
    row = db.session.scalar(sa.select(Subscription).where(
        Subscription.stripe_subscription_id == subscription_id))
    if row is None:
        return f"nothing to stop: subscription {subscription_id} is not ours"
    if row.user.level < Level.GOLD:  # the upgrade was refunded meanwhile: Premium is needed
        return f"kept: user {row.user_id}'s level no longer includes Premium"
    try:
        cancel_at_period_end(row)
    except ChangeNotAllowed as exc:
        return f"nothing to stop: {exc}"
    log.info("subscription %s: stops at the end of its period (upgrade %s paid)",
             subscription_id, payload.get("upgrade"))
    return f"subscription {subscription_id} stops at the end of its paid period"
