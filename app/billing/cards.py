"""The user's cards: kept at Stripe, mirrored here as ids in the user's order.

Two kinds of verb. `sync_card` and `sync_default` apply Stripe's current state: they fetch
the card (or customer) rather than trust the event that named it, so events about cards
can arrive in any order, twice, or long after, and still end in the same rows (a detach
delivered before its attach finds the card detached and leaves no row). The user's own
actions (`make_default`, `move`, `remove`) change Stripe first and then the rows, under
a lock on the user, so a failure at Stripe changes nothing here.

Priority 1 is the default card: the one Stripe charges (the customer's
`invoice_settings.default_payment_method`, and the live subscription's
`default_payment_method`, which Stripe would otherwise prefer). Priorities run 1, 2, 3 …
with no gaps. Every verb flushes; the caller commits.
"""

import logging

import sqlalchemy as sa

from app.auth.locks import lock_user
from app.auth.models import User
from app.billing import gateway
from app.billing.errors import BillingError
from app.billing.models import BillingInfo, PaymentMethod
from app.billing.objects import parse
from app.billing.views import CustomerView, PaymentMethodView, SetupIntentView
from app.extensions import db
from app.subscriptions.models import SubscriptionStatus
from app.timeline import current_subscription

log = logging.getLogger("app.billing")

# A subscription in one of these has a payment coming: its last card cannot be removed.
NEEDS_A_CARD = frozenset({SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE,
                          SubscriptionStatus.PAST_DUE})


# Why the only card stays, said where Remove would be and when a removal is refused.
KEPT_FOR_SUBSCRIPTION = "Your subscription is paid with this card: add another to remove it."


class CardNotAllowed(BillingError):
    """A card action the rules refuse; `str()` says why, for the page."""

    status = 409


def cards_for(user: User) -> list[PaymentMethod]:
    """The user's cards in their order, the default first."""
    return list(db.session.scalars(
        sa.select(PaymentMethod).join(BillingInfo)
        .where(BillingInfo.user_id == user.id).order_by(PaymentMethod.priority)))


def card_of(user: User, card_id: int) -> PaymentMethod | None:
    """The user's card with this id; None for anyone else's."""
    return db.session.scalar(sa.select(PaymentMethod).join(BillingInfo).where(
        PaymentMethod.id == card_id, BillingInfo.user_id == user.id))


# --- applying Stripe's state -----------------------------------------------------------

def concerns_us(customer_id: str | None, payment_method_id: str | None = None) -> bool:
    """Whether a payment method may be ours (worth asking Stripe about): it names one of
    our customers, or we have a row for it. Other customers' cards cost no request."""
    if customer_id is not None and _billing_info(customer_id) is not None:
        return True
    return payment_method_id is not None and db.session.scalar(
        sa.select(PaymentMethod.id).where(
            PaymentMethod.stripe_payment_method_id == payment_method_id)) is not None


def sync_card(payment_method_id: str) -> PaymentMethod | None:
    """Make our row for this payment method what Stripe says now: a card attached to one
    of our customers has a row (a new one last in the order), anything else has none."""
    found = gateway.retrieve_payment_method(payment_method_id)
    stripe_pm = None if found is None else parse(PaymentMethodView, found.to_dict(),
                                                 f"payment method {payment_method_id}")
    return apply_card(payment_method_id, stripe_pm)


def apply_card(payment_method_id: str, stripe_pm: PaymentMethodView | None) -> PaymentMethod | None:
    """Apply a payment method as fetched from Stripe (None: Stripe has none by that id)."""
    row = db.session.scalar(sa.select(PaymentMethod).where(
        PaymentMethod.stripe_payment_method_id == payment_method_id))
    info = _billing_info(stripe_pm.customer) \
        if stripe_pm is not None and stripe_pm.customer and stripe_pm.card else None
    if row is not None and (info is None or row.billing_info_id != info.id):
        _lock_owner(row.billing_info_id)
        _forget(row)
        row = None
    if info is None or stripe_pm is None or stripe_pm.card is None:
        return None
    lock_user(info.user_id)
    if row is None:
        row = db.session.scalar(sa.select(PaymentMethod).where(  # recorded while we waited?
            PaymentMethod.stripe_payment_method_id == payment_method_id))
    if row is None:
        row = PaymentMethod(billing_info_id=info.id, stripe_payment_method_id=payment_method_id,
                            priority=len(_ordered(info.id)) + 1)
        db.session.add(row)
        log.info("user %s: card %s saved", info.user_id, payment_method_id)
    card = stripe_pm.card
    row.brand, row.last4 = card.brand, card.last4
    row.exp_month, row.exp_year = card.exp_month, card.exp_year
    db.session.flush()
    return row


def sync_default(customer_id: str) -> None:
    """Put the card Stripe charges the customer first in the user's order (the customer
    portal or the dashboard may have changed it), and keep the customer's balance. Not our
    customer: nothing to do."""
    info = _billing_info(customer_id)
    if info is None:
        return
    found = gateway.retrieve_customer(customer_id)
    if found is None:
        return
    customer = parse(CustomerView, found.to_dict(), f"customer {customer_id}")
    lock_user(info.user_id)
    info.balance, info.balance_currency = customer.balance, customer.currency
    default = customer.invoice_settings.default_payment_method
    if default is None:
        return
    row = db.session.scalar(sa.select(PaymentMethod).where(
        PaymentMethod.stripe_payment_method_id == default,
        PaymentMethod.billing_info_id == info.id))
    if row is None:  # a default we have not recorded yet (its attach is still on its way)
        row = sync_card(default)
    if row is not None and row.billing_info_id == info.id:
        _reorder(info.id, first=row)


def sync_setup(setup_intent_id: str) -> PaymentMethod | None:
    """A setup intent (a card saved through Checkout) succeeded: record its card."""
    found = gateway.retrieve_setup_intent(setup_intent_id)
    if found is None:
        return None
    setup = parse(SetupIntentView, found.to_dict(), f"setup intent {setup_intent_id}")
    if setup.status != "succeeded" or setup.payment_method is None:
        return None
    return sync_card(setup.payment_method)


# --- the user's actions ----------------------------------------------------------------

def make_default(user: User, card: PaymentMethod) -> None:
    """Charge this card from now on: at Stripe, then first in the order."""
    lock_user(user.id)
    _charge_at_stripe(user, card)
    _reorder(card.billing_info_id, first=card)


def move(user: User, card: PaymentMethod, offset: int) -> None:
    """Move a card up (-1) or down (+1) the order; a new first card becomes the default."""
    lock_user(user.id)
    cards = _ordered(card.billing_info_id)
    index, first = cards.index(card), cards[0]
    target = index + offset
    if not 0 <= target < len(cards):
        return  # already at that end: nothing to do
    cards[index], cards[target] = cards[target], cards[index]
    if cards[0] is not first:
        _charge_at_stripe(user, cards[0])
    _renumber(cards)


def why_card_stays(user: User, cards: list[PaymentMethod]) -> str | None:
    """Why the user's only card cannot be removed (a subscription has a payment coming), or
    None. The page asks it to leave Remove out; `remove` asks again under the user's lock."""
    subscription = current_subscription(user.id)
    needed = len(cards) == 1 and subscription is not None \
        and subscription.status in NEEDS_A_CARD
    return KEPT_FOR_SUBSCRIPTION if needed else None


def remove(user: User, card: PaymentMethod) -> None:
    """Detach the card at Stripe and forget it; the next card becomes the default.
    Refused for the last card while a subscription will charge it."""
    lock_user(user.id)
    cards = _ordered(card.billing_info_id)
    why = why_card_stays(user, cards)
    if why is not None:
        raise CardNotAllowed(why)
    remaining = [c for c in cards if c is not card]
    if card.is_default and remaining:
        _charge_at_stripe(user, remaining[0])
    gateway.detach_payment_method(card.stripe_payment_method_id)
    _forget(card)


def _charge_at_stripe(user: User, card: PaymentMethod) -> None:
    """Make the card the one Stripe charges: the customer's default, and the live
    subscription's (a subscription's own default wins over the customer's)."""
    gateway.set_default_payment_method(card.billing_info.stripe_customer_id,
                                       card.stripe_payment_method_id)
    subscription = current_subscription(user.id)
    if subscription is not None:
        gateway.update_subscription(subscription.stripe_subscription_id,
                                    {"default_payment_method": card.stripe_payment_method_id})
    log.info("user %s: card %s is now the default", user.id, card.stripe_payment_method_id)


# --- the order -------------------------------------------------------------------------

def _billing_info(customer_id: str) -> BillingInfo | None:
    return db.session.scalar(sa.select(BillingInfo).where(
        BillingInfo.stripe_customer_id == customer_id))


def _lock_owner(billing_info_id: int) -> None:
    user_id = db.session.scalar(sa.select(BillingInfo.user_id).where(
        BillingInfo.id == billing_info_id))
    if user_id is not None:
        lock_user(user_id)


def _ordered(billing_info_id: int) -> list[PaymentMethod]:
    return list(db.session.scalars(sa.select(PaymentMethod).where(
        PaymentMethod.billing_info_id == billing_info_id).order_by(
        PaymentMethod.priority, PaymentMethod.id)))


def _reorder(billing_info_id: int, first: PaymentMethod) -> None:
    cards = _ordered(billing_info_id)
    _renumber([first, *(c for c in cards if c is not first)])


def _renumber(cards: list[PaymentMethod]) -> None:
    for priority, card in enumerate(cards, start=1):
        card.priority = priority
    db.session.flush()


def _forget(card: PaymentMethod) -> None:
    billing_info_id = card.billing_info_id
    db.session.delete(card)
    db.session.flush()
    _renumber(_ordered(billing_info_id))
    log.info("card %s forgotten", card.stripe_payment_method_id)
