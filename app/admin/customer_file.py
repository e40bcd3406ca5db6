"""Everything the console shows about one customer, read from our rows in a fixed number of
queries however long their history (no Stripe call)."""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql

from app.auth.models import User
from app.billing.cards import cards_for
from app.billing.models import BillingInfo, PaymentMethod
from app.extensions import db
from app.history.entries import Entry, history_for
from app.outbox.models import Job
from app.referrals.models import Referral
from app.referrals.overview import LedgerLine, ledger_lines
from app.subscriptions.models import CancellationWaiver, Subscription
from app.timeline import Timeline, timeline_for
from app.upgrades.models import UserUpgrade
from app.webhooks.models import StripeEvent

# The newest events shown; an older one is still in `flask billing events`.
EVENTS_SHOWN = 200


@dataclass(frozen=True)
class ReferralLine:
    """A referral the customer made or came through, with the other person's name."""

    referral: Referral
    made: bool  # the customer referred the other person
    other: str | None  # None: that account was deleted


@dataclass(frozen=True)
class CustomerFile:
    user: User
    timeline: Timeline
    customer_ids: list[str]
    subscriptions: list[Subscription]  # newest first
    upgrades: list[UserUpgrade]  # bought and received, newest first
    cards: list[PaymentMethod]
    history: list[Entry]
    ledger: list[LedgerLine]
    referrals: list[ReferralLine]
    waivers: list[CancellationWaiver]
    emails: list[Job]
    events: list[StripeEvent]
    more_events: bool


def search(query: str) -> sa.Select[tuple[User]]:
    """Users whose e-mail or username contains `query`, whatever the case, by e-mail."""
    needle = query.strip().lower()
    return sa.select(User).where(sa.or_(
        sa.func.lower(User.email).contains(needle, autoescape=True),
        sa.func.lower(User.username).contains(needle, autoescape=True),
    )).order_by(User.email, User.id)


def customer_file(user: User) -> CustomerFile:
    """The customer's whole billing file, newest first in every list."""
    subscriptions = list(db.session.scalars(
        sa.select(Subscription).where(Subscription.user_id == user.id)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())))
    upgrades = list(db.session.scalars(
        sa.select(UserUpgrade)
        .options(so.joinedload(UserUpgrade.purchaser), so.joinedload(UserUpgrade.recipient))
        .where(sa.or_(UserUpgrade.purchaser_id == user.id, UserUpgrade.recipient_id == user.id))
        .order_by(UserUpgrade.created_at.desc(), UserUpgrade.id.desc())))
    info_id = db.session.scalar(
        sa.select(BillingInfo.stripe_customer_id).where(BillingInfo.user_id == user.id))
    customer_ids = sorted({info_id} if info_id else set()
                          | {s.stripe_customer_id for s in subscriptions})
    events = _events(customer_ids, subscriptions, upgrades)
    return CustomerFile(
        user=user, timeline=timeline_for(user), customer_ids=customer_ids,
        subscriptions=subscriptions, upgrades=upgrades, cards=cards_for(user),
        history=history_for(user), ledger=ledger_lines(user), referrals=_referrals(user),
        waivers=list(db.session.scalars(
            sa.select(CancellationWaiver).where(CancellationWaiver.user_id == user.id)
            .order_by(CancellationWaiver.agreed_at.desc(), CancellationWaiver.id.desc()))),
        emails=list(db.session.scalars(
            sa.select(Job).where(Job.kind == "email",
                                 Job.payload["user_id"].as_integer() == user.id)
            .order_by(Job.created_at.desc(), Job.id.desc()))),
        events=events[:EVENTS_SHOWN], more_events=len(events) > EVENTS_SHOWN)


def _referrals(user: User) -> list[ReferralLine]:
    other = so.aliased(User)
    rows = db.session.execute(
        sa.select(Referral, other.username)
        .outerjoin(other, other.id == sa.case(
            (Referral.referrer_id == user.id, Referral.referred_id), else_=Referral.referrer_id))
        .where(sa.or_(Referral.referrer_id == user.id, Referral.referred_id == user.id))
        .order_by(Referral.created_at.desc(), Referral.id.desc()))
    return [ReferralLine(r, r.referrer_id == user.id, name) for r, name in rows]


def _events(customer_ids: list[str], subscriptions: list[Subscription],
            upgrades: list[UserUpgrade]) -> list[StripeEvent]:
    """Stripe's events whose object is one of the customer's, or names their customer, a
    subscription or an upgrade's payment of theirs: one query, newest first.

    The payload is text, with no index on what it names, so this reads the event log: a
    substring test first (cheap, and it discards nearly every row), then the object's
    fields read as JSON so that a mere mention elsewhere in a payload does not count."""
    sub_ids = {s.stripe_subscription_id for s in subscriptions}
    payments = {i for u in upgrades for i in (u.stripe_payment_intent_id, u.stripe_charge_id)
                if i}
    sessions = {u.stripe_checkout_session_id for u in upgrades if u.stripe_checkout_session_id}
    own = set(customer_ids) | sub_ids | payments | sessions
    if not own:
        return []
    obj = _object_field
    exact = sa.or_(obj("id").in_(own), obj("customer").in_(customer_ids or [""]),
                   obj("subscription").in_(sub_ids or {""}),
                   obj("payment_intent").in_(payments or {""}))
    mentioned = sa.or_(*(StripeEvent.payload.contains(f'"{i}"', autoescape=True)
                         for i in sorted(own)))
    return list(db.session.scalars(
        sa.select(StripeEvent).where(mentioned, exact)
        .order_by(StripeEvent.created.desc().nulls_last(), StripeEvent.id.desc())
        .limit(EVENTS_SHOWN + 1)))


def _object_field(name: str) -> sa.ColumnElement[Any]:
    """`data.object.<name>` of the stored payload, as text."""
    if db.session.get_bind().dialect.name == "postgresql":
        doc: sa.ColumnElement[Any] = sa.cast(StripeEvent.payload, postgresql.JSONB)
    else:  # SQLite reads JSON held in text as it is
        doc = sa.type_coerce(StripeEvent.payload, sa.JSON)
    return doc[("data", "object", name)].as_string()
