"""Every difference between our billing rows and Stripe's customers, subscriptions and cards.

Ours at Stripe are the customers we hold a BillingInfo for, or whose metadata names one of
our users (`gateway.create_customer` writes it), and the subscriptions of those customers,
or whose metadata our checkout wrote. Everything else in the account is another app's and
is not reported. Stripe is read in pages; one request per customer of ours lists its cards.

A difference is a fact of one moment: an event in flight makes one that its delivery will
remove. Run the report again before acting on one that just appeared.
"""

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.auth.models import User
from app.billing import gateway
from app.billing.models import BillingInfo, PaymentMethod
from app.billing.objects import as_datetime, parse
from app.billing.views import OwnedCustomerView, PaymentMethodView
from app.extensions import db
from app.reconcile.views import SubscriptionRef
from app.subscriptions.models import Subscription
from app.subscriptions.views import SubscriptionView


class Kind(enum.StrEnum):
    MISSING = "missing"  # at Stripe, not here
    EXTRA = "extra"  # here, not at Stripe
    STATUS = "status"
    PERIOD = "period"
    PRICE = "price"
    CANCEL_AT_PERIOD_END = "cancel_at_period_end"
    CARD = "card"  # a card's brand, last 4 digits or expiry
    DEFAULT_CARD = "default_card"  # the card Stripe charges is not our first


class Thing(enum.StrEnum):
    CUSTOMER = "customer"
    SUBSCRIPTION = "subscription"
    CARD = "card"


@dataclass(frozen=True)
class Difference:
    """One way our rows and Stripe disagree about one object (by its Stripe id), for one
    user: what we hold and what Stripe holds (None: nothing at all). `why_not` says why
    applying Stripe's state cannot settle it, when it cannot."""

    kind: Kind
    thing: Thing
    object_id: str
    user_id: int | None
    ours: str | None
    stripe: str | None
    why_not: str | None = None
    email: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "object": self.thing.value, "id": self.object_id,
                "user_id": self.user_id, "email": self.email, "ours": self.ours,
                "stripe": self.stripe, "applicable": self.why_not is None,
                "why_not": self.why_not}

    def line(self) -> str:
        """One line for operators: kind, object, whose, ours against Stripe's."""
        who = f"{self.email} (user {self.user_id})" if self.email else \
            f"user {self.user_id}" if self.user_id else "no user of ours"
        text = (f"{self.kind.value:<20} {self.thing.value} {self.object_id}  {who}: "
                f"here {self.ours or 'nothing'}; at Stripe {self.stripe or 'nothing'}")
        return text + (f" (cannot apply: {self.why_not})" if self.why_not else "")


def find_differences() -> list[Difference]:
    """Every difference between our rows and Stripe, customers first, then subscriptions,
    then cards; each with its user's e-mail."""
    infos = {i.stripe_customer_id: i for i in db.session.scalars(sa.select(BillingInfo))}
    listed = [parse(OwnedCustomerView, c.to_dict(), f"customer {c.id}")
              for c in gateway.iter_customers()]
    known = _existing_users(c.user_id for c in listed)
    at_stripe = {c.id: c for c in listed if c.id in infos or c.user_id in known}
    for customer_id in infos.keys() - at_stripe.keys():  # not listed: on a test clock?
        found = gateway.retrieve_customer(customer_id)
        if found is not None:
            at_stripe[customer_id] = parse(OwnedCustomerView, found.to_dict(),
                                           f"customer {customer_id}")
    customers = _customers(infos, at_stripe)
    # A user's second customer at Stripe is not adopted, so neither are its cards.
    second = {d.object_id for d in customers if d.kind is Kind.MISSING and d.why_not}
    found_diffs = [*customers, *_subscriptions(infos, at_stripe),
                   *_cards(infos, at_stripe, second)]
    return _with_emails(found_diffs)


def _existing_users(ids: Iterable[int | None]) -> set[int]:
    wanted = {i for i in ids if i is not None}
    return set(db.session.scalars(sa.select(User.id).where(User.id.in_(wanted)))) \
        if wanted else set()


def _with_emails(found: list[Difference]) -> list[Difference]:
    ids = {d.user_id for d in found if d.user_id is not None}
    emails = dict(db.session.execute(sa.select(User.id, User.email).where(
        User.id.in_(ids))).all()) if ids else {}
    return [replace(d, email=emails.get(d.user_id)) if d.user_id else d for d in found]


# --- customers -----------------------------------------------------------------------

def _customers(infos: dict[str, BillingInfo],
               at_stripe: dict[str, OwnedCustomerView]) -> list[Difference]:
    has_customer = {i.user_id: i.stripe_customer_id for i in infos.values()}
    found = []
    for customer in at_stripe.values():
        if customer.id in infos:
            continue
        other = has_customer.get(customer.user_id) if customer.user_id else None
        found.append(Difference(
            Kind.MISSING, Thing.CUSTOMER, customer.id, customer.user_id, None,
            f"customer of user {customer.user_id}",
            why_not=f"the user's customer here is {other}: a second customer at Stripe is "
                    "for a person to merge or delete" if other else None))
    for customer_id, info in infos.items():
        if customer_id not in at_stripe:
            found.append(Difference(
                Kind.EXTRA, Thing.CUSTOMER, customer_id, info.user_id, "customer record",
                None, why_not="Stripe has no such customer (deleted?); look into it"))
    return found


# --- subscriptions --------------------------------------------------------------------

def _subscriptions(infos: dict[str, BillingInfo],
                   at_stripe: dict[str, OwnedCustomerView]) -> list[Difference]:
    subs: dict[str, SubscriptionView] = {}
    listed: list[tuple[SubscriptionRef, dict[str, Any]]] = []
    for found in gateway.iter_subscriptions():
        raw = found.to_dict()
        listed.append((parse(SubscriptionRef, raw, f"subscription {found.id}"), raw))
    known = _existing_users(ref.user_id for ref, _ in listed)
    for ref, raw in listed:
        if ref.customer in at_stripe or ref.user_id in known:
            subs[ref.id] = parse(SubscriptionView, raw, f"subscription {ref.id}")
    rows = {r.stripe_subscription_id: r for r in db.session.scalars(sa.select(Subscription))}
    for sub_id in rows.keys() - subs.keys():  # not listed: on a test clock?
        fetched = gateway.retrieve_subscription(sub_id)
        if fetched is not None:
            subs[sub_id] = parse(SubscriptionView, fetched.to_dict(), f"subscription {sub_id}")
    found_diffs: list[Difference] = []
    for sub_id, sub in sorted(subs.items()):
        row = rows.get(sub_id)
        if row is None:
            info = infos.get(sub.customer)
            owner = info.user_id if info is not None else \
                at_stripe[sub.customer].user_id if sub.customer in at_stripe \
                else sub.metadata.user_id
            found_diffs.append(Difference(Kind.MISSING, Thing.SUBSCRIPTION, sub_id, owner,
                                          None, _summary(sub.status, sub.item.price.id,
                                                         as_datetime(sub.item.current_period_end))))
        else:
            found_diffs.extend(_compare(row, sub))
    for sub_id in sorted(rows.keys() - subs.keys()):
        row = rows[sub_id]
        found_diffs.append(Difference(
            Kind.EXTRA, Thing.SUBSCRIPTION, sub_id, row.user_id,
            _summary(row.status.value, row.stripe_price_id, row.current_period_end), None,
            why_not="Stripe has no such subscription; look into it"))
    return found_diffs


def _summary(status: str, price: str, period_end: datetime) -> str:
    return f"{status}, {price}, period ends {_when(period_end)}"


def _period(start: datetime, end: datetime) -> str:
    return f"{_when(start)} to {_when(end)}"


def _when(moment: datetime) -> str:
    """A moment as people read it (to the second: Stripe's periods are whole seconds)."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _compare(row: Subscription, sub: SubscriptionView) -> list[Difference]:
    item = sub.item

    def diff(kind: Kind, ours: str, theirs: str) -> Difference:
        # An ended row is never revived, so a refresh cannot change it (service.py).
        why_not = "it has ended here, and an ended subscription is never revived; look " \
            "into it" if row.ended else None
        return Difference(kind, Thing.SUBSCRIPTION, row.stripe_subscription_id, row.user_id,
                          ours, theirs, why_not=why_not)

    found = []
    if row.status.value != sub.status:
        found.append(diff(Kind.STATUS, row.status.value, sub.status))
    if row.ended:
        return found  # what else an ended row holds is its last word
    start, end = as_datetime(item.current_period_start), as_datetime(item.current_period_end)
    if (row.current_period_start, row.current_period_end) != (start, end):
        found.append(diff(Kind.PERIOD, _period(row.current_period_start, row.current_period_end),
                          _period(start, end)))
    if row.stripe_price_id != item.price.id:
        found.append(diff(Kind.PRICE, row.stripe_price_id, item.price.id))
    if row.cancel_at_period_end != sub.cancel_at_period_end:
        found.append(diff(Kind.CANCEL_AT_PERIOD_END, str(row.cancel_at_period_end).lower(),
                          str(sub.cancel_at_period_end).lower()))
    return found


# --- cards ------------------------------------------------------------------------------

def _label(card: PaymentMethod | PaymentMethodView) -> str:
    if isinstance(card, PaymentMethod):
        return f"{card.brand} {card.last4} {card.exp_month:02d}/{card.exp_year}"
    assert card.card is not None  # listed by type "card"
    c = card.card
    return f"{c.brand} {c.last4} {c.exp_month:02d}/{c.exp_year}"


def _cards(infos: dict[str, BillingInfo], at_stripe: dict[str, OwnedCustomerView],
           second: set[str]) -> list[Difference]:
    rows: dict[str, list[PaymentMethod]] = {}
    for row, customer_id in db.session.execute(
            sa.select(PaymentMethod, BillingInfo.stripe_customer_id).join(BillingInfo)
            .order_by(PaymentMethod.billing_info_id, PaymentMethod.priority,
                      PaymentMethod.id)):
        rows.setdefault(customer_id, []).append(row)
    found: list[Difference] = []
    for customer_id in sorted(at_stripe.keys() | infos.keys()):
        info, customer = infos.get(customer_id), at_stripe.get(customer_id)
        user_id = info.user_id if info is not None else \
            customer.user_id if customer is not None else None
        ours = {r.stripe_payment_method_id: r for r in rows.get(customer_id, [])}
        theirs = {} if customer is None else {
            pm.id: view for pm in gateway.iter_cards(customer_id)
            if (view := parse(PaymentMethodView, pm.to_dict(), f"payment method {pm.id}")).card}
        why_not = f"it is on {customer_id}, the user's second customer at Stripe" \
            if customer_id in second else None
        for pm_id in sorted(theirs.keys() - ours.keys()):
            found.append(Difference(Kind.MISSING, Thing.CARD, pm_id, user_id, None,
                                    _label(theirs[pm_id]), why_not=why_not))
        for pm_id in sorted(ours.keys() - theirs.keys()):
            found.append(Difference(Kind.EXTRA, Thing.CARD, pm_id, user_id,
                                    _label(ours[pm_id]), None))
        for pm_id in sorted(ours.keys() & theirs.keys()):
            if _label(ours[pm_id]) != _label(theirs[pm_id]):
                found.append(Difference(Kind.CARD, Thing.CARD, pm_id, user_id,
                                        _label(ours[pm_id]), _label(theirs[pm_id])))
        default = customer.invoice_settings.default_payment_method if customer else None
        first = rows[customer_id][0].stripe_payment_method_id if rows.get(customer_id) \
            else None
        # No default at Stripe is no difference: a subscription's card is its own default.
        if default is not None and default != first:
            found.append(Difference(Kind.DEFAULT_CARD, Thing.CUSTOMER, customer_id, user_id,
                                    first, default, why_not=why_not))
    return found
