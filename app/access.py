"""The one answer to "what does this user have, and why". Pages, CLI and tests use it."""

from dataclasses import dataclass, field
from datetime import datetime

from app.auth.models import Level, User, utcnow


@dataclass(frozen=True)
class Source:
    """One reason a user has Premium access; `until` is None when it never ends."""

    kind: str  # "level", "subscription", "credit"
    label: str
    until: datetime | None = None


@dataclass(frozen=True)
class Access:
    level: Level
    sources: tuple[Source, ...] = field(default_factory=tuple)
    # Set while the subscription's last payment failed (past due): when Premium from it
    # ends unless the card is fixed. Every page warns about it.
    payment_overdue_until: datetime | None = None

    @property
    def premium(self) -> bool:
        return bool(self.sources)

    @property
    def overdue_in_grace(self) -> bool:
        """Past due, and Premium still kept for the grace period."""
        return self.payment_overdue_until is not None and any(
            s.kind == "subscription" for s in self.sources)

    @property
    def until(self) -> datetime | None:
        """When Premium access ends if nothing changes; None if it never does (or is absent)."""
        ends = [s.until for s in self.sources if s.until is not None]
        if not self.sources or len(ends) < len(self.sources):
            return None
        return max(ends)

    def as_dict(self) -> dict:
        return {
            "level": self.level.value,
            "premium": self.premium,
            "until": self.until.isoformat() if self.until else None,
            "sources": [
                {"kind": s.kind, "label": s.label,
                 "until": s.until.isoformat() if s.until else None}
                for s in self.sources
            ],
        }


def access_for(user: User | None) -> Access:
    """Everything the user is entitled to, with the reasons."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Access(level=Level.MEMBER)
    sources: list[Source] = []
    if Level.GOLD <= user.level:
        sources.append(Source("level", f"{user.level.label} level (never expires)"))
    subscription, overdue_until = _subscription_source(user)
    if subscription is not None:
        sources.append(subscription)
    if user.credit_until is not None and utcnow() < user.credit_until:
        sources.append(Source("credit", "Referral credit", user.credit_until))
    return Access(level=user.level, sources=tuple(sources), payment_overdue_until=overdue_until)


def _subscription_source(user: User) -> tuple[Source | None, datetime | None]:
    """Trialing and active give Premium until the trial or period ends; past due keeps it
    through the grace period after the failed payment (whose end is returned too); nothing
    else does."""
    from app.subscriptions.service import current_for, grace_period

    sub = current_for(user.id)
    if sub is None:
        return None, None
    now = utcnow()
    if sub.active(now):
        what = "free trial" if sub.on_trial(now) and not sub.on_credit(now) else sub.plan_label
        return Source("subscription", f"Subscription: {what}", sub.access_until), None
    grace_ends = sub.grace_ends(grace_period())
    if sub.in_grace(now, grace_period()):
        return Source("subscription", f"Subscription: {sub.plan_label}, payment overdue "
                      "(grace period)", grace_ends), grace_ends
    return None, grace_ends
