"""Billing details actions (name, address, tax id), saved on the Stripe customer."""

from flask import current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app.billing import details
from app.billing.blueprint import bp
from app.billing.errors import (
    BillingDisabled,
    BillingError,
    InvalidBillingDetails,
    StripeUnavailable,
)
from app.billing.forms import BillingDetailsForm
from app.extensions import db, limiter

UNAVAILABLE = ("Billing details can't be changed right now. Nothing was saved; please try "
               "again later.")
NOT_ANSWERING = ("Our payment provider did not answer, so your billing details may not have "
                 "been saved. Please try again in a moment.")
REFUSED = ("Our payment provider could not save your billing details. Please try again, and "
           "contact us if it keeps happening.")


@bp.post("/settings/billing/details")
@login_required
@limiter.limit("10 per minute")
def save_details() -> ResponseReturnValue:
    """Save the billing details form on the user's Stripe customer."""
    # The page is the settings feature's, which imports this package: import it when used.
    from app.settings.routes import render_billing

    if not current_app.config["BILLING_ENABLED"]:
        raise BillingDisabled(UNAVAILABLE)
    form = BillingDetailsForm()
    if not form.validate_on_submit():
        return render_billing(form, status=422)
    user = current_user._get_current_object()
    try:
        details.save_details(user, form.details())
    except InvalidBillingDetails as exc:
        db.session.commit()  # a customer created on the way is kept (it exists at Stripe)
        form[exc.field].errors = [str(exc)]
        return render_billing(form, status=422)
    except BillingError as exc:
        db.session.commit()
        message = NOT_ANSWERING if isinstance(exc, StripeUnavailable) else REFUSED
        return render_billing(form, status=exc.status, problem=message)
    db.session.commit()
    flash("Billing details saved.", "success")
    return redirect(url_for("settings.billing"), 303)
