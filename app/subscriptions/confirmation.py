"""What the past-due warning offers: Pay now (the open invoice's amount), and the link to
confirm a renewal's payment that the bank wants the customer to authenticate (3-D Secure):
Stripe's hosted invoice page, as the billing history keeps it. The warning on
every page and on settings shows it while the invoice waits; it goes once the invoice is
paid (the history row is then `paid`, and `needs_action` cleared)."""

from collections.abc import Callable

import sqlalchemy as sa
from flask_login import current_user

from app.extensions import db
from app.history.models import Invoice
from app.subscriptions import bp
from app.subscriptions.forms import PayNowForm


def confirm_payment_url(user_id: int) -> str | None:
    """The hosted invoice page of the user's latest open invoice waiting for them to
    confirm its payment, or None."""
    return db.session.scalar(
        sa.select(Invoice.hosted_invoice_url)
        .where(Invoice.user_id == user_id, Invoice.status == "open",
               Invoice.needs_action.is_(True), Invoice.hosted_invoice_url.is_not(None))
        .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(1))


def overdue_invoice(user_id: int) -> Invoice | None:
    """The user's latest open invoice (what Pay now pays), as the history last heard."""
    return db.session.scalar(
        sa.select(Invoice).where(Invoice.user_id == user_id, Invoice.status == "open",
                                 Invoice.amount_due > 0)
        .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(1))


@bp.app_context_processor
def payment_to_confirm() -> dict[str, Callable[[], object]]:
    """For the past-due warning, asked only where one shows: `confirm_payment_url()`,
    `overdue_invoice()` (the amount Pay now pays) and `pay_now_form()`."""
    def url() -> str | None:
        if not current_user.is_authenticated:
            return None
        return confirm_payment_url(current_user.id)

    def invoice() -> Invoice | None:
        return overdue_invoice(current_user.id) if current_user.is_authenticated else None

    return {"confirm_payment_url": url, "overdue_invoice": invoice,
            "pay_now_form": PayNowForm}
