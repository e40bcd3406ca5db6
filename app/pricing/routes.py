"""The read-only pricing page, rendered from the catalog without calling Stripe."""

from flask import render_template
from flask_login import current_user

from app import catalog
from app.access import access_for
from app.catalog.levels import comparison
from app.pricing import bp


@bp.get("/pricing")
def index():
    return render_template(
        "pricing/index.html",
        monthly=catalog.offer("premium_monthly"),
        annual=catalog.offer("premium_annual"),
        gold_to_platinum=catalog.offer("gold_to_platinum"),
        columns=comparison(),
        access=access_for(current_user),
    )
