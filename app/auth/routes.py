"""Sign up, log in, log out; a forgotten password."""

from urllib.parse import urlsplit

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from app.auth import bp, reset
from app.auth.forms import (
    ForgotPasswordForm,
    LoginForm,
    LogoutForm,
    ResetPasswordForm,
    SignupForm,
)
from app.auth.models import User, find_by_email, find_by_login
from app.errors import ErrorPage, render_error
from app.extensions import db, limiter
from app.referrals.capture import forget, record_signup_referral
from app.text import control_character


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, otherwise None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if control_character(target):
        # CR/LF would split the Location header; browsers drop tabs and line breaks from
        # URLs, so "/\t/evil.example" would be read as "//evil.example".
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


def _failed(response: Response) -> bool:
    # Only failed attempts count towards the limit; a successful log-in redirects.
    return response.status_code not in (302, 303)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], deduct_when=lambda r: r.status_code == 303)
def signup() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = SignupForm()
    if form.validate_on_submit():
        user = User(email=form.email.data.strip().lower(), username=form.username.data.strip())
        user.set_password(form.password.data)
        db.session.add(user)
        try:
            record_signup_referral(user)  # never fails the sign-up
            db.session.commit()
        except IntegrityError:
            # A sign-up at the same moment took the email or username after our checks
            # passed: check again, now that its account is visible, and say so on the form.
            db.session.rollback()
            if form.validate():
                raise
            return render_template("auth/signup.html", form=form), 422
        login_user(user)
        flash(f"Welcome, {user.username}! Your account is ready.", "success")
        return forget(redirect(safe_next(request.args.get("next")) or url_for("main.index"), 303))
    return render_template("auth/signup.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"], deduct_when=_failed)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_by_login(form.login.data)
        if user is not None and user.check_password(form.password.data):
            login_user(user, remember=form.remember.data)
            flash("You are logged in.", "success")
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"), 303)
        form.password.errors.append("That email/username and password do not match.")
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("main.index"), 303)


def _sent(response: Response) -> bool:
    return response.status_code == 303


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"], deduct_when=_sent)
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same answer whether or not an account uses the address: this page must not
        # tell a stranger who has an account here.
        user = find_by_email(form.email.data)
        if user is not None and reset.request_reset(user):
            db.session.commit()
        flash("If an account uses that address, we have sent it a link to reset the "
              f"password. The link works for {reset.valid_for()}.", "info")
        return redirect(url_for("auth.forgot_password"), 303)
    return render_template("auth/forgot_password.html", form=form), 422 if form.errors else 200


@bp.errorhandler(429)
def too_many_requests(error: Exception) -> ErrorPage:
    if request.endpoint == "auth.forgot_password":
        return render_error(429, "You have asked for too many reset links. Please wait an "
                                 "hour and try again: a link already sent still works.")
    return render_error(429)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    try:
        user = reset.user_for_token(token)
    except reset.ResetLinkInvalid as error:
        return render_template("auth/reset_link_invalid.html", expired=error.expired,
                               valid_for=reset.valid_for()), 410 if error.expired else 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        reset.reset_password(user, form.password.data)
        db.session.commit()
        logout_user()  # whoever was logged in here, and a remember-me cookie with them
        login_user(user)
        flash("Your password is changed, and you are logged in. Every other browser "
              "that was logged in to your account has been logged out.", "success")
        return redirect(url_for("main.index"), 303)
    return render_template("auth/reset_password.html", form=form, user=user), \
        422 if form.errors else 200
