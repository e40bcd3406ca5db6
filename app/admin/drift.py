"""The drift report as a page: every difference between our rows and Stripe, and Stripe's
state applied to one object or to all, as `flask billing reconcile [--apply [ID]]` does.
Unlike the console's other pages it reads Stripe, every time it is opened."""

import logging

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import bp
from app.billing.errors import BillingError, StripeUnavailable
from app.billing.objects import MalformedObject
from app.extensions import db
from app.reconcile.apply import apply_each, plan
from app.reconcile.drift import Difference, Kind, find_differences

log = logging.getLogger("app.admin")

# What the page calls each kind of difference (the CLI prints the kind's value).
NAMES = {Kind.STATUS: "Subscription status", Kind.PERIOD: "Subscription period",
         Kind.PRICE: "Subscription price", Kind.CANCEL_AT_PERIOD_END: "Cancel at period end",
         Kind.CARD: "Card details", Kind.DEFAULT_CARD: "Default card"}


def difference_name(d: Difference) -> str:
    """The difference in a few words: 'Customer only at Stripe', 'Subscription period'."""
    if d.kind is Kind.MISSING:
        return f"{d.thing.value.capitalize()} only at Stripe"
    if d.kind is Kind.EXTRA:
        return f"{d.thing.value.capitalize()} only here"
    return NAMES[d.kind]


def _report() -> tuple[list[Difference] | None, str | None]:
    """The differences, or None and the sentence saying why there are none to show."""
    if not current_app.config["BILLING_ENABLED"]:
        return None, "Billing is off (STRIPE_SECRET_KEY is not set), so Stripe cannot be asked."
    try:
        return find_differences(), None
    except BillingError as exc:
        db.session.rollback()
        return None, f"Stripe did not answer, so there is no report: {exc.operator_message}"
    except MalformedObject as exc:
        db.session.rollback()
        return None, f"Stripe sent an object the report cannot read: {exc}"


@bp.get("/drift")
def drift() -> str:
    differences, problem = _report()
    applicable = {d.object_id for d in plan(differences)} if differences else set()
    return render_template("admin/drift.html", differences=differences, problem=problem,
                           applicable=applicable, name=difference_name)


@bp.post("/drift/apply")
def drift_apply() -> Response:
    object_id = request.form.get("object_id") or None
    differences, problem = _report()
    if differences is None:
        flash(problem or "No report.", "error")
        return redirect(url_for("admin.drift"), 303)
    applied = 0
    try:
        for done in apply_each(differences, object_id):
            d = done.difference
            what = f"{d.thing.value} {d.object_id} ({', '.join(done.kinds)})"
            log.info("operator %s applied Stripe's state to %s: %s", current_user.email, what,
                     done.result or f"not applied: {done.error}")
            if done.error is None:
                applied += 1
                flash(f"Applied {what}: {done.result}.", "success")
            else:
                flash(f"Not applied {what}: {done.error}.", "error")
    except StripeUnavailable as exc:
        flash(f"Stripe stopped answering; what was applied before stays: "
              f"{exc.operator_message}", "error")
    if object_id is not None and not applied and not any(
            d.object_id == object_id for d in differences):
        flash(f"No difference about {object_id} any more: nothing to apply.", "info")
    return redirect(url_for("admin.drift"), 303)
