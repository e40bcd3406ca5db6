"""The settings page: it composes what the features expose (the subscription today; referral
credit and cards later) and holds no billing logic of its own. Its buttons post to the
feature that owns each change. No Stripe call renders it."""

from flask import render_template
from flask_login import current_user, login_required

from app.billing.customers import stored_customer_id
from app.settings import bp
from app.subscriptions.forms import ActionForm
from app.subscriptions.overview import overview_for


@bp.get("/settings")
@login_required
def index() -> str:
    user = current_user._get_current_object()
    return render_template(
        "settings/index.html",
        overview=overview_for(user),
        has_billing_account=stored_customer_id(user) is not None,
        form=ActionForm(),
    )
