"""Credit: days of Premium held in `User.credit_until`, every change a ledger row.

`grant_credit` extends the window from max(now, credit_until), so grants stack, and, for a
subscriber, moves their next charge at Stripe later by the same days: no one pays for a
day they hold as credit. Moving the charge is the subscriptions feature's business: it
registers the mover here (`on_credit`), so this lower floor never imports it. The mover
reads the subscription from Stripe, names each change by a token it leaves in the
subscription's metadata (a retried transaction finds its change already made and does not
make it twice), and the ledger row records where the charge went.

`convert_referral` runs in the transaction of the referred user's first real payment (a
subscription invoice paid with an amount above zero, or an upgrade they bought): it stamps
the referral and grants both sides 45 days. A lock on the referral and a unique
constraint on its ledger rows make replays, renewals and concurrent deliveries grant once.
A full refund of the converting payment (`reverse_conversion`) takes both grants back with
ledger rows, never below now, and a later payment converts the referral again.
"""

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.locks import lock_user
from app.auth.models import User, utcnow
from app.extensions import db
from app.referrals.models import CreditEntry, CreditReason, Referral
from app.referrals.service import REFERRAL_DAYS

log = logging.getLogger("app.referrals")


@dataclass(frozen=True)
class ChargeMoved:
    """What moving a subscriber's next charge did at Stripe."""

    stripe_subscription_id: str
    to: datetime


# (user, days, token) -> the move made, or None when no subscription's charge was moved.
ChargeMover = Callable[[User, int, str], ChargeMoved | None]
_movers: list[ChargeMover] = []


def on_credit(mover: ChargeMover) -> ChargeMover:
    """Register what moves a subscriber's next charge when their credit changes."""
    if mover not in _movers:
        _movers.append(mover)
    return mover


def token_for(name: str) -> str:
    """A short, stable name for one credit change (kept in Stripe metadata)."""
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def grant_credit(user: User, days: int, reason: CreditReason, *,
                 referral: Referral | None = None, note: str | None = None,
                 now: datetime | None = None) -> CreditEntry:
    """Add `days` to the user's credit (stacking), with its ledger row; flushes.

    For a subscriber the next charge at Stripe moves too, first: a refusal there raises a
    BillingError and nothing is granted."""
    now = now or utcnow()
    lock_user(user.id)
    db.session.refresh(user, ["credit_until"])  # as the lock holder sees it
    before = user.credit_until
    after = max(now, before or now) + timedelta(days=days)
    conversion = referral.conversions if referral is not None else None
    name = (f"credit-referral-{referral.id}-{conversion}-{user.id}-{reason.value}"
            if referral is not None else f"credit-grant-{uuid.uuid4()}")
    moved = _move_charge(user, days, name)
    subscribed = moved is not None
    user.credit_until = after
    entry = CreditEntry(user_id=user.id, days=days, reason=reason, note=note, before=before,
                        after=after, created_at=now,
                        referral_id=referral.id if referral is not None else None,
                        conversion=conversion, **_moved_columns(moved))
    db.session.add(entry)
    db.session.flush()
    log.info("user %s: +%s days of credit (%s), now until %s", user.id, days, reason.value,
             after.date())
    if days > 0:
        _tell(user, entry, referral, subscribed)
    return entry


def _tell(user: User, entry: CreditEntry, referral: Referral | None, subscribed: bool) -> None:
    from app.emails.messages import iso, queue_email

    friend_id = None
    if referral is not None:
        friend_id = (referral.referred_id if entry.reason is CreditReason.REFERRAL_GIVEN
                     else referral.referrer_id)
    friend = db.session.get(User, friend_id) if friend_id is not None else None
    queue_email("referral_credit", user.id, record=f"credit-{entry.id}", days=entry.days,
                until=iso(entry.after), reason=entry.reason.value,
                friend=friend.username if friend is not None else None,
                subscribed=subscribed)


def was_referred(user_id: int | sa.ColumnElement[int] | so.QueryableAttribute[int]) -> sa.Exists:
    """Whether the user was referred (their referral is made at sign-up, whatever became of
    it since), as an EXISTS a caller folds into a read it makes anyway: only then can a
    payment of theirs convert anything, and `convert_referral` is worth its locks."""
    return sa.exists().where(Referral.referred_id == user_id)


def convert_referral(referred_id: int, *, payment_intent: str | None,
                     now: datetime | None = None) -> bool:
    """The referred user has really paid: 45 days for them and their referrer, once.
    True if this payment converted the referral."""
    now = now or utcnow()
    referral = _locked_referral(Referral.referred_id == referred_id, lock=referred_id)
    if referral is None or referral.converted_at is not None:
        return False
    referral.conversions += 1
    referral.converted_at = referral.credited_at = now
    referral.converting_payment_intent = payment_intent
    referred = db.session.get(User, referral.referred_id)
    if referred is not None:
        grant_credit(referred, REFERRAL_DAYS, CreditReason.REFERRAL_RECEIVED,
                     referral=referral, now=now)
    referrer = db.session.get(User, referral.referrer_id) if referral.referrer_id else None
    if referrer is not None:  # a deleted referrer gets nothing, and breaks nothing
        grant_credit(referrer, REFERRAL_DAYS, CreditReason.REFERRAL_GIVEN,
                     referral=referral, now=now)
    log.info("referral %s converted (user %s paid; payment %s)", referral.id, referred_id,
             payment_intent)
    return True


def reverse_conversion(payment_intent: str, *, now: datetime | None = None) -> bool:
    """The payment that converted a referral was refunded in full: take back both grants
    (never below now) and let a later payment convert it again. True if it did."""
    now = now or utcnow()
    referral = _locked_referral(Referral.converting_payment_intent == payment_intent)
    if referral is None or referral.converted_at is None:
        return False
    grants = db.session.scalars(sa.select(CreditEntry).where(
        CreditEntry.referral_id == referral.id,
        CreditEntry.conversion == referral.conversions,
        CreditEntry.reason.in_([CreditReason.REFERRAL_GIVEN, CreditReason.REFERRAL_RECEIVED])))
    for grant in grants:
        user = db.session.get(User, grant.user_id)
        if user is not None:
            _take_back(user, grant, referral, now)
    referral.converted_at = referral.credited_at = None
    referral.converting_payment_intent = None
    db.session.flush()
    log.info("referral %s: converting payment %s refunded; its credit taken back",
             referral.id, payment_intent)
    return True


def converted_by(connection: sa.Connection, payment_intent: str) -> bool:
    """Whether a payment intent converted a referral (its refund would reverse it); read on
    a connection of the caller's."""
    return connection.execute(sa.select(Referral.id).where(
        Referral.converting_payment_intent == payment_intent).limit(1)).first() is not None


def _take_back(user: User, grant: CreditEntry, referral: Referral, now: datetime) -> None:
    lock_user(user.id)
    db.session.refresh(user, ["credit_until"])
    before = user.credit_until
    if before is None:
        return
    # Never more than were granted, never below now, and nothing once the window has run
    # out (taking back from the past would add days).
    after = max(now, before - timedelta(days=grant.days)) if before > now else before
    removed = max(0, round((before - after) / timedelta(days=1)))
    moved = _move_charge(user, -removed, f"credit-reversal-{referral.id}-"
                                         f"{referral.conversions}-{user.id}-"
                                         f"{grant.reason.value}")
    user.credit_until = after
    db.session.add(CreditEntry(user_id=user.id, days=-removed, reason=CreditReason.REVERSAL,
                               referral_id=referral.id, conversion=referral.conversions,
                               before=before, after=after, created_at=now,
                               **_moved_columns(moved)))
    db.session.flush()


def _locked_referral(condition: sa.ColumnElement[bool], lock: int | None = None) -> Referral | None:
    """The referral matching `condition`, held until the transaction ends (on SQLite by
    the write lock `lock_user` takes)."""
    if lock is not None:
        lock_user(lock)
    elif db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.update(Referral).where(condition).values(id=Referral.id))
    return db.session.scalar(sa.select(Referral).where(condition).with_for_update()
                             .execution_options(populate_existing=True))


def _move_charge(user: User, days: int, name: str) -> ChargeMoved | None:
    """Move the subscriber's next charge at Stripe by `days` (earlier when negative)."""
    if days == 0:
        return None
    for mover in _movers:
        moved = mover(user, days, token_for(name))
        if moved is not None:
            return moved
    return None


def _moved_columns(moved: ChargeMoved | None) -> dict[str, Any]:
    if moved is None:
        return {}
    return {"stripe_subscription_id": moved.stripe_subscription_id,
            "charge_moved_to": moved.to}
