"""The referral link (`/r/CODE`), `?ref=CODE` on any page, and what the pages (pricing,
settings) read of referrals and credit."""

from flask import after_this_request, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.referrals import bp, capture, overview
from app.referrals.service import REFERRAL_DAYS


@bp.get("/r/<code>")
def visit(code: str) -> Response:
    """Remember a valid code and go on to sign-up; anything else is ignored quietly."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"), 303)
    response = redirect(url_for("auth.signup"), 303)
    valid = capture.valid_code(code)
    return capture.remember(response, valid) if valid else response


@bp.before_app_request
def capture_ref_parameter() -> None:
    """`?ref=CODE` on any page is remembered like a visit to the link, without a redirect."""
    text = request.args.get("ref")
    if not text or request.endpoint == "static" or current_user.is_authenticated:
        return
    code = capture.valid_code(text)
    if code is None:
        return

    @after_this_request
    def remember(response: Response) -> Response:
        # Not for a visitor whose sign-up (or log-in) this request completed.
        if current_user.is_authenticated:
            return response
        return capture.remember(response, code)


@bp.app_context_processor
def referral_days() -> dict[str, int]:
    return {"referral_days": REFERRAL_DAYS}


@bp.app_template_global()
def referred_by() -> str | None:
    """For the pricing and settings banner: who referred the visitor, while it is pending."""
    if not current_user.is_authenticated:
        return None
    return overview.referred_by(current_user._get_current_object())


@bp.app_template_global()
def invited_by() -> str | None:
    """For the sign-up page: the username of whoever's link brought the visitor, if any (an
    unknown code names no one, and the page is a plain sign-up)."""
    if current_user.is_authenticated:
        return None
    referrer = capture.inviter()
    return referrer.username if referrer is not None else None


@bp.app_template_global()
def referral_overview() -> overview.ReferralOverview:
    """For the settings section (a logged-in page): link, conversions, credit, ledger."""
    return overview.overview_for(current_user._get_current_object())
