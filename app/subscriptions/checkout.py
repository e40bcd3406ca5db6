"""Starting a subscription: the rules, the waiver, the pending checkout and its Session."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from stripe.params.checkout import SessionCreateParamsSubscriptionData

from app import catalog
from app.auth.locks import lock_user
from app.auth.models import User, utcnow
from app.billing import gateway
from app.billing.customers import customer_for
from app.billing.errors import CatalogNotSynced
from app.billing.objects import as_datetime, parse
from app.catalog.models import CatalogPrice, stored_price
from app.extensions import db
from app.referrals.service import credit_days_left
from app.subscriptions.models import CancellationWaiver, CheckoutStatus, SubscriptionCheckout
from app.subscriptions.service import apply_checkout_session
from app.subscriptions.views import KIND, SubscriptionCheckoutView
from app.timeline import current_subscription as current_for

log = logging.getLogger("app.subscriptions")

INTERVALS = {"monthly": "premium_monthly", "annual": "premium_annual"}
TRIAL_DAYS = 14  # annual only; card required

# The tick-box a monthly subscriber gives (Consumer Contracts Regulations 2013, reg. 36).
# The version is stored with each waiver: change the text, change the version.
WAIVER_VERSION = "2026-11-v1"
WAIVER_TEXT = ("I want my Premium access to start now, and I understand that I lose my right "
               "to cancel within 14 days and get a refund once it starts.")


class SubscriptionNotAllowed(Exception):
    """A rule refused the checkout; `str()` is a sentence for the form."""

    def __init__(self, reason: str, field: str = "interval"):
        super().__init__(reason)
        self.field = field


class AlreadySubscribed(Exception):
    """The user has a live subscription: send them to settings instead."""


@dataclass(frozen=True)
class Plan:
    interval: str  # "monthly" / "annual"
    price: CatalogPrice

    @property
    def trial_days(self) -> int | None:
        return TRIAL_DAYS if self.interval == "annual" else None


def plan_for(interval: str) -> Plan:
    """The synced price of a plan; CatalogNotSynced if it is not at Stripe at this amount."""
    key = INTERVALS.get(interval)
    if key is None:
        raise SubscriptionNotAllowed("Choose monthly or annual billing.")
    price, offer = stored_price(key), catalog.offer(key)
    if price is None or (price.amount, price.currency) != (offer.amount, offer.currency):
        raise CatalogNotSynced()
    return Plan(interval, price)


def begin_checkout(user: User, interval: str, waived: bool
                   ) -> tuple[SubscriptionCheckout, bool]:
    """The pending checkout for `user` and whether it is new (a double submit reuses the open
    one). Records the waiver in the same transaction. Flushes; the caller commits."""
    plan = plan_for(interval)
    if interval == "monthly" and not waived:
        raise SubscriptionNotAllowed("Tick the box to start monthly Premium now: it confirms "
                                     "you give up the 14-day cancellation right.", "waiver")
    lock_user(user.id)
    if current_for(user.id) is not None:
        raise AlreadySubscribed()
    soon = utcnow() + timedelta(minutes=2)
    open_one = db.session.scalar(sa.select(SubscriptionCheckout).where(
        SubscriptionCheckout.user_id == user.id, SubscriptionCheckout.interval == interval,
        SubscriptionCheckout.status == CheckoutStatus.PENDING,
        SubscriptionCheckout.checkout_url.is_not(None), SubscriptionCheckout.expires_at > soon,
    ).order_by(SubscriptionCheckout.id.desc()).limit(1))
    if open_one is not None:
        return open_one, False
    checkout = SubscriptionCheckout(user_id=user.id, interval=interval)
    db.session.add(checkout)
    db.session.flush()
    if interval == "monthly":
        db.session.add(CancellationWaiver(
            user_id=user.id, checkout_id=checkout.id, wording_version=WAIVER_VERSION,
            stripe_price_id=plan.price.stripe_price_id, amount=plan.price.amount,
            currency=plan.price.currency))
    customer_for(user)
    db.session.flush()
    return checkout, True


def open_checkout(checkout: SubscriptionCheckout, user: User, success_url: str,
                  cancel_url: str) -> SubscriptionCheckout:
    """Create the subscription-mode Checkout Session at Stripe and remember it."""
    plan = plan_for(checkout.interval)
    metadata = {"kind": KIND, "user_id": str(user.id), "checkout_id": str(checkout.id)}
    subscription_data: SessionCreateParamsSubscriptionData = {"metadata": metadata}
    if plan.trial_days:
        subscription_data["trial_period_days"] = plan.trial_days
    first_charge = first_charge_with_credit(user, plan.trial_days or 0)
    if first_charge is not None:  # no one pays for a day they hold as credit
        subscription_data.pop("trial_period_days", None)
        subscription_data["trial_end"] = int(first_charge.timestamp())
        subscription_data["metadata"] = {**metadata,
                                         "credit_days": str(credit_days_left(user))}
    session = gateway.create_checkout_session({
        "mode": "subscription",
        "customer": customer_for(user),
        "line_items": [{"price": plan.price.stripe_price_id, "quantity": 1}],
        "client_reference_id": f"subscription-checkout-{checkout.id}",
        "metadata": metadata,
        "subscription_data": subscription_data,
        "allow_promotion_codes": True,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }, idempotency_key=f"subscription-checkout-{checkout.id}")
    checkout.stripe_checkout_session_id = session.id
    checkout.checkout_url = session.url
    checkout.expires_at = as_datetime(session.expires_at)
    db.session.flush()
    log.info("subscription checkout %s: session %s created for user %s (%s)", checkout.id,
             session.id, user.id, checkout.interval)
    return checkout


def abandon(checkout: SubscriptionCheckout) -> None:
    """Close a checkout whose Session could not be created."""
    checkout.status = CheckoutStatus.EXPIRED
    db.session.flush()


def apply_return(checkout: SubscriptionCheckout) -> SubscriptionCheckout | None:
    """Back from Checkout: fetch the session (with its subscription) and apply it now, the
    same way the webhook would."""
    if checkout.stripe_checkout_session_id is None:
        return None
    session = gateway.retrieve_checkout_session(checkout.stripe_checkout_session_id,
                                                expand=["subscription"])
    view = parse(SubscriptionCheckoutView, session.to_dict(),
                 where=f"checkout session {session.id}")
    return apply_checkout_session(view)


# Stripe's Checkout takes a trial end at least 48 hours away; credit ending sooner than
# that is not worth a trial (the first charge comes at once, as without credit).
MIN_TRIAL = timedelta(hours=49)


def first_charge_with_credit(user: User, trial_days: int) -> datetime | None:
    """When a subscriber holding credit is first charged: when the credit (and any free
    trial) runs out. None without credit worth deferring for."""
    now = utcnow()
    if user.credit_until is None or user.credit_until < now + MIN_TRIAL:
        return None
    return max(user.credit_until, now + timedelta(days=trial_days))
