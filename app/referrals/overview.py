"""What the pages show of referrals and credit: the user's link, their live conversions, the
credit left and the ledger in plain words. Read-only: nothing here changes a row."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.auth.models import User, utcnow
from app.extensions import db
from app.referrals import service
from app.referrals.models import CreditEntry, CreditReason, Referral


@dataclass(frozen=True)
class LedgerLine:
    """One ledger row as the user reads it: when, how many days (signed), and why."""

    when: datetime
    days: int
    why: str

    @property
    def amount(self) -> str:
        """"+45 days", "−45 days" (a true minus sign), "+1 day"."""
        sign = "+" if self.days >= 0 else "\u2212"
        n = abs(self.days)
        return f"{sign}{n} day{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class ReferralOverview:
    """The referral and credit section of /settings."""

    link: str
    live_conversions: int
    days_left: int
    credit_until: datetime | None
    ledger: list[LedgerLine]


def referral_link(user: User) -> str:
    """The link the user shares: SITE_URL + /r/CODE."""
    # Not url_for: the CLI (`users show`) builds it outside any request too.
    return f"{current_app.config['SITE_URL']}/r/{user.referral_code}"


def referred_by(user: User) -> str | None:
    """The username of whoever referred `user`, while their referral waits for the first
    payment (and the referrer still has an account)."""
    referrer = service.pending_referrer(user)
    return referrer.username if referrer is not None else None


def overview_for(user: User, now: datetime | None = None) -> ReferralOverview:
    now = now or utcnow()
    days_left = service.credit_days_left(user, now)
    return ReferralOverview(
        link=referral_link(user),
        live_conversions=service.live_conversions(user, now),
        days_left=days_left,
        credit_until=user.credit_until if days_left else None,
        ledger=ledger_lines(user),
    )


def ledger_lines(user: User) -> list[LedgerLine]:
    """The user's ledger, newest first, each row with its reason in words."""
    entries = service.ledger_for(user)
    referral_ids = {e.referral_id for e in entries if e.referral_id is not None}
    referrals = {r.id: r for r in db.session.scalars(
        sa.select(Referral).where(Referral.id.in_(referral_ids)))} if referral_ids else {}
    user_ids = {uid for r in referrals.values() for uid in (r.referrer_id, r.referred_id)
                if uid is not None}
    names = {u.id: u.username for u in db.session.scalars(
        sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}

    def name(user_id: int | None) -> str | None:
        return names.get(user_id) if user_id is not None else None

    lines = []
    for entry in entries:
        referral = referrals.get(entry.referral_id) if entry.referral_id is not None else None
        referrer = name(referral.referrer_id) if referral else None
        referred = name(referral.referred_id) if referral else None
        lines.append(LedgerLine(entry.created_at, entry.days, why(entry, referrer, referred)))
    return lines


def why(entry: CreditEntry, referrer: str | None, referred: str | None) -> str:
    """The reason for one ledger row, in words; a name the referral no longer has (the
    account was deleted) becomes "a friend"."""
    if entry.reason is CreditReason.REFERRAL_GIVEN:
        who = f"@{referred}" if referred else "a friend"
        return f"{who} subscribed through your link"
    if entry.reason is CreditReason.REFERRAL_RECEIVED:
        whose = f"@{referrer}'s" if referrer else "a friend's"
        return f"you subscribed through {whose} link"
    if entry.reason is CreditReason.ADMIN_GRANT:
        done = "granted by our team" if entry.days >= 0 else "taken off by our team"
        return f"{done}: {entry.note}" if entry.note else done
    return "the payment that earned this was refunded"
