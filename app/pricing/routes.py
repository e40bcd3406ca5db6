"""The pricing page, rendered from the local catalog without calling Stripe."""

from flask import render_template, request
from flask_login import current_user

from app import catalog
from app.catalog.levels import comparison
from app.pricing import bp
from app.subscriptions.checkout import TRIAL_DAYS, first_charge_with_credit
from app.subscriptions.forms import SubscribeForm
from app.timeline import timeline_for

INTERVALS = ("monthly", "annual")


def render_pricing(interval: str, form: SubscribeForm | None = None, status: int = 200,
                   cancelled: bool = False) -> tuple[str, int]:
    """The page for one billing choice; the subscribe route shows its form errors here."""
    interval = interval if interval in INTERVALS else "monthly"
    authenticated = current_user.is_authenticated
    timeline = timeline_for(current_user)
    # A user holding referral credit is first charged when it runs out; a subscriber is
    # not starting anything, so the plans speak of no first payment to them.
    starting = authenticated and timeline.subscription is None
    return render_template(
        "pricing/index.html",
        interval=interval,
        monthly=catalog.offer("premium_monthly"),
        annual=catalog.offer("premium_annual"),
        gold_to_platinum=catalog.offer("gold_to_platinum"),
        columns=comparison(),
        access=timeline,
        form=form or SubscribeForm(interval=interval),
        trial_days=TRIAL_DAYS,
        first_charge={key: first_charge_with_credit(current_user, days)
                      for key, days in (("monthly", 0), ("annual", TRIAL_DAYS))}
        if starting else {"monthly": None, "annual": None},
        cancelled=cancelled,
    ), status


@bp.get("/pricing")
def index() -> tuple[str, int]:
    return render_pricing(request.args.get("interval", "monthly"),
                          cancelled=request.args.get("cancelled") == "1")
