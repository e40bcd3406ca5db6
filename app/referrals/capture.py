"""Referral capture: a visit through someone's link (`/r/CODE`, or `?ref=CODE` on any page)
is remembered in a signed cookie until the visitor signs up, when the sign-up records the
Referral. The cookie only ever holds a valid code: it is signed with the app's secret key
(and dated, so an old one is refused whatever the browser kept), and the code in it is
checked again when it is read."""

import logging
from datetime import timedelta

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from app.auth.models import User
from app.extensions import db
from app.referrals import service
from app.referrals.codes import normalised

log = logging.getLogger("app.referrals")

COOKIE = "ref"
MAX_AGE = timedelta(days=30)
_SALT = "referral-code"  # this cookie's signatures are good for nothing else


def _serializer() -> URLSafeTimedSerializer:
    # As Flask signs its session: old keys still verify while a new one is rolled out.
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return URLSafeTimedSerializer(keys, salt=_SALT)


def valid_code(text: str | None) -> str | None:
    """The referral code in `text` (any case), if it is someone's; None otherwise."""
    referrer = service.referrer_for_code(text)
    return referrer.referral_code if referrer is not None else None


def remember(response: Response, code: str) -> Response:
    """Keep a valid code for 30 days (the latest link followed wins)."""
    response.set_cookie(
        COOKIE, _serializer().dumps(code), max_age=MAX_AGE, path="/", httponly=True,
        samesite="Lax", secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    # A shared cache must not hand this visitor's cookie to the next one.
    response.headers["Cache-Control"] = "no-store"
    return response


def forget(response: Response) -> Response:
    """Clear the cookie (once sign-up has used it), if the browser sent one."""
    if COOKIE in request.cookies:
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def remembered_code() -> str | None:
    """The code this browser was referred with: the cookie's, when its signature and age
    check out, else a `?ref=` on this very request. Only a code's shape is checked here;
    `record_referral` looks the referrer up."""
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            code = _serializer().loads(raw, max_age=int(MAX_AGE.total_seconds()))
        except BadData:
            code = None
        code = normalised(code) if isinstance(code, str) else None
        if code is not None:
            return code
    return normalised(request.args.get("ref", ""))


def inviter() -> User | None:
    """Whoever's link brought this browser (the remembered code, else `?ref=`), if anyone's:
    the sign-up page names them."""
    return service.referrer_for_code(remembered_code())


def record_signup_referral(user: User) -> None:
    """At sign-up, in its transaction: record who referred the new user, if anyone did.
    A referral must never make a sign-up fail, so it is tried inside a savepoint; whatever
    goes wrong there is logged and undone, and the account is created without it."""
    code = remembered_code()
    if code is None:
        return
    # The user's own row first, outside the savepoint: its errors (an email taken a moment
    # ago) are the sign-up's, which the sign-up route answers.
    db.session.flush()
    try:
        with db.session.begin_nested():
            service.record_referral(user, code)
    except Exception:
        log.exception("could not record the referral of new user %s; signed up without it",
                      user.id)
