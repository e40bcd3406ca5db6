"""What a receipt says to the person looking at it: one honest state, its sentence, and
what may be shown (the amount and card only when money moved, and never to a gift's
recipient). Built from the upgrade alone: rendering a receipt never calls Stripe."""

from dataclasses import dataclass
from datetime import datetime

from app.auth.models import User, utcnow
from app.upgrades import purchase
from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade

S = UpgradeStatus

# Money moved: the page shows the amount, the card, the date paid and Stripe's receipt.
CHARGED = frozenset({"complete", "disputed", "refunded"})
# Nothing more will happen without the buyer: the page stops checking.
FINAL = CHARGED | {"failed", "expired", "cancelled"}
# The buyer may start again (a new Checkout) from the receipt.
RETRYABLE = frozenset({"failed", "expired", "cancelled"})

LABELS = {"pending": "Awaiting payment", "processing": "Processing", "complete": "Paid",
          "disputed": "Disputed", "failed": "Failed", "expired": "Expired",
          "cancelled": "Cancelled", "refunded": "Refunded"}


def _day(moment: datetime | None) -> str:
    return moment.strftime("%-d %B %Y") if moment else ""


@dataclass(frozen=True)
class Receipt:
    upgrade: UserUpgrade
    state: str
    is_purchaser: bool
    is_recipient: bool
    # Purchaser and admins (unless they received it): the price, card and dispute.
    private: bool
    checkout_open: bool

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def charged(self) -> bool:
        return self.state in CHARGED

    @property
    def show_amount(self) -> bool:
        return self.private and self.charged and self.upgrade.amount > 0

    @property
    def card(self) -> str | None:
        return self.upgrade.card_label if self.show_amount else None

    @property
    def receipt_url(self) -> str | None:
        """Stripe's receipt, only for a charge and only for whoever paid (or an admin)."""
        return self.upgrade.receipt_url if self.show_amount else None

    @property
    def poll_until(self) -> datetime | None:
        """When checking stops even without news: the Checkout page closes then."""
        upgrade = self.upgrade
        return upgrade.checkout_expires_at if upgrade.status is S.PENDING else None

    @property
    def try_again(self) -> UpgradeType | None:
        """The upgrade the purchaser can start again, if the recipient can still have it."""
        if not (self.is_purchaser and self.state in RETRYABLE):
            return None
        upgrade = self.upgrade
        return purchase.offered_type(upgrade.recipient.level, upgrade.type.target)

    @property
    def held_already(self) -> str | None:
        """Why a purchase that charged nothing is not offered again: the recipient has the
        level (or more) by now."""
        if not (self.is_purchaser and self.state in RETRYABLE) or self.try_again:
            return None
        recipient = self.upgrade.recipient
        if self.upgrade.is_gift:  # their level is theirs to tell
            return f"This upgrade cannot be given to @{recipient.username} any more."
        return f"You have {recipient.level.label} already."

    @property
    def sentence(self) -> str:
        """What the state means, after its badge: announced when it changes."""
        u, state = self.upgrade, self.state
        level = u.type.target.label
        if state == "pending":
            return "The payment page is still open; nothing has been charged yet."
        if state == "processing":
            return (f"The payment is on its way: a bank payment can take a few working days. "
                    f"{level} is added as soon as it arrives.")
        if state == "complete":
            return self._has_it(u, level)
        if state == "disputed":
            return (f"The card issuer told us on {_day(u.disputed_at)} that this payment is "
                    "disputed; the bank decides what happens next. Write to us if we can "
                    "help.")
        if state == "failed":
            return (f"The payment did not go through, so nothing was charged and {level} was "
                    "not added.")
        if state == "cancelled":
            buyer = "You" if self.is_purchaser else f"@{u.purchaser.username}"
            return f"{buyer} left the payment page; nothing was charged."
        if state == "expired":
            if not u.checkout_url:
                return "The payment page could not be opened. Nothing was charged."
            return "The payment page closed before a payment was made. Nothing was charged."
        # refunded
        if self.private:
            return (f"The whole payment was refunded on {_day(u.refunded_at)}. It can take "
                    "5 to 10 working days to reach the card it was paid with.")
        what = "gift" if u.is_gift and self.is_recipient else "upgrade"
        return f"This {what} was refunded on {_day(u.refunded_at)}."

    def _has_it(self, u: UserUpgrade, level: str) -> str:
        if u.type.target <= u.level_before:
            # Paid for, but the recipient already had the level (two purchases at once).
            if self.is_recipient or not u.is_gift:
                return (f"You already had {u.level_before.label} when the payment arrived, "
                        "so nothing changed. Write to us for a refund.")
            return (f"{level} could not be added to @{u.recipient.username}'s account when "
                    "the payment arrived, so nothing changed. Write to us for a refund.")
        if self.is_recipient and u.is_gift:
            return f"@{u.purchaser.username} gave you {level}. It is on your account now."
        if self.is_recipient:
            return f"{level} is on your account now."
        return f"@{u.recipient.username} has {level} now."


def state_of(upgrade: UserUpgrade, private: bool, now: datetime) -> str:
    """The state the receipt shows: the status, refined by what the viewer may know."""
    status = upgrade.status
    if status is S.COMPLETE and upgrade.disputed_at is not None and private:
        return "disputed"  # the purchaser's dispute is not the gift recipient's business
    if (status is S.PENDING and upgrade.checkout_expires_at is not None
            and upgrade.checkout_expires_at <= now):
        # Checkout has closed; Stripe's expiry event is on its way. Say what is true now.
        return "expired"
    return status.value


def receipt_for(upgrade: UserUpgrade, viewer: User) -> Receipt:
    """The receipt as `viewer` (the purchaser, the recipient or an admin) sees it."""
    is_purchaser = viewer.id == upgrade.purchaser_id
    is_recipient = viewer.id == upgrade.recipient_id
    private = is_purchaser or (viewer.is_admin and not is_recipient)
    now = utcnow()
    state = state_of(upgrade, private, now)
    return Receipt(
        upgrade=upgrade, state=state, is_purchaser=is_purchaser, is_recipient=is_recipient,
        private=private,
        checkout_open=state == "pending" and bool(upgrade.checkout_url),
    )
