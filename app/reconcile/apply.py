"""Stripe's state applied to what the drift report found, through the verbs that apply
Stripe objects, never by writing rows here. Each verb reads the object from Stripe itself
(under the user's lock), so what is applied is Stripe's state now, not the report's.

`apply` settles one object and flushes. `apply_each`, the run that the command and the
console share, commits after each one: a failure then leaves the others applied, and no
user's lock is held for the whole run.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from app.billing import cards, gateway
from app.billing.customers import adopt_customer
from app.billing.errors import BillingError, StripeUnavailable
from app.billing.models import BillingInfo, PaymentMethod
from app.billing.objects import MalformedObject
from app.extensions import db
from app.reconcile.drift import Difference, Kind, Thing
from app.subscriptions import service


class CannotApply(Exception):
    """Applying Stripe's state cannot settle this difference; `str()` says why."""


def step(difference: Difference) -> int:
    """Where applying this difference comes in a run (the verb that settles it)."""
    # A customer before what hangs on it (a subscription or card finds its user through
    # the customer's record), a card before the default that names it.
    if difference.kind is Kind.DEFAULT_CARD:
        return 3
    return {Thing.CUSTOMER: 0, Thing.SUBSCRIPTION: 1, Thing.CARD: 2}[difference.thing]


def plan(differences: list[Difference], object_id: str | None = None) -> list[Difference]:
    """What to apply for these differences (only those about `object_id`, if given): one
    per object and verb, in an order that works."""
    seen: set[tuple[int, str]] = set()
    chosen = []
    for difference in sorted(differences, key=step):
        key = (step(difference), difference.object_id)
        if (object_id is None or difference.object_id == object_id) and key not in seen:
            seen.add(key)
            chosen.append(difference)
    return chosen


def apply(difference: Difference) -> str:
    """Apply Stripe's state to the difference's object (flushes); what was done, in a few
    words. CannotApply when that cannot settle it; Stripe's errors as BillingError."""
    if difference.why_not:
        raise CannotApply(difference.why_not)
    object_id = difference.object_id
    if difference.kind is Kind.DEFAULT_CARD:
        cards.sync_default(object_id)
        return "the card Stripe charges is first in the user's order"
    if difference.thing is Thing.CUSTOMER:
        info = adopt_customer(object_id)
        if info is None:
            raise CannotApply("Stripe's customer names no user of ours without a customer")
        return f"recorded as user {info.user_id}'s customer"
    if difference.thing is Thing.SUBSCRIPTION:
        row = service.refresh(object_id)
        if row is None:
            raise CannotApply("Stripe has no such subscription, or it is no user's of ours")
        return (f"now {row.status.value}, {row.stripe_price_id}, period ends "
                f"{row.current_period_end.isoformat()}")
    card = cards.sync_card(object_id)
    if card is None:
        return "forgotten here: Stripe has it on no customer of ours"
    return f"saved: {card.label}, expires {card.expiry}, number {card.priority} in the order"


@dataclass(frozen=True)
class Applied:
    """One object settled (or not): the difference planned for it, the kinds of difference
    about it that the same verb settles, and what was done or why it was not."""

    difference: Difference
    kinds: list[str]
    result: str | None = None
    error: str | None = None


def apply_each(differences: list[Difference], object_id: str | None = None) -> Iterator[Applied]:
    """Apply Stripe's state to each planned difference (only those about `object_id`, if
    given), committing each on its own; what happened to each, as it is done. Stripe not
    answering stops the run: StripeUnavailable, after rolling back the object at hand."""
    for difference in plan(differences, object_id):
        kinds = [d.kind.value for d in differences
                 if d.object_id == difference.object_id and step(d) == step(difference)]
        try:
            result = apply(difference)
            db.session.commit()
        except StripeUnavailable:
            db.session.rollback()
            raise
        except (CannotApply, BillingError, MalformedObject) as exc:
            db.session.rollback()
            message = exc.operator_message if isinstance(exc, BillingError) else str(exc)
            yield Applied(difference, kinds, error=message)
        else:
            yield Applied(difference, kinds, result=result)


def sync_customer(customer_ids: list[str], subscription_ids: list[str]) -> list[str]:
    """Apply Stripe's state now to one user's subscriptions (as `flask billing
    sync-subscription` does), cards and default card (flushes); what was done, a few words
    per object. Stripe's errors as BillingError."""
    done = []
    for subscription_id in subscription_ids:
        row = service.refresh(subscription_id)
        done.append(f"{subscription_id}: " + (
            f"{row.status.value}, period ends {row.current_period_end:%Y-%m-%d}"
            if row is not None else "not at Stripe"))
    for customer_id in customer_ids:
        at_stripe = [pm.id for pm in gateway.iter_cards(customer_id)]
        ours = db.session.scalars(sa.select(PaymentMethod.stripe_payment_method_id)
                                  .join(BillingInfo).where(
                                      BillingInfo.stripe_customer_id == customer_id))
        # A card of ours that Stripe no longer holds is forgotten by the same verb.
        saved = [cards.sync_card(pm_id) for pm_id in dict.fromkeys([*at_stripe, *ours])]
        cards.sync_default(customer_id)
        done.append(f"{customer_id}: {sum(c is not None for c in saved)} card(s)")
    return done
