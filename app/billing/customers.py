"""The user's Stripe customer: created once, on first need, never twice."""

import logging

import sqlalchemy as sa

from app.auth.locks import lock_user
from app.auth.models import User
from app.billing import gateway
from app.billing.models import BillingInfo
from app.billing.objects import parse
from app.billing.views import OwnedCustomerView
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


def adopt_customer(customer_id: str) -> BillingInfo | None:
    """Record a Stripe customer made for one of our users whose id we lost (the customer was
    created, then the transaction that stored its id rolled back): the user's customer from
    now on. Read from Stripe first; None (nothing changed) when Stripe has no such customer,
    its metadata names no user of ours, or the user has a customer here already."""
    found = gateway.retrieve_customer(customer_id)
    customer = None if found is None else parse(OwnedCustomerView, found.to_dict(),
                                                f"customer {customer_id}")
    user = None if customer is None or customer.user_id is None \
        else db.session.get(User, customer.user_id)
    if user is None:
        return None
    lock_user(user.id)
    if stored_customer_id(user) is not None:
        return None
    info = BillingInfo(user_id=user.id, stripe_customer_id=customer_id)
    db.session.add(info)
    db.session.flush()
    log.info("user %s: Stripe customer %s recorded (it had been lost)", user.id, customer_id)
    return info
