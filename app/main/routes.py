"""Home page and the Premium-gated page."""

from flask import render_template
from flask_login import current_user

from app.access import access_for
from app.main import bp


@bp.get("/")
def index() -> str:
    return render_template("main/index.html")


@bp.get("/premium")
def premium() -> tuple[str, int]:
    """A small gated page: shows the access check working, and why."""
    access = access_for(current_user)
    status = 200 if access.premium else 403
    return render_template("main/premium.html", access=access), status
