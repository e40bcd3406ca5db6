"""Home page, the Premium-gated page, and the terms, privacy and contact pages."""

from flask import current_app, render_template
from flask_login import current_user

from app import catalog
from app.main import bp
from app.subscriptions.checkout import TRIAL_DAYS
from app.timeline import timeline_for


@bp.get("/")
def index() -> str:
    return render_template("main/index.html", monthly=catalog.offer("premium_monthly"),
                           annual=catalog.offer("premium_annual"), trial_days=TRIAL_DAYS)


@bp.get("/premium")
def premium() -> tuple[str, int]:
    """A small gated page: shows the access check working, and why. A visitor (not logged
    in) is not refused: the header links here, so it says what Premium is and the way in."""
    access = timeline_for(current_user)
    status = 200 if access.premium or not current_user.is_authenticated else 403
    return render_template("main/premium.html", access=access), status


@bp.get("/terms")
def terms() -> str:
    """What is sold and on what terms, with the numbers the app really uses."""
    return render_template(
        "main/terms.html",
        offers={key: catalog.offer(key) for key in
                ("premium_monthly", "premium_annual", "gold", "platinum", "gold_to_platinum")},
        trial_days=TRIAL_DAYS, grace_days=current_app.config["SUBSCRIPTION_GRACE_DAYS"])


@bp.get("/privacy")
def privacy() -> str:
    return render_template("main/privacy.html")


@bp.get("/contact")
def contact() -> str:
    return render_template("main/contact.html")
