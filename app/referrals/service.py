"""Referral and credit verbs: record a referral at sign-up, convert it when the referred
user first really pays, grant and reverse credit. Each flushes; the caller commits (a
conversion commits with the payment that caused it)."""

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.auth.models import User, days_left, utcnow
from app.extensions import db
from app.referrals.codes import normalised
from app.referrals.models import CreditEntry, Referral

log = logging.getLogger("app.referrals")

REFERRAL_DAYS = 45  # for each side, when the referred user first pays


def referrer_for_code(text: str | None) -> User | None:
    """The user whose referral code this is; None for anything else."""
    code = normalised(text or "")
    if code is None:
        return None
    return db.session.scalar(sa.select(User).where(User.referral_code == code))


def record_referral(referred: User, code: str | None) -> Referral | None:
    """At sign-up: remember who referred the new user. An unknown or malformed code, or
    the user's own, records nothing (quietly: the sign-up goes on)."""
    referrer = referrer_for_code(code)
    if referrer is None or referrer.id == referred.id:
        return None
    referral = Referral(referrer_id=referrer.id, referred_id=referred.id)
    db.session.add(referral)
    db.session.flush()
    log.info("user %s signed up referred by user %s", referred.id, referrer.id)
    return referral


def referral_of(user: User) -> Referral | None:
    """The referral that brought `user` (as the referred user), if any."""
    return db.session.scalar(sa.select(Referral).where(Referral.referred_id == user.id))


def has_pending_referral(user_id: int) -> bool:
    """Whether the user was referred and has not converted the referral yet."""
    return db.session.scalar(sa.select(Referral.id).where(
        Referral.referred_id == user_id, Referral.converted_at.is_(None))) is not None


def pending_referrer(user: User) -> User | None:
    """Who referred `user`, while the referral is waiting for their first payment."""
    referral = referral_of(user)
    if referral is None or referral.converted_at is not None or referral.referrer_id is None:
        return None
    return db.session.get(User, referral.referrer_id)


def live_conversions(user: User, now: datetime | None = None) -> int:
    """How many of the user's referrals converted within the last 45 days."""
    since = (now or utcnow()) - timedelta(days=REFERRAL_DAYS)
    return db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(
        Referral.referrer_id == user.id, Referral.converted_at.is_not(None),
        Referral.converted_at > since)) or 0


def credit_days_left(user: User, now: datetime | None = None) -> int:
    """Whole days of credit left (rounded up): the "+N days on your account"."""
    return days_left(user.credit_until, now or utcnow()) if user.credit_until else 0


def ledger_for(user: User) -> list[CreditEntry]:
    """Every change of the user's credit, newest first."""
    return list(db.session.scalars(sa.select(CreditEntry).where(
        CreditEntry.user_id == user.id).order_by(CreditEntry.created_at.desc(),
                                                 CreditEntry.id.desc())))
