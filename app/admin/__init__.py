"""The operators' console under `/admin`: for users with the admin flag only. Anyone else,
logged in or not, gets 404 for every address here (the console's existence is not
announced). Each page is a module of its own that registers its routes on `bp`."""

from flask import Blueprint, abort
from flask_login import current_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admins_only() -> None:
    if not (current_user.is_authenticated and current_user.is_admin):
        abort(404)
