"""The user's Stripe customer: created once, on first need, never twice."""

import logging

import sqlalchemy as sa

from app.auth.locks import lock_user
from app.auth.models import User
from app.billing import gateway
from app.billing.models import BillingInfo
from app.extensions import db

log = logging.getLogger("app.billing")


def stored_customer_id(user: User) -> str | None:
    return db.session.scalar(sa.select(BillingInfo.stripe_customer_id)
                             .where(BillingInfo.user_id == user.id))


def customer_for(user: User) -> str:
    """The user's Stripe customer id, creating the customer the first time (flushes).

    Under a lock on the user's row, so two first purchases at once find one customer; the
    idempotency key derived from the user id makes a retried create return the same one.
    The caller commits soon after: the lock is held until then.
    """
    found = stored_customer_id(user)
    if found is not None:
        return found
    lock_user(user.id)
    found = stored_customer_id(user)
    if found is not None:
        return found
    customer = gateway.create_customer(email=user.email, user_id=user.id,
                                       idempotency_key=f"user-{user.id}-customer")
    db.session.add(BillingInfo(user_id=user.id, stripe_customer_id=customer.id))
    db.session.flush()
    log.info("user %s: Stripe customer %s created", user.id, customer.id)
    return str(customer.id)
