"""The confirmation page of each console action, and what confirming does: the verb, then
its audit entry, then back to the customer's page with a sentence.

Money actions (refunds, credit) ask for the operator's password on this page, unless they
typed it correctly on such a page in the last ten minutes: that moment is kept in the
session, set only here, never by logging in, and only for the operator who typed it."""

import logging
from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.admin import bp
from app.admin.actions import ACTIONS, Action, Plan, Refused
from app.admin.audit import begin, finish, record
from app.admin.models import Outcome
from app.auth.models import User, utcnow
from app.billing.errors import BillingError
from app.extensions import db, limiter
from app.forms import Form, strip
from app.referrals.cli import MAX_GRANT_DAYS, MAX_NOTE_LENGTH

log = logging.getLogger("app.admin")

PASSWORD_FRESH_FOR = timedelta(minutes=10)
_CONFIRMED = "admin_password_confirmed"  # {"user": id, "at": ISO time}
WRONG_PASSWORD = "That is not your password: nothing was done."
DAYS = f"A whole number of days from 1 to {MAX_GRANT_DAYS}."


class ActionForm(Form):
    reason = StringField("Reason", filters=[strip], validators=[
        DataRequired("Say why: the audit log keeps it."),
        Length(max=MAX_NOTE_LENGTH, message=f"At most {MAX_NOTE_LENGTH} characters.")],
        description="Kept in the audit log with your name.")
    days = IntegerField("Days of credit", invalid_value_message=DAYS, validators=[
        Optional(), NumberRange(1, MAX_GRANT_DAYS, DAYS)])
    password = PasswordField("Your password", description=(
        "Money actions ask for it; you will not be asked again for 10 minutes."))


def password_fresh(now: datetime | None = None) -> bool:
    """Whether this operator confirmed their password on a money action's page lately."""
    confirmed = session.get(_CONFIRMED)
    if not isinstance(confirmed, dict) or confirmed.get("user") != current_user.id:
        return False
    try:
        at = datetime.fromisoformat(str(confirmed.get("at")))
    except ValueError:
        return False
    return timedelta(0) <= (now or utcnow()) - at < PASSWORD_FRESH_FOR


def _found(user_id: int, name: str, object_id: str | None) -> tuple[User, Action, Plan]:
    user = db.session.get(User, user_id)
    action = ACTIONS.get(name)
    plan = action.plan(user, object_id) if user is not None and action is not None else None
    if user is None or action is None or plan is None:
        abort(404)
    return user, action, plan


def _page(user: User, action: Action, plan: Plan, form: ActionForm, object_id: str | None,
          status: int = 200) -> tuple[str, int]:
    asks_password = action.money and not password_fresh()
    return render_template("admin/confirm.html", user=user, action=action, plan=plan,
                           form=form, object_id=object_id, asks_password=asks_password), status


# One rule for both methods (as for a card's removal): with two, a POST to an id out of
# range would be a 405 (the GET's rule matched the path) instead of a 404.
@bp.route("/customers/<dbid:user_id>/actions/<name>", methods=["GET", "POST"],
          defaults={"object_id": None})
@bp.route("/customers/<dbid:user_id>/actions/<name>/<object_id>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])  # it checks a password, as the log-in does
def customers_action(user_id: int, name: str,
                     object_id: str | None) -> Response | tuple[str, int]:
    """GET: the confirmation page. POST: the action, its audit entry, back to the page."""
    user, action, plan = _found(user_id, name, object_id)
    if request.method == "GET":
        return _page(user, action, plan, ActionForm(), object_id)
    return _run(user, action, plan, user_id, name, object_id)


def _run(user: User, action: Action, plan: Plan, user_id: int, name: str,
         object_id: str | None) -> Response | tuple[str, int]:
    form = ActionForm()
    valid = form.validate_on_submit()
    if "days" in action.fields and form.days.data is None and not form.days.errors:
        form.days.errors = ["Say how many days."]
        valid = False
    if not valid:
        return _page(user, action, plan, form, object_id, 422)
    reason = form.reason.data
    if action.money and not password_fresh():
        if not current_user.check_password(form.password.data or ""):
            # Written, as refused: a wrong password on a money action is worth knowing about.
            record(action.name, user.id, plan.object_id, reason, Outcome.REFUSED,
                   WRONG_PASSWORD)
            form.password.errors = [WRONG_PASSWORD]
            return _page(user, action, plan, form, object_id, 422)
        session[_CONFIRMED] = {"user": current_user.id, "at": utcnow().isoformat()}
    entry_id = begin(action.name, user.id, plan.object_id, reason)
    user, action, plan = _found(user_id, name, object_id)  # afresh after the commit
    try:
        said = action.run(user, plan, {"reason": reason, "days": form.days.data,
                                       "entry": entry_id})
        db.session.commit()
    except Refused as exc:
        db.session.rollback()
        outcome, said = Outcome.REFUSED, str(exc)
    except BillingError as exc:
        db.session.rollback()
        outcome, said = Outcome.FAILED, exc.operator_message
    except Exception as exc:  # noqa: BLE001  (whatever it was, the log says so)
        db.session.rollback()
        log.exception("console action %s on user %s failed", action.name, user_id)
        outcome, said = Outcome.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        outcome = Outcome.OK
    finish(entry_id, outcome, said)
    log.info("operator %s: %s on user %s (%s): %s: %s", current_user.email, action.name,
             user_id, plan.object_id, outcome.value, said)
    flash(said if outcome is Outcome.OK else f"{action.label}: {outcome.value}. {said}",
          "success" if outcome is Outcome.OK else "error")
    return redirect(url_for("admin.customers_show", user_id=user_id, _anchor="audit"), 303)
