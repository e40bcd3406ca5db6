"""Refund an upgrade at Stripe: `flask billing refund-upgrade` and the console share
`refund_at_stripe`. An upgrade is refunded in full or not at all, so the idempotency key
names the upgrade: a second run (or a retry after a crash) returns the same refund."""

from dataclasses import dataclass

from app.billing import gateway
from app.upgrades import service
from app.upgrades.models import UpgradeStatus, UserUpgrade


class RefundNotAllowed(Exception):
    """This upgrade cannot be refunded; `str()` says why. Nothing was done."""


class AlreadyRefunded(RefundNotAllowed):
    pass


@dataclass(frozen=True)
class UpgradeRefunded:
    upgrade: UserUpgrade
    refund_id: str
    amount: int


def refund_at_stripe(upgrade: UserUpgrade, *, reason: str | None = None) -> UpgradeRefunded:
    """Refund a complete upgrade in full at Stripe and mark it refunded (flushes)."""
    if upgrade.status is UpgradeStatus.REFUNDED:
        raise AlreadyRefunded(f"Upgrade {upgrade.id} is already refunded; nothing was done.")
    if upgrade.status is not UpgradeStatus.COMPLETE:
        raise RefundNotAllowed(f"Upgrade {upgrade.id} is {upgrade.status.value}; only "
                               "complete upgrades can be refunded.")
    if not upgrade.stripe_payment_intent_id:
        raise RefundNotAllowed(f"Upgrade {upgrade.id} has no payment recorded; refund it "
                               "in the Stripe Dashboard.")
    refund = gateway.create_refund(upgrade.stripe_payment_intent_id,
                                   idempotency_key=f"upgrade-{upgrade.id}-refund", reason=reason)
    service.refund_upgrade(upgrade)  # the same state change as the charge.refunded webhook
    return UpgradeRefunded(upgrade, str(refund.id), int(refund.amount))
