"""Helpers for subscription tests: a user with a Stripe customer, and subscription payloads
built from Stripe's example objects."""

import copy
import time

from app.billing.models import BillingInfo
from app.extensions import db
from app.subscriptions.models import Subscription
from tests.stripe_objects import new_id, stripe_object

DAY = 86_400


def with_customer(app, user) -> str:
    """Give `user` a Stripe customer id (as the first checkout would) and return it."""
    customer_id = new_id("cus")
    with app.app_context():
        db.session.add(BillingInfo(user_id=user.id, stripe_customer_id=customer_id))
        db.session.commit()
    return customer_id


def subscription(sub_id: str, customer: str, *, status: str = "active",
                 interval: str = "month", amount: int = 700, start: int | None = None,
                 trial_days: int = 0, cancel_at_period_end: bool = False,
                 ended: int | None = None) -> dict:
    """A Stripe subscription in the current API version's shape (period on the item)."""
    start = start or int(time.time())
    length = 365 * DAY if interval == "year" else 30 * DAY
    period_end = start + (trial_days * DAY if trial_days else length)
    example = stripe_object("subscription")
    item = copy.deepcopy(example["items"]["data"][0])
    item["price"].update(id=f"price_{interval}", unit_amount=amount, currency="gbp",
                         recurring={**item["price"]["recurring"], "interval": interval})
    item.update(id=f"si_{sub_id}", subscription=sub_id, current_period_start=start,
                current_period_end=period_end)
    return stripe_object(
        "subscription", id=sub_id, customer=customer, status=status, currency="gbp",
        items={**example["items"], "data": [item]},
        trial_start=start if trial_days else None,
        trial_end=start + trial_days * DAY if trial_days else None,
        cancel_at_period_end=cancel_at_period_end,
        cancel_at=period_end if cancel_at_period_end else None,
        canceled_at=ended if ended else None, ended_at=ended, latest_invoice=None,
        metadata={"kind": "subscription"})


def invoice(sub_id: str, customer: str, *, amount: int = 700, created: int | None = None,
            status: str = "paid") -> dict:
    return stripe_object(
        "invoice", id=new_id("in"), customer=customer, amount_due=amount,
        amount_paid=amount if status == "paid" else 0, currency="gbp", status=status,
        created=created or int(time.time()),
        parent={"quote_details": None, "type": "subscription_details",
                "subscription_details": {"metadata": {}, "subscription": sub_id}})


def subscription_row(app, sub_id: str) -> Subscription:
    with app.app_context():
        row = db.session.scalar(db.select(Subscription)
                                .where(Subscription.stripe_subscription_id == sub_id))
        if row is not None:
            db.session.expunge(row)
        return row
