"""The settings pages: they compose what the features expose (the subscription, billing
details and cards; referral credit later) and hold no billing logic of their own. Their
buttons post to the feature that owns each change. `/settings` renders from our rows alone;
`/settings/billing` reads the billing details from Stripe, since only Stripe keeps them."""

from flask import current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app.billing.cards import cards_for, why_card_stays
from app.billing.customers import stored_customer_id
from app.billing.details import details_of
from app.billing.errors import BillingError
from app.billing.expiring import expiring_card
from app.billing.forms import BillingDetailsForm
from app.settings import bp
from app.subscriptions.forms import ActionForm
from app.subscriptions.overview import overview_for


@bp.get("/settings")
@login_required
def index() -> str:
    user = current_user._get_current_object()
    overview = overview_for(user)
    return render_template(
        "settings/index.html",
        overview=overview,
        has_billing_account=stored_customer_id(user) is not None,
        form=ActionForm(),
        expiring=expiring_card(user, overview.timeline),
    )


# Shown instead of the details when they cannot be read or saved: words for customers.
DETAILS_OFF = "Billing details can't be changed right now. Please try again later."
DETAILS_UNREADABLE = ("We could not load your billing details from our payment provider just "
                      "now, so they can't be changed. Please reload the page in a moment.")


@bp.get("/settings/billing")
@login_required
def billing() -> ResponseReturnValue:
    """Billing details (read from Stripe as the page renders: the one page that does) and
    cards."""
    if not current_app.config["BILLING_ENABLED"]:
        return render_billing(BillingDetailsForm(), notice=DETAILS_OFF)
    try:
        held = details_of(current_user._get_current_object())
    except BillingError:  # logged by the gateway; the cards below still show
        return render_billing(BillingDetailsForm(), notice=DETAILS_UNREADABLE)
    return render_billing(BillingDetailsForm(obj=held), other_tax_ids=held.other_tax_ids)


def render_billing(form: BillingDetailsForm, *, status: int = 200, notice: str | None = None,
                   problem: str | None = None, other_tax_ids: int = 0) -> ResponseReturnValue:
    """The billing page around a details form: as Stripe holds them, as sent back with
    errors (`problem`: a save that failed at Stripe), or off with a `notice` (read-only)."""
    user = current_user._get_current_object()
    saved = cards_for(user)
    return render_template(
        "settings/billing.html", form=form, notice=notice, problem=problem,
        editable=notice is None, other_tax_ids=other_tax_ids,
        cards=saved, card_kept=why_card_stays(user, saved), card_form=ActionForm(),
        expiring=expiring_card(user),
    ), status
