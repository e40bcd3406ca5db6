"""`flask billing refund-upgrade ID`: refund an upgrade at Stripe and take its level back."""

import click

from app.billing.cli import billing, needs_stripe
from app.extensions import db
from app.ids import DB_ID
from app.money import format_money
from app.upgrades.models import UserUpgrade
from app.upgrades.refunds import AlreadyRefunded, RefundNotAllowed, refund_at_stripe


@billing.command("refund-upgrade")
@click.argument("upgrade_id", type=DB_ID)
@click.option("--reason", help="Why (kept in the refund's metadata at Stripe).")
@needs_stripe
def refund_upgrade(upgrade_id: int, reason: str | None) -> None:
    """Refund a complete upgrade in full at Stripe and mark it refunded (safe to repeat)."""
    upgrade = db.session.get(UserUpgrade, upgrade_id)
    if upgrade is None:
        raise click.ClickException(f"No upgrade with id {upgrade_id}.")
    try:
        refund = refund_at_stripe(upgrade, reason=reason)
    except AlreadyRefunded as exc:
        click.echo(str(exc))
        return
    except RefundNotAllowed as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    recipient = upgrade.recipient
    click.echo(f"Refunded upgrade {upgrade_id} ({format_money(refund.amount, upgrade.currency)}, "
               f"refund {refund.refund_id}); @{recipient.username} is now {recipient.level.value}.")
