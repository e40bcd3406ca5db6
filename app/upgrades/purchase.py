"""Starting a purchase: the rules, the pending upgrade and its Checkout Session."""

import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app import catalog
from app.auth.locks import lock_user
from app.auth.models import Level, User, find_by_username, utcnow
from app.billing import gateway
from app.billing.customers import customer_for
from app.billing.errors import CatalogNotSynced
from app.catalog.levels import UPGRADE_PATHS
from app.catalog.models import stored_price
from app.extensions import db
from app.money import format_money
from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade

log = logging.getLogger("app.upgrades")
S = UpgradeStatus
KIND = "upgrade"  # metadata "kind" on everything we create at Stripe for an upgrade


class UpgradeNotAllowed(Exception):
    """A business rule refused the purchase; `str()` is a sentence for the form."""

    def __init__(self, reason: str, field: str = "upgrade"):
        super().__init__(reason)
        self.field = field


# --- rules and starting a purchase --------------------------------------------------

def recipient_named(username: str) -> User:
    user = find_by_username(username or "")
    if user is None:
        raise UpgradeNotAllowed(f"There is no user called “{username.strip()}”. "
                                "Check the username and try again.", field="recipient")
    return user


def offered_type(level: Level, target: Level) -> UpgradeType | None:
    """The upgrade that takes `level` to `target`, if there is one."""
    key = UPGRADE_PATHS.get((level, target))
    return UpgradeType(key) if key else None


def check_allowed(purchaser: User, recipient: User, upgrade_type: UpgradeType) -> None:
    """Raise UpgradeNotAllowed unless `upgrade_type` is a real step up for the recipient.

    A gift's refusal says only that it cannot be given: the recipient's level (and whether
    someone else's gift to them is being paid for) is theirs, not the buyer's to learn."""
    if recipient.id != purchaser.id:
        if not gift_possible(recipient, upgrade_type):
            raise UpgradeNotAllowed(f"That upgrade cannot be given to @{recipient.username}.")
        return
    target = upgrade_type.target
    if target <= recipient.level:
        raise UpgradeNotAllowed(f"You already have the {recipient.level.label} level, "
                                f"so {upgrade_type.label} is not an upgrade.")
    if offered_type(recipient.level, target) is not upgrade_type:
        if upgrade_type is UpgradeType.GOLD_TO_PLATINUM:
            raise UpgradeNotAllowed("Gold to Platinum is only for accounts at the Gold level.")
        raise UpgradeNotAllowed("You already have Gold: choose Gold to Platinum instead.")
    in_flight = db.session.scalar(sa.select(UserUpgrade).where(
        UserUpgrade.recipient_id == recipient.id, UserUpgrade.status == S.PROCESSING))
    if in_flight is not None and target <= in_flight.type.target:
        raise UpgradeNotAllowed(f"An upgrade to {in_flight.type.target.label} for you is "
                                "already being paid for. Please wait for it to finish.")


def gift_possible(recipient: User, upgrade_type: UpgradeType) -> bool:
    """Whether `upgrade_type` can be given to `recipient` now: a real step up from their
    level, and no gift or purchase reaching as high already being paid for."""
    if offered_type(recipient.level, upgrade_type.target) is not upgrade_type:
        return False
    in_flight = db.session.scalar(sa.select(UserUpgrade).where(
        UserUpgrade.recipient_id == recipient.id, UserUpgrade.status == S.PROCESSING))
    return in_flight is None or upgrade_type.target > in_flight.type.target


def _same_purchase(purchaser: User, recipient: User, upgrade_type: UpgradeType,
                   *conditions: sa.ColumnElement[bool]) -> UserUpgrade | None:
    """The newest pending upgrade for the same purchase that also meets `conditions`."""
    return db.session.scalar(sa.select(UserUpgrade).where(
        UserUpgrade.purchaser_id == purchaser.id, UserUpgrade.recipient_id == recipient.id,
        UserUpgrade.type == upgrade_type, UserUpgrade.status == S.PENDING, *conditions,
    ).order_by(UserUpgrade.id.desc()).limit(1))


def reusable_upgrade(purchaser: User, recipient: User,
                     upgrade_type: UpgradeType) -> UserUpgrade | None:
    """The same purchase, still pending with an open Checkout Session (a double submit)."""
    soon = utcnow() + timedelta(minutes=2)
    return _same_purchase(purchaser, recipient, upgrade_type,
                          UserUpgrade.checkout_url.is_not(None),
                          UserUpgrade.checkout_expires_at > soon)


def upgrade_being_opened(purchaser: User, recipient: User,
                         upgrade_type: UpgradeType) -> UserUpgrade | None:
    """The same purchase, just started by another request still opening its Checkout Session."""
    since = utcnow() - timedelta(seconds=gateway.REQUEST_BUDGET_SECONDS)
    return _same_purchase(purchaser, recipient, upgrade_type,
                          UserUpgrade.checkout_url.is_(None), UserUpgrade.created_at > since)


def begin_purchase(purchaser: User, recipient: User,
                   upgrade_type: UpgradeType) -> tuple[UserUpgrade, bool]:
    """The purchase's pending upgrade and whether it is new; an identical purchase already
    started (a double submit) is returned instead of a second one.

    Serialised on the purchaser's row, so identical submissions arriving together find one
    another instead of each seeing none and starting its own.
    """
    lock_user(purchaser.id)
    existing = (reusable_upgrade(purchaser, recipient, upgrade_type)
                or upgrade_being_opened(purchaser, recipient, upgrade_type))
    if existing is not None:
        return existing, False
    return start_upgrade(purchaser, recipient, upgrade_type), True


def start_upgrade(purchaser: User, recipient: User, upgrade_type: UpgradeType) -> UserUpgrade:
    """A pending upgrade at the synced price; CatalogNotSynced if the price is not at Stripe."""
    check_allowed(purchaser, recipient, upgrade_type)
    price = stored_price(upgrade_type.value)
    offer = catalog.offer(upgrade_type.value)
    if price is None or (price.amount, price.currency) != (offer.amount, offer.currency):
        raise CatalogNotSynced()
    upgrade = UserUpgrade(purchaser_id=purchaser.id, recipient_id=recipient.id,
                          type=upgrade_type, status=S.PENDING, amount=price.amount,
                          currency=price.currency, level_before=recipient.level)
    db.session.add(upgrade)
    db.session.flush()
    log.info("upgrade %s: started, %s for user %s by user %s (%s)", upgrade.id,
             upgrade_type.value, recipient.id, purchaser.id,
             format_money(price.amount, price.currency))
    return upgrade


def open_checkout(upgrade: UserUpgrade, success_url: str, cancel_url: str,
                  then_stop: str | None = None) -> UserUpgrade:
    """Create the upgrade's Checkout Session at Stripe (payment mode) and remember it.
    `then_stop`: the buyer's subscription to stop at the end of its paid period once this
    is paid (kept in the session's metadata, read back when it completes)."""
    price = stored_price(upgrade.type.value)
    if price is None:
        raise CatalogNotSynced()
    metadata = {"kind": KIND, "upgrade_id": str(upgrade.id),
                "purchaser_id": str(upgrade.purchaser_id),
                "recipient_id": str(upgrade.recipient_id), "upgrade_type": upgrade.type.value}
    if then_stop and not upgrade.is_gift:
        metadata["then_stop"] = then_stop
    session = gateway.create_checkout_session({
        "mode": "payment",
        "line_items": [{"price": price.stripe_price_id, "quantity": 1}],
        # The purchaser pays: their Stripe customer (holding their email and cards), never
        # the recipient's.
        "customer": customer_for(upgrade.purchaser),
        "client_reference_id": f"upgrade-{upgrade.id}",
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata,
                                "description": f"{upgrade.type.label} upgrade #{upgrade.id}"},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }, idempotency_key=f"upgrade-{upgrade.id}-checkout")
    upgrade.stripe_checkout_session_id = session.id
    upgrade.checkout_url = session.url
    upgrade.checkout_expires_at = datetime.fromtimestamp(session.expires_at, UTC)
    db.session.flush()
    log.info("upgrade %s: checkout session %s created", upgrade.id, session.id)
    return upgrade


def abandon_checkout(upgrade: UserUpgrade, reason: str) -> None:
    """Close a pending upgrade whose Checkout Session could not be created."""
    log.warning("upgrade %s: checkout could not start (%s); closing it", upgrade.id, reason)
    upgrade.move_to(S.EXPIRED)
    db.session.flush()
