"""Customers: find one by e-mail or username, and their whole billing file on one page."""

from flask import abort, render_template, request

from app.admin import bp
from app.admin.actions import offers_for
from app.admin.audit import entries_for
from app.admin.customer_file import customer_file, search
from app.auth.models import User
from app.extensions import db

PER_PAGE = 25


@bp.get("/customers")
def customers() -> str:
    query = request.args.get("q", "").strip()[:254]
    page = db.paginate(search(query), per_page=PER_PAGE, max_per_page=PER_PAGE,
                       error_out=False) if query else None
    return render_template("admin/customers.html", query=query, page=page)


@bp.get("/customers/<dbid:user_id>")
def customers_show(user_id: int) -> str:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    file = customer_file(user)
    return render_template("admin/customer.html", file=file,
                           offers=offers_for(user, file.upgrades), audit=entries_for(user.id))
