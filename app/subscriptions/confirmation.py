"""The link to confirm a renewal's payment that the bank wants the customer to authenticate
(3-D Secure): Stripe's hosted invoice page, as the billing history keeps it. The warning on
every page and on settings shows it while the invoice waits; it goes once the invoice is
paid (the history row is then `paid`, and `needs_action` cleared)."""

from collections.abc import Callable

import sqlalchemy as sa
from flask_login import current_user

from app.extensions import db
from app.history.models import Invoice
from app.subscriptions import bp


def confirm_payment_url(user_id: int) -> str | None:
    """The hosted invoice page of the user's latest open invoice waiting for them to
    confirm its payment, or None."""
    return db.session.scalar(
        sa.select(Invoice.hosted_invoice_url)
        .where(Invoice.user_id == user_id, Invoice.status == "open",
               Invoice.needs_action.is_(True), Invoice.hosted_invoice_url.is_not(None))
        .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(1))


@bp.app_context_processor
def payment_to_confirm() -> dict[str, Callable[[], str | None]]:
    """`confirm_payment_url()` for templates: asked only where a warning shows."""
    def url() -> str | None:
        if not current_user.is_authenticated:
            return None
        return confirm_payment_url(current_user.id)

    return {"confirm_payment_url": url}
