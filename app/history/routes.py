"""`/settings/payments`: the billing history, from our rows alone; and the receipt of each
paid invoice, which reads the buyer's billing details from Stripe as it renders."""

import sqlalchemy as sa
from flask import abort, render_template
from flask_login import current_user, login_required

from app.extensions import db
from app.history import bp
from app.history.entries import history_for
from app.history.models import Invoice
from app.history.receipts import buyer, plan_of, seller, what_for


@bp.get("/settings/payments")
@login_required
def index() -> str:
    return render_template("history/index.html",
                           entries=history_for(current_user._get_current_object()))


@bp.get("/settings/payments/<dbid:invoice_id>")
@login_required
def receipt(invoice_id: int) -> str:
    row = db.session.scalar(sa.select(Invoice).where(Invoice.id == invoice_id,
                                                     Invoice.user_id == current_user.id))
    if row is None or row.status != "paid":
        abort(404)
    user = current_user._get_current_object()
    return render_template("history/receipt.html", invoice=row, what=what_for(row),
                           plan=plan_of(row), seller=seller(), buyer=buyer(user))
