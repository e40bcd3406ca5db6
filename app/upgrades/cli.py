"""`flask billing refund-upgrade ID`: refund an upgrade at Stripe and take its level back."""

import click

from app.billing import gateway
from app.billing.cli import billing, needs_stripe
from app.extensions import db
from app.ids import DB_ID
from app.money import format_money
from app.upgrades import service
from app.upgrades.models import UpgradeStatus, UserUpgrade


@billing.command("refund-upgrade")
@click.argument("upgrade_id", type=DB_ID)
@click.option("--reason", help="Why (kept in the refund's metadata at Stripe).")
@needs_stripe
def refund_upgrade(upgrade_id: int, reason: str | None) -> None:
    """Refund a complete upgrade in full at Stripe and mark it refunded (safe to repeat)."""
    upgrade = db.session.get(UserUpgrade, upgrade_id)
    if upgrade is None:
        raise click.ClickException(f"No upgrade with id {upgrade_id}.")
    if upgrade.status is UpgradeStatus.REFUNDED:
        click.echo(f"Upgrade {upgrade_id} is already refunded; nothing was done.")
        return
    if upgrade.status is not UpgradeStatus.COMPLETE:
        raise click.ClickException(f"Upgrade {upgrade_id} is {upgrade.status.value}; only "
                                   "complete upgrades can be refunded.")
    if not upgrade.stripe_payment_intent_id:
        raise click.ClickException(f"Upgrade {upgrade_id} has no payment recorded; refund it "
                                   "in the Stripe Dashboard.")
    # The key makes a second run (or a retry after a crash) return the same refund.
    refund = gateway.create_refund(upgrade.stripe_payment_intent_id,
                                   idempotency_key=f"upgrade-{upgrade_id}-refund", reason=reason)
    service.refund_upgrade(upgrade)  # the same state change as the charge.refunded webhook
    db.session.commit()
    recipient = upgrade.recipient
    click.echo(f"Refunded upgrade {upgrade_id} ({format_money(refund.amount, upgrade.currency)}, "
               f"refund {refund.id}); @{recipient.username} is now {recipient.level.value}.")
