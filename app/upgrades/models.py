"""One-time upgrades (Gold, Platinum, Gold to Platinum), bought for oneself or as a gift."""

import enum
import logging
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import AnonymousUserMixin

from app.auth.models import Level, User, UTCDateTime, enum_column, utcnow
from app.billing.models import BRANDS
from app.extensions import Model

log = logging.getLogger("app.upgrades")


class UpgradeType(enum.Enum):
    """What was bought; the values are the catalog keys of the one-time prices."""

    GOLD = "gold"
    PLATINUM = "platinum"
    GOLD_TO_PLATINUM = "gold_to_platinum"

    @property
    def target(self) -> Level:
        return Level.GOLD if self is UpgradeType.GOLD else Level.PLATINUM

    @property
    def label(self) -> str:
        return {"gold": "Gold", "platinum": "Platinum",
                "gold_to_platinum": "Gold to Platinum"}[self.value]


class UpgradeStatus(enum.Enum):
    PENDING = "pending"        # checkout started, nothing paid yet
    PROCESSING = "processing"  # checkout completed with a delayed payment method
    COMPLETE = "complete"      # paid; the recipient has the level
    FAILED = "failed"          # the delayed payment failed
    EXPIRED = "expired"        # checkout never completed
    CANCELLED = "cancelled"    # the buyer left Checkout, and we closed its session
    REFUNDED = "refunded"      # paid, then fully refunded

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def waiting(self) -> bool:
        return self in (UpgradeStatus.PENDING, UpgradeStatus.PROCESSING)


S = UpgradeStatus
# The only moves a status can make. Everything else (a late, repeated or out-of-order
# event) is logged and ignored, so complete and refunded are never undone.
TRANSITIONS: dict[UpgradeStatus, frozenset[UpgradeStatus]] = {
    S.PENDING: frozenset({S.PROCESSING, S.COMPLETE, S.EXPIRED, S.CANCELLED}),
    # We expire the session of a buyer who left Checkout; its expiry event may be applied
    # before we record why, and "you left" is the truer of the two.
    S.EXPIRED: frozenset({S.CANCELLED}),
    S.PROCESSING: frozenset({S.COMPLETE, S.FAILED}),
    S.COMPLETE: frozenset({S.REFUNDED}),
}


class UserUpgrade(Model):
    __tablename__ = "user_upgrades"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    purchaser_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    recipient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    type: so.Mapped[UpgradeType] = so.mapped_column(enum_column(UpgradeType))
    status: so.Mapped[UpgradeStatus] = so.mapped_column(
        enum_column(UpgradeStatus), default=UpgradeStatus.PENDING, index=True)
    amount: so.Mapped[int]  # minor units, as charged
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    # The recipient's level when the upgrade was bought, then when it was applied.
    level_before: so.Mapped[Level] = so.mapped_column(enum_column(Level))

    # Unique: a checkout session (and its payment) fulfils exactly one upgrade.
    stripe_checkout_session_id: so.Mapped[str | None] = so.mapped_column(
        sa.String(255), unique=True)
    checkout_url: so.Mapped[str | None] = so.mapped_column(sa.Text)
    checkout_expires_at: so.Mapped[datetime | None] = so.mapped_column(
        UTCDateTime())
    stripe_payment_intent_id: so.Mapped[str | None] = so.mapped_column(
        sa.String(255), unique=True)
    stripe_charge_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), index=True)
    receipt_url: so.Mapped[str | None] = so.mapped_column(sa.Text)
    amount_refunded: so.Mapped[int] = so.mapped_column(default=0)
    # The card the charge used ("visa", "4242"), for the receipt: it is shown without
    # asking Stripe. None for other payment methods, or until the charge is seen.
    card_brand: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    card_last4: so.Mapped[str | None] = so.mapped_column(sa.String(4))

    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow)
    completed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    closed_at: so.Mapped[datetime | None] = so.mapped_column(
        UTCDateTime())  # failed, expired or cancelled
    refunded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    disputed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    purchaser: so.Mapped[User] = so.relationship(foreign_keys=[purchaser_id])
    recipient: so.Mapped[User] = so.relationship(foreign_keys=[recipient_id])

    @property
    def is_gift(self) -> bool:
        return self.purchaser_id != self.recipient_id

    @property
    def card_label(self) -> str | None:
        """"Visa ending 4242", once the charge's card is recorded."""
        if not (self.card_brand and self.card_last4):
            return None
        return f"{BRANDS.get(self.card_brand, self.card_brand.title())} ending {self.card_last4}"

    def move_to(self, status: UpgradeStatus, *, event_id: str | None = None) -> bool:
        """Change status if the move is allowed; True if it changed. The one state machine."""
        if status is self.status:
            log.info("upgrade %s: already %s (event %s), no change", self.id,
                     status.value, event_id or "-")
            return False
        if status not in TRANSITIONS.get(self.status, ()):
            log.warning("upgrade %s: impossible transition %s -> %s ignored (event %s)",
                        self.id, self.status.value, status.value, event_id or "-")
            return False
        log.info("upgrade %s: %s -> %s (event %s)", self.id, self.status.value,
                 status.value, event_id or "-")
        self.status = status
        now = utcnow()
        if status is S.COMPLETE:
            self.completed_at = now
        elif status is S.REFUNDED:
            self.refunded_at = now
        elif status in (S.FAILED, S.EXPIRED, S.CANCELLED):
            self.closed_at = self.closed_at or now
        return True

    def visible_to(self, user: User | AnonymousUserMixin) -> bool:
        """Purchaser, recipient and admins may see the receipt."""
        return bool(getattr(user, "is_authenticated", False)) and (
            user.id in (self.purchaser_id, self.recipient_id) or user.is_admin)

    def __repr__(self) -> str:
        return f"<UserUpgrade {self.id} {self.type.value} {self.status.value}>"
